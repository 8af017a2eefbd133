"""The base of the JSON API (SPEC §7): tokens, the caller, errors, lists, OpenAPI."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from exchange.accounts.models import ApiToken
from exchange.db import utcnow
from exchange.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import (
    API,
    assert_error,
    openapi_document,
    required_fields,
    resolve,
    sql_statements,
)


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


# --- tokens ---------------------------------------------------------------


def test_a_token_is_issued_for_the_right_password(client, make_user):
    user = make_user("teacher")
    response = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert isinstance(token, str)
    assert len(token) >= 32
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == user.id


def test_the_e_mail_address_is_matched_whatever_its_case(client, make_user):
    make_user("teacher", email="li.na@example.com")
    response = client.post(
        f"{API}/tokens", json={"email": "Li.Na@Example.COM", "password": PASSWORD}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("email", "password"),
    [("known@example.com", "wrong-password"), ("nobody@example.com", PASSWORD), ("", "")],
)
def test_wrong_credentials_get_401_without_saying_which(client, make_user, email, password):
    make_user("teacher", email="known@example.com")
    response = client.post(f"{API}/tokens", json={"email": email, "password": password})
    error = assert_error(response, 401, "unauthorized")
    assert error["message"] == "The e-mail address or password is not right."
    assert "token" not in response.get_json()


def test_a_deactivated_user_cannot_get_a_token(client, make_user):
    user = make_user("expert", active=False)
    response = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    assert_error(response, 401, "unauthorized")
    assert db.session.execute(select(ApiToken)).first() is None


def test_token_fields_of_the_wrong_type_are_named(client):
    response = client.post(f"{API}/tokens", json={"email": ["a"], "password": 12345678})
    assert_error(response, 422, "validation_error", ("email", "password"))


@pytest.mark.parametrize(
    "raw",
    [
        '{"email": "a\\u0000@example.com", "password": "x"}',
        '{"email": "a@example.com", "password": "\\ud800"}',
        '{"email": "a@example.com", "password": 1e999}',
    ],
)
def test_unstorable_credentials_are_422_not_a_crash(client, raw):
    response = client.post(f"{API}/tokens", data=raw, content_type="application/json")
    assert_error(response, 422, "validation_error")


def test_a_revoked_token_no_longer_works(client, make_user, api_token):
    headers = api_token(make_user("teacher"))
    assert client.delete(f"{API}/tokens/current", headers=headers).status_code == 204
    assert_error(client.get(f"{API}/me", headers=headers), 401, "unauthorized")
    assert_error(client.delete(f"{API}/tokens/current", headers=headers), 401, "unauthorized")


def test_revoking_one_token_keeps_the_others(client, make_user, api_token):
    user = make_user("teacher")
    phone, laptop = api_token(user), api_token(user)
    client.delete(f"{API}/tokens/current", headers=phone)
    assert client.get(f"{API}/me", headers=laptop).status_code == 200


def test_an_expired_token_is_refused(client, make_user, api_token):
    headers = api_token(make_user("head"))
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert_error(client.get(f"{API}/me", headers=headers), 401, "unauthorized")


def test_tokens_of_a_user_who_is_deactivated_stop_working(client, make_user, api_token):
    user = make_user("teacher")
    headers = api_token(user)
    user.active = False
    db.session.commit()
    assert_error(client.get(f"{API}/me", headers=headers), 401, "unauthorized")


def test_tokens_are_stored_only_as_a_digest(client, make_user, api_token):
    token = bearer(api_token(make_user("teacher")))
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(getattr(row, c.key)) for c in ApiToken.__table__.columns)
    assert token not in stored


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-even-a-scheme", "Bearer \x00"],
)
def test_bad_authorization_headers_get_401(client, authorization):
    response = client.get(f"{API}/me", headers={"Authorization": authorization})
    assert_error(response, 401, "unauthorized")


def test_401_names_the_bearer_scheme(client):
    response = client.get(f"{API}/me")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_does_not_authenticate_the_api(client, make_user, login_as):
    login_as(make_user("admin"))
    assert client.get("/").status_code == 200  # the cookie works for pages
    assert_error(client.get(f"{API}/me"), 401, "unauthorized")
    assert_error(client.get(f"{API}/users"), 401, "unauthorized")


# --- the caller -----------------------------------------------------------


def test_me_describes_a_teacher(client, make_user, make_department, api_token):
    department = make_department(code="NUR", name="Nursing")
    user = make_user("teacher", name="Zhou Min", department=department, locale="zh_Hans")
    body = client.get(f"{API}/me", headers=api_token(user)).get_json()
    assert body == {
        "id": user.id,
        "email": user.email,
        "name": "Zhou Min",
        "role": "teacher",
        "department_id": department.id,
        "enterprise_id": None,
        "active": True,
        "locale": "zh_Hans",
        "staff_number": None,
        "department": {"id": department.id, "code": "NUR", "name": "Nursing"},
        "enterprise": None,
    }


def test_me_describes_an_expert(client, make_user, make_enterprise, api_token):
    enterprise = make_enterprise(code="RJH", name="Renji Hospital")
    user = make_user("expert", enterprise=enterprise)
    body = client.get(f"{API}/me", headers=api_token(user)).get_json()
    assert body["role"] == "expert"
    assert body["department"] is None
    assert body["enterprise"] == {"id": enterprise.id, "code": "RJH", "name": "Renji Hospital"}
    assert not any("password" in key for key in body)


def test_api_answers_are_never_cached(client, make_user, api_token):
    response = client.get(f"{API}/me", headers=api_token(make_user("teacher")))
    assert response.headers["Cache-Control"] == "no-store"


# --- error shapes ---------------------------------------------------------


def test_malformed_json_is_400(client):
    response = client.post(f"{API}/tokens", data="{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("body", ["[]", '"text"', "5", "null", "true", '[{"email": "a"}]'])
def test_a_body_that_is_not_an_object_is_400(client, body):
    response = client.post(f"{API}/tokens", data=body, content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_a_body_that_is_not_json_at_all_is_400(client):
    response = client.post(f"{API}/tokens", data={"email": "a@example.com", "password": "x"})
    assert_error(response, 400, "bad_request")


def test_absurdly_deep_json_is_400_not_a_crash(client):
    response = client.post(f"{API}/tokens", data="[" * 100_000, content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_a_body_over_the_size_limit_is_refused_as_json(client):
    response = client.post(
        f"{API}/tokens", data="x" * (7 * 1024 * 1024), content_type="application/json"
    )
    assert_error(response, 413, "too_large")


def test_no_token_is_401(client):
    assert_error(client.get(f"{API}/me"), 401, "unauthorized")


def test_a_role_without_permission_is_403(client, make_user, api_token):
    assert_error(
        client.get(f"{API}/users", headers=api_token(make_user("teacher"))), 403, "forbidden"
    )


@pytest.mark.parametrize(
    "path", ["/nothing-here", "/users/1/nothing", "/v2/users", "/departments/"]
)
def test_an_unknown_address_is_a_json_404(client, make_user, api_token, path):
    headers = api_token(make_user("admin"))
    assert_error(client.get(f"{API}{path}", headers=headers), 404, "not_found")
    assert_error(client.post(f"{API}{path}", headers=headers, json={}), 404, "not_found")


def test_an_unknown_address_is_404_even_without_a_token(client):
    assert_error(client.get(f"{API}/nothing-here"), 404, "not_found")


def test_an_unknown_record_is_a_json_404(client, make_user, api_token):
    headers = api_token(make_user("admin"))
    assert_error(client.get(f"{API}/departments/999", headers=headers), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/me", {"GET"}),
        ("GET", "/tokens", {"POST"}),
        ("DELETE", "/departments", {"GET", "POST"}),
        ("PUT", "/users/1", {"GET", "PATCH"}),
        ("POST", "/openapi.json", {"GET"}),
    ],
)
def test_a_wrong_method_is_a_json_405(client, make_user, api_token, method, path, allowed):
    response = client.open(f"{API}{path}", method=method, headers=api_token(make_user("admin")))
    assert_error(response, 405, "method_not_allowed")
    assert allowed <= set(re.split(r",\s*", response.headers["Allow"]))


def test_a_conflict_is_409(client, make_user, make_period, api_token):
    period = make_period(state="locked")
    response = client.patch(
        f"{API}/periods/{period.id}",
        headers=api_token(make_user("admin")),
        json={"state": "locked"},
    )
    assert_error(response, 409, "conflict")


def test_invalid_fields_are_422_and_named(client, make_user, api_token):
    headers = api_token(make_user("admin"))
    response = client.post(f"{API}/departments", headers=headers, json={"code": "", "name": ""})
    assert_error(response, 422, "validation_error", ("code", "name"))


def test_fields_of_the_wrong_json_type_are_422_and_named(client, make_user, api_token):
    headers = api_token(make_user("admin"))
    response = client.post(f"{API}/departments", headers=headers, json={"code": 5, "name": []})
    error = assert_error(response, 422, "validation_error", ("code", "name"))
    assert error["fields"]["code"] == "Must be a string."


# --- lists and pagination -------------------------------------------------


@pytest.mark.parametrize("role", ["teacher", "expert", "head", "admin"])
def test_everyone_signed_in_reads_the_organisation(
    client,
    make_user,
    make_department,
    make_enterprise,
    make_agreement,
    make_period,
    api_token,
    role,
):
    department = make_department(code="PH", name="Pharmacy")
    enterprise = make_enterprise(code="SINO", name="Sino Pharma", kind="pharma")
    agreement = make_agreement(enterprise, department, scope="practice")
    period = make_period(name="2025-2026")
    headers = api_token(make_user(role))

    departments = client.get(f"{API}/departments", headers=headers).get_json()["items"]
    assert {"id": department.id, "code": "PH", "name": "Pharmacy"} in departments

    enterprises = client.get(f"{API}/enterprises", headers=headers).get_json()["items"]
    sino = next(e for e in enterprises if e["id"] == enterprise.id)
    assert sino == {
        "id": enterprise.id,
        "code": "SINO",
        "name": "Sino Pharma",
        "kind": "pharma",
        "contact_person": "",
        "phone": "",
        "address": "",
        "agreements": [
            {
                "id": agreement.id,
                "enterprise_id": enterprise.id,
                "department_id": department.id,
                "reference": agreement.reference,
                "starts_on": agreement.starts_on.isoformat(),
                "ends_on": agreement.ends_on.isoformat(),
                "scope": "practice",
            }
        ],
    }

    periods = client.get(f"{API}/periods", headers=headers).get_json()["items"]
    assert periods == [
        {
            "id": period.id,
            "name": "2025-2026",
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "state": "open",
        }
    ]


@pytest.mark.parametrize("path", ["/departments", "/enterprises", "/periods"])
def test_organisation_lists_need_a_token(client, path):
    assert_error(client.get(f"{API}{path}"), 401, "unauthorized")


def test_a_list_answers_one_page_with_its_total(client, make_user, make_department, api_token):
    headers = api_token(make_user("admin"))
    for n in range(5):
        make_department(code=f"X{n}")
    body = client.get(f"{API}/departments?per_page=2&page=2", headers=headers).get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["page"] == 2
    assert body["per_page"] == 2
    assert body["total"] == 5
    assert [d["code"] for d in body["items"]] == ["X2", "X3"]


def test_a_page_past_the_end_is_empty(client, make_user, make_department, api_token):
    headers = api_token(make_user("admin"))
    make_department()
    body = client.get(f"{API}/departments?page=50", headers=headers).get_json()
    assert body["items"] == []
    assert body["total"] == 1


def test_per_page_is_capped_at_100(client, make_user, make_department, api_token):
    headers = api_token(make_user("teacher"))
    for n in range(101):
        make_department(code=f"C{n:03}")
    body = client.get(f"{API}/departments?per_page=1000", headers=headers).get_json()
    assert body["per_page"] == 100
    assert len(body["items"]) == 100
    assert body["total"] == 102  # the teacher's own department too


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=abc",
        "page=-1",
        "page=1.5",
        "page=",
        "page=99999999999999999999",
        "page=" + "9" * 5000,
        "per_page=0",
        "per_page=abc",
        "per_page=-5",
    ],
)
def test_a_bad_page_or_per_page_is_400(client, make_user, api_token, query):
    response = client.get(f"{API}/departments?{query}", headers=api_token(make_user("teacher")))
    assert_error(response, 400, "bad_request")


def test_listing_enterprises_runs_the_same_queries_for_3_or_30(
    client, make_user, make_enterprise, make_agreement, make_department, api_token
):
    headers = api_token(make_user("teacher"))
    department = make_department()

    def add_enterprises(count: int) -> None:
        for _ in range(count):
            enterprise = make_enterprise()
            make_agreement(enterprise)
            make_agreement(enterprise, department, scope="teaching")

    def queries_for_the_list(expected: int) -> int:
        with sql_statements() as statements:
            body = client.get(f"{API}/enterprises?per_page=100", headers=headers).get_json()
        assert len(body["items"]) == expected
        assert all(len(e["agreements"]) == 2 for e in body["items"])
        return len(statements)

    add_enterprises(3)
    few = queries_for_the_list(3)
    add_enterprises(27)
    many = queries_for_the_list(30)
    assert few == many


# --- the OpenAPI description ----------------------------------------------

NOT_DESCRIBED = {"/openapi.json"}  # the description does not describe itself


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/"):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(API))
        if path not in NOT_DESCRIBED:
            yield rule, path


def test_the_openapi_description_is_public_and_names_bearer_auth(client):
    doc = openapi_document(client)
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": API}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /tokens.",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    error = resolve(doc, doc["components"]["schemas"]["Error"]["properties"]["error"])
    assert error["required"] == ["code", "message", "fields"]


def test_every_api_route_is_described_with_its_methods(app, client):
    paths = openapi_document(client)["paths"]
    missing = []
    for rule, path in _api_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == [], "declare these with @operation (exchange/api/spec.py)"


def test_the_description_has_no_paths_that_do_not_exist(app, client):
    routes = {path for _rule, path in _api_rules(app)}
    assert set(openapi_document(client)["paths"]) - routes == set()


def test_every_reference_in_the_description_resolves(client):
    doc = openapi_document(client)

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for reference in walk(doc):
        target = doc
        for part in reference.removeprefix("#/").split("/"):
            assert part in target, f"{reference} does not resolve"
            target = target[part]


def test_public_operations_are_marked_and_the_others_document_401(app, client):
    from exchange.permissions import PUBLIC, permission_of

    paths = openapi_document(client)["paths"]
    for rule, path in _api_rules(app):
        is_public = permission_of(app.view_functions[rule.endpoint]) == PUBLIC
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            if is_public:
                assert operation["security"] == [], (method, path)
            else:
                assert "401" in operation["responses"], (method, path)


def test_described_resources_have_exactly_the_fields_answered(
    client, make_user, make_department, make_enterprise, make_agreement, make_period, api_token
):
    admin = make_user("admin")
    headers = api_token(admin)
    enterprise = make_enterprise()
    agreement = make_agreement(enterprise, make_department())
    period = make_period()
    doc = openapi_document(client)
    answers = {
        "Me": f"{API}/me",
        "User": f"{API}/users/{admin.id}",
        "Department": f"{API}/departments/{agreement.department_id}",
        "Enterprise": f"{API}/enterprises/{enterprise.id}",
        "Agreement": f"{API}/agreements/{agreement.id}",
        "Period": f"{API}/periods/{period.id}",
    }
    for schema, url in answers.items():
        body = client.get(url, headers=headers).get_json()
        assert set(body) == required_fields(doc, schema), schema


def test_the_error_schema_names_every_code_and_field_an_error_can_carry(client):
    doc = openapi_document(client)
    error = resolve(doc, doc["components"]["schemas"]["Error"]["properties"]["error"])
    codes = set(error["properties"]["code"]["enum"])
    # Domain errors' own codes, not only the HTTP ones.
    assert {"too_early", "link_expired", "conflict", "server_error", "rate_limited"} <= codes
    assert {"details", "request_id"} <= set(error["properties"])
