"""Reward rule pages (admins) and the eligibility page (heads and admins)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exchange.extensions import db
from exchange.rewards import services
from exchange.rewards.models import RewardRule
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import sql_statements


def rule_by_code(period, code: str) -> RewardRule:
    return db.session.execute(
        select(RewardRule).where(RewardRule.period_id == period.id, RewardRule.code == code)
    ).scalar_one()


def rule_count(period) -> int:
    return db.session.execute(
        select(func.count()).select_from(RewardRule).where(RewardRule.period_id == period.id)
    ).scalar_one()


@pytest.fixture
def approved(make_log):
    """``approved(person, hours)``: approved logs of 8 h a day (and the rest) on earlier days."""

    def log(person, total: int, status: str = "approved", start: int = 0) -> None:
        day = start
        while total > 0:
            chunk = min(total, 8)
            make_log(
                person,
                status=status,
                hours=str(chunk),
                work_date=college_today() - timedelta(days=day),
            )
            total -= chunk
            day += 1

    return log


def finalize(college, travel, scope: str = "department") -> None:
    """Open, approve and finalize a round of ``scope`` once the period is over: Clinical
    Medicine's, or the period's college round."""
    if scope == "college":
        actor = college.admin
        reward_round = services.open_round(actor, None, college.period.id, scope="college")
    else:
        actor = college.head
        reward_round = services.open_round(actor, college.department.id, college.period.id)
    for award in reward_round.awards:
        services.decide_award(actor, award, True)
    travel(period_end(college.period))
    services.finalize_round(actor, reward_round)
    db.session.commit()


def bonus_data(**changes) -> dict[str, str]:
    data = {
        "code": "night-shift",
        "name": "Night Shift Allowance",
        "kind": "bonus",
        "audience": "teacher",
        "threshold_hours": "10",
        "group": "",
        "fixed_amount_minor": "0",
        "rate_per_hour_minor": "12.50",
        "cap_minor": "1,000.00",
        "currency": "CNY",
    }
    return {**data, **changes}


def typed_value(html: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


# --- the rules list ---------------------------------------------------------------------


def test_admin_sees_the_rules_of_the_current_period(client, college, login_as):
    login_as(college.admin)
    html = client.get("/admin/rules").get_data(as_text=True)
    for code in ("practice-cert", "practice-star", "practice-allowance", "teaching-fee"):
        assert code in html
    assert "Practice Star" in html
    assert "160 h" in html
    assert "¥50.00 per hour above the threshold" in html
    assert "cap ¥8,000.00" in html
    assert "cap ¥20,000.00" in html
    assert f'href="/admin/rules/new?period={college.period.id}"' in html
    rule = rule_by_code(college.period, "practice-star")
    assert f'href="/admin/rules/{rule.id}"' in html
    assert '<label for="period">' in html


def test_the_period_switcher_shows_another_periods_rules(client, college, make_period, login_as):
    later = make_period(
        name="2027-2028",
        starts_on=college.period.ends_on + timedelta(days=1),
        ends_on=college.period.ends_on + timedelta(days=365),
    )
    services.seed_rules(later)
    db.session.commit()
    services.save_rule(
        college.admin, later, services.RuleInput("later-only", "Later Only", "honour", "teacher", 5)
    )
    db.session.commit()
    login_as(college.admin)
    html = client.get(f"/admin/rules?period={later.id}").get_data(as_text=True)
    assert "later-only" in html
    assert f'<option value="{later.id}" selected>' in html
    assert "later-only" not in client.get("/admin/rules").get_data(as_text=True)
    assert client.get("/admin/rules?period=999999").status_code == 404
    assert client.get("/admin/rules?period=abc").status_code == 404


@pytest.mark.parametrize("role", ["teacher", "expert", "head"])
def test_rule_pages_are_for_admins_only(client, college, login_as, role):
    person = {"teacher": college.teacher, "expert": college.expert, "head": college.head}[role]
    login_as(person)
    rule = rule_by_code(college.period, "practice-cert")
    assert client.get("/admin/rules").status_code == 403
    assert client.get(f"/admin/rules/new?period={college.period.id}").status_code == 403
    assert client.get(f"/admin/rules/{rule.id}").status_code == 403
    response = client.post(f"/admin/rules/{rule.id}", data=bonus_data(code="practice-cert"))
    assert response.status_code == 403
    assert rule_by_code(college.period, "practice-cert").kind == "honour"


# --- creating and editing ---------------------------------------------------------------


def test_admin_creates_a_bonus_rule_in_yuan(client, college, login_as):
    login_as(college.admin)
    page = client.get(f"/admin/rules/new?period={college.period.id}")
    assert page.status_code == 200
    assert '<label for="rate_per_hour_minor">' in page.get_data(as_text=True)
    response = client.post(f"/admin/rules/new?period={college.period.id}", data=bonus_data())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/rules?period={college.period.id}")
    rule = rule_by_code(college.period, "night-shift")
    assert (rule.kind, rule.audience, rule.threshold_minutes) == ("bonus", "teacher", 600)
    assert (rule.fixed_amount_minor, rule.rate_per_hour_minor, rule.cap_minor) == (0, 1250, 100000)
    listing = client.get(f"/admin/rules?period={college.period.id}").get_data(as_text=True)
    assert "Rule night-shift created." in listing
    assert "¥12.50 per hour above the threshold" in listing
    assert "cap ¥1,000.00" in listing


def test_admin_creates_an_honour_tier(client, college, login_as):
    login_as(college.admin)
    data = bonus_data(
        code="practice-gold",
        name="Practice Gold",
        kind="honour",
        threshold_hours="300",
        group="practice",
        fixed_amount_minor="",
        rate_per_hour_minor="",
        cap_minor="",
    )
    response = client.post(f"/admin/rules/new?period={college.period.id}", data=data)
    assert response.status_code == 302
    rule = rule_by_code(college.period, "practice-gold")
    assert (rule.kind, rule.group, rule.threshold_minutes, rule.cap_minor) == (
        "honour",
        "practice",
        300 * 60,
        None,
    )


def test_admin_edits_a_rule_and_the_form_shows_yuan(client, college, login_as):
    login_as(college.admin)
    rule = rule_by_code(college.period, "practice-allowance")
    html = client.get(f"/admin/rules/{rule.id}").get_data(as_text=True)
    assert typed_value(html, "rate_per_hour_minor") == "50.00"
    assert typed_value(html, "cap_minor") == "8000.00"
    assert typed_value(html, "threshold_hours") == "40"
    data = bonus_data(
        code="practice-allowance",
        name="Practice Allowance 2026",
        threshold_hours="37.5",
        fixed_amount_minor="100",
        rate_per_hour_minor="55.5",
        cap_minor="",
    )
    response = client.post(f"/admin/rules/{rule.id}", data=data)
    assert response.status_code == 302
    rule = rule_by_code(college.period, "practice-allowance")
    assert rule.name == "Practice Allowance 2026"
    assert rule.threshold_minutes == 2250
    assert (rule.fixed_amount_minor, rule.rate_per_hour_minor, rule.cap_minor) == (
        10000,
        5550,
        None,
    )
    assert "no cap" in client.get("/admin/rules").get_data(as_text=True)


def test_an_honours_form_leaves_the_amounts_empty(client, college, login_as):
    login_as(college.admin)
    rule = rule_by_code(college.period, "practice-cert")
    html = client.get(f"/admin/rules/{rule.id}").get_data(as_text=True)
    assert typed_value(html, "fixed_amount_minor") == ""
    assert typed_value(html, "group") == "practice"
    data = bonus_data(
        code="practice-cert",
        name="Practice Certificate (renamed)",
        kind="honour",
        threshold_hours="40",
        group="practice",
        fixed_amount_minor="",
        rate_per_hour_minor="",
        cap_minor="",
    )
    assert client.post(f"/admin/rules/{rule.id}", data=data).status_code == 302
    assert rule_by_code(college.period, "practice-cert").name == "Practice Certificate (renamed)"


INVALID = [
    ("duplicate code", {"code": "practice-cert"}, "code", "Another rule of this period"),
    ("honour with money", {"kind": "honour", "cap_minor": "", "fixed_amount_minor": "50.00"},
     "kind", "Honours carry no money"),
    ("bonus without rate", {"rate_per_hour_minor": ""}, "rate_per_hour_minor",
     "This field is required."),
    ("letters as an amount", {"rate_per_hour_minor": "abc"}, "rate_per_hour_minor",
     "Enter an amount in yuan"),
    ("letters as a cap", {"cap_minor": "abc"}, "cap_minor", "Enter an amount in yuan"),
    ("three decimals", {"fixed_amount_minor": "1.005"}, "fixed_amount_minor",
     "Enter an amount in yuan"),
    ("negative amount", {"fixed_amount_minor": "-5"}, "fixed_amount_minor", "Between 0 and"),
    ("negative threshold", {"threshold_hours": "-5"}, "threshold_hours",
     "Between 0 and 10000 hours."),
    ("letters as threshold", {"threshold_hours": "forty"}, "threshold_hours",
     "Enter the hours as a number"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_rules_are_refused_on_their_field_keeping_the_input(
    client, college, login_as, changes, field, message
):
    login_as(college.admin)
    before = rule_count(college.period)
    data = bonus_data(**changes)
    response = client.post(f"/admin/rules/new?period={college.period.id}", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error, html
    assert message in error.group(1).replace("&#39;", "'")
    assert 'class="field field--error"' in html
    for name in ("code", "name", "threshold_hours", "fixed_amount_minor", "rate_per_hour_minor"):
        assert typed_value(html, name) == data[name], name
    assert rule_count(college.period) == before


def test_an_invalid_edit_changes_nothing(client, college, login_as):
    login_as(college.admin)
    rule = rule_by_code(college.period, "teaching-fee")
    data = bonus_data(code="teaching-fee", audience="expert", threshold_hours="0", cap_minor="x")
    html = client.post(f"/admin/rules/{rule.id}", data=data).get_data(as_text=True)
    assert 'id="cap_minor-error"' in html
    assert typed_value(html, "cap_minor") == "x"
    assert rule_by_code(college.period, "teaching-fee").rate_per_hour_minor == 20000


# --- frozen rules -----------------------------------------------------------------------


def test_rules_of_a_scope_are_frozen_after_a_round_of_that_scope_is_finalized(
    client, college, login_as, approved, make_log, travel
):
    approved(college.teacher, 48)
    make_log(college.expert, status="approved", hours="8", work_date=college_today())
    make_log(college.expert, status="approved", hours="8", work_date=college_today() - timedelta(1))
    finalize(college, travel)  # Clinical Medicine's round: the department rules are final
    login_as(college.admin)
    rule = rule_by_code(college.period, "practice-allowance")
    mentor = rule_by_code(college.period, "mentor-cert")
    html = client.get(f"/admin/rules?period={college.period.id}").get_data(as_text=True)
    assert "practice-allowance" in html
    assert f'href="/admin/rules/{rule.id}"' not in html
    assert "department rules are final" in html
    assert "college rules are final" not in html
    # The college rules can still change: new rules and the mentor honours.
    assert "New rule" in html
    assert f'href="/admin/rules/{mentor.id}"' in html

    page = client.get(f"/admin/rules/{rule.id}").get_data(as_text=True)
    assert '<form method="post" novalidate action="/admin/rules/' not in page
    assert "¥50.00" in page
    assert '<form method="post" novalidate action="/admin/rules/' in client.get(
        f"/admin/rules/{mentor.id}"
    ).get_data(as_text=True)

    response = client.post(
        f"/admin/rules/{rule.id}", data=bonus_data(code="practice-allowance", cap_minor="1")
    )
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "are final" in after
    assert rule_by_code(college.period, "practice-allowance").cap_minor == 800000

    before = rule_count(college.period)
    response = client.post(
        f"/admin/rules/new?period={college.period.id}", data=bonus_data(scope="department")
    )
    assert response.status_code == 200  # refused on its scope: a college rule may still come
    assert 'id="scope-error"' in response.get_data(as_text=True)
    assert rule_count(college.period) == before
    response = client.post(
        f"/admin/rules/new?period={college.period.id}", data=bonus_data(scope="college")
    )
    assert response.status_code == 302
    assert rule_by_code(college.period, "night-shift").scope == "college"
    assert rule_count(college.period) == before + 1

    finalize(college, travel, scope="college")  # now every rule of the period is final
    html = client.get(f"/admin/rules?period={college.period.id}").get_data(as_text=True)
    assert "New rule" not in html
    assert "/admin/rules/new" not in html
    assert f'href="/admin/rules/{mentor.id}"' not in html
    assert "college rules are final" in html
    assert "department rules are final" in html
    response = client.post(
        f"/admin/rules/{mentor.id}",
        data=bonus_data(code="mentor-cert", kind="honour", audience="expert", scope="college",
                        group="mentor", fixed_amount_minor="", rate_per_hour_minor="",
                        cap_minor="", threshold_hours="1"),
    )  # fmt: skip
    assert response.status_code == 302
    assert "are final" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert rule_by_code(college.period, "mentor-cert").threshold_minutes == 16 * 60
    before = rule_count(college.period)
    response = client.post(
        f"/admin/rules/new?period={college.period.id}",
        data=bonus_data(code="late", scope="college"),
    )
    assert response.status_code == 302
    assert "are final" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert rule_count(college.period) == before
    assert client.get(f"/admin/rules/new?period={college.period.id}").status_code == 302


def test_rules_of_a_locked_period_are_frozen(client, college, login_as, make_period):
    locked = make_period(
        name="2020-2021",
        starts_on=college.period.starts_on - timedelta(days=800),
        ends_on=college.period.starts_on - timedelta(days=500),
        state="locked",
    )
    services.seed_rules(locked)
    db.session.commit()
    login_as(college.admin)
    html = client.get(f"/admin/rules?period={locked.id}").get_data(as_text=True)
    assert "is locked" in html
    assert "New rule" not in html
    # The open period of today is still the default, and still editable.
    assert "New rule" in client.get("/admin/rules").get_data(as_text=True)


def test_the_admin_menu_links_to_the_rules(client, college, login_as):
    login_as(college.admin)
    assert 'href="/admin/rules"' in client.get("/admin/").get_data(as_text=True)


# --- eligibility ---------------------------------------------------------------------------


def person_block(html: str, name: str) -> str:
    """The list item of one person on the eligibility page."""
    start = html.index(f"<strong>{name}</strong>")
    end = html.find("</li>", start)
    return html[start:end]


def test_a_head_sees_their_people_with_approved_and_pending_hours(
    client, college, login_as, approved, make_log
):
    approved(college.teacher, 48)
    approved(college.teacher, 4, status="submitted", start=10)
    approved(college.teacher, 2, status="verified", start=11)
    approved(college.teacher, 3, status="rejected", start=12)
    make_log(college.expert, status="approved", hours="3")
    approved(college.other_teacher, 6, status="submitted")
    login_as(college.head)
    html = client.get("/rewards/eligibility").get_data(as_text=True)
    assert "Clinical Medicine" in html
    li_na = person_block(html, "Li Na")
    assert "<strong>48 h</strong></a></dd>" in li_na  # linked to the logs behind it
    assert "<dt>Pending</dt><dd>6 h</dd>" in li_na
    assert "Teacher" in li_na
    assert "awarded" in li_na  # Practice Certificate
    assert "112 h missing" in li_na  # Practice Star
    assert "¥400.00" in li_na  # 8 h over 40 at 50.00
    chen = person_block(html, "Chen Hao")
    assert "<strong>3 h</strong>" in chen
    assert "¥600.00" in chen  # teaching fee
    assert "13 h missing" in chen  # mentor certificate
    zhao = person_block(html, "Zhao Lei")  # only pending hours: shown, meets nothing
    assert "<strong>0 h</strong>" in zhao
    assert "<dt>Pending</dt><dd>6 h</dd>" in zhao
    assert "badge--ok" not in zhao
    assert "Huang Bo" not in html  # no hours here


def test_a_lower_tier_shows_as_outranked(client, college, login_as, approved):
    star = rule_by_code(college.period, "practice-star")
    star.threshold_minutes = 44 * 60
    db.session.commit()
    approved(college.teacher, 48)
    login_as(college.head)
    li_na = person_block(client.get("/rewards/eligibility").get_data(as_text=True), "Li Na")
    assert "outranked by Practice Star" in li_na


def test_a_capped_bonus_says_so(client, college, login_as, approved):
    allowance = rule_by_code(college.period, "practice-allowance")
    allowance.cap_minor = 10000
    db.session.commit()
    approved(college.teacher, 48)
    login_as(college.head)
    li_na = person_block(client.get("/rewards/eligibility").get_data(as_text=True), "Li Na")
    assert "¥100.00 (the cap)" in li_na


def test_a_head_may_not_see_another_department(client, college, login_as, approved):
    approved(college.teacher, 8)
    login_as(college.foreign_head)
    response = client.get(f"/rewards/eligibility?department={college.department.id}")
    assert response.status_code == 403
    assert "Li Na" not in response.get_data(as_text=True)
    response = client.get(f"/rewards/eligibility.csv?department={college.department.id}")
    assert response.status_code == 403
    own = client.get("/rewards/eligibility").get_data(as_text=True)
    assert "Nursing" in own
    assert "Li Na" not in own
    assert client.get("/rewards/eligibility?department=999999").status_code == 404


@pytest.mark.parametrize("role", ["teacher", "expert"])
def test_eligibility_is_for_heads_and_admins(client, college, login_as, role):
    login_as(college.teacher if role == "teacher" else college.expert)
    assert client.get("/rewards/eligibility").status_code == 403
    assert client.get("/rewards/eligibility.xlsx").status_code == 403


def test_an_admin_picks_any_department(client, college, login_as, approved):
    approved(college.teacher, 8)
    login_as(college.admin)
    html = client.get(f"/rewards/eligibility?department={college.department.id}").get_data(
        as_text=True
    )
    assert '<label for="department">' in html
    assert f'<option value="{college.department.id}" selected>' in html
    assert "Li Na" in html
    nursing = client.get(f"/rewards/eligibility?department={college.other_department.id}")
    assert nursing.status_code == 200
    assert "Li Na" not in nursing.get_data(as_text=True)


def test_eligibility_shows_each_person_on_one_line_with_what_they_earned(
    client, college, login_as, approved
):
    approved(college.teacher, 48)  # Li Na: past the 40 h of the certificate and allowance
    approved(college.other_teacher, 8)  # Zhao Lei: nothing yet
    login_as(college.head)
    html = client.get("/rewards/eligibility").get_data(as_text=True)
    lines = {
        re.search(r'standing__name">([^<]+)<', line).group(1): line
        for line in re.findall(r"<summary>.*?</summary>", html, flags=re.S)
    }
    assert set(lines) == {"Li Na", "Zhao Lei"}
    assert "48 h" in lines["Li Na"]
    assert "Practice Certificate" in lines["Li Na"]
    assert "Practice Allowance" in lines["Li Na"]
    assert "nothing yet" in lines["Zhao Lei"]
    # The details (pending hours, every rule's outcome) are in the person's box, on tap.
    assert html.count("<dt>Pending</dt>") == 2


def test_eligibility_sorts_by_hours_or_name(client, college, login_as, approved, make_user):
    anna = make_user("teacher", name="Anna Bai", department=college.department)
    approved(anna, 4)
    approved(college.teacher, 16)  # Li Na
    approved(college.other_teacher, 8)  # Zhao Lei
    login_as(college.head)

    def order(html: str) -> list[str]:
        names = ["Anna Bai", "Li Na", "Zhao Lei"]
        return sorted(names, key=lambda name: html.index(f">{name}</strong>"))

    assert order(client.get("/rewards/eligibility").get_data(as_text=True)) == [
        "Li Na",
        "Zhao Lei",
        "Anna Bai",
    ]
    assert order(client.get("/rewards/eligibility?sort=name").get_data(as_text=True)) == [
        "Anna Bai",
        "Li Na",
        "Zhao Lei",
    ]
    assert order(client.get("/rewards/eligibility?sort=bogus").get_data(as_text=True))[0] == "Li Na"


def test_eligibility_runs_the_same_queries_for_3_or_30_people(
    client, college, login_as, make_user, make_log
):
    def add(count: int) -> None:
        for n in range(count):
            person = make_user("teacher", department=college.department)
            make_log(person, status="approved", hours="2", work_date=college_today() - timedelta(n))

    add(3)
    login_as(college.head)
    with sql_statements() as few:
        assert client.get("/rewards/eligibility").status_code == 200
    add(27)
    with sql_statements() as many:
        html = client.get("/rewards/eligibility").get_data(as_text=True)
    assert len(many) == len(few)
    # A department's hundreds of people come a page at a time (25), sorted across pages.
    assert "30 people with hours" in html
    assert html.count("<dt>Approved</dt>") == 25
    assert 'rel="next" href="/rewards/eligibility?page=2&amp;sort=name' not in html
    assert "page=2&amp;sort=hours" in html
    rest = client.get("/rewards/eligibility?page=2").get_data(as_text=True)
    assert rest.count("<dt>Approved</dt>") == 5
    assert "Page 2 of 2" in rest
    beyond = client.get("/rewards/eligibility?page=99").get_data(as_text=True)
    assert beyond.count("<dt>Approved</dt>") == 5
    assert "Page 2 of 2" in beyond
    with sql_statements() as export_many:
        assert client.get("/rewards/eligibility.csv").status_code == 200
    assert len(export_many) <= len(many) + 1
