"""Administration pages for departments, enterprises, agreements and periods.

What an administrator notices: records really saved, every refusal shown on
the field it is about with what was typed still there, no 500 on bad input,
lists that page and stay as fast with thirty rows as with three.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from exchange.extensions import db
from exchange.org import queries, services
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.timeutil import college_today
from tests.helpers import FormPage, refused, sql_statements


def assert_kept(page: FormPage, data: dict[str, str], skip: tuple[str, ...] = ()) -> None:
    for name, typed in data.items():
        if name not in skip:
            assert page.values[name] == typed, name


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def admin(make_user, login_as):
    user = make_user("admin")
    login_as(user)
    return user


@pytest.fixture
def per_page(app, monkeypatch):
    def set_to(size: int) -> None:
        monkeypatch.setitem(app.config, "PER_PAGE", size)

    return set_to


def test_admin_menu_links_every_page(client, admin):
    html = client.get("/admin/").get_data(as_text=True)
    for path in ("/admin/users/", "/admin/departments", "/admin/enterprises"):
        assert f'href="{path}"' in html
    assert 'href="/admin/agreements"' in html
    assert 'href="/admin/periods"' in html


# --- departments ----------------------------------------------------------


def test_admin_creates_a_department(client, admin):
    response = client.post(
        "/admin/departments/new",
        data={"code": "cm", "name": " Clinical Medicine "},
        follow_redirects=True,
    )
    assert response.request.path == "/admin/departments"
    assert "Department Clinical Medicine created." in response.get_data(as_text=True)
    department = db.session.execute(select(Department)).scalar_one()
    assert (department.code, department.name) == ("CM", "Clinical Medicine")


def test_admin_edits_a_department_keeping_its_code(client, admin, make_department):
    department = make_department(code="NU", name="Nursing")
    page = FormPage(client.get(f"/admin/departments/{department.id}").get_data(as_text=True))
    assert page.values["code"] == "NU"
    assert page.values["name"] == "Nursing"

    response = client.post(
        f"/admin/departments/{department.id}", data={"code": "nu", "name": "Nursing School"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/departments"
    assert (department.code, department.name) == ("NU", "Nursing School")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"code": "cm", "name": "Cardiology"},
            "code",
            "Another department already uses this code.",
        ),
        ({"code": "C M!", "name": "Cardiology"}, "code", "Use letters, digits, - and _ only."),
        ({"code": "X" * 17, "name": "Cardiology"}, "code", "At most 16 characters."),
        ({"code": "CA", "name": "N" * 121}, "name", "At most 120 characters."),
        ({"code": "", "name": "Cardiology"}, "code", "This field is required."),
        ({"code": "CA", "name": "   "}, "name", "This field is required."),
    ],
)
def test_department_form_shows_the_services_refusal(
    client, admin, make_department, data, field, message
):
    make_department(code="CM", name="Clinical Medicine")
    page = refused(client, "/admin/departments/new", data)
    assert page.errors == {field: message}
    assert_kept(page, data)
    assert count(Department) == 1


def test_department_cannot_take_another_departments_code_on_edit(client, admin, make_department):
    make_department(code="CM", name="Clinical Medicine")
    nursing = make_department(code="NU", name="Nursing")
    page = refused(client, f"/admin/departments/{nursing.id}", {"code": "Cm", "name": "Nursing"})
    assert page.errors == {"code": "Another department already uses this code."}
    assert page.values["code"] == "Cm"
    assert nursing.code == "NU"


def test_department_list_pages(client, admin, make_department, per_page):
    per_page(2)
    # Names no token or id on the page can contain by chance (a CSRF token can hold "C3").
    for code in ("A1", "B2", "C3"):
        make_department(code=code, name=f"Department of {code}")
    first = client.get("/admin/departments").get_data(as_text=True)
    second = client.get("/admin/departments?page=2").get_data(as_text=True)
    assert "Department of A1" in first
    assert "Department of B2" in first
    assert "Department of C3" not in first
    assert "Department of C3" in second
    assert "Department of A1" not in second
    assert "Page 2 of 2" in second


def test_unknown_and_impossible_ids_are_404(client, admin):
    assert client.get("/admin/departments/4242").status_code == 404
    assert client.get("/admin/departments/99999999999999999999").status_code == 404
    assert client.get("/admin/enterprises/99999999999999999999").status_code == 404
    assert client.get("/admin/agreements/4242").status_code == 404
    assert client.post("/admin/periods/4242/lock", data={"confirm": "y"}).status_code == 404


# --- enterprises ----------------------------------------------------------

ENTERPRISE = {
    "code": "rh-1",
    "name": "Renmin Hospital",
    "kind": "hospital",
    "contact_person": "Dr Zhang",
    "phone": "+86 27 8804 1911",
    "address": "238 Jiefang Road\nWuchang",
}


def test_admin_creates_an_enterprise(client, admin):
    response = client.post("/admin/enterprises/new", data={**ENTERPRISE, "kind": "pharma"})
    assert response.status_code == 302
    enterprise = db.session.execute(select(Enterprise)).scalar_one()
    assert response.headers["Location"] == f"/admin/enterprises/{enterprise.id}"
    assert enterprise.code == "RH-1"
    assert enterprise.kind == "pharma"
    assert enterprise.contact_person == "Dr Zhang"
    assert enterprise.address == "238 Jiefang Road\nWuchang"


def test_admin_edits_an_enterprise(client, admin, make_enterprise):
    enterprise = make_enterprise(code="RH", name="Renmin")
    page = FormPage(client.get(f"/admin/enterprises/{enterprise.id}").get_data(as_text=True))
    assert page.values["kind"] == "hospital"
    response = client.post(
        f"/admin/enterprises/{enterprise.id}",
        data={**ENTERPRISE, "code": "RH", "kind": "device", "name": "Renmin Devices"},
    )
    assert response.status_code == 302
    assert (enterprise.name, enterprise.kind, enterprise.phone) == (
        "Renmin Devices",
        "device",
        ENTERPRISE["phone"],
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "Bayer"}, "code", "Another enterprise already uses this code."),
        ({"code": "B/1"}, "code", "Use letters, digits, - and _ only."),
        ({"name": "N" * 161}, "name", "At most 160 characters."),
        ({"name": ""}, "name", "This field is required."),
        ({"kind": "spaceship"}, "kind", "Choose one of the offered values."),
        ({"phone": "1" * 41}, "phone", "At most 40 characters."),
        ({"address": "A" * 301}, "address", "At most 300 characters."),
    ],
)
def test_enterprise_form_shows_the_services_refusal(
    client, admin, make_enterprise, changes, field, message
):
    make_enterprise(code="BAYER")
    data = {**ENTERPRISE, **changes}
    page = refused(client, "/admin/enterprises/new", data)
    assert page.errors == {field: message}
    # A tampered kind cannot be shown as selected: it is not one of the options.
    assert_kept(page, data, skip=("kind",) if field == "kind" else ())
    assert count(Enterprise) == 1


def test_enterprise_page_lists_its_agreements_and_offers_a_new_one(
    client, admin, make_enterprise, make_agreement, make_department
):
    enterprise = make_enterprise()
    other = make_enterprise()
    own = make_agreement(enterprise, make_department(name="Pharmacy"))
    foreign = make_agreement(other)
    html = client.get(f"/admin/enterprises/{enterprise.id}").get_data(as_text=True)
    assert own.reference in html
    assert "Pharmacy" in html
    assert foreign.reference not in html
    assert f'href="/admin/agreements/new?enterprise_id={enterprise.id}"' in html


def test_enterprise_list_searches_filters_and_counts_agreements(
    client, admin, make_enterprise, make_agreement
):
    renmin = make_enterprise(code="RM", name="Renmin Hospital", kind="hospital")
    make_enterprise(code="BY", name="Bayer", kind="pharma")
    make_enterprise(code="MD", name="Mindray", kind="device")
    make_agreement(renmin)
    make_agreement(renmin)

    html = client.get("/admin/enterprises").get_data(as_text=True)
    assert "Renmin Hospital" in html
    assert "2 agreements" in html
    assert "no agreement" in html

    by_name = client.get("/admin/enterprises?q=renm").get_data(as_text=True)
    assert "Renmin Hospital" in by_name
    assert "Bayer" not in by_name
    by_code = client.get("/admin/enterprises?q=by").get_data(as_text=True)
    assert "Bayer" in by_code
    assert "Renmin Hospital" not in by_code
    by_kind = client.get("/admin/enterprises?kind=device").get_data(as_text=True)
    assert "Mindray" in by_kind
    assert "Bayer" not in by_kind
    assert "Renmin Hospital" not in by_kind
    wildcard = client.get("/admin/enterprises?q=%25").get_data(as_text=True)
    assert "No enterprises match." in wildcard
    unknown_kind = client.get("/admin/enterprises?kind=spaceship")
    assert unknown_kind.status_code == 200
    assert "Mindray" in unknown_kind.get_data(as_text=True)


def test_enterprise_list_pages_keeping_the_filter(client, admin, make_enterprise, per_page):
    per_page(2)
    for name in ("Alpha", "Beta", "Gamma"):
        make_enterprise(name=f"{name} Hospital")
    make_enterprise(name="Delta Pharma", kind="pharma")
    first = client.get("/admin/enterprises?kind=hospital").get_data(as_text=True)
    assert "Alpha" in first
    assert "Beta" in first
    assert "Gamma" not in first
    assert 'href="/admin/enterprises?page=2&amp;q=&amp;kind=hospital"' in first
    second = client.get("/admin/enterprises?kind=hospital&page=2").get_data(as_text=True)
    assert "Gamma" in second
    assert "Alpha" not in second
    assert "Delta" not in second


def test_enterprise_list_queries_do_not_grow_with_rows(
    client, admin, make_enterprise, make_agreement, make_department, per_page
):
    per_page(50)

    def add(n: int) -> None:
        for _ in range(n):
            make_agreement(make_enterprise(), make_department())

    add(3)
    with sql_statements() as few:
        assert client.get("/admin/enterprises").status_code == 200
    add(27)
    with sql_statements() as many:
        html = client.get("/admin/enterprises").get_data(as_text=True)
    assert html.count("1 agreement") == 30
    assert len(many) == len(few)


# --- agreements -----------------------------------------------------------


def agreement_data(enterprise, department=None, **changes) -> dict[str, str]:
    data = {
        "enterprise_id": str(enterprise.id),
        "department_id": str(department.id) if department else "",
        "reference": "HZ-2025-07",
        "starts_on": "2025-09-01",
        "ends_on": "2028-08-31",
        "scope": "practice",
    }
    return {**data, **changes}


def test_admin_creates_an_agreement_for_all_departments(client, admin, make_enterprise):
    enterprise = make_enterprise()
    response = client.post("/admin/agreements/new", data=agreement_data(enterprise))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/agreements"
    agreement = db.session.execute(select(Agreement)).scalar_one()
    assert agreement.enterprise_id == enterprise.id
    assert agreement.department_id is None
    assert (agreement.starts_on, agreement.ends_on) == (date(2025, 9, 1), date(2028, 8, 31))
    assert agreement.scope == "practice"


def test_new_agreement_from_an_enterprise_is_preselected_and_returns_there(
    client, admin, make_enterprise, make_department
):
    make_enterprise()
    enterprise = make_enterprise()
    department = make_department()
    url = f"/admin/agreements/new?enterprise_id={enterprise.id}"
    page = FormPage(client.get(url).get_data(as_text=True))
    assert page.values["enterprise_id"] == str(enterprise.id)
    assert page.values["department_id"] == ""  # "All departments"
    assert "All departments" in page.html

    response = client.post(url, data=agreement_data(enterprise, department, scope="both"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/enterprises/{enterprise.id}"
    agreement = db.session.execute(select(Agreement)).scalar_one()
    assert (agreement.department_id, agreement.scope) == (department.id, "both")


def test_bad_enterprise_id_in_the_new_agreement_address_is_ignored(client, admin):
    response = client.get("/admin/agreements/new?enterprise_id=abc")
    assert response.status_code == 200


def test_admin_edits_an_agreement(client, admin, make_enterprise, make_agreement, make_department):
    enterprise = make_enterprise()
    agreement = make_agreement(enterprise)
    department = make_department()
    page = FormPage(client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True))
    assert page.values["reference"] == agreement.reference
    assert page.values["starts_on"] == agreement.starts_on.isoformat()

    data = agreement_data(enterprise, department, reference="NEW-1", ends_on="2030-01-31")
    response = client.post(f"/admin/agreements/{agreement.id}", data=data)
    assert response.status_code == 302
    assert (agreement.reference, agreement.department_id, agreement.ends_on) == (
        "NEW-1",
        department.id,
        date(2030, 1, 31),
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"starts_on": "2026-01-10", "ends_on": "2026-01-09"},
            "ends_on",
            "The end date must not be before the start date.",
        ),
        ({"starts_on": ""}, "starts_on", "This field is required."),
        ({"ends_on": ""}, "ends_on", "This field is required."),
        ({"starts_on": "2026-02-30"}, "starts_on", "Not a valid date value."),
        ({"reference": ""}, "reference", "This field is required."),
        ({"reference": "R" * 61}, "reference", "At most 60 characters."),
        ({"enterprise_id": ""}, "enterprise_id", "Choose one of the offered values."),
        ({"scope": "everything"}, "scope", "Choose one of the offered values."),
    ],
)
def test_agreement_form_shows_the_refusal(client, admin, make_enterprise, changes, field, message):
    data = agreement_data(make_enterprise(), **changes)
    page = refused(client, "/admin/agreements/new", data)
    assert page.errors == {field: message}
    assert_kept(page, data, skip=("scope",) if field == "scope" else ())
    assert count(Agreement) == 0


@pytest.mark.parametrize("tampered", ["4242", "99999999999999999999", "-1"])
@pytest.mark.parametrize("field", ["enterprise_id", "department_id"])
def test_agreement_refuses_tampered_ids(client, admin, make_enterprise, field, tampered):
    data = agreement_data(make_enterprise(), **{field: tampered})
    page = refused(client, "/admin/agreements/new", data)
    assert page.errors == {field: "Choose one of the offered values."}
    assert page.values["reference"] == "HZ-2025-07"
    assert count(Agreement) == 0


def test_agreement_refuses_an_id_that_is_no_number(client, admin, make_enterprise):
    page = refused(
        client, "/admin/agreements/new", agreement_data(make_enterprise(), enterprise_id="abc")
    )
    assert "enterprise_id" in page.errors
    assert count(Agreement) == 0


def test_agreement_list_flags_agreements_ending_soon(
    client, admin, make_enterprise, make_agreement
):
    today = college_today()
    make_agreement(make_enterprise(name="Soon Ltd"), ends_on=today + timedelta(days=30))
    make_agreement(make_enterprise(name="Edge Ltd"), ends_on=today + timedelta(days=60))
    make_agreement(make_enterprise(name="Later Ltd"), ends_on=today + timedelta(days=61))
    make_agreement(
        make_enterprise(name="Past Ltd"),
        starts_on=today - timedelta(days=400),
        ends_on=today - timedelta(days=1),
    )
    html = client.get("/admin/agreements").get_data(as_text=True)
    assert "Ends in 30 days" in html
    assert "Ends in 60 days" in html
    assert "Ends in 61 days" not in html
    assert "Ended" in html
    assert html.count("badge--warn") == 2


def test_agreement_list_pages(client, admin, make_enterprise, make_agreement, per_page):
    per_page(2)
    for name in ("Alpha", "Beta", "Gamma"):
        make_agreement(make_enterprise(name=name))
    first = client.get("/admin/agreements").get_data(as_text=True)
    second = client.get("/admin/agreements?page=2").get_data(as_text=True)
    assert "Alpha" in first
    assert "Beta" in first
    assert "Gamma" not in first
    assert "Gamma" in second
    assert "Alpha" not in second


def test_agreement_list_queries_do_not_grow_with_rows(
    client, admin, make_enterprise, make_agreement, make_department, per_page
):
    per_page(50)

    def add(n: int) -> None:
        for _ in range(n):
            make_agreement(make_enterprise(), make_department())

    add(3)
    with sql_statements() as few:
        assert client.get("/admin/agreements").status_code == 200
    add(27)
    with sql_statements() as many:
        html = client.get("/admin/agreements").get_data(as_text=True)
    assert html.count('href="/admin/agreements/') == 31  # 30 rows and "New agreement"
    assert len(many) == len(few)


# --- periods --------------------------------------------------------------


def test_admin_creates_and_edits_a_period(client, admin):
    data = {"name": "2025-2026", "starts_on": "2025-09-01", "ends_on": "2026-08-31"}
    response = client.post("/admin/periods/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/periods"
    period = db.session.execute(select(Period)).scalar_one()
    assert (period.name, period.starts_on, period.state) == ("2025-2026", date(2025, 9, 1), "open")

    response = client.post(f"/admin/periods/{period.id}", data={**data, "ends_on": "2026-07-31"})
    assert response.status_code == 302
    assert period.ends_on == date(2026, 7, 31)
    assert "2025-2026" in client.get("/admin/periods").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "2026-2027", "starts_on": "2026-08-01", "ends_on": "2027-07-31"},
            "starts_on",
            "These dates overlap the period 2025-2026.",
        ),
        (
            {"name": "2026-2027", "starts_on": "2027-07-31", "ends_on": "2026-09-01"},
            "ends_on",
            "The end date must not be before the start date.",
        ),
        (
            {"name": "2025-2026", "starts_on": "2030-09-01", "ends_on": "2031-08-31"},
            "name",
            "Another period already has this name.",
        ),
        (
            {"name": "", "starts_on": "2030-09-01", "ends_on": "2031-08-31"},
            "name",
            "This field is required.",
        ),
        (
            {"name": "Y" * 41, "starts_on": "2030-09-01", "ends_on": "2031-08-31"},
            "name",
            "At most 40 characters.",
        ),
        (
            {"name": "2030-2031", "starts_on": "", "ends_on": "2031-08-31"},
            "starts_on",
            "This field is required.",
        ),
    ],
)
def test_period_form_shows_the_services_refusal(client, admin, make_period, data, field, message):
    make_period(name="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
    page = refused(client, "/admin/periods/new", data)
    assert page.errors == {field: message}
    assert_kept(page, data)
    assert count(Period) == 1


def test_period_may_keep_its_own_dates_on_edit(client, admin, make_period):
    period = make_period(name="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
    data = {"name": "AY 2025-2026", "starts_on": "2025-09-01", "ends_on": "2026-08-31"}
    assert client.post(f"/admin/periods/{period.id}", data=data).status_code == 302
    assert period.name == "AY 2025-2026"


def test_admin_locks_a_period_after_confirming(client, admin, make_period):
    period = make_period()
    page = FormPage(client.get(f"/admin/periods/{period.id}").get_data(as_text=True))
    assert page.values["confirm"] is False
    assert f'action="/admin/periods/{period.id}/lock"' in page.html

    response = client.post(f"/admin/periods/{period.id}/lock", data={"confirm": "y"})
    assert response.status_code == 302
    assert period.state == "locked"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Period {period.name} is locked." in html


def test_lock_without_confirmation_locks_nothing(client, admin, make_period):
    period = make_period()
    page = refused(client, f"/admin/periods/{period.id}/lock", {})
    assert page.errors == {"confirm": "Tick the box to confirm the lock."}
    assert period.state == "open"


def test_locking_twice_is_refused_with_a_message(client, admin, make_period):
    period = make_period()
    assert client.post(f"/admin/periods/{period.id}/lock", data={"confirm": "y"}).status_code == 302
    response = client.post(
        f"/admin/periods/{period.id}/lock", data={"confirm": "y"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert response.request.path == f"/admin/periods/{period.id}"
    assert "This period is already locked." in response.get_data(as_text=True)


def test_locked_period_is_read_only(client, admin, make_period):
    period = make_period(name="2024-2025", state="locked")
    html = client.get(f"/admin/periods/{period.id}").get_data(as_text=True)
    assert "This period is locked." in html
    assert 'name="name"' not in html
    assert not re.search(r"<button[^>]*>\s*Save\s*</button>", html)
    assert "Lock period" not in html

    data = {"name": "Renamed", "starts_on": "2020-01-01", "ends_on": "2020-12-31"}
    response = client.post(f"/admin/periods/{period.id}", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert "A locked period cannot be changed." in response.get_data(as_text=True)
    assert (period.name, period.starts_on) != ("Renamed", date(2020, 1, 1))
    assert period.name == "2024-2025"


def test_period_list_shows_state(client, admin, make_period):
    today = college_today()
    make_period(
        name="Old year",
        starts_on=today - timedelta(days=800),
        ends_on=today - timedelta(days=400),
        state="locked",
    )
    make_period(name="This year")
    html = client.get("/admin/periods").get_data(as_text=True)
    assert html.index("This year") < html.index("Old year")
    assert "locked" in html
    assert "current" in html


def test_flagged_agreements_are_exactly_those_the_dashboard_lists(make_enterprise, make_agreement):
    today = college_today()
    enterprise = make_enterprise()
    agreements = [
        make_agreement(enterprise, ends_on=today + timedelta(days=offset))
        for offset in (-1, 0, 1, 59, 60, 61, 400)
    ]
    agreements.append(
        make_agreement(
            enterprise,
            starts_on=today + timedelta(days=1),
            ends_on=today + timedelta(days=30),
        )
    )
    listed = set(db.session.execute(queries.expiring_agreements(today)).scalars())
    flagged = {a for a in agreements if services.agreement_standing(a, today) == "expiring"}
    assert len(flagged) == 4  # ending today, tomorrow, in 59 and in 60 days
    assert flagged == listed
