"""Several app processes write to one database at once without "database is locked".

Each gunicorn worker holds its own connection. SQLite refuses at once (no busy
wait) a transaction that has read and then wants to write after another
connection committed in between: its snapshot is stale. The app's transactions
begin at their first write, so having read earlier in a request costs nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from exchange.extensions import db


def _count(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM user_account")).scalar()


def _touch(connection, user_id: int) -> None:
    """A real change: SQLite writes nothing for an UPDATE that changes nothing."""
    connection.execute(
        text("UPDATE user_account SET name = name || '.' WHERE id = :id"), {"id": user_id}
    )


def test_a_request_that_read_before_another_worker_committed_still_writes(college):
    teacher, head = college.teacher.id, college.head.id
    with db.engine.connect() as first, db.engine.connect() as second:
        assert _count(first) > 0  # the first worker reads (signs the person in, …)
        _touch(second, head)  # another worker writes and commits in between
        second.commit()
        _touch(first, teacher)  # then the first one writes: no "database is locked"
        first.commit()


def test_on_sqlite_a_transaction_begun_at_its_first_read_would_be_refused(college):
    """Why the transactions begin at their first write: begun at the read, the same
    sequence is refused at once on SQLite (PostgreSQL takes it either way)."""
    teacher, head = college.teacher.id, college.head.id
    with db.engine.connect() as first, db.engine.connect() as second:
        first.exec_driver_sql("BEGIN")
        _count(first)
        _touch(second, head)
        second.commit()
        if db.engine.dialect.name == "sqlite":
            with pytest.raises(OperationalError, match="database is locked"):
                _touch(first, teacher)
            first.rollback()
        else:
            _touch(first, teacher)
            first.commit()
