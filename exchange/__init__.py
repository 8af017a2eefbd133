"""Exchange: log, verify and reward production–education exchange hours."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import psycopg
from flask import Flask, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

from exchange import config as config_module
from exchange import i18n


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → errors → commands."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
        instance_path=os.environ.get("EXCHANGE_INSTANCE_PATH", os.path.join(root, "instance")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config_module.load(app.instance_path, config))
    register_serving(app)
    from exchange import static_files

    static_files.register(app)

    register_extensions(app)
    connect_receivers()
    from exchange.web import IdConverter

    app.url_map.converters["id"] = IdConverter
    register_blueprints(app)
    from exchange import offline

    offline.register(app)
    from exchange.logs import views as log_views
    from exchange.presentation import templates

    templates.register(
        app, helpers=log_views.TEMPLATE_HELPERS, per_request={"nav_todo": log_views.nav_todo}
    )
    register_security_headers(app)
    from exchange.errors import register_error_handlers

    register_error_handlers(app)
    from exchange.cli import register_commands

    register_commands(app)
    migrate_sqlite_on_start(app)
    return app


def register_serving(app: Flask) -> None:
    """What serving behind proxies needs: the request id (first, so that everything
    after it, a refusal included, can quote it) and the trusted proxies' headers."""
    from exchange.request_id import register_request_id

    register_request_id(app)
    proxies = app.config["EXCHANGE_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )


def migrate_sqlite_on_start(app: Flask) -> None:
    """Create or upgrade an embedded SQLite database at start-up (SPEC §8).

    Gunicorn workers start together: a lock file lets one migrate while the others
    wait. PostgreSQL is migrated by its operator (``flask db upgrade``); tests
    migrate their own databases.
    """
    if app.testing or not app.config["EXCHANGE_AUTO_MIGRATE"]:
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import fcntl

    import flask_migrate

    with open(os.path.join(app.instance_path, "migrate.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with app.app_context():
            try:
                flask_migrate.upgrade()
            except Exception:  # noqa: BLE001 - the app still starts; /healthz reports it
                app.logger.exception("Could not migrate the SQLite database at start-up")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection: enforce foreign keys, WAL, wait instead of failing when busy."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "rollback")
def _end_reading_transaction(connection: Connection) -> None:
    _commit_if_nothing_written(connection.connection.dbapi_connection)


@event.listens_for(Pool, "reset")
def _end_reading_transaction_on_return(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    _commit_if_nothing_written(dbapi_connection)


def _commit_if_nothing_written(dbapi_connection: Any) -> None:
    """PostgreSQL: a transaction that wrote nothing ends with COMMIT, not ROLLBACK.

    psycopg forgets every statement it has prepared on the server at a ROLLBACK (the
    rollback might have undone DDL they rely on), and a request that only reads ends
    with one; PostgreSQL would then plan every statement of every page again (1–3 ms
    for a list's joins). A transaction that was never given a transaction id wrote no
    row, took no row lock and ran no DDL, so COMMIT ends it exactly as ROLLBACK would
    (the app changes settings only with SET LOCAL), and the rollback that follows finds
    nothing to do. One more round trip, a few milliseconds of planning saved a page."""
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    if dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return  # idle, or failed: a failed transaction must be rolled back
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT txid_current_if_assigned() IS NULL")
        row = cursor.fetchone()
    if row is not None and row[0]:
        dbapi_connection.commit()


def register_extensions(app: Flask) -> None:
    import exchange.models  # noqa: F401  (map every model before first use)
    from exchange.extensions import babel, compress, csrf, db, limiter, login_manager, migrate

    if app.config["EXCHANGE_COMPRESS"]:
        # Registered before the pages' own after-request steps, so it runs after them
        # and compresses what they leave.
        compress.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.init_app(app)
    from exchange import mail

    mail.init_app(app)

    from exchange.accounts.auth import configure_login

    configure_login(app, login_manager)


def connect_receivers() -> None:
    """The domains that react to others' changes connect their receivers (see
    ``exchange.signals``) when imported: here, so the web, the commands and the
    tests all have them, whichever pages they load."""
    import exchange.credentials.services
    import exchange.logs.services
    import exchange.rewards.services  # noqa: F401


def select_locale() -> str:
    """The user's own choice, else the language cookie, else the browser's preference."""
    if not has_request_context():  # command line: English
        return "en"
    if current_user and current_user.is_authenticated and current_user.locale:
        return str(current_user.locale)
    chosen = request.cookies.get("lang")
    if chosen in ("en", "zh_Hans"):
        return chosen
    best = request.accept_languages.best_match(["en", "zh", "zh-Hans", "zh-CN", "zh-TW"])
    return "zh_Hans" if best and best.startswith("zh") else "en"


def register_blueprints(app: Flask) -> None:
    # The import's routes join the users blueprint, which must know them before it registers.
    from exchange.accounts import import_views  # noqa: F401
    from exchange.accounts.reset import bp as reset_bp
    from exchange.accounts.views import admin_bp as users_admin_bp
    from exchange.accounts.views import bp as accounts_bp
    from exchange.api import bp as api_bp
    from exchange.credentials.views import bp as credentials_bp
    from exchange.dashboard.views import bp as dashboard_bp
    from exchange.logs.confirm import bp as confirm_bp
    from exchange.logs.queues import bp as queues_bp
    from exchange.logs.views import bp as logs_bp
    from exchange.org.views import bp as org_bp
    from exchange.records.views import bp as records_bp
    from exchange.reports.views import bp as reports_bp
    from exchange.rewards.rules_views import bp as rules_bp
    from exchange.rewards.views import bp as rewards_bp

    blueprints = (
        accounts_bp,
        reset_bp,
        users_admin_bp,
        org_bp,
        dashboard_bp,
        queues_bp,  # before logs: /logs/verify is not a log id
        logs_bp,
        confirm_bp,
        rules_bp,
        rewards_bp,
        credentials_bp,
        records_bp,
        reports_bp,
        api_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["EXCHANGE_ENV"] == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        signed_in_page = response.mimetype == "text/html" and current_user.is_authenticated
        if signed_in_page or getattr(g, "no_store", False) or request.path.startswith("/api/"):
            # Nothing of a signed-in person's pages stays in a shared or back-button cache.
            response.headers["Cache-Control"] = "no-store"
        return response
