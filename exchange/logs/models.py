"""Exchange logs and their append-only audit trail."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)

from exchange.accounts.models import User
from exchange.db import AppendOnly, Base, TimestampMixin, utcnow
from exchange.logs.workflow import Action, Status
from exchange.org.models import Department, Enterprise, Period, _in


class LogKind(StrEnum):
    PRACTICE = "practice"  # a teacher's hours inside a partner enterprise
    TEACHING = "teaching"  # an enterprise expert's hours in a college classroom


PRACTICE_CATEGORIES = (
    "clinical",
    "technical_training",
    "joint_research",
    "process_study",
    "management",
    "other",
)
TEACHING_CATEGORIES = ("lecture", "lab", "workshop", "clinical_teaching", "mentoring", "other")
CATEGORIES: dict[str, tuple[str, ...]] = {
    LogKind.PRACTICE: PRACTICE_CATEGORIES,
    LogKind.TEACHING: TEACHING_CATEGORIES,
}


# The condition of the partial indexes that only hold live logs (not deleted drafts).
_LIVE: dict[str, Any] = {
    "sqlite_where": text("deleted_at IS NULL"),
    "postgresql_where": text("deleted_at IS NULL"),
}


class ExchangeLog(TimestampMixin, Base):
    """One stretch of work on one day, by its owner, at an enterprise or in a classroom."""

    __tablename__ = "exchange_log"
    __table_args__ = (
        CheckConstraint(_in("kind", LogKind), name="kind"),
        CheckConstraint(_in("status", Status), name="status"),
        CheckConstraint("minutes BETWEEN 15 AND 720 AND minutes % 15 = 0", name="minutes"),
        CheckConstraint("students IS NULL OR students BETWEEN 1 AND 1000", name="students"),
        UniqueConstraint("owner_id", "client_id", name="uq_exchange_log_owner_client"),
        # Every list is read newest first (work_date, id), and every count and sum is
        # answered from the index that holds exactly the rows it asks about, so that a
        # page costs what its own person's data costs, not what the college's does.
        # They index live logs only: no read but the administrator's sees a deleted
        # draft (see _leave_out_deleted), and those have an index of their own.
        # My logs, newest first; the owner's minutes on one day.
        Index("ix_exchange_log_owner_list", "owner_id", "work_date", "id", **_LIVE),
        # Logs waiting for my verification: the queue (the longest waiting first) and
        # its count. The kind leads the list's order so that the verifier's own queue
        # is always the most specific index for them; the last columns are the
        # count's other conditions, so that it is answered from the index alone.
        Index(
            "ix_exchange_log_verifier_queue",
            "verifier_id",
            "status",
            "kind",
            "status_since",
            "id",
            "period_id",
            "enterprise_id",
            "department_id",
            **_LIVE,
        ),
        # Logs waiting for a head's approval: the queue and its count (covering).
        Index(
            "ix_exchange_log_department_queue",
            "department_id",
            "status",
            "work_date",
            "id",
            "period_id",
            "owner_id",
            **_LIVE,
        ),
        # Logs waiting for an admin's approval (the whole college's) and their count.
        Index("ix_exchange_log_status_list", "status", "work_date", "id", "period_id", **_LIVE),
        # The approval queues in their order, the longest waiting first: a head's
        # (their department's) and an admin's (the college's).
        Index(
            "ix_exchange_log_department_waiting",
            "department_id",
            "status",
            "status_since",
            "id",
            "period_id",
            "owner_id",
            **_LIVE,
        ),
        Index(
            "ix_exchange_log_status_waiting", "status", "status_since", "id", "period_id", **_LIVE
        ),
        # A head's department logs and an admin's list of every log.
        Index("ix_exchange_log_department_list", "department_id", "work_date", "id", **_LIVE),
        Index("ix_exchange_log_list", "work_date", "id", **_LIVE),
        # A person's own logs of a period: the flags' figures of their period total
        # in a department and of their repeated descriptions. (What eligibility,
        # rounds and progress sum is kept in log_total.)
        Index(
            "ix_exchange_log_period_sums",
            "period_id",
            "owner_id",
            "kind",
            "department_id",
            "status",
            "minutes",
            **_LIVE,
        ),
        # The reports: a period's approved and pending minutes (of one department) by
        # month, department, enterprise, category and person, and how long the pending
        # ones wait, all answered from the index alone.
        Index(
            "ix_exchange_log_period_report",
            "period_id",
            "status",
            "department_id",
            "work_date",
            "enterprise_id",
            "kind",
            "category",
            "owner_id",
            "minutes",
            "status_since",
            **_LIVE,
        ),
        Index(
            "ix_exchange_log_deleted",
            "owner_id",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    work_date: Mapped[date]
    minutes: Mapped[int]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    category: Mapped[str] = mapped_column(String(32))
    course: Mapped[str | None] = mapped_column(String(120))
    cohort: Mapped[str | None] = mapped_column(String(60))
    students: Mapped[int | None]
    description: Mapped[str] = mapped_column(String(2000))
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16), default=Status.DRAFT.value)
    # When the log entered its status: what a log in a queue has been waiting since.
    status_since: Mapped[datetime] = mapped_column(default=utcnow)
    # What lists show of the evidence; its content is a row of log_evidence.
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    evidence_type: Mapped[str | None] = mapped_column(String(40))
    evidence_size: Mapped[int | None]
    client_id: Mapped[str | None] = mapped_column(String(36))
    # The live on-site confirmation link, if one was issued (single use).
    confirmation_nonce: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # A deleted draft stays as a tombstone with its trail: every read leaves it out
    # (see _leave_out_deleted) except the administrator's view of the owner's history.
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # Every UPDATE carries "WHERE version = <the version read>": a change made by
    # someone else in between matches no row, and the service answers 409.
    __mapper_args__ = {"version_id_col": version}

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id])
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])
    enterprise: Mapped[Enterprise] = relationship()
    department: Mapped[Department] = relationship()
    period: Mapped[Period] = relationship()
    events: Mapped[list[LogEvent]] = relationship(
        back_populates="log", order_by="LogEvent.id", cascade="save-update, merge"
    )
    # Loaded only when asked for (never by a list), and then without its content.
    evidence: Mapped[LogEvidence | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def hours(self) -> Decimal:
        return Decimal(self.minutes) / 60

    @property
    def has_evidence(self) -> bool:
        return self.evidence_type is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    def __repr__(self) -> str:
        return f"<ExchangeLog {self.id} {self.kind} {self.status}>"


class LogEvidence(Base):
    """The content of a log's evidence (a photo or a PDF of at most 5 MB), kept in the
    database with the log: written in the log's transaction, gone with the log, and
    part of every backup of the database. One row per log, apart from the log so
    that reading logs never reads files."""

    __tablename__ = "log_evidence"

    log_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_log.id", ondelete="CASCADE"), primary_key=True
    )
    # Read only when the file is served.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # The content's SHA-256 in hex: the file's ETag, the same on every app server.
    sha256: Mapped[str] = mapped_column(String(64))
    # When this content was attached: the file's Last-Modified.
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogEvent(AppendOnly, Base):
    """One entry of a log's audit trail; written once, never changed (see :class:`AppendOnly`)."""

    __tablename__ = "log_event"
    __table_args__ = (CheckConstraint(_in("action", Action), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("exchange_log.id"), index=True)
    # None for an on-site confirmer without an account; their typed name is kept.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(250))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(500))

    log: Mapped[ExchangeLog] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class OnsiteConfirmation(AppendOnly, Base):
    """How an on-site confirmation (or rejection) came in (SPEC §6, integrity flags):
    the confirmer's name as compared across confirmations, the college day, a salted
    hash of the client's address (never the address) and what it had in common with
    the log's owner. Written once with its audit entry, never changed."""

    __tablename__ = "onsite_confirmation"
    __table_args__ = (
        # How many owners one typed name confirmed on one day (``confirmer_many``).
        Index(
            "ix_onsite_confirmation_confirmer_day",
            "confirmer_key",
            "confirmed_on",
            "owner_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("exchange_log.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("log_event.id"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    confirmer_key: Mapped[str] = mapped_column(String(120))
    confirmed_on: Mapped[date]
    verified: Mapped[bool]
    # HMAC-SHA256 of the client's address with the app's secret (hex); None: unknown.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    # The owner's own session cookie came with the request.
    with_owner_session: Mapped[bool] = mapped_column(default=False)
    # The address is the one the owner last signed in from.
    from_owner_network: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[LogEvent] = relationship()


# --- deleted drafts --------------------------------------------------------------------

# Execution option that lets a read see deleted drafts (the administrator's view of an
# owner's history): ``select(ExchangeLog).execution_options(include_deleted=True)``.
INCLUDE_DELETED = "include_deleted"


# Built once: the same option (and the same cache key) for every statement.
_NOT_DELETED = with_loader_criteria(
    ExchangeLog, ExchangeLog.deleted_at.is_(None), include_aliases=True
)


@event.listens_for(Session, "do_orm_execute")
def _leave_out_deleted(state: ORMExecuteState) -> None:
    """The one place that says "not deleted": every ORM read of exchange logs (lists,
    counts, sums, queues, ``session.get``, joins and subqueries) leaves out tombstones,
    unless the statement asks for them with ``INCLUDE_DELETED``."""
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get(INCLUDE_DELETED, False)
    ):
        state.statement = state.statement.options(_NOT_DELETED)


# --- kept totals -----------------------------------------------------------------------


class LogTotal(Base):
    """The minutes and the number of live logs (deleted drafts left out) per
    department, period, owner, kind and status: what eligibility, rounds and the
    "unusual total" flag sum, read as a few rows per person instead of all their logs.

    Kept by the database, not by the app: triggers on ``exchange_log`` (migration
    0013) add every inserted log, move an updated one from its old key to its new one
    and take a deleted one away, in the same transaction, whoever writes the SQL. A
    key whose logs all left keeps its row with nothing in it."""

    __tablename__ = "log_total"
    __table_args__ = (
        # A person's own totals, and everybody's in a period (college rules and
        # rounds): in the GROUP BY's order, covering.
        Index(
            "ix_log_total_period_owner",
            "period_id",
            "owner_id",
            "kind",
            "department_id",
            "status",
            "minutes",
        ),
        # On SQLite the rows are stored in the key's order (no separate rowid table).
        {"sqlite_with_rowid": False},
    )

    department_id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    minutes: Mapped[int] = mapped_column(BigInteger)
    logs: Mapped[int]

    def __repr__(self) -> str:
        return (
            f"<LogTotal d{self.department_id} p{self.period_id} u{self.owner_id}"
            f" {self.kind} {self.status}: {self.minutes} min, {self.logs} logs>"
        )


# What log_total holds, worked out afresh from the live logs: to check it, to rebuild it.
TOTAL_KEY = ("department_id", "period_id", "owner_id", "kind", "status")


def summed_logs() -> Any:
    """The live logs' minutes and number per key of ``log_total`` (key columns first,
    then ``minutes`` and ``logs``)."""
    key = [getattr(ExchangeLog, column) for column in TOTAL_KEY]
    return (
        select(*key, func.sum(ExchangeLog.minutes).label("minutes"), func.count().label("logs"))
        .where(ExchangeLog.deleted_at.is_(None))
        .group_by(*key)
        .execution_options(**{INCLUDE_DELETED: True})
    )
