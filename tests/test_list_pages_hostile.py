"""No list answers 500 whatever ``?page=`` (and ``?per_page=``) says (SPEC §7).

Pages: a page number beyond the last shows the last page; anything that is not
a whole number from 1 (``-1``, ``abc``, ``1e9``, ``٣``) shows the first page.
The API: a page or page size that is not a whole number from 1 to 2**31 - 1 is a
400 naming the field; a page beyond the last is an empty page.

The lists are found, not listed: every address of ``app.url_map`` that takes no
part is opened by every kind of person, and those that paginate (a spy on
``db.paginate``) are then asked for hostile pages. A new list is covered as soon
as it exists.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request

from exchange.db import MAX_ID
from exchange.extensions import db
from exchange.rewards import services as rewards
from exchange.timeutil import college_today

PER_PAGE = 2

# A page beyond any real one: the last page is shown.
BEYOND = [
    "50",
    "2147483648",
    "400000000000000000",  # × page size overflows a 64-bit OFFSET
    "99999999999999999999999999999999",
    "9" * 5000,  # longer than Python turns into an int at all
]
# Not a page number: the first page is shown.
MALFORMED = ["-1", "0", "abc", "1e9", "1.5", "", " 2", "+2", "٣", "0x10"]

# The lists every kind of person reaches, which the sweep must find (a sanity check
# of the sweep itself, not the list of what is tested).
KNOWN_LISTS = {
    "/logs/",
    "/logs/verify",
    "/logs/approve",
    "/logs/department",
    "/rewards/rounds",
    "/admin/users/",
    "/admin/departments",
    "/admin/enterprises",
    "/admin/agreements",
}
KNOWN_API_LISTS = {
    "/api/v1/logs",
    "/api/v1/departments",
    "/api/v1/enterprises",
    "/api/v1/agreements",
    "/api/v1/periods",
    "/api/v1/rounds",
    "/api/v1/rules",
    "/api/v1/users",
}


@pytest.fixture
def pages_seen(monkeypatch):
    """Every ``db.paginate`` call of a request: (address, the pagination it returned)."""
    seen: list[tuple[str, object]] = []
    original = db.paginate

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append((request.path, result))
        return result

    monkeypatch.setattr(db, "paginate", spy)
    return seen


@pytest.fixture
def full_lists(app, college, make_log, make_department, make_enterprise, make_agreement,
               monkeypatch):  # fmt: skip
    """Every list has more than one page (of ``PER_PAGE``) for someone."""
    monkeypatch.setitem(app.config, "PER_PAGE", PER_PAGE)
    today = college_today()
    for n in range(3):
        day = today - timedelta(days=n)
        make_log(college.teacher, status="submitted", work_date=day)  # the expert verifies
        make_log(college.teacher, status="verified", work_date=day)  # the heads approve
        make_log(college.head, status="draft", work_date=day)
        make_log(college.expert, status="submitted", work_date=day, verifier=college.other_teacher)
        make_department()
        make_agreement(make_enterprise(), college.department)
    rewards.open_round(college.admin, college.department.id, college.period.id)
    rewards.open_round(college.admin, college.other_department.id, college.period.id)
    rewards.open_round(college.admin, None, college.period.id, scope="college")
    db.session.commit()
    return college


def _page_addresses(app, api: bool) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and rule.endpoint != "static"
        and rule.rule.startswith("/api/") == api
    )


def _people(college):
    return [college.admin, college.head, college.teacher, college.other_teacher, college.expert]


@pytest.mark.parametrize(
    ("value", "shows"), [(v, "last") for v in BEYOND] + [(v, "first") for v in MALFORMED]
)
def test_every_list_page_shows_a_real_page_whatever_page_says(
    app, client, full_lists, login_as, pages_seen, value, shows
):
    college = full_lists
    failures = []
    found = set()
    several_pages = set()
    for person in _people(college):
        client.post("/logout")
        login_as(person)
        for address in _page_addresses(app, api=False):
            pages_seen.clear()
            with client.get(address, query_string={"page": value, "per_page": value}) as response:
                body = response.get_data()
            if response.status_code >= 500:
                failures.append((person.role, address, response.status_code))
            if not pages_seen:
                continue
            found.add(address)
            page = pages_seen[-1][1]
            expected = max(page.pages, 1) if shows == "last" else 1
            if (
                response.status_code != 200
                or page.page != expected
                or page.per_page != PER_PAGE  # ?per_page= is not for the pages
                or (page.total and not page.items)
                or (page.pages > 1 and f"Page {expected} of {page.pages}".encode() not in body)
            ):
                failures.append((person.role, address, response.status_code, page.page))
            if page.pages > 1:
                several_pages.add(address)
    assert failures == []
    assert found >= KNOWN_LISTS
    assert several_pages >= KNOWN_LISTS, "every known list should have a second page here"


API_BAD = ["0", "-1", "abc", "1e9", "1.5", "", "٣", "2147483648", "400000000000000000", "9" * 5000]


@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("value", API_BAD)
def test_every_api_list_refuses_a_malformed_page_naming_the_field(
    app, client, full_lists, api_token, pages_seen, name, value
):
    headers = api_token(full_lists.admin)
    lists = set()
    for address in _page_addresses(app, api=True):
        pages_seen.clear()
        client.get(address, headers=headers).close()
        if pages_seen:
            lists.add(address)
    assert lists >= KNOWN_API_LISTS

    failures = []
    for address in sorted(lists):
        response = client.get(address, headers=headers, query_string={name: value})
        error = (response.get_json() or {}).get("error", {})
        if response.status_code != 400 or name not in error.get("fields", {}):
            failures.append((address, response.status_code, error))
    assert failures == []


@pytest.mark.parametrize(("page", "per_page"), [(str(MAX_ID), "100"), ("3", "100")])
def test_an_api_page_beyond_the_last_is_empty(
    app, client, full_lists, api_token, pages_seen, page, per_page
):
    headers = api_token(full_lists.admin)
    failures = []
    for address in _page_addresses(app, api=True):
        pages_seen.clear()
        response = client.get(
            address, headers=headers, query_string={"page": page, "per_page": per_page}
        )
        if not pages_seen:
            continue
        body = response.get_json()
        if response.status_code != 200 or body["items"] or body["page"] != int(page):
            failures.append((address, response.status_code))
    assert failures == []


def test_the_reported_page_number_shows_a_page_at_the_normal_page_size(
    client, college, make_log, login_as
):
    """``?page=400000000000000000`` × 25 rows a page is past a 64-bit OFFSET: it
    overflowed PostgreSQL and SQLite alike."""
    make_log(college.teacher, status="verified")
    answers = {}
    for person in _people(college):
        client.post("/logout")
        login_as(person)
        for address in sorted(KNOWN_LISTS):
            response = client.get(address, query_string={"page": "400000000000000000"})
            answers[person.role, address] = response.status_code
    assert set(answers.values()) <= {200, 403}
    assert answers["admin", "/logs/department"] == 200
    assert answers["head", "/logs/approve"] == 200
    assert answers["teacher", "/logs/"] == 200
