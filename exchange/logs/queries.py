"""Reads of exchange logs that pages and the API share: one function for each list
and each count, so that the two faces cannot choose differently. Who may see
which log is decided by the SQL conditions of exchange.logs.services."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import Select, bindparam, case, distinct, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from exchange.accounts.models import Role, User
from exchange.db import utcnow
from exchange.errors import PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.logs import integrity
from exchange.logs.models import (
    INCLUDE_DELETED,
    TOTAL_KEY,
    ExchangeLog,
    LogEvent,
    LogKind,
    LogTotal,
    OnsiteConfirmation,
    summed_logs,
)
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
from exchange.timeutil import college_today, college_zone

# --- lists -----------------------------------------------------------------------------


def _listing(stmt: Select[ExchangeLog], *, queue: bool = False) -> Select[ExchangeLog]:
    # The people and places a list shows come with their logs, in the same statement.
    stmt = stmt.options(
        joinedload(ExchangeLog.owner, innerjoin=True),
        joinedload(ExchangeLog.enterprise, innerjoin=True),
        joinedload(ExchangeLog.department, innerjoin=True),
        joinedload(ExchangeLog.verifier),
    )
    if queue:  # work waiting for someone: the longest waiting first
        return stmt.order_by(ExchangeLog.status_since, ExchangeLog.id)
    return stmt.order_by(ExchangeLog.work_date.desc(), ExchangeLog.id.desc())


LIST_SCOPES = ("mine", "verify", "approve", "department")
QUEUE_SCOPES = ("verify", "approve")


def logs_query(actor: User, scope: str = "mine", **filters: Any) -> Select[ExchangeLog]:
    """The logs of one list: ``mine``, ``verify`` (waiting for me), ``approve`` (waiting
    for my approval) or ``department`` (everything I may see as head or admin),
    filtered by ``status``, ``kind``, ``period_id``, ``owner_id``, ``department_id``.
    The queues (verify, approve) come the longest waiting first, the others newest
    first. ``flagged``: only logs with an integrity flag (see :func:`log_flags`), in the
    queues only."""
    return _listing(_logs_where(actor, scope, **filters), queue=scope in QUEUE_SCOPES)


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
    flagged: bool = False,
) -> Select[ExchangeLog]:
    """The conditions of one list (see :func:`logs_query`), without its order."""
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
    if flagged and scope not in QUEUE_SCOPES:
        # The flags of a whole list are computed: the queues are a person's own work,
        # the other lists may be a college's.
        raise ValidationError(
            fields={"flagged": _l("Only the queues (verify, approve) show flagged logs only.")}
        )
    if flagged:
        flags = log_flags(stmt.with_only_columns(ExchangeLog.id))
        stmt = stmt.where(ExchangeLog.id.in_([i for i, codes in flags.items() if codes]))
    return stmt


def logs_of_list(actor: User, scope: str, log_ids: Iterable[int]) -> list[ExchangeLog]:
    """The logs of one list (see :func:`logs_query`) among these ids, in its order."""
    ids = sorted(set(log_ids))
    if not ids:
        return []
    stmt = logs_query(actor, scope).where(ExchangeLog.id.in_(ids))
    return list(db.session.scalars(stmt))


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

    id: Any = bindparam("me")
    department_id: Any = bindparam("department")
    enterprise_id: Any = bindparam("enterprise")

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
    stmt: Any
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
            # The status as an expression, not a column: the reports' index, led by
            # (period, status), would otherwise look as good to SQLite's planner and
            # read every approved log of the college's period to find the person's.
            ExchangeLog.status.concat("") == Status.APPROVED.value,
        )
        .correlate(Period)
        .scalar_subquery()
    )
    stmt = select(Period, approved).order_by(Period.starts_on.desc())
    if excluding_period is not None:
        stmt = stmt.where(Period.id != excluding_period.id)
    return [(period, int(minutes)) for period, minutes in db.session.execute(stmt) if minutes]


# --- integrity flags (SPEC §6) ------------------------------------------------------


def log_flags(log_ids: Iterable[int] | Select[Any]) -> dict[int, list[str]]:
    """The integrity flags of these logs, ``{log_id: [codes]}`` (every log asked about
    is a key; most have no flag), in at most four statements whatever the data size:
    each log's own figures, its latest verification on site, how many owners each of
    those confirmers confirmed that day, and the period totals of the departments'
    people (for their 99th percentile). The rules are ``exchange.logs.integrity``'s.

    ``log_ids`` is a list of ids (a page) or a ``select`` of ids (a whole queue, for
    the "flagged only" filter): the figures are then gathered in the same statements.
    """
    ids: Any = log_ids if isinstance(log_ids, Select) else list(log_ids)
    if isinstance(ids, list) and not ids:
        return {}
    logs = list(_run_for(_own_figures_of, ids))
    if not logs:
        return {}
    onsite = _onsite_facts(ids)
    p99 = _department_percentiles({(row.department_id, row.period_id) for row in logs})
    flags = {}
    for row in logs:
        facts = integrity.LogFacts(
            day_minutes=int(row.day_minutes),
            same_description=int(row.same_description),
            period_minutes=int(row.period_minutes),
            department_p99=p99.get((row.department_id, row.period_id)),
            agreement_covers=bool(row.covered),
            onsite=onsite.get(row.id),
        )
        flags[row.id] = [flag.value for flag in integrity.flags_of(facts)]
    return flags


_CLAIMED = sorted(integrity.CLAIMED_STATUSES)


# The ids of a page of logs, bound when a statement built once runs.
_IDS: Any = bindparam("ids", expanding=True)


def _run_for(build: Callable[[Any], Select[Any]], ids: Any) -> Any:
    """``build(ids)`` run: built once per process for a list of ids (bound when it
    runs), built afresh for a ``select`` of ids (a whole queue)."""
    if isinstance(ids, list):
        return db.session.execute(_built_for_ids(build), {"ids": ids})
    return db.session.execute(build(ids))


@functools.cache
def _built_for_ids(build: Callable[[Any], Select[Any]]) -> Select[Any]:
    return build(_IDS)


def _own_figures_of(ids: Any) -> Select[Any]:
    """Per log: the owner's claimed minutes that day, of the period in its department,
    and their claimed logs of the period with the same description; whether an
    agreement covers it. Each figure is read from the owner's own logs through the
    (owner, date) and (period, owner) indexes."""
    other = aliased(ExchangeLog)
    mine = (
        other.owner_id == ExchangeLog.owner_id,
        other.status.in_(_CLAIMED),
        other.deleted_at.is_(None),
    )
    day_minutes = (
        select(func.coalesce(func.sum(other.minutes), 0))
        .where(*mine, other.work_date == ExchangeLog.work_date)
        .scalar_subquery()
    )
    period_minutes = (
        select(func.coalesce(func.sum(other.minutes), 0))
        .where(
            other.period_id == ExchangeLog.period_id,
            *mine,
            other.department_id == ExchangeLog.department_id,
        )
        .scalar_subquery()
    )
    same_description = (
        select(func.count())
        .where(
            other.period_id == ExchangeLog.period_id,
            *mine,
            other.description == ExchangeLog.description,
        )
        .scalar_subquery()
    )
    covered = agreements_in_force(
        ExchangeLog.work_date,  # type: ignore[arg-type]
        ExchangeLog.kind,  # type: ignore[arg-type]
        ExchangeLog.department_id,  # type: ignore[arg-type]
        ExchangeLog.enterprise_id,  # type: ignore[arg-type]
    ).exists()
    return select(
        ExchangeLog.id,
        ExchangeLog.department_id,
        ExchangeLog.period_id,
        day_minutes.label("day_minutes"),
        period_minutes.label("period_minutes"),
        same_description.label("same_description"),
        covered.label("covered"),
    ).where(ExchangeLog.id.in_(ids))


def _latest_onsite(ids: Any) -> Select[Any]:
    """The on-site confirmations that are the latest verification of their log."""
    latest_verify = (
        select(func.max(LogEvent.id))
        .where(LogEvent.log_id == OnsiteConfirmation.log_id, LogEvent.action == "verify")
        .scalar_subquery()
    )
    return select(OnsiteConfirmation).where(
        OnsiteConfirmation.log_id.in_(ids),
        OnsiteConfirmation.verified.is_(True),
        OnsiteConfirmation.event_id == latest_verify,
    )


@functools.cache
def _owners_confirmed_statement() -> Select[str, date, int]:
    """How many different owners each confirmer (``keys``) confirmed on each day
    (``days``): built once, the lists bound when it runs."""
    return (
        select(
            OnsiteConfirmation.confirmer_key,
            OnsiteConfirmation.confirmed_on,
            func.count(distinct(OnsiteConfirmation.owner_id)),
        )
        .where(
            OnsiteConfirmation.confirmer_key.in_(bindparam("keys", expanding=True)),
            OnsiteConfirmation.confirmed_on.in_(bindparam("days", expanding=True)),
            OnsiteConfirmation.verified.is_(True),
        )
        .group_by(OnsiteConfirmation.confirmer_key, OnsiteConfirmation.confirmed_on)
    )


def _onsite_facts(ids: Any) -> dict[int, integrity.OnsiteFacts]:
    confirmations = list(_run_for(_latest_onsite, ids).scalars())
    # Asked even when there are none: a page costs the same statements whatever it holds.
    keys = {c.confirmer_key for c in confirmations}
    days = {c.confirmed_on for c in confirmations}
    # How many different owners each of these names confirmed on each of these days.
    owners = {
        (key, day): int(count)
        for key, day, count in db.session.execute(
            _owners_confirmed_statement(), {"keys": sorted(keys), "days": sorted(days)}
        )
    }
    return {
        c.log_id: integrity.OnsiteFacts(
            with_owner_session=c.with_owner_session,
            from_owner_network=c.from_owner_network,
            owners_confirmed_that_day=owners.get((c.confirmer_key, c.confirmed_on), 0),
        )
        for c in confirmations
    }


@functools.cache
def _person_totals_statement() -> Select[int, int, Any]:
    """Each person's claimed minutes per department (``departments``) and period
    (``periods``), from the kept totals in their key's order: built once, the lists bound
    when it runs."""
    claimed = case((LogTotal.status.in_(_CLAIMED), LogTotal.minutes), else_=0)
    return (
        select(LogTotal.department_id, LogTotal.period_id, func.sum(claimed))
        .where(
            LogTotal.department_id.in_(bindparam("departments", expanding=True)),
            LogTotal.period_id.in_(bindparam("periods", expanding=True)),
        )
        .group_by(LogTotal.department_id, LogTotal.period_id, LogTotal.owner_id)
    )


def _department_percentiles(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int | None]:
    """The 99th percentile of the people's claimed period totals, per (department,
    period): the totals are summed in SQL (one row per person, from the kept totals),
    the percentile is the pure module's."""
    if not pairs:
        return {}
    departments = sorted({d for d, _ in pairs})
    periods = sorted({p for _, p in pairs})
    totals: dict[tuple[int, int], list[int]] = {pair: [] for pair in pairs}
    rows = db.session.execute(
        _person_totals_statement(), {"departments": departments, "periods": periods}
    )
    for department_id, period_id, minutes in rows:
        # People with nothing claimed (only drafts or refused logs) are not counted.
        if (department_id, period_id) in totals and minutes:
            totals[(department_id, period_id)].append(int(minutes))
    return {pair: integrity.percentile(values) for pair, values in totals.items()}


def onsite_confirmations(log: ExchangeLog) -> list[OnsiteConfirmation]:
    """How the log's on-site decisions came in, oldest first (its page shows them)."""
    stmt = (
        select(OnsiteConfirmation)
        .where(OnsiteConfirmation.log_id == log.id)
        .options(joinedload(OnsiteConfirmation.event, innerjoin=True))
        .order_by(OnsiteConfirmation.id)
    )
    return list(db.session.scalars(stmt))


# --- kept totals -------------------------------------------------------------------------

TotalKey = tuple[int, int, int, str, str]  # department, period, owner, kind, status


def totals_astray(connection: Any = None) -> dict[TotalKey, tuple[Any, Any]]:
    """Where the totals the database keeps (``log_total``) differ from the live logs
    summed afresh: ``{key: ((minutes, logs) kept, (minutes, logs) summed)}`` (None where
    there is no such row); empty when they agree. Reads every log: for checks, not pages.
    ``connection``: another connection than the session's (a load run's)."""
    run = (connection or db.session).execute
    kept_rows = select(*[getattr(LogTotal, c) for c in TOTAL_KEY], LogTotal.minutes, LogTotal.logs)

    def read(stmt: Any) -> dict[Any, tuple[int, int]]:
        return {tuple(r[:5]): (int(r[5]), int(r[6])) for r in run(stmt) if r[5] or r[6]}

    kept, summed = read(kept_rows), read(summed_logs())
    return {
        key: (kept.get(key), summed.get(key))
        for key in kept.keys() | summed.keys()
        if kept.get(key) != summed.get(key)
    }


# --- the owner's attention -------------------------------------------------------------

# A draft left this long is probably forgotten: the home page reminds its owner.
STALE_DRAFT_DAYS = 7
DRAFTS_READ = 50  # the owner's oldest drafts (by work date) looked at for stale ones


@dataclass(frozen=True)
class Rejected:
    log: ExchangeLog
    reason: str | None  # why it was sent back (its latest rejection)
    by: str | None  # who sent it back


@dataclass(frozen=True)
class Attention:
    """What of their own logs a person should act on, for the home page."""

    rejected: list[Rejected]  # the latest work first
    stale_drafts: list[ExchangeLog]  # drafts for STALE_DRAFT_DAYS and more, oldest work first


def needs_attention(owner: User, limit: int = 5) -> Attention:
    """The owner's rejected logs with the rejection each came back with, and their drafts
    older than ``STALE_DRAFT_DAYS``: at most ``limit`` of each, in two statements
    (read from the owner's own logs only)."""

    # Both read the owner's own logs in the order of their index (owner, work date): a
    # condition on status_since would let SQLite choose the status index instead, which
    # holds the whole college's drafts. The few drafts read are then judged here.
    def own(status: Status, *columns: Any, limit: int = limit) -> Select[Any]:
        return (
            select(ExchangeLog, *columns)
            .where(ExchangeLog.owner_id == owner.id, ExchangeLog.status == status.value)
            .options(joinedload(ExchangeLog.enterprise, innerjoin=True),
                     joinedload(ExchangeLog.department, innerjoin=True))
            .limit(limit)
        )  # fmt: skip

    def of_latest_rejection(column: Any) -> Any:
        # Read per rejected log from the trail's index on log_id.
        return (
            select(column)
            .where(LogEvent.log_id == ExchangeLog.id, LogEvent.to_status == Status.REJECTED.value)
            .order_by(LogEvent.id.desc())
            .limit(1)
            .correlate(ExchangeLog)
            .scalar_subquery()
        )

    rejected = own(
        Status.REJECTED,
        of_latest_rejection(LogEvent.reason),
        of_latest_rejection(LogEvent.actor_name),
    ).order_by(ExchangeLog.work_date.desc(), ExchangeLog.id.desc())
    cutoff = utcnow() - timedelta(days=STALE_DRAFT_DAYS)
    drafts = own(Status.DRAFT, limit=DRAFTS_READ).order_by(ExchangeLog.work_date, ExchangeLog.id)
    stale = [log for log in db.session.scalars(drafts) if log.status_since < cutoff]
    return Attention(
        [Rejected(log, reason, by) for log, reason, by in db.session.execute(rejected)],
        stale[:limit],
    )


# --- queue ages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """How long a log in a queue has waited (since submitted, or since verified)."""

    since: date
    days: int
    escalated: bool  # longer than EXCHANGE_ESCALATE_DAYS


def waiting(log: ExchangeLog) -> Waiting:
    """The age of a log in a queue, counted in the college's days up to today."""
    since = log.status_since.astimezone(college_zone()).date()
    days = integrity.waiting_days(since, college_today())
    limit = int(current_app.config["EXCHANGE_ESCALATE_DAYS"])
    return Waiting(since, days, integrity.is_escalated(days, limit))
