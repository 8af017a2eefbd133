"""Reads of exchange logs that pages and the API share: one function for each list
and each count, so that the two faces cannot choose differently. Who may see
which log is decided by the SQL conditions of exchange.logs.services."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from exchange.accounts.models import Role, User
from exchange.errors import PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.logs.models import INCLUDE_DELETED, ExchangeLog, LogKind
from exchange.logs.services import (
    approvable_by,
    in_open_period,
    verifier_candidates,
    verifies,
    verifies_any,
    visible_to,
)
from exchange.logs.workflow import PENDING, Status
from exchange.org.models import Department, Enterprise, Period
from exchange.org.services import agreements_in_force
from exchange.timeutil import college_today

# --- lists -----------------------------------------------------------------------------


def _listing(stmt: Select[ExchangeLog]) -> Select[ExchangeLog]:
    # The people and places a list shows come with their logs, in the same statement.
    return stmt.options(
        joinedload(ExchangeLog.owner, innerjoin=True),
        joinedload(ExchangeLog.enterprise, innerjoin=True),
        joinedload(ExchangeLog.department, innerjoin=True),
        joinedload(ExchangeLog.verifier),
    ).order_by(ExchangeLog.work_date.desc(), ExchangeLog.id.desc())


LIST_SCOPES = ("mine", "verify", "approve", "department")


def logs_query(actor: User, scope: str = "mine", **filters: Any) -> Select[ExchangeLog]:
    """The logs of one list: ``mine``, ``verify`` (waiting for me), ``approve`` (waiting
    for my approval) or ``department`` (everything I may see as head or admin),
    filtered by ``status``, ``kind``, ``period_id``, ``owner_id``, ``department_id``."""
    return _listing(_logs_where(actor, scope, **filters))


@dataclass(frozen=True)
class LogTotals:
    """What a list of logs adds up to: how many, and their approved and pending hours."""

    logs: int
    approved_minutes: int
    pending_minutes: int


def logs_totals(actor: User, scope: str = "mine", **filters: Any) -> LogTotals:
    """The totals of the list ``logs_query`` gives for the same arguments, in one statement."""
    pending = [s.value for s in PENDING]
    stmt = _logs_where(actor, scope, **filters).with_only_columns(
        func.count(),
        func.coalesce(
            func.sum(case((ExchangeLog.status == Status.APPROVED.value, ExchangeLog.minutes))),
            0,
        ),
        func.coalesce(func.sum(case((ExchangeLog.status.in_(pending), ExchangeLog.minutes))), 0),
    )
    logs, approved, waiting = db.session.execute(stmt).one()
    return LogTotals(int(logs), int(approved), int(waiting))


def _logs_where(
    actor: User,
    scope: str = "mine",
    *,
    status: str | None = None,
    kind: str | None = None,
    period_id: int | None = None,
    owner_id: int | None = None,
    department_id: int | None = None,
) -> Select[ExchangeLog]:
    stmt = select(ExchangeLog)
    if scope in ("verify", "approve"):
        stmt = stmt.where(in_open_period())
    if scope == "mine":
        stmt = stmt.where(ExchangeLog.owner_id == actor.id)
    elif scope == "verify":
        stmt = stmt.where(verifies(actor), ExchangeLog.status == Status.SUBMITTED.value)
    elif scope == "approve":
        stmt = stmt.where(ExchangeLog.status == Status.VERIFIED.value, approvable_by(actor))
    elif scope == "department":
        if actor.role not in (Role.HEAD, Role.ADMIN):
            raise PermissionDenied()
        stmt = stmt.where(_department_scope(actor))
    else:
        raise ValidationError(fields={"scope": _l("Choose one of the offered values.")})
    if status:
        stmt = stmt.where(ExchangeLog.status == status)
    if kind:
        stmt = stmt.where(ExchangeLog.kind == kind)
    if period_id:
        stmt = stmt.where(ExchangeLog.period_id == period_id)
    if owner_id:
        stmt = stmt.where(ExchangeLog.owner_id == owner_id)
    if department_id:
        stmt = stmt.where(ExchangeLog.department_id == department_id)
    return stmt


def deleted_drafts(actor: User, owner: User) -> list[ExchangeLog]:
    """The drafts ``owner`` deleted, each with its trail, the latest deletion first:
    the administrator's view of a person's history (nobody else sees them)."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    stmt = (
        select(ExchangeLog)
        .where(ExchangeLog.owner_id == owner.id, ExchangeLog.deleted_at.is_not(None))
        .options(
            selectinload(ExchangeLog.events),
            selectinload(ExchangeLog.enterprise),
            selectinload(ExchangeLog.department),
        )
        .order_by(ExchangeLog.deleted_at.desc(), ExchangeLog.id.desc())
        .execution_options(**{INCLUDE_DELETED: True})
    )
    return list(db.session.scalars(stmt))


def _department_scope(actor: User) -> Any:
    """``visible_to`` for the department list, in the form its index answers: a head
    sees their department's logs and their own; their own are all in the department
    unless they have moved, so then the one condition says the same (one look at
    their own logs tells)."""
    if actor.role != Role.HEAD or actor.department_id is None:
        return visible_to(actor)
    here = ExchangeLog.department_id == actor.department_id
    elsewhere = db.session.execute(
        select(ExchangeLog.id).where(ExchangeLog.owner_id == actor.id, ~here).limit(1)
    ).first()
    if elsewhere is None:
        return here
    # A moved head: their own logs or their department's (the logs a head verifies are
    # all in their department). Each branch says "live" itself, so that SQLite answers
    # each from its own partial index (an OR's branches do not see what is around it).
    live = ExchangeLog.deleted_at.is_(None)
    return ((ExchangeLog.owner_id == actor.id) & live) | (here & live)


def logs_by_id(log_ids: Iterable[int]) -> dict[int, ExchangeLog]:
    """The logs with these ids, by id, in one query (e.g. reloaded after a commit)."""
    ids = list(log_ids)
    if not ids:
        return {}
    stmt = select(ExchangeLog).where(ExchangeLog.id.in_(ids))
    return {log.id: log for log in db.session.scalars(stmt)}


# --- counts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueCounts:
    to_verify: int
    to_approve: int


class _AnyoneOf:
    """Stands for any person of one role in a domain condition: their ids are bound
    when the statement runs, so a statement built once serves everybody of the role."""

    id = bindparam("me")
    department_id = bindparam("department")
    enterprise_id = bindparam("enterprise")

    def __init__(self, role: str) -> None:
        self.role = role


@functools.cache
def _queue_counts_statement(role: str, verifying: bool, approving: bool) -> Select[Any]:
    """The navigation's counts for a person of ``role``: built once per process from
    the domain's own conditions (``verifies``, ``approvable_by``)."""
    anyone = cast(User, _AnyoneOf(role))
    counts: list[Any] = []
    if verifying:
        counts.append(_count(verifies(anyone), ExchangeLog.status == Status.SUBMITTED.value))
    if approving:
        approvable = approvable_by(anyone)
        mine = () if approvable is True else (approvable,)
        counts.append(_count(ExchangeLog.status == Status.VERIFIED.value, *mine))
    return select(*counts)


def queue_counts(actor: User) -> QueueCounts:
    """How many logs wait for this person (the numbers in the navigation), in one
    statement at most. Each count reads only that person's queue from the index
    made for it: logs naming them as verifier (verifier_id, status, …) and, for
    people who approve, the department's or the college's verified logs (department_id
    or status first); nobody else's pending logs are touched."""
    verifying = verifies_any(actor)
    approving = actor.role in (Role.HEAD, Role.ADMIN)
    if not (verifying or approving):
        return QueueCounts(0, 0)
    row = db.session.execute(
        _queue_counts_statement(actor.role, verifying, approving),
        {"me": actor.id, "department": actor.department_id, "enterprise": actor.enterprise_id},
    ).one()
    return QueueCounts(int(row[0]) if verifying else 0, int(row[-1]) if approving else 0)


def _count(*conditions: Any) -> Any:
    return (
        select(func.count())
        .select_from(ExchangeLog)
        .where(*conditions, in_open_period())
        .scalar_subquery()
    )


# --- the log form's choices ------------------------------------------------------------


def places(kind: str, owner: User) -> list[Any]:
    """Where the work can take place today: partner enterprises with an agreement in
    force for the teacher's department (practice), or departments with an agreement
    in force with the expert's enterprise (teaching). The agreement rule itself stays
    in org.services: the place's id column is handed to it so one query asks it for
    every place at once."""
    today = college_today()
    stmt: Select[Any]
    if kind == LogKind.PRACTICE:
        department_id = owner.department_id or 0
        in_force = agreements_in_force(today, kind, department_id, Enterprise.id)  # type: ignore[arg-type]
        stmt = select(Enterprise.id, Enterprise.name).where(in_force.exists())
        stmt = stmt.order_by(Enterprise.name)
    else:
        in_force = agreements_in_force(today, kind, Department.id, owner.enterprise_id)  # type: ignore[arg-type]
        stmt = select(Department.id, Department.name).where(in_force.exists())
        stmt = stmt.order_by(Department.name)
    return list(db.session.execute(stmt))


def verifiers_by_place(kind: str, owner: User, place_ids: list[int]) -> list[tuple[int, str, str]]:
    """The possible verifiers at these places as (id, name, the place's name), by place
    then name (one query: the service's candidate rule with the place's id column
    instead of one id; only the columns the form shows, no person loaded whole).
    Only people there now: someone named before who has moved away is not offered."""
    if not place_ids:
        return []
    place = Enterprise if kind == LogKind.PRACTICE else Department
    stmt = (
        verifier_candidates(owner, kind, place.id)  # type: ignore[arg-type]
        .where(place.id.in_(place_ids))
        .with_only_columns(User.id, User.name, place.name)
        .order_by(None)
        .order_by(place.name, User.name, User.id)
    )
    return [(user_id, name, group) for user_id, name, group in db.session.execute(stmt)]


# --- a person's hours by period -------------------------------------------------------


def approved_minutes_by_period(
    user: User, excluding_period: Period | None = None
) -> list[tuple[Period, int]]:
    """The user's approved minutes in each period they have approved logs in, newest
    first, without ``excluding_period`` (the dashboard's earlier periods), in one query:
    per period, the sum read from the (period, owner, …) index, so only the person's
    own logs are touched."""
    approved = (
        select(func.sum(ExchangeLog.minutes))
        .where(
            ExchangeLog.period_id == Period.id,
            ExchangeLog.owner_id == user.id,
            ExchangeLog.status == Status.APPROVED.value,
        )
        .correlate(Period)
        .scalar_subquery()
    )
    stmt = select(Period, approved).order_by(Period.starts_on.desc())
    if excluding_period is not None:
        stmt = stmt.where(Period.id != excluding_period.id)
    return [(period, int(minutes)) for period, minutes in db.session.execute(stmt) if minutes]
