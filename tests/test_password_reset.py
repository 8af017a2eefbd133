"""Password reset and invitations by e-mail (SPEC §1), through a real SMTP server.

A person asks on the sign-in page, receives a link on the configured base URL,
sets a new password once; every other session and API token of the account ends.
Asking never tells whether an account uses the address.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from flask_babel import force_locale, gettext

from exchange import mail
from exchange.accounts import reset
from exchange.accounts.models import AccountEvent, User
from exchange.extensions import db, limiter
from exchange.logs.services import CONFIRMATION_SALT
from exchange.signing import serializer
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.smtp import smtp_server_fixture  # noqa: F401  (provides ``smtp_server``)

BASE = "https://exchange.example.edu"
NEW_PASSWORD = "a-brand-new-secret-7"
LINK = re.compile(re.escape(BASE) + r"(/password/set/[A-Za-z0-9._-]+)")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The limiter counts per process: each test starts with a clean slate.
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def mail_app(make_app, smtp_server):
    """The app on its public address, sending e-mail to the test's SMTP server."""
    return make_app(EXCHANGE_BASE_URL=BASE, **smtp_server.settings)


@pytest.fixture
def browser(mail_app):
    return mail_app.test_client()


def ask_for_link(browser, email: str):
    response = browser.post("/password/forgot", data={"email": email})
    assert response.status_code == 302
    return response


def link_in(message) -> str:
    """The path of the set-password link in an e-mail (which must name the base URL)."""
    found = LINK.search(message.text)
    assert found, message.text
    return found.group(1)


def emailed_link(browser, smtp_server, user: User) -> str:
    ask_for_link(browser, user.email)
    mail.wait_for_background_mail()
    return link_in(smtp_server.to(user.email)[-1])


def sign_in(client, user: User, password: str = PASSWORD) -> int:
    return client.post("/login", data={"email": user.email, "password": password}).status_code


# --- the whole journey ---------------------------------------------------------------


def test_the_sign_in_page_offers_a_reset(browser):
    page = browser.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    assert "Forgot password?" in page
    form = browser.get("/password/forgot").get_data(as_text=True)
    assert '<label for="email">' in form


def test_a_reset_link_arrives_by_smtp_and_ends_every_session_and_token(
    mail_app,
    browser,
    smtp_server,
    make_user,
    api_token,
):
    user = make_user("teacher", email="li.na@example.com")
    elsewhere = mail_app.test_client()  # a phone left signed in (or a stolen cookie)
    assert sign_in(elsewhere, user) == 302
    assert elsewhere.get("/account").status_code == 200
    token = api_token(user)

    response = ask_for_link(browser, "  Li.Na@Example.com ")
    assert response.headers["Location"] == "/password/forgot/sent"
    [message] = smtp_server.wait_for(1)
    assert message.to == ["li.na@example.com"]
    assert message.subject == "Reset your Exchange password"
    path = link_in(message)  # on https://exchange.example.edu, whatever host was asked

    form = browser.get(path)
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    done = browser.post(path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"

    assert elsewhere.get("/account").status_code == 302  # sent to the sign-in page
    assert browser.get("/api/v1/me", headers=token).status_code == 401
    assert sign_in(mail_app.test_client(), user) == 200  # the old password: refused
    assert sign_in(mail_app.test_client(), user, NEW_PASSWORD) == 302
    events = db.session.execute(db.select(AccountEvent.action).filter_by(user_id=user.id))
    assert "password_set_by_link" in events.scalars().all()


def test_a_link_works_once(browser, smtp_server, make_user):
    user = make_user("expert")
    path = emailed_link(browser, smtp_server, user)
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert browser.post(path, data=data).status_code == 302

    again = browser.get(path)
    assert again.status_code == 410
    assert "This link no longer works" in again.get_data(as_text=True)
    other = {"new_password": "yet-another-one-8", "confirm_password": "yet-another-one-8"}
    assert browser.post(path, data=other).status_code == 410
    assert sign_in(browser, user, NEW_PASSWORD) == 302


def test_a_password_set_with_a_newer_link_ends_the_older_link(browser, smtp_server, make_user):
    user = make_user("teacher")
    first = emailed_link(browser, smtp_server, user)
    second = emailed_link(browser, smtp_server, user)
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert browser.post(second, data=data).status_code == 302
    assert browser.get(first).status_code == 410


def test_a_link_ends_when_the_account_is_deactivated(browser, smtp_server, make_user):
    user = make_user("teacher")
    path = emailed_link(browser, smtp_server, user)
    user.active = False
    db.session.commit()
    assert browser.get(path).status_code == 410


def test_the_new_password_follows_the_usual_rules(browser, smtp_server, make_user):
    user = make_user("teacher")
    path = emailed_link(browser, smtp_server, user)
    short = browser.post(path, data={"new_password": "short", "confirm_password": "short"})
    assert short.status_code == 200
    assert "At least 8 characters." in short.get_data(as_text=True)
    differ = browser.post(
        path, data={"new_password": NEW_PASSWORD, "confirm_password": "other-one-9"}
    )
    assert "The two passwords differ." in differ.get_data(as_text=True)
    # Nothing was set: the link still works, and so does the old password.
    assert browser.get(path).status_code == 200
    assert sign_in(browser, user) == 302


def test_a_reset_link_expires_after_an_hour(browser, smtp_server, make_user, travel):
    user = make_user("teacher")
    today = college_today()
    travel(today, time(9))
    path = emailed_link(browser, smtp_server, user)
    travel(today, time(9, 59))
    assert browser.get(path).status_code == 200
    travel(today, time(10, 1))
    expired = browser.get(path)
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert browser.post(path, data=data).status_code == 410
    assert sign_in(browser, user) == 302


def test_a_broken_or_foreign_link_is_not_valid(app_ctx, browser, make_user):
    user = make_user("teacher")
    assert browser.get("/password/set/not-a-token").status_code == 404
    # Signed by the app, but for another purpose (an on-site confirmation).
    claims = {"user": user.id, "fp": reset._fingerprint(user)}
    foreign = serializer(CONFIRMATION_SALT).dumps(claims)
    page = browser.get(f"/password/set/{foreign}")
    assert page.status_code == 404
    assert "This link is not valid" in page.get_data(as_text=True)


# --- no enumeration ------------------------------------------------------------------


def test_every_address_gets_the_same_answer_and_only_accounts_get_mail(
    browser,
    smtp_server,
    make_user,
):
    user = make_user("teacher")
    inactive = make_user("teacher", active=False)
    answers = []
    for email in ("nobody@example.com", inactive.email, "not an address"):
        answers.append(ask_for_link(browser, email).headers["Location"])
    mail.wait_for_background_mail()
    assert smtp_server.messages == []  # no account (or no active one): no e-mail

    answers.append(ask_for_link(browser, user.email).headers["Location"])
    assert set(answers) == {"/password/forgot/sent"}
    smtp_server.wait_for(1)
    assert [m.to for m in smtp_server.messages] == [[user.email]]

    page = browser.get("/password/forgot/sent").get_data(as_text=True)
    assert "If an account uses the address you gave" in page


def test_an_empty_request_is_shown_again_with_the_field_named(browser, smtp_server):
    response = browser.post("/password/forgot", data={"email": ""})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


# --- throttling ------------------------------------------------------------------------


def test_requests_are_throttled_per_address_and_per_client(make_app, smtp_server, make_user):
    strict = make_app(
        EXCHANGE_BASE_URL=BASE,
        EXCHANGE_RESET_EMAIL_LIMIT="2 per hour",
        EXCHANGE_RESET_CLIENT_LIMIT="4 per hour",
        **smtp_server.settings,
    )
    user = make_user("teacher")
    one = strict.test_client()
    one.environ_base["REMOTE_ADDR"] = "203.0.113.1"
    other = strict.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.2"

    def ask(client, email: str) -> int:
        return client.post("/password/forgot", data={"email": email}).status_code

    # Per address: a third request for the same mailbox, from anywhere, is refused.
    assert [ask(one, user.email), ask(other, user.email)] == [302, 302]
    throttled = one.post("/password/forgot", data={"email": user.email.upper()})
    assert throttled.status_code == 429
    assert "Too many attempts" in throttled.get_data(as_text=True)
    # Per client: one client may ask for 4 addresses an hour, whichever they are.
    third = strict.test_client()
    third.environ_base["REMOTE_ADDR"] = "203.0.113.3"
    statuses = [ask(third, f"someone{n}@example.com") for n in range(5)]
    assert statuses == [302, 302, 302, 302, 429]
    assert ask(other, "someone9@example.com") == 302
    mail.wait_for_background_mail()
    assert len(smtp_server.to(user.email)) == 2


# --- language ----------------------------------------------------------------------------


def test_the_message_is_in_the_recipients_language(browser, smtp_server, make_user):
    chinese = make_user("teacher", locale="zh_Hans")
    english = make_user("teacher", locale=None)
    # Asked from an English browser: the e-mail follows the account, not the asker.
    headers = {"Accept-Language": "en"}
    browser.post("/password/forgot", data={"email": chinese.email}, headers=headers)
    browser.post("/password/forgot", data={"email": english.email}, headers=headers)
    smtp_server.wait_for(2)
    [to_chinese] = smtp_server.to(chinese.email)
    [to_english] = smtp_server.to(english.email)

    assert to_chinese.header("Content-Language") == "zh-Hans"
    with force_locale("zh_Hans"):
        assert to_chinese.subject == gettext("Reset your Exchange password")
    assert "年" in to_chinese.text  # the link's end, written as Chinese readers write dates
    assert to_english.header("Content-Language") == "en"
    assert to_english.subject == "Reset your Exchange password"
    assert "年" not in to_english.text


# --- the invitation of a newly imported person ----------------------------------------------


def test_an_invitation_sets_the_first_password_and_lasts_seven_days(
    mail_app,
    browser,
    smtp_server,
    make_user,
    travel,
):
    user = make_user("expert", email="new.expert@example.com", locale="zh_Hans")
    travel(college_today(), time(9))
    with mail_app.app_context():
        reset.send_set_password_email(user)
    [message] = smtp_server.wait_for(1)
    assert message.to == ["new.expert@example.com"]
    assert message.header("Content-Language") == "zh-Hans"
    assert f"{BASE}/login" in message.text
    path = link_in(message)

    travel(college_today() + timedelta(days=6), time(9))
    assert browser.get(path).status_code == 200
    travel(college_today() + timedelta(days=2), time(9))  # 8 days after it was sent
    assert browser.get(path).status_code == 410


def test_an_invitation_works_once(mail_app, browser, smtp_server, make_user):
    user = make_user("teacher")
    with mail_app.app_context():
        reset.send_set_password_email(user)
    path = link_in(smtp_server.wait_for(1)[0])
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert browser.post(path, data=data).status_code == 302
    assert browser.get(path).status_code == 410
    assert sign_in(browser, user, NEW_PASSWORD) == 302


def test_a_reset_link_cannot_pass_for_an_invitation(browser, smtp_server, make_user, travel):
    # Both open the same page, but a reset link keeps its own hour: it is signed for
    # resets only and never checked against the invitation's seven days.
    user = make_user("teacher")
    travel(college_today(), time(9))
    path = emailed_link(browser, smtp_server, user)
    travel(college_today(), time(11))
    assert browser.get(path).status_code == 410
