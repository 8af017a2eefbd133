"""How transactions end: what a request wrote and did not commit is undone, and on
PostgreSQL a transaction that only read ends with COMMIT, so that the statements
psycopg has prepared on the server (planned once) stay for the next request.
Run on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from exchange.extensions import db
from exchange.org.models import Department


def test_a_write_rolled_back_is_undone(app_ctx):
    db.session.add(Department(code="GONE", name="Never committed"))
    db.session.flush()
    db.session.rollback()
    assert db.session.scalars(select(Department).where(Department.code == "GONE")).all() == []


def test_a_write_left_uncommitted_by_a_request_is_undone(app_ctx, make_app):
    other = make_app()

    @other.get("/test-writes-and-forgets")
    def writes_and_forgets():
        db.session.add(Department(code="LEFT", name="Left uncommitted"))
        db.session.flush()
        return "written, not committed"

    assert other.test_client().get("/test-writes-and-forgets").status_code == 200
    assert db.session.scalars(select(Department).where(Department.code == "LEFT")).all() == []


def test_a_row_locked_for_update_and_let_go_is_not_committed(app_ctx, make_department):
    department = make_department(code="LOCK", name="Locked")
    db.session.execute(
        select(Department).where(Department.id == department.id).with_for_update()
    ).scalar_one()
    db.session.execute(
        text("UPDATE department SET name = 'Renamed' WHERE id = :id"), {"id": department.id}
    )
    db.session.rollback()
    assert db.session.get(Department, department.id).name == "Locked"


def prepared_statements() -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def test_postgresql_keeps_what_it_planned_across_requests_that_only_read(
    app, college, login_as, client
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    login_as(college.head)
    for _ in range(8):  # psycopg prepares a statement at its sixth use on a connection
        assert client.get("/logs/approve").status_code == 200
    db.session.remove()
    # The pool holds the connection the requests used (the test's own session takes it).
    assert prepared_statements() > 0
