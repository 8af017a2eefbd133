"""Every page a role can open works on a 360 px phone.

No horizontal scroll, tap targets of at least 44 px, a real label for every
field, a heading, and nothing loaded from another origin. The pages are found
by walking the URL map, so new pages are checked without being listed here.
"""

from __future__ import annotations

import pytest

from exchange.permissions import PUBLIC, SIGNED_IN, permission_of
from tests.conftest import PASSWORD

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


def _pages_for(app, role: str, ids: dict[str, int]) -> list[str]:
    """The GET pages (not API) that ``role`` may open, with ids filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/") or "GET" not in rule.methods:
            continue
        permission = permission_of(app.view_functions[rule.endpoint])
        if permission == PUBLIC or rule.rule == "/healthz":
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
def college(make_department, make_enterprise, make_agreement, make_period, make_user):
    department = make_department(code="CM", name="Clinical Medicine")
    enterprise = make_enterprise(code="RMH", name="City People's Hospital No. 1")
    agreement = make_agreement(enterprise, department, scope="practice")
    period = make_period(name="2026-2027")
    users = {
        "teacher": make_user("teacher", department=department),
        "head": make_user("head", department=department),
        "expert": make_user("expert", enterprise=enterprise),
        "admin": make_user("admin"),
    }
    ids = {
        "user_id": users["teacher"].id,
        "department_id": department.id,
        "enterprise_id": enterprise.id,
        "agreement_id": agreement.id,
        "period_id": period.id,
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


@pytest.mark.parametrize("role", ["teacher", "head", "expert", "admin"])
def test_every_page_of_a_role_fits_a_phone(app, phone, college, role):
    users, ids = college
    _sign_in(phone, users[role])
    pages = _pages_for(app, role, ids)
    assert "/" in pages
    problems = {}
    for path in pages:
        response = phone.goto(path)
        assert response.status == 200, path
        found = phone.evaluate(LAYOUT_PROBLEMS)
        if found:
            problems[path] = found
    assert problems == {}
