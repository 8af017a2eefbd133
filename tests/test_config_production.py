"""The production checks of the configuration, and rotating the secret key (SPEC §8)."""

from __future__ import annotations

import pytest
from flask import Flask
from itsdangerous import BadSignature

from exchange import create_app
from exchange.config import DEV_SECRET_KEY, ConfigError
from exchange.signing import serializer
from tests.conftest import PASSWORD

STRONG_KEY = "k" * 32
BASE = "https://exchange.example.edu"
OLD_KEY = "the-key-before-the-rotation-0123456789"
NEW_KEY = "the-key-after-the-rotation-9876543210"


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """An empty environment but for the instance folder; a test sets what it needs."""
    monkeypatch.setenv("EXCHANGE_INSTANCE_PATH", str(tmp_path))
    for name in (
        "DATABASE_URL", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "EXCHANGE_ENV",
        "EXCHANGE_BASE_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL",
        "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def production(environment):
    """A production environment that starts; each test breaks one thing."""
    environment.setenv("EXCHANGE_ENV", "production")
    environment.setenv("SECRET_KEY", STRONG_KEY)
    environment.setenv("EXCHANGE_BASE_URL", BASE)
    return environment


def test_a_complete_production_configuration_starts(production):
    app = create_app()
    assert app.config["EXCHANGE_BASE_URL"] == BASE
    assert app.config["SECRET_KEY_FALLBACKS"] == []


def test_production_refuses_a_secret_key_shorter_than_32_characters(production):
    production.setenv("SECRET_KEY", "k" * 31)
    with pytest.raises(ConfigError, match="SECRET_KEY is too short") as refused:
        create_app()
    assert "31 characters, at least 32" in str(refused.value)
    assert "secrets.token_urlsafe" in str(refused.value)  # and says how to make one


def test_production_refuses_the_development_key(production):
    production.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        create_app()


def test_development_accepts_a_short_key(environment):
    environment.setenv("SECRET_KEY", "short")
    assert create_app().config["SECRET_KEY"] == "short"


def test_production_refuses_to_start_without_a_base_url(production):
    production.delenv("EXCHANGE_BASE_URL")
    with pytest.raises(ConfigError, match="EXCHANGE_BASE_URL must be set in production"):
        create_app()


def test_development_does_without_a_base_url(environment):
    assert create_app().config["EXCHANGE_BASE_URL"] == ""


@pytest.mark.parametrize(
    "url",
    ["exchange.example.edu", "ftp://exchange.example.edu", "https://", "https://host:port",
     "https://exchange.example.edu/?next=1", "https://user:pw@exchange.example.edu"],
)  # fmt: skip
def test_a_base_url_that_links_cannot_start_with_is_refused(environment, url):
    environment.setenv("EXCHANGE_BASE_URL", url)
    with pytest.raises(ConfigError, match="EXCHANGE_BASE_URL must be"):
        create_app()


@pytest.mark.parametrize(
    ("given", "kept"),
    [("https://exchange.example.edu/", "https://exchange.example.edu"),
     ("http://10.0.0.5:8000/exchange/", "http://10.0.0.5:8000/exchange")],
)  # fmt: skip
def test_the_base_url_is_kept_without_its_trailing_slash(environment, given, kept):
    environment.setenv("EXCHANGE_BASE_URL", given)
    assert create_app().config["EXCHANGE_BASE_URL"] == kept


def test_secret_key_fallbacks_are_read_as_a_comma_separated_list(production):
    production.setenv("SECRET_KEY_FALLBACKS", " old-key-one , old-key-two,, ")
    assert create_app().config["SECRET_KEY_FALLBACKS"] == ["old-key-one", "old-key-two"]


def test_production_refuses_the_development_key_among_the_fallbacks(production):
    production.setenv("SECRET_KEY_FALLBACKS", f"an-old-key,{DEV_SECRET_KEY}")
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        create_app()


def test_tls_and_ssl_together_are_refused(environment):
    environment.setenv("MAIL_SERVER", "smtp.example.edu")
    environment.setenv("MAIL_USE_TLS", "1")
    environment.setenv("MAIL_USE_SSL", "1")
    with pytest.raises(ConfigError, match="not both"):
        create_app()


def test_the_mail_settings_come_from_the_environment(environment):
    environment.setenv("MAIL_SERVER", "smtp.example.edu")
    environment.setenv("MAIL_PORT", "2525")
    environment.setenv("MAIL_USE_TLS", "true")
    environment.setenv("MAIL_USERNAME", "exchange")
    environment.setenv("MAIL_PASSWORD", "app-password")
    environment.setenv("MAIL_DEFAULT_SENDER", "Exchange <exchange@example.edu>")
    state = create_app().extensions["mailman"]
    assert (state.server, state.port, state.use_tls, state.use_ssl) == (
        "smtp.example.edu", 2525, True, False,
    )  # fmt: skip
    assert (state.username, state.password) == ("exchange", "app-password")
    assert state.default_sender == "Exchange <exchange@example.edu>"
    assert state.backend == "smtp"


# --- rotating the key -------------------------------------------------------------------


@pytest.fixture
def rotation(make_app):
    """The app before the rotation, and after it with or without the old key kept."""

    def make(fallbacks: list[str]) -> tuple[Flask, Flask]:
        before = make_app(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[])
        after = make_app(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=fallbacks)
        return before, after

    return make


@pytest.mark.parametrize(("fallbacks", "signed_in"), [([OLD_KEY], True), ([], False)])
def test_a_rotated_key_keeps_people_signed_in_while_the_old_one_is_a_fallback(
    rotation, make_user, fallbacks, signed_in
):
    before, after = rotation(fallbacks)
    user = make_user("teacher")
    browser = before.test_client()
    assert (
        browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )

    restarted = after.test_client()  # the same browser, after the restart with the new key
    restarted.set_cookie("session", browser.get_cookie("session").value)
    assert (restarted.get("/account").status_code == 200) is signed_in


@pytest.mark.parametrize(("fallbacks", "opens"), [([OLD_KEY], True), ([], False)])
def test_links_sent_before_a_rotation_keep_working_while_the_old_key_is_a_fallback(
    rotation, fallbacks, opens
):
    before, after = rotation(fallbacks)
    with before.app_context():
        token = serializer("any-purpose").dumps({"log": 1})
    with after.app_context():
        if opens:
            assert serializer("any-purpose").loads(token) == {"log": 1}
        else:
            with pytest.raises(BadSignature):
                serializer("any-purpose").loads(token)
        # New links are signed with the new key only.
        fresh = serializer("any-purpose").dumps({"log": 2})
    with before.app_context(), pytest.raises(BadSignature):
        serializer("any-purpose").loads(fresh)


def test_an_onsite_confirmation_link_survives_the_rotation(rotation, make_log, college, api_token):
    before, after = rotation([OLD_KEY])
    log = make_log(college.teacher, status="submitted")
    answer = before.test_client().post(
        f"/api/v1/logs/{log.id}/confirmation-link", headers=api_token(college.teacher)
    )
    assert answer.status_code == 201
    path = answer.get_json()["url"].removeprefix("http://localhost")
    assert after.test_client().get(path).status_code == 200
