"""Configuration: safe defaults, then the environment on top.

Every variable read here is documented in the README's configuration table.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production


class ConfigError(RuntimeError):
    """The configuration cannot run safely (raised at start-up)."""


# A key an attacker cannot guess offline: 32 characters of ``secrets.token_urlsafe``
# carry about 190 bits.
SECRET_KEY_MIN_LENGTH = 32


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> list[str]:
    """A comma-separated setting as a list, without empty items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _optional_int(value: str | None) -> int | None:
    return int(value) if value and value.strip() else None


def _escalate_days(value: object) -> int:
    """``EXCHANGE_ESCALATE_DAYS``: after how many days a waiting item is escalated."""
    try:
        days = int(str(value).strip())
    except ValueError:
        days = 0
    if days < 1:
        raise ConfigError(
            f"EXCHANGE_ESCALATE_DAYS must be a whole number of days, 1 or more (got {value!r})."
        )
    return days


def _proxies(value: object) -> int:
    """``EXCHANGE_PROXIES``: how many proxies in front are trusted to say who the client is."""
    try:
        count = int(str(value).strip() or "0")
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigError(
            f"EXCHANGE_PROXIES must be the number of trusted proxies in front, 0 or more "
            f"(got {value!r})."
        )
    return count


ROLES = frozenset({"teacher", "expert", "head", "admin"})


def _roles(value: str | frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """A comma-separated list of roles ("admin,head"), checked: a misspelt role would
    silently require nothing."""
    parts = value.split(",") if isinstance(value, str) else value
    roles = frozenset(part.strip() for part in parts if part.strip())
    if roles - ROLES:
        unknown = ", ".join(sorted(roles - ROLES))
        raise ConfigError(f"EXCHANGE_REQUIRE_2FA_FOR names unknown roles: {unknown}.")
    return roles


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
        # Earlier keys, still accepted (never used to sign): rotating SECRET_KEY keeps
        # everybody signed in and every link sent out working until they expire.
        "SECRET_KEY_FALLBACKS": _list(env.get("SECRET_KEY_FALLBACKS", "")),
        # Where the app is reached: every link sent out (e-mails, QR codes) starts so.
        "EXCHANGE_BASE_URL": env.get("EXCHANGE_BASE_URL", ""),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL", f"sqlite:///{sqlite_path}")
        ),
        "EXCHANGE_TIMEZONE": env.get("EXCHANGE_TIMEZONE", "Asia/Shanghai"),
        "EXCHANGE_INSTITUTION": env.get("EXCHANGE_INSTITUTION", "Exchange Medical College"),
        # A PEM file with the Ed25519 key that signs the Open Badges credentials; unset,
        # the key lives in the database, encrypted with SECRET_KEY (`flask keys rotate`).
        "EXCHANGE_SIGNING_KEY": env.get("EXCHANGE_SIGNING_KEY", ""),
        # Proxies in front (nginx, a load balancer) whose X-Forwarded-* headers are
        # believed: 0 ignores them, so nobody can choose the address they are throttled by.
        "EXCHANGE_PROXIES": env.get("EXCHANGE_PROXIES", "0"),
        "EXCHANGE_ESCALATE_DAYS": env.get("EXCHANGE_ESCALATE_DAYS", "7"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "EXCHANGE_LOGIN_LIMIT": env.get("EXCHANGE_LOGIN_LIMIT", "10 per minute"),
        # Roles that must sign in with a second factor, e.g. "admin" or "admin,head".
        "EXCHANGE_REQUIRE_2FA_FOR": env.get("EXCHANGE_REQUIRE_2FA_FOR", ""),
        "EXCHANGE_TWO_FACTOR_LIMIT": env.get("EXCHANGE_TWO_FACTOR_LIMIT", "5 per minute"),
        "API_TOKEN_DAYS": int(env.get("EXCHANGE_API_TOKEN_DAYS", "30")),
        # "Forgot password?" requests: per e-mail address (no mailbox is flooded) and
        # per client address (nobody mails the whole staff list).
        "EXCHANGE_RESET_EMAIL_LIMIT": env.get("EXCHANGE_RESET_EMAIL_LIMIT", "5 per hour"),
        "EXCHANGE_RESET_CLIENT_LIMIT": env.get("EXCHANGE_RESET_CLIENT_LIMIT", "30 per hour"),
        # E-mail (Flask-Mailman). No MAIL_SERVER: messages are written to the outbox
        # folder instead of being sent (exchange/mail.py).
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        # None: 465 with SSL, 587 with TLS, else 25 (decided in exchange/mail.py).
        "MAIL_PORT": _optional_int(env.get("MAIL_PORT")),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS", "0")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL", "0")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or None,
        "MAIL_TIMEOUT": 10,  # seconds: a stalled mail server must not hold a request forever
        "MAIL_FILE_PATH": str(Path(instance_path) / "outbox"),
        # An embedded SQLite database is created and migrated when the app starts.
        "EXCHANGE_AUTO_MIGRATE": _bool(env.get("EXCHANGE_AUTO_MIGRATE", "1")),
        # Compressed answers; a proxy in front that compresses makes this unnecessary.
        "EXCHANGE_COMPRESS": _bool(env.get("EXCHANGE_COMPRESS", "1")),
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "image/svg+xml",
            "text/csv",
        ],
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        # Answers sent as a stream (exports, evidence) go as they are; static files are
        # small and sent whole (exchange/static_files.py), so they are compressed.
        "COMPRESS_STREAMS": False,
        "PER_PAGE": 25,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ("en", "zh_Hans"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # "Keep me signed in" for two weeks at most; the session row ends then too.
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
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
    config["EXCHANGE_REQUIRE_2FA_FOR"] = _roles(config["EXCHANGE_REQUIRE_2FA_FOR"])
    config["EXCHANGE_PROXIES"] = _proxies(config.get("EXCHANGE_PROXIES", 0))
    config["EXCHANGE_ESCALATE_DAYS"] = _escalate_days(config.get("EXCHANGE_ESCALATE_DAYS", 7))
    if config["EXCHANGE_ENV"] not in {"development", "production", "testing"}:
        raise ConfigError("EXCHANGE_ENV must be development, production or testing.")
    production = config["EXCHANGE_ENV"] == "production"
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):  # given as in the environment
        fallbacks = _list(fallbacks)
    config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    if production:
        _check_production_secrets(config["SECRET_KEY"], config["SECRET_KEY_FALLBACKS"])
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = DEV_SECRET_KEY
    # Flask's session cookie honours the fallbacks itself; a form opened before a key
    # rotation still posts (Flask-WTF signs with the last key and accepts each of them).
    config["WTF_CSRF_SECRET_KEY"] = [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]
    config["EXCHANGE_BASE_URL"] = check_base_url(config.get("EXCHANGE_BASE_URL") or "")
    if production and not config["EXCHANGE_BASE_URL"]:
        raise ConfigError(
            "EXCHANGE_BASE_URL must be set in production: the address people open the app at, "
            "e.g. https://exchange.example.edu. Links in e-mails and QR codes start with it."
        )
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        raise ConfigError(
            "Set MAIL_USE_TLS (STARTTLS, usually port 587) or MAIL_USE_SSL (usually port 465), "
            "not both."
        )


def _check_production_secrets(secret_key: str, fallbacks: list[str]) -> None:
    if not secret_key or secret_key == DEV_SECRET_KEY:
        raise ConfigError("SECRET_KEY must be set in production.")
    if len(secret_key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short for production: {len(secret_key)} characters, at least "
            f"{SECRET_KEY_MIN_LENGTH} are needed. Make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "(and put the old key in SECRET_KEY_FALLBACKS to keep people signed in)."
        )
    if DEV_SECRET_KEY in fallbacks:
        # The development key is public: whatever it signs, anybody could have signed.
        raise ConfigError("SECRET_KEY_FALLBACKS must not contain the development key.")


def _valid_port(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - read for the error it raises on "host:abc"
    except ValueError:
        return False
    return True


def check_base_url(url: str) -> str:
    """``EXCHANGE_BASE_URL`` without its trailing slash ("" when unset), or a clear
    refusal of an address links cannot start with."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _valid_port(url):
        raise ConfigError(
            f"EXCHANGE_BASE_URL must be a full http(s) address such as "
            f"https://exchange.example.edu (got {url!r})."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            f"EXCHANGE_BASE_URL must be only scheme, host and an optional path (got {url!r})."
        )
    return url.rstrip("/")
