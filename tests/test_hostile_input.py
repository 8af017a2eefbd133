"""Input no form expects is refused with a clear answer, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import exchange.org.services as org_services
from exchange.extensions import db
from exchange.org.models import Department


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"email": "a\x00@example.com", "password": "x"}),
        ("/login", {"email": "a@example.com", "password": "x\x00y"}),
    ],
)
def test_nul_characters_in_forms_are_a_bad_request(client, path, data):
    response = client.post(path, data=data)
    assert response.status_code == 400


def test_nul_characters_in_the_query_string_are_a_bad_request(client, make_user, login_as):
    login_as(make_user("admin"))
    assert client.get("/admin/users/", query_string={"q": "x\x00"}).status_code == 400


def test_a_duplicate_that_slips_past_validation_is_a_conflict_not_a_crash(
    client, make_user, login_as, api_token, monkeypatch
):
    """Two admins save the same code at the same moment: both pass the service's
    uniqueness check, the database's unique constraint stops the second."""
    admin = make_user("admin")
    login_as(admin)
    headers = api_token(admin)
    client.post("/admin/departments/new", data={"code": "RACE", "name": "First"})
    monkeypatch.setattr(org_services, "_taken", lambda *_args: False)

    page = client.post("/admin/departments/new", data={"code": "RACE", "name": "Second"})
    assert page.status_code == 409
    assert "Changed in the meantime" in page.get_data(as_text=True)

    api = client.post(
        "/api/v1/departments", json={"code": "RACE", "name": "Third"}, headers=headers
    )
    assert api.status_code == 409
    assert api.get_json()["error"]["code"] == "conflict"
    names = db.session.execute(select(Department.name)).scalars().all()
    assert names == ["First"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/99999999999999999999",
        "/admin/users/2147483648",
        "/admin/users/0",
        "/admin/departments/9999999999",
        "/admin/periods/99999999999999999999/lock",
    ],
)
def test_ids_no_record_can_have_are_not_found(client, make_user, login_as, path):
    login_as(make_user("admin"))
    assert client.get(path).status_code in (404, 405)
    assert client.post(path, data={}).status_code == 404


@pytest.mark.parametrize("path", ["/verify/abc%00def", "/api/v1/verify/%00", "/confirm/x%00y"])
def test_nul_characters_in_the_address_are_not_found(client, path):
    assert client.get(path).status_code == 404
