"""The migrations build exactly the schema the models describe, and tear it down.

Runs on a brand-new database: always a fresh SQLite file, and also a fresh
PostgreSQL database when ``TEST_DATABASE_URL`` names PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from exchange import create_app
from exchange.extensions import db

TEST_URL = os.environ.get("TEST_DATABASE_URL") or ""
BACKENDS = ["sqlite"]
if make_url(TEST_URL or "sqlite://").get_backend_name() == "postgresql":
    BACKENDS.append("postgresql")


@contextlib.contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = make_url(TEST_URL)
    name = f"exchange_mig_{secrets.token_hex(4)}"
    maintenance = server.set(drivername="postgresql", database="postgres")
    dsn = maintenance.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a brand-new, empty database of the given kind."""
    with fresh_database(request.param, tmp_path) as url:
        app = create_app(
            {
                "TESTING": True,
                "EXCHANGE_ENV": "testing",
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": url,
            }
        )
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()


def model_tables() -> set[str]:
    return set(db.metadata.tables)


def database_tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_table_and_downgrade_removes_them(fresh_app):
    assert database_tables() == set()
    flask_migrate.upgrade()
    assert database_tables() == model_tables()

    flask_migrate.downgrade(revision="base")
    assert database_tables() == set()

    flask_migrate.upgrade()  # and back up again, as after a rollback of a release
    assert database_tables() == model_tables()


def test_models_and_migrations_agree(fresh_app):
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], "the models changed without a migration: run `flask db migrate`"
