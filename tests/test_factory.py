"""The application factory, its configuration and the cross-cutting behaviour it installs."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from exchange import create_app
from exchange.config import ConfigError, normalise_database_url
from exchange.extensions import db


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCHANGE_INSTANCE_PATH", str(tmp_path))
    for name in ("DATABASE_URL", "SECRET_KEY", "EXCHANGE_ENV"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_to_sqlite_in_the_instance_folder(instance):
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'exchange.db'}"
    assert app.config["EXCHANGE_ENV"] == "development"
    assert not app.testing


def test_environment_configures_the_app(instance, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example.com/exchange")
    monkeypatch.setenv("EXCHANGE_TIMEZONE", "Asia/Urumqi")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example.com/exchange"
    assert app.config["EXCHANGE_TIMEZONE"] == "Asia/Urumqi"


def test_explicit_config_wins_over_the_environment(instance, monkeypatch):
    monkeypatch.setenv("EXCHANGE_INSTITUTION", "From the environment")
    app = create_app({"EXCHANGE_INSTITUTION": "Given", "TESTING": True})
    assert app.config["EXCHANGE_INSTITUTION"] == "Given"
    assert app.testing


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg_3(given, expected):
    assert normalise_database_url(given) == expected


def test_production_refuses_to_start_without_a_secret_key(instance, monkeypatch):
    monkeypatch.setenv("EXCHANGE_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_uses_secure_cookies_and_hsts(instance, monkeypatch):
    monkeypatch.setenv("EXCHANGE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-key")
    monkeypatch.setenv("EXCHANGE_BASE_URL", "https://exchange.example.edu")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/login")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_an_unknown_environment_name_is_refused(instance, monkeypatch):
    monkeypatch.setenv("EXCHANGE_ENV", "staging")
    with pytest.raises(ConfigError):
        create_app()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(instance):
    app = create_app()
    with app.app_context():
        pragmas = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        }
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 5000}


def test_health_check_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_check_reports_an_unreachable_database(instance):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/missing/dir/x.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_pages_carry_security_headers(client):
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_load_nothing_from_other_origins(client):
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page
    assert "https://" not in page


def test_unknown_api_address_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.get_data(as_text=True)


def test_an_unexpected_error_shows_a_page_not_a_traceback(make_app):
    app_ = make_app(TESTING=False)

    @app_.route("/boom")
    def boom():
        raise RuntimeError("internal detail")

    boom.permission = "public"
    response = app_.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "internal detail" not in page


def test_an_embedded_database_is_created_and_migrated_on_first_start(instance):
    app = create_app()
    with app.app_context():
        tables = set(db.inspect(db.engine).get_table_names())
    assert {"user_account", "exchange_log", "award", "alembic_version"} <= tables
    assert (instance / "exchange.db").is_file()
    assert create_app().test_client().get("/healthz").status_code == 200  # and again


def test_automatic_migration_can_be_switched_off(instance, monkeypatch):
    monkeypatch.setenv("EXCHANGE_AUTO_MIGRATE", "0")
    app = create_app()
    with app.app_context():
        assert db.inspect(db.engine).get_table_names() == []


def test_the_escalation_age_comes_from_the_environment(instance, monkeypatch):
    assert create_app().config["EXCHANGE_ESCALATE_DAYS"] == 7
    monkeypatch.setenv("EXCHANGE_ESCALATE_DAYS", "3")
    assert create_app().config["EXCHANGE_ESCALATE_DAYS"] == 3


@pytest.mark.parametrize("days", ["0", "-2", "a week"])
def test_a_wrong_escalation_age_is_refused(instance, monkeypatch, days):
    monkeypatch.setenv("EXCHANGE_ESCALATE_DAYS", days)
    with pytest.raises(ConfigError, match="EXCHANGE_ESCALATE_DAYS"):
        create_app()
