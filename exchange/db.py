"""Declarative base, naming convention and column helpers shared by all models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    registry,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids are 32-bit integers everywhere; a larger number names no record (and
# overflows SQLite), so it is refused before it reaches the database.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zone type and hands back naive values; they are stored
    as UTC, so they are read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is expected")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- append-only audit trails ----------------------------------------------------------


class AppendOnlyViolation(RuntimeError):
    """An UPDATE or DELETE of an audit entry: audit trails are only ever added to."""

    def __init__(self, table: str, operation: str) -> None:
        super().__init__(
            f"{table} is an append-only audit trail: its rows are never changed "
            f"or deleted ({operation} refused)"
        )
        self.table = table
        self.operation = operation


class AppendOnly:
    """Marks a model whose rows are written once and never changed or deleted.

    The ORM refuses to flush a change or a deletion of such a row and to run a bulk
    ``update()``/``delete()`` on its table (:class:`AppendOnlyViolation`); migration
    0007 adds database triggers that refuse the same to any SQL.
    """


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise AppendOnlyViolation(type(target).__tablename__, "UPDATE")


def _refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    raise AppendOnlyViolation(type(target).__tablename__, "DELETE")


event.listen(AppendOnly, "before_update", _refuse_change, propagate=True)
event.listen(AppendOnly, "before_delete", _refuse_delete, propagate=True)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """``session.execute(update(LogEvent)…)`` and ``delete(…)`` on an append-only table."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, AppendOnly):
        operation = "UPDATE" if state.is_update else "DELETE"
        raise AppendOnlyViolation(str(mapper.local_table.description), operation)
