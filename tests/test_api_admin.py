"""Administration through the JSON API: users, departments, enterprises, agreements, periods."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from exchange.accounts.models import User
from exchange.extensions import db
from exchange.org.models import Period
from tests.conftest import PASSWORD
from tests.helpers import API, assert_error


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Admin")


@pytest.fixture
def as_admin(admin, api_token):
    return api_token(admin)


@pytest.fixture
def org(make_department, make_enterprise, make_agreement, make_period):
    """One of each, so every address has a record to point at."""
    department = make_department(code="CM", name="Clinical Medicine")
    enterprise = make_enterprise(code="RJ", name="Renji Hospital")
    agreement = make_agreement(enterprise, department)
    period = make_period(name="2025-2026")
    return {
        "departments": department.id,
        "enterprises": enterprise.id,
        "agreements": agreement.id,
        "periods": period.id,
    }


# --- who may ----------------------------------------------------------------

ADMIN_ONLY = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{users}"),
    ("PATCH", "/users/{users}"),
    ("POST", "/departments"),
    ("GET", "/departments/{departments}"),
    ("PATCH", "/departments/{departments}"),
    ("POST", "/enterprises"),
    ("GET", "/enterprises/{enterprises}"),
    ("PATCH", "/enterprises/{enterprises}"),
    ("GET", "/agreements"),
    ("POST", "/agreements"),
    ("GET", "/agreements/{agreements}"),
    ("PATCH", "/agreements/{agreements}"),
    ("POST", "/periods"),
    ("GET", "/periods/{periods}"),
    ("PATCH", "/periods/{periods}"),
]


@pytest.mark.parametrize("role", ["teacher", "expert", "head"])
def test_every_admin_endpoint_refuses_other_roles(client, make_user, api_token, org, role):
    user = make_user(role)
    headers = api_token(user)
    ids = {**org, "users": user.id}
    let_through = []
    for method, path in ADMIN_ONLY:
        body = {"name": "Taken over", "state": "locked", "role": "admin"}
        response = client.open(
            f"{API}{path.format(**ids)}", method=method, headers=headers, json=body
        )
        if response.status_code != 403 or response.get_json()["error"]["code"] != "forbidden":
            let_through.append((method, path, response.status_code))
    assert let_through == []
    db.session.expire_all()
    assert db.session.get(User, user.id).role == role
    assert db.session.get(Period, org["periods"]).state == "open"


def test_every_admin_endpoint_wants_a_token(client, org, make_user):
    ids = {**org, "users": make_user("teacher").id}
    for method, path in ADMIN_ONLY:
        response = client.open(f"{API}{path.format(**ids)}", method=method, json={})
        assert_error(response, 401, "unauthorized")


def test_the_admin_gets_in_everywhere(client, as_admin, org, admin):
    ids = {**org, "users": admin.id}
    for method, path in ADMIN_ONLY:
        if method == "GET":
            assert client.get(f"{API}{path.format(**ids)}", headers=as_admin).status_code == 200


# --- departments ------------------------------------------------------------


def test_department_round_trip(client, as_admin):
    response = client.post(
        f"{API}/departments", headers=as_admin, json={"code": "nur", "name": "Nursing"}
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created == {"id": created["id"], "code": "NUR", "name": "Nursing"}
    assert response.headers["Location"].endswith(f"{API}/departments/{created['id']}")

    url = f"{API}/departments/{created['id']}"
    assert client.get(url, headers=as_admin).get_json() == created

    changed = client.patch(url, headers=as_admin, json={"name": "Nursing School"})
    assert changed.status_code == 200
    assert changed.get_json() == {**created, "name": "Nursing School"}

    listed = client.get(f"{API}/departments", headers=as_admin).get_json()["items"]
    assert {**created, "name": "Nursing School"} in listed


def test_a_department_code_is_unique(client, as_admin, make_department):
    make_department(code="PH")
    response = client.post(f"{API}/departments", headers=as_admin, json={"code": "ph", "name": "X"})
    assert_error(response, 422, "validation_error", ("code",))


def test_patching_a_department_to_its_own_code_is_fine(client, as_admin, make_department):
    department = make_department(code="ML")
    response = client.patch(
        f"{API}/departments/{department.id}", headers=as_admin, json={"code": "ML"}
    )
    assert response.status_code == 200


# --- enterprises ------------------------------------------------------------

ENTERPRISE = {
    "code": "SH6",
    "name": "Shanghai Sixth People's Hospital",
    "kind": "hospital",
    "contact_person": "Dr. Chen",
    "phone": "+86 21 6436 9181",
    "address": "600 Yishan Road",
}


def test_enterprise_round_trip(client, as_admin):
    response = client.post(f"{API}/enterprises", headers=as_admin, json=ENTERPRISE)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {"id": created["id"], **ENTERPRISE, "agreements": []}

    url = f"{API}/enterprises/{created['id']}"
    assert client.get(url, headers=as_admin).get_json() == created

    changed = client.patch(url, headers=as_admin, json={"phone": "021-1234"}).get_json()
    assert changed == {**created, "phone": "021-1234"}
    assert client.get(url, headers=as_admin).get_json() == changed


def test_optional_enterprise_fields_may_be_left_out(client, as_admin):
    body = {"code": "MIN", "name": "Minimal Ltd", "kind": "other"}
    created = client.post(f"{API}/enterprises", headers=as_admin, json=body).get_json()
    assert created["contact_person"] == created["phone"] == created["address"] == ""


# --- agreements -------------------------------------------------------------


def test_agreement_round_trip(client, as_admin, make_enterprise, make_department):
    enterprise = make_enterprise()
    department = make_department()
    body = {
        "enterprise_id": enterprise.id,
        "department_id": None,
        "reference": "COOP-2026-01",
        "starts_on": "2026-01-01",
        "ends_on": "2027-12-31",
        "scope": "teaching",
    }
    response = client.post(f"{API}/agreements", headers=as_admin, json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {"id": created["id"], **body}

    url = f"{API}/agreements/{created['id']}"
    assert client.get(url, headers=as_admin).get_json() == created

    changed = client.patch(
        url, headers=as_admin, json={"department_id": department.id, "ends_on": "2026-06-30"}
    ).get_json()
    assert changed == {**created, "department_id": department.id, "ends_on": "2026-06-30"}

    carried = client.get(f"{API}/enterprises/{enterprise.id}", headers=as_admin).get_json()
    assert carried["agreements"] == [changed]

    back = client.patch(url, headers=as_admin, json={"department_id": None}).get_json()
    assert back["department_id"] is None


def test_agreements_can_be_listed_per_enterprise(client, as_admin, make_enterprise, make_agreement):
    first, second = make_enterprise(), make_enterprise()
    mine = make_agreement(first)
    make_agreement(second)
    assert client.get(f"{API}/agreements", headers=as_admin).get_json()["total"] == 2
    body = client.get(f"{API}/agreements?enterprise={first.id}", headers=as_admin).get_json()
    assert [a["id"] for a in body["items"]] == [mine.id]
    bad = client.get(f"{API}/agreements?enterprise=first", headers=as_admin)
    assert_error(bad, 400, "bad_request")


# --- periods ----------------------------------------------------------------


def test_period_round_trip_and_lock(client, as_admin):
    body = {"name": "2026-2027", "starts_on": "2026-09-01", "ends_on": "2027-08-31"}
    response = client.post(f"{API}/periods", headers=as_admin, json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {"id": created["id"], **body, "state": "open"}

    url = f"{API}/periods/{created['id']}"
    assert client.get(url, headers=as_admin).get_json() == created

    renamed = client.patch(url, headers=as_admin, json={"name": "AY 2026/27"}).get_json()
    assert renamed == {**created, "name": "AY 2026/27"}

    locked = client.patch(url, headers=as_admin, json={"state": "locked"})
    assert locked.status_code == 200
    assert locked.get_json() == {**renamed, "state": "locked"}
    assert client.get(url, headers=as_admin).get_json()["state"] == "locked"


def test_locking_a_locked_period_is_a_conflict(client, as_admin, make_period):
    url = f"{API}/periods/{make_period().id}"
    assert client.patch(url, headers=as_admin, json={"state": "locked"}).status_code == 200
    assert_error(client.patch(url, headers=as_admin, json={"state": "locked"}), 409, "conflict")


def test_a_locked_period_cannot_be_edited(client, as_admin, make_period):
    period = make_period(name="Old", state="locked")
    response = client.patch(f"{API}/periods/{period.id}", headers=as_admin, json={"name": "New"})
    assert_error(response, 409, "conflict")
    db.session.expire_all()
    assert db.session.get(Period, period.id).name == "Old"


def test_a_locked_period_cannot_be_opened_again(client, as_admin, make_period):
    period = make_period(state="locked")
    response = client.patch(f"{API}/periods/{period.id}", headers=as_admin, json={"state": "open"})
    assert_error(response, 422, "validation_error", ("state",))


@pytest.mark.parametrize("state", ["closed", "", 1, None, True, ["locked"]])
def test_a_period_state_must_be_open_or_locked(client, as_admin, make_period, state):
    period = make_period()
    response = client.patch(f"{API}/periods/{period.id}", headers=as_admin, json={"state": state})
    assert_error(response, 422, "validation_error", ("state",))
    db.session.expire_all()
    assert db.session.get(Period, period.id).state == "open"


def test_saying_open_to_an_open_period_changes_nothing(client, as_admin, make_period):
    period = make_period()
    response = client.patch(f"{API}/periods/{period.id}", headers=as_admin, json={"state": "open"})
    assert response.get_json()["state"] == "open"


def test_a_new_period_cannot_start_locked(client, as_admin):
    body = {"name": "X", "starts_on": "2030-09-01", "ends_on": "2031-08-31", "state": "locked"}
    response = client.post(f"{API}/periods", headers=as_admin, json=body)
    assert_error(response, 422, "validation_error", ("state",))
    assert db.session.execute(select(Period)).first() is None


def test_periods_must_not_overlap(client, as_admin, make_period):
    from datetime import date

    make_period(starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
    body = {"name": "Overlap", "starts_on": "2026-08-01", "ends_on": "2027-07-31"}
    response = client.post(f"{API}/periods", headers=as_admin, json=body)
    assert_error(response, 422, "validation_error", ("starts_on",))


# --- users ------------------------------------------------------------------


def test_user_round_trip(client, as_admin, make_department):
    department = make_department()
    body = {
        "email": "Wang.Fang@Example.com",
        "name": "Wang Fang",
        "role": "teacher",
        "password": "a-good-password",
        "department_id": department.id,
        "locale": "zh_Hans",
    }
    response = client.post(f"{API}/users", headers=as_admin, json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {
        "id": created["id"],
        "email": "wang.fang@example.com",
        "name": "Wang Fang",
        "role": "teacher",
        "department_id": department.id,
        "enterprise_id": None,
        "active": True,
        "locale": "zh_Hans",
        "staff_number": None,
    }
    assert response.headers["Location"].endswith(f"{API}/users/{created['id']}")

    url = f"{API}/users/{created['id']}"
    assert client.get(url, headers=as_admin).get_json() == created

    changed = client.patch(url, headers=as_admin, json={"name": "Wang Fang (Dr.)"}).get_json()
    assert changed == {**created, "name": "Wang Fang (Dr.)"}

    token = client.post(
        f"{API}/tokens", json={"email": "wang.fang@example.com", "password": "a-good-password"}
    )
    assert token.status_code == 201


def test_password_hashes_are_never_answered(client, as_admin, admin):
    answers = [
        client.get(f"{API}/users", headers=as_admin).get_data(as_text=True),
        client.get(f"{API}/users/{admin.id}", headers=as_admin).get_data(as_text=True),
        client.patch(f"{API}/users/{admin.id}", headers=as_admin, json={}).get_data(as_text=True),
    ]
    for text in answers:
        assert "password" not in text
        assert admin.password_hash not in text
        assert "pbkdf2" not in text


def test_changing_a_password_through_patch(client, as_admin, make_user):
    user = make_user("head")
    url = f"{API}/users/{user.id}"
    response = client.patch(url, headers=as_admin, json={"password": "brand-new-secret"})
    assert response.status_code == 200
    old = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post(f"{API}/tokens", json={"email": user.email, "password": "brand-new-secret"})
    assert new.status_code == 201


def test_patch_without_a_password_keeps_it(client, as_admin, make_user):
    user = make_user("teacher")
    client.patch(
        f"{API}/users/{user.id}", headers=as_admin, json={"name": "Renamed", "password": None}
    )
    response = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201


def test_moving_a_teacher_to_an_enterprise(client, as_admin, make_user, make_enterprise):
    user = make_user("teacher")
    url = f"{API}/users/{user.id}"
    missing = client.patch(url, headers=as_admin, json={"role": "expert"})
    assert_error(missing, 422, "validation_error", ("enterprise_id",))
    enterprise = make_enterprise()
    moved = client.patch(
        url, headers=as_admin, json={"role": "expert", "enterprise_id": enterprise.id}
    ).get_json()
    assert moved["role"] == "expert"
    assert moved["enterprise_id"] == enterprise.id
    assert moved["department_id"] is None


def test_deactivating_a_user_ends_their_api_access(client, as_admin, make_user, api_token):
    user = make_user("expert")
    headers = api_token(user)
    response = client.patch(f"{API}/users/{user.id}", headers=as_admin, json={"active": False})
    assert response.get_json()["active"] is False
    assert_error(client.get(f"{API}/me", headers=headers), 401, "unauthorized")
    again = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    assert_error(again, 401, "unauthorized")

    client.patch(f"{API}/users/{user.id}", headers=as_admin, json={"active": True})
    assert (
        client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD}).status_code
        == 201
    )


def test_an_admin_cannot_lock_themselves_out(client, as_admin, admin):
    url = f"{API}/users/{admin.id}"
    assert_error(
        client.patch(url, headers=as_admin, json={"active": False}),
        422,
        "validation_error",
        ("active",),
    )
    assert_error(
        client.patch(url, headers=as_admin, json={"role": "teacher", "department_id": None}),
        422,
        "validation_error",
        ("department_id",),
    )
    assert client.get(f"{API}/me", headers=as_admin).get_json()["role"] == "admin"


def test_an_e_mail_address_belongs_to_one_user(client, as_admin, make_user):
    make_user("teacher", email="taken@example.com")
    other = make_user("teacher")
    response = client.patch(
        f"{API}/users/{other.id}", headers=as_admin, json={"email": "TAKEN@example.com"}
    )
    assert_error(response, 422, "validation_error", ("email",))


def test_users_can_be_filtered_by_role_and_searched(client, as_admin, make_user):
    make_user("teacher", name="Liu Yang", email="liu.yang@example.com")
    make_user("expert", name="Sun Li", email="sun.li@example.com")
    make_user("head", name="Liu Ming", email="head.cm@example.com")

    def names(query: str) -> list[str]:
        body = client.get(f"{API}/users?{query}", headers=as_admin).get_json()
        return [u["name"] for u in body["items"]]

    assert names("role=expert") == ["Sun Li"]
    assert names("q=liu") == ["Liu Ming", "Liu Yang"]
    assert names("q=LIU&role=head") == ["Liu Ming"]
    assert names("q=sun.li@") == ["Sun Li"]
    assert names("q=%25") == []  # a LIKE wildcard is searched for, not obeyed
    assert names("q=_") == []
    assert len(names("")) == 4


@pytest.mark.parametrize("query", ["role=boss", "role=", "q=" + "x" * 201, "q=a%00b"])
def test_bad_user_filters_are_400(client, as_admin, query):
    assert_error(client.get(f"{API}/users?{query}", headers=as_admin), 400, "bad_request")


# --- validation: each bad field is named -----------------------------------


@pytest.fixture
def valid(make_department, make_enterprise):
    """A valid POST body per collection."""
    department, enterprise = make_department(), make_enterprise()
    return {
        "users": {
            "email": "new.user@example.com",
            "name": "New User",
            "role": "teacher",
            "password": "long-enough-1",
            "department_id": department.id,
            "active": True,
            "locale": "en",
        },
        "departments": {"code": "NEW", "name": "New Department"},
        "enterprises": {"code": "NEWCO", "name": "New Co", "kind": "device"},
        "agreements": {
            "enterprise_id": enterprise.id,
            "department_id": department.id,
            "reference": "R-1",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "scope": "both",
        },
        "periods": {"name": "2040-2041", "starts_on": "2040-09-01", "ends_on": "2041-08-31"},
    }


BAD_FIELDS = [
    ("users", {"email": "not-an-address"}, "email"),
    ("users", {"email": None}, "email"),
    ("users", {"name": 5}, "name"),
    ("users", {"name": ""}, "name"),
    ("users", {"name": "x" * 121}, "name"),
    ("users", {"role": "boss"}, "role"),
    ("users", {"role": None}, "role"),
    ("users", {"department_id": "x"}, "department_id"),
    ("users", {"department_id": 999_999}, "department_id"),
    ("users", {"department_id": 1.0}, "department_id"),
    ("users", {"department_id": 10**20}, "department_id"),
    ("users", {"department_id": None}, "department_id"),
    ("users", {"role": "expert"}, "enterprise_id"),
    ("users", {"role": "expert", "enterprise_id": -1}, "enterprise_id"),
    ("users", {"active": "yes"}, "active"),
    ("users", {"active": 1}, "active"),
    ("users", {"locale": "fr"}, "locale"),
    ("users", {"locale": 7}, "locale"),
    ("users", {"password": "short"}, "password"),
    ("users", {"password": "p" * 201}, "password"),
    ("users", {"password": None}, "password"),
    ("departments", {"code": "C M!"}, "code"),
    ("departments", {"code": "X" * 17}, "code"),
    ("departments", {"code": None}, "code"),
    ("departments", {"name": "x" * 121}, "name"),
    ("departments", {"name": {"en": "x"}}, "name"),
    ("enterprises", {"kind": "bank"}, "kind"),
    ("enterprises", {"code": ""}, "code"),
    ("enterprises", {"name": "x" * 161}, "name"),
    ("enterprises", {"contact_person": "x" * 121}, "contact_person"),
    ("enterprises", {"phone": "1" * 41}, "phone"),
    ("enterprises", {"address": "x" * 301}, "address"),
    ("enterprises", {"address": 42}, "address"),
    ("agreements", {"enterprise_id": "x"}, "enterprise_id"),
    ("agreements", {"enterprise_id": None}, "enterprise_id"),
    ("agreements", {"enterprise_id": 999_999}, "enterprise_id"),
    ("agreements", {"department_id": 999_999}, "department_id"),
    ("agreements", {"reference": ""}, "reference"),
    ("agreements", {"reference": "x" * 61}, "reference"),
    ("agreements", {"scope": "all"}, "scope"),
    ("agreements", {"starts_on": "01/09/2026"}, "starts_on"),
    ("agreements", {"starts_on": "2026-9-1"}, "starts_on"),
    ("agreements", {"starts_on": "20260101"}, "starts_on"),
    ("agreements", {"starts_on": "2026-01-01T00:00:00"}, "starts_on"),
    ("agreements", {"starts_on": 20260101}, "starts_on"),
    ("agreements", {"starts_on": None}, "starts_on"),
    ("agreements", {"ends_on": "2026-02-30"}, "ends_on"),
    ("agreements", {"ends_on": "2025-12-31"}, "ends_on"),
    ("periods", {"name": ""}, "name"),
    ("periods", {"name": "x" * 41}, "name"),
    ("periods", {"starts_on": "next week"}, "starts_on"),
    ("periods", {"ends_on": "2040-08-31"}, "ends_on"),
    ("periods", {"ends_on": ["2041-08-31"]}, "ends_on"),
]


@pytest.mark.parametrize(("collection", "change", "field"), BAD_FIELDS)
def test_a_bad_field_is_named_on_create(client, as_admin, valid, collection, change, field):
    response = client.post(
        f"{API}/{collection}", headers=as_admin, json={**valid[collection], **change}
    )
    assert_error(response, 422, "validation_error", (field,))


@pytest.mark.parametrize(
    ("collection", "change", "field"),
    [row for row in BAD_FIELDS if row[2] != "password" or row[1]["password"] is not None],
)
def test_a_bad_field_is_named_on_patch(client, as_admin, valid, collection, change, field):
    created = client.post(f"{API}/{collection}", headers=as_admin, json=valid[collection])
    assert created.status_code == 201, created.get_json()
    url = f"{API}/{collection}/{created.get_json()['id']}"
    response = client.patch(url, headers=as_admin, json=change)
    assert_error(response, 422, "validation_error", (field,))
    assert client.get(url, headers=as_admin).get_json() == created.get_json()  # unchanged


@pytest.mark.parametrize(
    "collection", ["users", "departments", "enterprises", "agreements", "periods"]
)
def test_an_empty_post_names_the_required_fields(client, as_admin, collection):
    required = {
        "users": {"email", "name", "role", "password"},
        "departments": {"code", "name"},
        "enterprises": {"code", "name", "kind"},
        "agreements": {"enterprise_id", "reference", "scope", "starts_on", "ends_on"},
        "periods": {"name", "starts_on", "ends_on"},
    }[collection]
    response = client.post(f"{API}/{collection}", headers=as_admin, json={})
    assert_error(response, 422, "validation_error", tuple(required))


@pytest.mark.parametrize(
    "collection", ["users", "departments", "enterprises", "agreements", "periods"]
)
def test_an_empty_patch_changes_nothing(client, as_admin, valid, collection):
    created = client.post(
        f"{API}/{collection}", headers=as_admin, json=valid[collection]
    ).get_json()
    response = client.patch(f"{API}/{collection}/{created['id']}", headers=as_admin, json={})
    assert response.status_code == 200
    assert response.get_json() == created


# --- hostile input ------------------------------------------------------------


@pytest.mark.parametrize(
    "collection", ["users", "departments", "enterprises", "agreements", "periods"]
)
@pytest.mark.parametrize("id_part", ["999999", "99999999999999999999", "2147483648", "0"])
def test_unknown_or_impossible_ids_are_404(client, as_admin, collection, id_part):
    url = f"{API}/{collection}/{id_part}"
    assert_error(client.get(url, headers=as_admin), 404, "not_found")
    assert_error(client.patch(url, headers=as_admin, json={"name": "x"}), 404, "not_found")


@pytest.mark.parametrize("id_part", ["-1", "1.0", "abc", "1%00", "%F0%9F%92%A5"])
def test_ids_that_are_not_numbers_are_404(client, as_admin, org, id_part):
    assert_error(client.get(f"{API}/departments/{id_part}", headers=as_admin), 404, "not_found")


@pytest.mark.parametrize(
    "collection", ["users", "departments", "enterprises", "agreements", "periods"]
)
@pytest.mark.parametrize("body", ["[]", '"x"', "42", "null", "{broken", ""])
def test_bodies_that_are_not_objects_are_400(client, as_admin, org, admin, collection, body):
    ids = {**org, "users": admin.id}
    for url in (f"{API}/{collection}", f"{API}/{collection}/{ids[collection]}"):
        method = "POST" if url.endswith(collection) else "PATCH"
        response = client.open(
            url, method=method, headers=as_admin, data=body, content_type="application/json"
        )
        assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    "raw_name",
    ['"bad\\u0000name"', '"\\ud800"', '"\\udfff tail"', "NaN", "Infinity", "1e999", "[]", "{}"],
)
def test_unstorable_or_odd_json_values_are_422(client, as_admin, raw_name):
    body = '{"code": "ODD", "name": %s}' % raw_name  # noqa: UP031 - raw JSON on purpose
    response = client.post(
        f"{API}/departments", headers=as_admin, data=body, content_type="application/json"
    )
    assert_error(response, 422, "validation_error", ("name",))


def test_oversize_text_is_refused_not_cut(client, as_admin, make_department):
    department = make_department(code="KEEP", name="Kept")
    response = client.patch(
        f"{API}/departments/{department.id}", headers=as_admin, json={"name": "名" * 100_000}
    )
    assert_error(response, 422, "validation_error", ("name",))
    assert (
        client.get(f"{API}/departments/{department.id}", headers=as_admin).get_json()["name"]
        == "Kept"
    )


def test_ids_and_hashes_in_a_body_are_ignored(client, as_admin, make_user, make_department):
    victim = make_user("teacher")
    other = make_department()
    created = client.post(
        f"{API}/departments",
        headers=as_admin,
        json={"id": other.id, "code": "NEW", "name": "New"},
    ).get_json()
    assert created["id"] != other.id
    assert (
        client.get(f"{API}/departments/{other.id}", headers=as_admin).get_json()["code"]
        == other.code
    )

    client.patch(
        f"{API}/users/{victim.id}",
        headers=as_admin,
        json={"id": 1, "password_hash": "x", "totp_secret": "JBSWY3DPEHPK3PXP"},
    )
    db.session.expire_all()
    user = db.session.get(User, victim.id)
    assert user.check_password(PASSWORD)
    assert user.totp_secret is None
