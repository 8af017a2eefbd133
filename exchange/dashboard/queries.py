"""The health check's read: whether the database answers."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from exchange.extensions import db


def database_reachable() -> bool:
    """True when the database answers a trivial query; else the failed transaction is
    rolled back (so the session stays usable) and the answer is False."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True
