"""Signing in and out, the password page, sessions, CSRF and throttling."""

from __future__ import annotations

import re

import pytest

from exchange.extensions import db, limiter
from tests.conftest import PASSWORD


def test_sign_in_with_the_right_password_goes_home(client, make_user):
    user = make_user("teacher", email="wang.li@example.com")
    response = client.post("/login", data={"email": "wang.li@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert user.name in client.get("/").get_data(as_text=True)


def test_e_mail_is_matched_whatever_its_case(client, make_user):
    make_user("teacher", email="zhang.min@example.com")
    response = client.post("/login", data={"email": "Zhang.Min@EXAMPLE.com", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("known@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_credentials_are_refused_without_saying_which(client, make_user, email, password):
    make_user("teacher", email="known@example.com")
    response = client.post("/login", data={"email": email, "password": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The e-mail address or password is not right." in page
    assert f'value="{email}"' in page  # what was typed is kept
    assert client.get("/").status_code == 302


def test_empty_form_names_the_missing_fields(client):
    page = client.post("/login", data={}).get_data(as_text=True)
    assert page.count("This field is required.") == 2


def test_deactivated_user_cannot_sign_in(client, make_user):
    user = make_user("expert", active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "The e-mail address or password is not right." in response.get_data(as_text=True)


def test_deactivation_ends_an_existing_session(client, make_user, login_as):
    user = make_user("teacher")
    login_as(user)
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("target", ["/account", "/admin/users/?q=x"])
def test_next_returns_to_the_page_asked_for(client, make_user, target):
    user = make_user("admin")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/\n//evil.example",
        "/\t/evil.example",
        "///evil.example",
        " //evil.example",
    ],
)
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user("teacher")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_visiting_a_protected_page_asks_to_sign_in_then_returns(client, make_user):
    user = make_user("teacher")
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"
    response = client.post(
        "/login?next=%2Faccount", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_sign_out_ends_the_session(client, make_user, login_as):
    login_as(make_user("teacher"))
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_sign_out_needs_a_post(client, make_user, login_as):
    login_as(make_user("teacher"))
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_change_password(client, make_user, login_as):
    user = make_user("teacher")
    login_as(user)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-secret-1",
            "confirm_password": "a-new-secret-1",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    client.post("/logout")
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
    )
    ok = client.post("/login", data={"email": user.email, "password": "a-new-secret-1"})
    assert ok.status_code == 302


def test_changing_the_password_ends_other_sessions(app, client, make_user, login_as):
    user = make_user("teacher")
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    assert other_device.get("/").status_code == 200
    login_as(user)
    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another-9x",
            "confirm_password": "another-9x",
        },
    )
    assert other_device.get("/").status_code == 302


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        (
            {
                "current_password": "wrong",
                "new_password": "long-enough-1",
                "confirm_password": "long-enough-1",
            },
            "This is not your current password.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "At least 8 characters.",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "long-enough-1",
                "confirm_password": "long-enough-2",
            },
            "The two passwords differ.",
        ),
    ],
)
def test_change_password_errors_are_named(client, make_user, login_as, data, field_error):
    user = make_user("teacher")
    login_as(user)
    response = client.post("/account/password", data=data)
    assert response.status_code == 200
    assert field_error in response.get_data(as_text=True)
    client.post("/logout")
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )


# --- with the production protections switched on --------------------------


@pytest.fixture
def guarded_app(make_app):
    """The same database, with CSRF and login throttling on as in production."""
    guarded = make_app(WTF_CSRF_ENABLED=True, EXCHANGE_LOGIN_LIMIT="3 per minute")
    with guarded.app_context():
        yield guarded
        db.session.remove()
    limiter.reset()


def _csrf_token(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_forms_without_a_csrf_token_are_refused(guarded_app, make_user):
    user = make_user("teacher")
    client = guarded_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "The form was out of date" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    token = _csrf_token(client)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302


def test_login_attempts_are_throttled(guarded_app, make_user):
    user = make_user("teacher")
    client = guarded_app.test_client()
    token = _csrf_token(client)
    statuses = [
        client.post(
            "/login", data={"email": user.email, "password": "nope", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    throttled = client.post("/login", data={"csrf_token": token})
    assert "Too many attempts" in throttled.get_data(as_text=True)
