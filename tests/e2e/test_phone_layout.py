"""Every page a role can open works on a 360 px phone.

No horizontal scroll, tap targets of at least 44 px, a real label for every
field, a heading, and nothing loaded from another origin. The pages are found
by walking the URL map, so new pages are checked without being listed here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchange.extensions import db
from exchange.permissions import PUBLIC, SIGNED_IN, permission_of
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE

LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    problems.push(`horizontal scroll: ${doc.scrollWidth}px wide`);
  }
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const name = (el) => el.outerHTML.slice(0, 90);
  for (const el of document.querySelectorAll("a, button, input, select, textarea")) {
    if (!visible(el) || el.type === "hidden" || el.closest(".skip")) continue;
    const target = ["checkbox", "radio"].includes(el.type) ? el.closest(".field") || el : el;
    const box = target.getBoundingClientRect();
    if (box.height < 44 || box.width < 44) {
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      problems.push(`small tap target ${size}: ${name(el)}`);
    }
    if (["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) &&
        !["submit", "button"].includes(el.type) && el.labels.length === 0) {
      problems.push(`no label: ${name(el)}`);
    }
  }
  if (!document.querySelector("h1")) problems.push("no h1");
  if (!doc.lang) problems.push("no lang attribute");
  return problems;
}
"""


# Addresses that answer with a file or JSON, not a page.
NOT_PAGES = {
    "dashboard.healthz",
    "dashboard.favicon",
    "logs.evidence",
    "rules.round_export",
    "rules.period_export",
    "rules.eligibility_export",
    "records.record_xlsx",
    "users.import_template",
    "reports.department_csv",
    "reports.department_xlsx",
    "reports.college_csv",
    "reports.college_xlsx",
    "reports.enterprises_csv",
    "reports.enterprises_xlsx",
    "reports.logs_csv",
    "reports.logs_xlsx",
    "credentials.credential_download",
    "credentials.badge_download",
}
OWNER_ONLY = {"logs.edit", "confirm.show"}


def _pages_for(app, role: str, ids: dict[str, int]) -> list[str]:
    """The GET pages (not API) that ``role`` may open, with ids filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/") or "GET" not in rule.methods:
            continue
        permission = permission_of(app.view_functions[rule.endpoint])
        if permission == PUBLIC or rule.endpoint in NOT_PAGES:
            continue
        if rule.endpoint in OWNER_ONLY and role != "teacher":  # the teacher owns the log
            continue
        if permission != SIGNED_IN and role not in permission:
            continue
        values = {}
        for arg in rule.arguments:
            values[arg] = ids.get(arg)
        if None in values.values():
            continue
        paths.append(rule.build(values, append_unknown=False)[1])
    return sorted(paths)


@pytest.fixture
def pages_of(college, make_log, make_agreement):
    """A college with a finalized reward round: each role with the ids of the records
    it may open (the pages with ids are checked too)."""
    agreement = make_agreement(college.enterprise, college.department, scope="practice")
    logs = [
        make_log(status="approved", hours="8", work_date=college_today() - timedelta(days=n))
        for n in range(6)
    ]
    reward_round = rewards.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        rewards.decide_award(college.head, award, True)
    rewards.finalize_round(college.admin, reward_round, early=True)
    db.session.commit()
    honour = next(a for a in reward_round.awards if a.rule.kind == "honour")
    own = {"log_id": logs[0].id, "award_id": honour.id}
    managing = {**own, "round_id": reward_round.id, "enterprise_id": college.enterprise.id}
    users = {"teacher": college.teacher, "head": college.head, "expert": college.expert,
             "admin": college.admin}  # fmt: skip
    ids = {
        "teacher": own,
        "head": managing,
        "expert": {"log_id": logs[0].id},  # the named verifier
        "admin": {
            **managing,
            "user_id": college.teacher.id,
            "department_id": college.department.id,
            "enterprise_id": college.enterprise.id,
            "agreement_id": agreement.id,
            "period_id": college.period.id,
            "rule_id": honour.rule_id,
        },
    }
    return users, ids


def _sign_in(phone, user):
    phone.goto("/login")
    phone.get_by_label("E-mail").fill(user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").tap()
    phone.wait_for_url("**/")


def test_sign_in_page_fits_a_phone(phone):
    phone.goto("/login")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize("role", ["teacher", "head", "expert", "admin"])
def test_every_page_of_a_role_fits_a_phone(app, phone, pages_of, role, locale):
    """In both languages: Chinese text breaks and sizes differently from English."""
    users, ids = pages_of
    users[role].locale = locale
    db.session.commit()
    _sign_in(phone, users[role])
    pages = _pages_for(app, role, ids[role])
    assert "/" in pages
    problems = {}
    for path in pages:
        response = phone.goto(path)
        assert response.status == 200, path
        found = phone.evaluate(LAYOUT_PROBLEMS)
        if found:
            problems[path] = found
    assert problems == {}


def test_a_draft_round_with_the_early_finalize_dialog_fits_a_phone(phone, college, make_log):
    """The preview of a round before the period ends, with an admin's "finalize early"
    confirmation opened, and the rounds page with the college round form."""
    for n in range(2):
        make_log(college.expert, status="approved", hours="10",
                 work_date=college_today() - timedelta(days=n))  # fmt: skip
    college_round = rewards.open_round(college.admin, None, college.period.id, scope="college")
    db.session.commit()
    _sign_in(phone, college.admin)
    phone.goto("/rewards/rounds")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    phone.goto(f"/rewards/rounds/{college_round.id}")
    phone.get_by_text("Finalize early…").tap()
    assert phone.get_by_label(
        "I understand: finalize this round before the period ends."
    ).is_visible()
    assert phone.evaluate(LAYOUT_PROBLEMS) == []


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_the_queues_with_ages_flags_and_the_extra_tap_fit_a_phone(phone, college, make_log, locale):
    """A head's approval queue with a flagged, overdue log (its age and flags in words),
    "flagged only", the page asking for one more tap, and the log's page."""
    from exchange.logs.models import ExchangeLog

    long_day = make_log(status="verified", hours="11", description="A long day on the ward",
                        work_date=college_today() - timedelta(days=1))  # fmt: skip
    make_log(college.other_teacher, status="verified", hours="2")
    # Verified ten days ago: overdue.
    db.session.get(ExchangeLog, long_day.id).status_since -= timedelta(days=10)
    college.head.locale = locale
    db.session.commit()
    _sign_in(phone, college.head)
    for path in ("/logs/approve", "/logs/approve?flagged=1", f"/logs/{long_day.id}"):
        phone.goto(path)
        assert phone.locator("[data-flag=day_over_10h]").first.is_visible(), path
        assert phone.evaluate(LAYOUT_PROBLEMS) == [], path
    phone.goto("/logs/approve")
    assert phone.locator(".age--overdue").count() == 1
    phone.locator(f"#pick-{long_day.id}").check()
    phone.locator("#bulk-approve button[type=submit]").tap()
    phone.wait_for_selector("input[name=confirm_flagged]", state="attached")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    phone.locator("form:has(input[name=confirm_flagged]) button[type=submit]").tap()
    phone.wait_for_selector("input[name=confirm_flagged]", state="detached")
    assert phone.locator("[data-flag=day_over_10h]").count() == 0  # gone from the queue
    db.session.expire_all()
    assert db.session.get(ExchangeLog, long_day.id).status == "approved"


@pytest.mark.parametrize("role", ["teacher", "head"])
def test_what_a_script_reveals_has_its_place_from_the_first_paint(
    browser, live_server, college, make_log, role
):
    """The quick hours of the log form and "Select all" of the approval queue are shown
    by a script: their place is taken before it runs (nothing below them moves, CLS 0),
    and without scripts they stay invisible instead of offering controls that do nothing."""
    make_log(status="verified")
    user, path, control = {
        "teacher": (college.teacher, "/logs/new", "[data-quick-for]"),
        "head": (college.head, "/logs/approve", "[data-select-all-box]"),
    }[role]
    places = {}
    for scripts in (False, True):
        context = browser.new_context(
            base_url=live_server, locale="en-US", java_script_enabled=scripts, **PHONE
        )
        phone = context.new_page()
        _sign_in(phone, user)
        phone.goto(path)
        box = phone.locator(control)
        places[scripts] = box.bounding_box()
        style = box.evaluate("el => getComputedStyle(el).visibility")
        assert style == ("visible" if scripts else "hidden")
        context.close()
    assert places[False]["height"] >= 44
    assert places[False] == places[True]


def test_the_bottom_menu_steps_aside_while_typing(phone, college):
    """On a touch screen the on-screen keyboard and the fixed menu would share the little
    room left: the menu goes while a field that types has the focus."""
    _sign_in(phone, college.teacher)
    phone.goto("/logs/new")
    menu = phone.get_by_role("navigation", name="Main")
    assert menu.is_visible()
    phone.get_by_label("Hours").tap()
    assert menu.is_hidden()
    phone.get_by_role("heading", level=1).tap()  # away from the field: the keyboard closes
    assert menu.is_visible()


def test_a_long_enterprise_name_does_not_widen_the_form(phone, college, make_enterprise,
                                                         make_agreement):  # fmt: skip
    long_name = "Provincial People's Hospital of Integrated Traditional Chinese and Western " * 2
    place = make_enterprise(name=long_name.strip())
    make_agreement(place, college.department, scope="practice")
    db.session.commit()
    _sign_in(phone, college.teacher)
    phone.goto("/logs/new")
    assert long_name.strip() in phone.locator("select#enterprise_id").inner_text()
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
