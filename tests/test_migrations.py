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
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

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
    # Named after the test database, so that it keeps that database's prefix.
    name = f"{server.database or 'exchange'}_mig_{secrets.token_hex(4)}"
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


def test_existing_rules_get_chinese_names_and_undecided_periods_college_mentor_rules(fresh_app):
    """Upgrading an installation: default rules get their Chinese names; the mentor
    honours become college rules only where no reward of the period is issued yet."""
    flask_migrate.upgrade(revision="0003")
    run = db.session.execute
    run(
        text(
            "INSERT INTO department (id, code, name, created_at) VALUES (1, 'CM', 'Clinical', :now)"
        ),
        {"now": "2026-01-01 00:00:00+00"},
    )
    run(
        text(
            "INSERT INTO user_account (id, email, name, role, password_hash, active, session_nonce,"
            " created_at) VALUES (1, 'a@example.com', 'A', 'admin', 'x', true, 'n', :now)"
        ),
        {"now": "2026-01-01 00:00:00+00"},
    )
    for period_id, name, state in ((1, "2025-2026", "open"), (2, "2026-2027", "open")):
        run(
            text(
                "INSERT INTO period (id, name, starts_on, ends_on, state, created_at)"
                " VALUES (:id, :name, '2025-09-01', '2026-08-31', :state, :now)"
            ),
            {"id": period_id, "name": name, "state": state, "now": "2026-01-01 00:00:00+00"},
        )
        for offset, (code, english) in enumerate(
            (("mentor-cert", "Mentor Certificate"), ("practice-cert", "Own name")), start=1
        ):
            run(
                text(
                    "INSERT INTO reward_rule (id, period_id, code, name, kind, audience,"
                    " threshold_minutes, fixed_amount_minor, rate_per_hour_minor, currency,"
                    " created_at)"
                    " VALUES (:id, :period, :code, :name, 'honour', 'expert', 960, 0, 0,"
                    " 'CNY', :now)"
                ),
                {
                    "id": period_id * 10 + offset,
                    "period": period_id,
                    "code": code,
                    "name": english,
                    "now": "2026-01-01 00:00:00+00",
                },
            )
    # The first period's rewards are issued already: its rules stay as decided.
    run(
        text(
            "INSERT INTO reward_round (id, department_id, period_id, state, opened_by_id,"
            " created_at) VALUES (1, 1, 1, 'finalized', 1, :now)"
        ),
        {"now": "2026-01-01 00:00:00+00"},
    )
    db.session.commit()

    flask_migrate.upgrade()

    rules = {
        (row.period_id, row.code): row
        for row in run(text("SELECT period_id, code, name_zh, scope FROM reward_rule"))
    }
    assert rules[(1, "mentor-cert")].name_zh == "导师证书"
    assert rules[(1, "mentor-cert")].scope == "department"
    assert rules[(2, "mentor-cert")].scope == "college"
    assert rules[(2, "practice-cert")].scope == "department"
    assert rules[(2, "practice-cert")].name_zh == ""  # a name of its own: left to the admin
    (scope,) = run(text("SELECT scope FROM reward_round")).one()
    assert scope == "department"
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def app_with_instance(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app on a brand-new database with an instance folder of its own."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("EXCHANGE_INSTANCE_PATH", str(instance))
    with fresh_database(request.param, tmp_path) as url:
        app = create_app(
            {
                "TESTING": True,
                "EXCHANGE_ENV": "testing",
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": url,
                "WTF_CSRF_ENABLED": False,
            }
        )
        assert app.instance_path == str(instance)
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()


def _insert_log(log_id: int, stored: str, name: str, media_type: str, size: int) -> None:
    db.session.execute(
        text(
            "INSERT INTO exchange_log (id, kind, owner_id, work_date, minutes, enterprise_id,"
            " department_id, period_id, category, description, status, evidence_file,"
            " evidence_name, evidence_type, evidence_size, version, updated_at, created_at)"
            " VALUES (:id, 'practice', 1, '2026-01-05', 120, 1, 1, 1, 'clinical', 'Ward rounds',"
            " 'draft', :stored, :name, :type, :size, 1, :now, :now)"
        ),
        {
            "id": log_id,
            "stored": stored,
            "name": name,
            "type": media_type,
            "size": size,
            "now": "2026-01-05 00:00:00+00",
        },
    )


def test_evidence_files_move_into_the_database_and_back(app_with_instance, capsys):
    """Upgrading an installation that kept evidence in instance/evidence/: the files'
    bytes are served from the database afterwards (the folder is left alone); a log
    whose file is missing loses its evidence and is named; a downgrade writes the
    files back."""
    from werkzeug.security import generate_password_hash

    from exchange.accounts.models import PASSWORD_METHOD

    app = app_with_instance
    flask_migrate.upgrade(revision="0005")
    run = db.session.execute
    now = {"now": "2026-01-01 00:00:00+00"}
    run(
        text(
            "INSERT INTO department (id, code, name, created_at) VALUES (1, 'CM', 'Clinical', :now)"
        ),
        now,
    )
    run(
        text(
            "INSERT INTO enterprise (id, code, name, kind, contact_person, phone, address,"
            " created_at) VALUES (1, 'H1', 'City Hospital', 'hospital', '', '', '', :now)"
        ),
        now,
    )
    run(
        text(
            "INSERT INTO period (id, name, starts_on, ends_on, state, created_at)"
            " VALUES (1, '2025-2026', '2025-09-01', '2026-08-31', 'open', :now)"
        ),
        now,
    )
    run(
        text(
            "INSERT INTO user_account (id, email, name, role, department_id, password_hash,"
            " active, created_at) VALUES (1, 'li@example.com', 'Li', 'teacher', 1, :hash, true,"
            " :now)"
        ),
        {**now, "hash": generate_password_hash("a long password", method=PASSWORD_METHOD)},
    )
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    folder = Path(app.instance_path) / "evidence"
    folder.mkdir(parents=True)
    (folder / "0f3a9c.png").write_bytes(png)
    _insert_log(1, "0f3a9c.png", "ward.png", "image/png", len(png))
    _insert_log(2, "5e77b1.pdf", "lost.pdf", "application/pdf", 1234)  # its file is gone
    _insert_log(3, None, None, None, None)  # never had evidence
    db.session.commit()
    capsys.readouterr()

    flask_migrate.upgrade()

    printed = capsys.readouterr().out
    assert "Log 2: its evidence file" in printed
    assert "Log 1" not in printed
    assert "Log 3" not in printed
    assert "Moved 1 of 2 evidence files into the database" in printed
    assert "may be removed" in printed
    assert (folder / "0f3a9c.png").read_bytes() == png  # left on disk
    assert "evidence_file" not in {
        c["name"] for c in inspect(db.engine).get_columns("exchange_log")
    }
    rows = run(
        text("SELECT id, evidence_name, evidence_type, evidence_size FROM exchange_log ORDER BY id")
    ).all()
    assert [tuple(r) for r in rows] == [
        (1, "ward.png", "image/png", len(png)),
        (2, None, None, None),
        (3, None, None, None),
    ]
    db.session.commit()

    # The files are no longer read: the app serves the bytes from the database.
    (folder / "0f3a9c.png").unlink()
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "li@example.com", "password": "a long password"}
    )
    assert response.status_code == 302
    served = client.get("/logs/1/evidence")
    assert served.status_code == 200
    assert (served.data, served.mimetype) == (png, "image/png")
    assert served.headers["Content-Disposition"] == "inline; filename=ward.png"
    served.close()
    assert client.get("/logs/2/evidence").status_code == 404
    assert client.get("/logs/3/evidence").status_code == 404
    db.session.remove()

    flask_migrate.downgrade(revision="0005")

    (stored,) = run(text("SELECT evidence_file FROM exchange_log WHERE id = 1")).one()
    assert stored.endswith(".png")
    assert (folder / stored).read_bytes() == png
    assert run(text("SELECT evidence_file FROM exchange_log WHERE id = 2")).scalar() is None
    db.session.commit()


AUDIT_TABLES = ("log_event", "award_event", "account_event")


def audit_triggers() -> set[tuple[str, str]]:
    """(table, trigger) of the triggers that guard the audit trails."""
    return {(table, name) for table, name in triggers() if table in AUDIT_TABLES}


def triggers() -> set[tuple[str, str]]:
    """(table, trigger) of every trigger of the database."""
    if db.engine.dialect.name == "postgresql":
        query = (
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal"
        )
    else:
        query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
    return {(table, name) for table, name in db.session.execute(text(query))}


def test_the_audit_trails_are_guarded_from_0007_on_and_free_again_below(fresh_app):
    """Upgrade adds a BEFORE UPDATE and a BEFORE DELETE trigger to every trail; a
    downgrade to 0005 takes them away (with the PostgreSQL function) and the tables
    behave as before."""
    flask_migrate.upgrade()
    postgresql = db.engine.dialect.name == "postgresql"
    operations = ("update", "delete", "truncate") if postgresql else ("update", "delete")
    guarded = {
        (table, f"{table}_no_{operation}") for table in AUDIT_TABLES for operation in operations
    }
    assert audit_triggers() == guarded
    run = db.session.execute
    now = {"now": "2026-01-01 00:00:00+00"}
    run(
        text(
            "INSERT INTO user_account (id, email, name, role, password_hash, active,"
            " created_at) VALUES (1, 'a@example.com', 'A', 'admin', 'x', true, :now)"
        ),
        now,
    )
    run(text("INSERT INTO account_event (user_id, action, at) VALUES (1, 'x', :now)"), now)
    db.session.commit()
    with pytest.raises(IntegrityError, match="append-only audit trail"):
        run(text("DELETE FROM account_event"))
    db.session.rollback()
    if postgresql:
        with pytest.raises(IntegrityError, match="append-only audit trail"):
            run(text("TRUNCATE account_event"))
        db.session.rollback()

    flask_migrate.downgrade(revision="0005")
    assert audit_triggers() == set()
    if postgresql:
        functions = run(
            text("SELECT count(*) FROM pg_proc WHERE proname = 'exchange_refuse_audit_change'")
        ).scalar_one()
        assert functions == 0
    run(text("UPDATE account_event SET action = 'y'"))
    run(text("DELETE FROM account_event"))
    db.session.commit()

    flask_migrate.upgrade()  # and up again
    assert audit_triggers() == guarded


def a_teacher_of_a_department() -> None:
    """Department 1, enterprise 1, period 1 and teacher 1, in SQL (any revision)."""
    at = {"t": "2026-01-01 00:00:00+00"}
    for sql in (
        "INSERT INTO department (id, code, name, created_at) VALUES (1, 'CM', 'C', :t)",
        "INSERT INTO enterprise (id, code, name, kind, contact_person, phone, address,"
        " created_at) VALUES (1, 'E', 'E', 'hospital', '', '', '', :t)",
        "INSERT INTO period (id, name, starts_on, ends_on, state, created_at)"
        " VALUES (1, '2025-2026', '2025-09-01', '2026-08-31', 'open', :t)",
        "INSERT INTO user_account (id, email, name, role, password_hash, active, department_id,"
        " created_at) VALUES (1, 't@example.com', 'T', 'teacher', 'x', true, 1, :t)",
    ):
        db.session.execute(text(sql), at)


def a_log(log_id: int, status: str, minutes: int = 60, since: bool = False) -> None:
    """A practice log of teacher 1, in SQL (any revision; ``since``: from 0009 on)."""
    columns = (
        "id, kind, owner_id, work_date, minutes, enterprise_id, department_id, period_id,"
        " category, description, status, version, created_at, updated_at"
    )
    values = (
        ":id, 'practice', 1, '2026-01-05', :minutes, 1, 1, 1, 'clinical', 'x', :status, 3,"
        " '2026-01-05 09:00:00+00', :changed"
    )
    if since:
        columns, values = f"{columns}, status_since", f"{values}, :changed"
    db.session.execute(
        text(f"INSERT INTO exchange_log ({columns}) VALUES ({values})"),  # noqa: S608 - constants
        {"id": log_id, "status": status, "minutes": minutes, "changed": "2026-03-01 09:00:00+00"},
    )


def test_existing_logs_are_totalled_and_the_totals_kept_from_0013_on(fresh_app):
    """0013 sums the logs there are (tombstones left out) into ``log_total`` and its
    triggers keep it from then on; a downgrade takes table, triggers and function away."""
    flask_migrate.upgrade(revision="0012")
    run = db.session.execute
    a_teacher_of_a_department()
    for log_id, status, minutes in ((1, "approved", 60), (2, "approved", 90), (3, "draft", 30),
                                    (4, "draft", 45)):  # fmt: skip
        a_log(log_id, status, minutes, since=True)
    run(text("UPDATE exchange_log SET deleted_at = created_at WHERE id = 4"))
    db.session.commit()

    flask_migrate.upgrade()
    kept = "SELECT status, minutes, logs FROM log_total ORDER BY status"
    assert run(text(kept)).all() == [("approved", 150, 2), ("draft", 30, 1)]
    run(text("UPDATE exchange_log SET status = 'approved' WHERE id = 3"))
    assert run(text(kept)).all() == [("approved", 180, 3), ("draft", 0, 0)]
    db.session.commit()

    flask_migrate.downgrade(revision="0012")
    assert "log_total" not in database_tables()
    assert {name for _, name in triggers()} == {name for _, name in audit_triggers()}
    if db.engine.dialect.name == "postgresql":
        functions = run(
            text("SELECT count(*) FROM pg_proc WHERE proname = 'exchange_keep_log_total'")
        ).scalar_one()
        assert functions == 0
    run(text("UPDATE exchange_log SET minutes = 120"))  # nothing left to keep
    db.session.commit()


def test_existing_logs_wait_since_the_entry_that_brought_them_to_their_status(fresh_app):
    """0009 fills ``status_since`` from the audit trail: a verified log waits for its
    approval since it was verified, not since it was created or last touched."""
    flask_migrate.upgrade(revision="0008")
    run = db.session.execute
    a_teacher_of_a_department()
    for log_id, status in ((1, "verified"), (2, "draft")):
        a_log(log_id, status)
    trail = [("create", "draft", "2026-01-05 09:00:00+00"),
             ("submit", "submitted", "2026-01-06 09:00:00+00"),
             ("verify", "verified", "2026-01-20 09:00:00+00")]  # fmt: skip
    for action, to_status, at in trail:
        run(text(
            "INSERT INTO log_event (log_id, actor_name, action, to_status, at)"
            " VALUES (1, 'T', :action, :to_status, :at)"
        ), {"action": action, "to_status": to_status, "at": at})  # fmt: skip
    db.session.commit()

    flask_migrate.upgrade()
    since = dict(run(text("SELECT id, status_since FROM exchange_log")).all())
    assert str(since[1]).startswith("2026-01-20 09:00:00")  # when it was verified
    assert str(since[2]).startswith("2026-03-01 09:00:00")  # no trail: its last change
    db.session.commit()  # no transaction left open while the downgrade alters the table
    flask_migrate.downgrade(revision="0008")
    columns = {c["name"] for c in inspect(db.engine).get_columns("exchange_log")}
    assert "status_since" not in columns
    assert run(text("SELECT count(*) FROM exchange_log")).scalar_one() == 2
