"""Sessions and tokens end when they should (SPEC §1): signing out, a password change
or reset, deactivation and a change of role or affiliation leave nothing usable
behind — not a copied session cookie, not a "keep me signed in" cookie, not an API
token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest

from exchange.accounts import services
from exchange.extensions import db
from exchange.timeutil import college_today
from tests.conftest import PASSWORD

API = "/api/v1"
NEW_PASSWORD = "a-new-secret-1"


def _sign_in(client, user, remember: bool = False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, "sign-in failed"
    return response


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _with_cookie(app, name: str, value: str):
    """Another browser holding a copy of one cookie (a stolen one, say)."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _token_works(client, token: dict[str, str]) -> bool:
    return client.get(f"{API}/me", headers=token).status_code == 200


# --- signing out -----------------------------------------------------------------------------


def test_a_copied_session_cookie_is_refused_after_signing_out(app, client, make_user):
    user = make_user("teacher")
    _sign_in(client, user)
    copied = _cookie(client, "session")
    thief = _with_cookie(app, "session", copied)
    assert _signed_in(thief)  # the copy works while the session lives

    client.post("/logout")

    assert not _signed_in(client)
    assert not _signed_in(thief)


def test_the_keep_me_signed_in_cookie_is_refused_after_signing_out(app, client, make_user):
    user = make_user("teacher")
    _sign_in(client, user, remember=True)
    remembered = _cookie(client, "remember_token")
    assert _signed_in(_with_cookie(app, "remember_token", remembered))

    client.post("/logout")

    assert not _signed_in(_with_cookie(app, "remember_token", remembered))


def test_signing_out_in_one_browser_leaves_the_other_signed_in(app, client, make_user):
    user = make_user("teacher")
    phone = app.test_client()
    _sign_in(phone, user)
    _sign_in(client, user)
    client.post("/logout")
    assert _signed_in(phone)


def test_keep_me_signed_in_lasts_fourteen_days(app, client, make_user, travel):
    user = make_user("teacher")
    response = _sign_in(client, user, remember=True)
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")
    )
    cookie = SimpleCookie(header)["remember_token"]
    assert cookie["httponly"]
    remembered = cookie.value
    expires = parsedate_to_datetime(cookie["expires"])
    assert expires <= datetime.now(UTC) + timedelta(days=14, minutes=1)
    travel(college_today() + timedelta(days=13))
    assert _signed_in(_with_cookie(app, "remember_token", remembered))
    travel(college_today() + timedelta(days=15))
    assert not _signed_in(_with_cookie(app, "remember_token", remembered))
    assert not _signed_in(client)  # the session itself ends with it


# --- password changes and resets ----------------------------------------------------------


def test_a_password_change_ends_every_other_session_and_every_token(
    app, client, make_user, api_token
):
    user = make_user("teacher")
    token = api_token(user)
    other_browser = app.test_client()
    _sign_in(other_browser, user, remember=True)
    remembered = _cookie(other_browser, "remember_token")
    _sign_in(client, user)

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302

    assert _signed_in(client)  # the session in which it was changed goes on
    assert not _signed_in(other_browser)
    assert not _signed_in(_with_cookie(app, "remember_token", remembered))
    assert not _token_works(client, token)


def test_an_admins_password_reset_ends_the_persons_sessions_and_tokens(
    app, client, make_user, api_token
):
    user = make_user("teacher")
    admin = make_user("admin")
    token = api_token(user)
    browser = app.test_client()
    _sign_in(browser, user)
    _sign_in(client, admin)

    response = client.post(
        f"/admin/users/{user.id}",
        data={
            "email": user.email,
            "name": user.name,
            "role": "teacher",
            "department_id": user.department_id,
            "active": "y",
            "locale": "",
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    assert not _signed_in(browser)
    assert not _token_works(client, token)
    assert _signed_in(client)  # the admin's own session is not touched


@pytest.mark.parametrize("change", ["role", "department", "enterprise", "deactivate"])
def test_a_change_of_role_or_affiliation_ends_sessions_and_tokens(
    app, client, make_user, make_department, make_enterprise, api_token, change
):
    user = make_user("expert" if change == "enterprise" else "teacher")
    admin = make_user("admin")
    token = api_token(user)
    browser = app.test_client()
    _sign_in(browser, user)
    data = services.UserInput(
        email=user.email,
        name=user.name,
        role=user.role,
        department_id=user.department_id,
        enterprise_id=user.enterprise_id,
        active=True,
    )
    changes = {
        "role": {"role": "head"},
        "department": {"department_id": make_department().id},
        "enterprise": {"enterprise_id": make_enterprise().id},
        "deactivate": {"active": False},
    }[change]
    services.update_user(admin, user, services.UserInput(**{**data.__dict__, **changes}))
    db.session.commit()

    assert not _signed_in(browser)
    assert not _token_works(client, token)


def test_a_change_of_name_keeps_the_person_signed_in(app, client, make_user, api_token):
    user = make_user("teacher")
    admin = make_user("admin")
    token = api_token(user)
    browser = app.test_client()
    _sign_in(browser, user)
    data = services.UserInput(
        email=user.email,
        name="Another Name",
        role=user.role,
        department_id=user.department_id,
        enterprise_id=None,
        active=True,
    )
    services.update_user(admin, user, data)
    db.session.commit()
    assert _signed_in(browser)
    assert _token_works(client, token)


def test_a_tampered_session_id_is_refused(app, make_user):
    """A cookie naming someone else's user id with one's own key opens nothing."""
    victim = make_user("admin")
    attacker = make_user("teacher")
    browser = app.test_client()
    _sign_in(browser, attacker)
    with browser.session_transaction() as session:
        _user_id, _, key = session["_user_id"].partition(":")
        session["_user_id"] = f"{victim.id}:{key}"
    assert not _signed_in(browser)
    with browser.session_transaction() as session:
        session["_user_id"] = f"{victim.id}:"
    assert not _signed_in(browser)
    with browser.session_transaction() as session:
        session["_user_id"] = "99999999999999999999:x"
    assert not _signed_in(browser)


# --- the password page and the pages' caching ---------------------------------------------


def test_the_current_password_check_is_throttled_like_sign_in(make_app, make_user):
    strict = make_app(EXCHANGE_LOGIN_LIMIT="3 per minute")
    user = make_user("teacher")
    browser = strict.test_client()
    with strict.app_context():
        _sign_in(browser, user)
        wrong = {
            "current_password": "not-it",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }
        statuses = [browser.post("/account/password", data=wrong).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_signed_in_pages_are_not_cached(client, make_user, login_as):
    assert client.get("/login").headers.get("Cache-Control") != "no-store"
    login_as(make_user("teacher"))
    for path in ("/", "/account", "/logs/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    with client.get("/static/app.css") as stylesheet:
        assert "no-store" not in (stylesheet.headers.get("Cache-Control") or "")


def test_the_language_cookie_is_secure_where_cookies_are(make_app):
    secure = make_app(SESSION_COOKIE_SECURE=True)
    response = secure.test_client().post("/lang/zh_Hans")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lang="))
    assert "Secure" in header
    assert "HttpOnly" in header
