"""Two-factor sign-in (SPEC §1, §7): enrolment with a QR code and recovery codes, a
code after the password on the pages and in the API, codes used once, wrong codes
throttled, required roles, an administrator's audited reset."""

from __future__ import annotations

import re
from datetime import time

import pyotp
import pytest
from sqlalchemy import select

from exchange.accounts import two_factor
from exchange.accounts.models import AccountEvent, User
from exchange.config import ConfigError
from exchange.extensions import db, limiter
from exchange.timeutil import college_today
from tests.conftest import PASSWORD

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()
    yield
    limiter.reset()


def _password_step(client, user, remember: bool = False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _enrol(client, user, at=None) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on through the pages; (secret, recovery codes)."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", response.get_data(True))
    return secret, codes


@pytest.fixture
def enrolled(client, make_user, travel):
    """A teacher with two-factor sign-in on, signed out again; the clock stands at
    09:00 so that each test can step it on by whole 30-second codes."""
    travel(college_today(), time(9, 0, 0))
    user = make_user("teacher")
    assert _password_step(client, user).status_code == 302
    secret, codes = _enrol(client, user)
    client.post("/logout")
    return user, secret, codes


def _next_code(travel, secret: str, seconds: int) -> str:
    """The code ``seconds`` after 09:00 (when the ``enrolled`` person turned it on)."""
    travel(college_today(), time(9, seconds // 60, seconds % 60))
    return pyotp.TOTP(secret).now()


# --- enrolment ----------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_address_and_needs_a_first_code(
    client, make_user, login_as
):
    user = make_user("teacher")
    login_as(user)
    page = client.get("/account/two-factor")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<svg" in html
    assert "otpauth://totp/" in html
    assert 'name="code"' in html
    assert re.search(r'<label for="code">', html)

    wrong = client.post("/account/two-factor", data={"code": "000000"})
    assert wrong.status_code == 200
    assert "This code is not right" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.has_two_factor

    secret, codes = _enrol(client, user)
    db.session.refresh(user)
    assert user.has_two_factor
    assert user.totp_secret == secret
    assert len(codes) == 10
    assert len(set(codes)) == 10
    actions = [e.action for e in two_factor.events(user)]
    assert actions == ["two_factor_enrolled"]
    assert "On" in client.get("/account").get_data(as_text=True)


def test_turning_it_on_ends_the_persons_other_sessions(app, client, make_user):
    user = make_user("teacher")
    other = app.test_client()
    assert _password_step(other, user).status_code == 302
    assert _password_step(client, user).status_code == 302
    _enrol(client, user)
    assert _signed_in(client)
    assert not _signed_in(other)


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, enrolled, travel):
    user, secret, _codes = enrolled
    response = _password_step(client, user)
    assert response.headers["Location"].startswith("/login/code")
    assert not _signed_in(client)  # the password alone opens nothing

    wrong = client.post("/login/code", data={"code": "123456"})
    assert wrong.status_code == 200
    assert "This code is not right" in wrong.get_data(as_text=True)
    assert not _signed_in(client)

    response = client.post("/login/code", data={"code": _next_code(travel, secret, 31)})
    assert response.status_code == 302
    assert _signed_in(client)


def test_a_code_is_used_once(app, client, enrolled, travel):
    user, secret, _codes = enrolled
    code = _next_code(travel, secret, 31)
    _password_step(client, user)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    replay = app.test_client()
    _password_step(replay, user)
    assert client.post("/logout").status_code == 302
    assert replay.post("/login/code", data={"code": code}).status_code == 200
    assert not _signed_in(replay)


def test_the_code_that_turned_it_on_does_not_sign_in(client, enrolled, travel):
    user, secret, _codes = enrolled
    travel(college_today(), time(9, 0, 5))  # the same 30 seconds as the enrolment
    _password_step(client, user)
    assert client.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert not _signed_in(client)


def test_a_recovery_code_signs_in_once(client, enrolled):
    user, _secret, codes = enrolled
    _password_step(client, user)
    assert client.post("/login/code", data={"code": codes[0].upper()}).status_code == 302
    client.post("/logout")
    _password_step(client, user)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 200
    assert client.post("/login/code", data={"code": codes[1]}).status_code == 302
    assert "8 recovery codes left" in client.get("/account").get_data(as_text=True)
    actions = [e.action for e in two_factor.events(user)]
    assert actions.count("recovery_code_used") == 2


def test_the_code_step_waits_five_minutes_at_most(client, enrolled, travel):
    user, secret, _codes = enrolled
    _password_step(client, user)
    code = _next_code(travel, secret, 6 * 60)
    response = client.post("/login/code", data={"code": code})
    assert response.headers["Location"] == "/login"
    assert not _signed_in(client)


def test_the_code_page_without_a_password_step_sends_back_to_sign_in(client):
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.post("/login/code", data={"code": "123456"}).headers["Location"] == "/login"


def test_wrong_codes_are_throttled(make_app, make_user, travel):
    strict = make_app(EXCHANGE_TWO_FACTOR_LIMIT="3 per minute")
    browser = strict.test_client()
    with strict.app_context():
        travel(college_today(), time(9, 0, 0))
        user = make_user("teacher")
        assert _password_step(browser, user).status_code == 302
        secret, _codes = _enrol(browser, user)
        browser.post("/logout")
        _password_step(browser, user)
        statuses = [
            browser.post("/login/code", data={"code": "000000"}).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        right = _next_code(travel, secret, 31)
        assert browser.post("/login/code", data={"code": right}).status_code == 429


# --- the API ----------------------------------------------------------------------------------


def test_the_token_endpoint_needs_the_code_of_an_enrolled_account(client, enrolled, travel):
    user, secret, _codes = enrolled
    body = {"email": user.email, "password": PASSWORD}
    missing = client.post(f"{API}/tokens", json=body)
    assert missing.status_code == 401
    assert "code" in missing.get_json()["error"]["fields"]
    wrong = client.post(f"{API}/tokens", json={**body, "code": "000000"})
    assert wrong.status_code == 401
    not_text = client.post(f"{API}/tokens", json={**body, "code": 123456})
    assert not_text.status_code == 422
    right = client.post(f"{API}/tokens", json={**body, "code": _next_code(travel, secret, 31)})
    assert right.status_code == 201
    assert (
        client.get(
            f"{API}/me", headers={"Authorization": f"Bearer {right.get_json()['token']}"}
        ).status_code
        == 200
    )


# --- required roles ---------------------------------------------------------------------------


def test_admins_must_set_it_up_when_the_setting_says_so(make_app, make_user, travel):
    strict = make_app(EXCHANGE_REQUIRE_2FA_FOR="admin")
    browser = strict.test_client()
    with strict.app_context():
        travel(college_today(), time(9, 0, 0))
        admin = make_user("admin")
        teacher = make_user("teacher")
        response = _password_step(browser, admin)
        assert response.headers["Location"] == "/account/two-factor"
        for path in ("/", "/admin/users/", "/logs/"):
            assert browser.get(path).headers["Location"] == "/account/two-factor", path
        token = browser.post(f"{API}/tokens", json={"email": admin.email, "password": PASSWORD})
        assert token.status_code == 403
        secret, _codes = _enrol(browser, admin)
        assert browser.get("/admin/users/").status_code == 200
        # It cannot be turned off while the role requires it.
        page = browser.get("/account/two-factor").get_data(as_text=True)
        assert "Turn off two-factor sign-in" not in page
        refused = browser.post("/account/two-factor", data={"password": PASSWORD})
        assert refused.status_code == 409
        db.session.refresh(admin)
        assert admin.has_two_factor
        # Other roles are not asked.
        other = strict.test_client()
        assert _password_step(other, teacher).headers["Location"] == "/"


def test_an_unknown_role_in_the_setting_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="EXCHANGE_REQUIRE_2FA_FOR"):
        make_app(EXCHANGE_REQUIRE_2FA_FOR="admins")


def test_a_person_turns_it_off_with_their_password(client, enrolled, travel):
    user, secret, _codes = enrolled
    _password_step(client, user)
    client.post("/login/code", data={"code": _next_code(travel, secret, 31)})
    wrong = client.post("/account/two-factor", data={"password": "not-it"})
    assert wrong.status_code == 200
    assert client.post("/account/two-factor", data={"password": PASSWORD}).status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor
    client.post("/logout")
    assert _password_step(client, user).headers["Location"] == "/"


# --- an administrator's reset ---------------------------------------------------------------


def test_an_admin_removes_a_lost_second_factor_and_it_is_audited(
    app, client, enrolled, make_user, login_as, travel
):
    user, secret, _codes = enrolled
    phone = app.test_client()
    _password_step(phone, user)
    phone.post("/login/code", data={"code": _next_code(travel, secret, 31)})
    assert _signed_in(phone)
    admin = make_user("admin")
    login_as(admin)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Remove the second factor" in page

    response = client.post(f"/admin/users/{user.id}/two-factor/reset")
    assert response.status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor
    assert not _signed_in(phone)
    event = db.session.execute(
        select(AccountEvent).where(AccountEvent.action == "two_factor_reset")
    ).scalar_one()
    assert (event.user_id, event.actor_id) == (user.id, admin.id)
    assert "Second factor removed by an administrator" in client.get(
        f"/admin/users/{user.id}"
    ).get_data(as_text=True)
    # Again: nothing to remove.
    again = client.post(f"/admin/users/{user.id}/two-factor/reset", follow_redirects=True)
    assert "does not use two-factor sign-in" in again.get_data(as_text=True)


def test_only_admins_remove_a_second_factor(client, enrolled, make_user, login_as):
    user, _secret, _codes = enrolled
    login_as(make_user("head", department=user.department))
    assert client.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 403
    assert db.session.get(User, user.id).has_two_factor
