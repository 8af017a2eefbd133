"""Configuration: safe defaults, then the environment on top.

Every variable read here is documented in the README's configuration table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production


class ConfigError(RuntimeError):
    """The configuration cannot run safely (raised at start-up)."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Accept the common ``postgres://`` spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    env = os.environ
    sqlite_path = Path(instance_path) / "exchange.db"
    config: dict[str, Any] = {
        "EXCHANGE_ENV": env.get("EXCHANGE_ENV", "development"),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL", f"sqlite:///{sqlite_path}")
        ),
        "EXCHANGE_TIMEZONE": env.get("EXCHANGE_TIMEZONE", "Asia/Shanghai"),
        "EXCHANGE_INSTITUTION": env.get("EXCHANGE_INSTITUTION", "Exchange Medical College"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "EXCHANGE_LOGIN_LIMIT": env.get("EXCHANGE_LOGIN_LIMIT", "10 per minute"),
        "API_TOKEN_DAYS": int(env.get("EXCHANGE_API_TOKEN_DAYS", "30")),
        # An embedded SQLite database is created and migrated when the app starts.
        "EXCHANGE_AUTO_MIGRATE": _bool(env.get("EXCHANGE_AUTO_MIGRATE", "1")),
        "PER_PAGE": 25,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ("en", "zh_Hans"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    config.update(overrides or {})
    if "SESSION_COOKIE_SECURE" not in config:
        secure = env.get("EXCHANGE_SECURE_COOKIES")
        is_production = config["EXCHANGE_ENV"] == "production"
        config["SESSION_COOKIE_SECURE"] = _bool(secure) if secure else is_production
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    check(config)
    return config


def check(config: dict[str, Any]) -> None:
    """Refuse to start with a configuration that is unsafe for its environment."""
    if config["EXCHANGE_ENV"] not in {"development", "production", "testing"}:
        raise ConfigError("EXCHANGE_ENV must be development, production or testing.")
    if config["EXCHANGE_ENV"] == "production":
        if not config["SECRET_KEY"] or config["SECRET_KEY"] == DEV_SECRET_KEY:
            raise ConfigError("SECRET_KEY must be set in production.")
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = DEV_SECRET_KEY
