"""Operations on exchange logs: create, edit, the workflow transitions, on-site confirmation.

Every change follows one path: load → check who the actor is to the log →
ask the pure workflow → validate → change → write the audit entry → flush.
The caller (a page or an API view) commits once.

Transitions are atomic: the ORM's version counter puts ``WHERE version = :seen``
into every UPDATE of a log, so of two people changing the same log at once the
second matches no row and is told the log has changed (:class:`Conflict`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, delete, false, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from exchange import signals, signing, units
from exchange.accounts.models import Role, User
from exchange.db import utcnow
from exchange.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationError,
    flush_or_conflict,
)
from exchange.extensions import db
from exchange.i18n import _l
from exchange.logs import evidence as evidence_rules
from exchange.logs import integrity
from exchange.logs.models import (
    CATEGORIES,
    TOTAL_KEY,
    ExchangeLog,
    LogEvent,
    LogEvidence,
    LogKind,
    LogTotal,
    OnsiteConfirmation,
    summed_logs,
)
from exchange.logs.workflow import (
    COUNTS_FOR_DAY,
    DAILY_MINUTES_MAX,
    Action,
    Refusal,
    Relation,
    Status,
    TransitionRefused,
    allowed_actions,
    decide,
    decide_reassign,
    may_reassign,
    minutes_are_valid,
)
from exchange.org.models import Department, Enterprise, Period
from exchange.org.queries import period_on
from exchange.org.services import agreements_in_force
from exchange.signing import LinkExpired, LinkInvalid, LinkUsed
from exchange.timeutil import college_today
from exchange.validation import REASON_MAX, FieldErrors, check_reason, reason_missing

CONFIRMATION_DAYS = 7
CONFIRMATION_SALT = "exchange-onsite-confirmation"

# --- who the actor is to a log ----------------------------------------------


def relations(actor: User, log: ExchangeLog) -> frozenset[Relation]:
    held = set()
    if log.owner_id == actor.id:
        held.add(Relation.OWNER)
    # The named verifier, while their current enterprise or department lets them verify
    # the log. (An owner named as their own verifier, which the services never store,
    # keeps the relation so as to be told that it is their own record.)
    if log.verifier_id == actor.id and (
        log.owner_id == actor.id
        or may_verify_at(actor, log.kind, log.enterprise_id, log.department_id)
    ):
        held.add(Relation.VERIFIER)
    if actor.role == Role.HEAD and actor.department_id == log.department_id:
        held.add(Relation.DEPARTMENT_HEAD)
    if actor.role == Role.ADMIN:
        held.add(Relation.ADMIN)
    return frozenset(held)


def may_verify_at(
    person: User, kind: str, enterprise_id: int | None, department_id: int | None
) -> bool:
    """Whether ``person`` may verify a log of ``kind`` at this place, as things are now:
    a practice log by an expert of its enterprise, a teaching log by a teacher or
    head of its department (SPEC §3). Rights follow the person's current enterprise
    or department: someone who has moved verifies nothing of the old one (SPEC §1).
    ``verifies`` is the same rule in SQL."""
    if not person.active:
        return False
    if kind == LogKind.PRACTICE:
        return person.role == Role.EXPERT and person.enterprise_id == enterprise_id
    return person.role in (Role.TEACHER, Role.HEAD) and person.department_id == department_id


def verifies_any(actor: User) -> bool:
    """Whether ``actor`` may verify logs at all now: an expert of an enterprise, a
    teacher or head of a department (``verifies`` is false for everybody else)."""
    if actor.role == Role.EXPERT:
        return actor.enterprise_id is not None
    return actor.role in (Role.TEACHER, Role.HEAD) and actor.department_id is not None


def verifies(actor: User) -> Any:
    """SQL condition: logs naming ``actor`` as verifier that ``actor`` may verify now
    (``may_verify_at`` in SQL)."""
    if not verifies_any(actor):
        return false()
    named = ExchangeLog.verifier_id == actor.id
    if actor.role == Role.EXPERT:
        return (
            named
            & (ExchangeLog.kind == LogKind.PRACTICE)
            & (ExchangeLog.enterprise_id == actor.enterprise_id)
        )
    return (
        named
        & (ExchangeLog.kind == LogKind.TEACHING)
        & (ExchangeLog.department_id == actor.department_id)
    )


def needs_new_verifier(log: ExchangeLog) -> bool:
    """A submitted log whose named verifier can no longer verify it (moved, deactivated):
    it waits until its owner or a head names another one."""
    return (
        log.status_enum is Status.SUBMITTED
        and log.verifier is not None
        and not may_verify_at(log.verifier, log.kind, log.enterprise_id, log.department_id)
    )


def visible_to(actor: User) -> Any:
    """SQL condition: the logs ``actor`` may see (owner, named verifier, own heads, admin)."""
    if actor.role == Role.ADMIN:
        return True
    condition = (ExchangeLog.owner_id == actor.id) | verifies(actor)
    if actor.role == Role.HEAD:
        condition = condition | (ExchangeLog.department_id == actor.department_id)
    return condition


def get_log(actor: User, log_id: int) -> ExchangeLog:
    """The log if ``actor`` may see it; otherwise 404, so nothing leaks about it."""
    log = db.session.get(ExchangeLog, log_id)
    if log is None or log.is_deleted or not relations(actor, log):
        raise NotFound()
    return log


def offered_actions(actor: User, log: ExchangeLog) -> frozenset[Action]:
    return allowed_actions(log.status_enum, relations(actor, log), period_open=log.period.is_open)


def log_kind_for(role: str) -> LogKind | None:
    """Teachers and heads log practice; experts log teaching; admins log nothing."""
    if role in (Role.TEACHER, Role.HEAD):
        return LogKind.PRACTICE
    if role == Role.EXPERT:
        return LogKind.TEACHING
    return None


# --- input ----------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceUpload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class LogInput:
    """What a form or an API request gives for a log. ``hours`` as typed (e.g. "1.5")."""

    work_date: date | None
    hours: object
    category: str
    description: str
    enterprise_id: int | None = None  # practice: where the teacher practised
    department_id: int | None = None  # teaching: where the expert taught
    course: str = ""
    cohort: str = ""
    students: int | None = None
    verifier_id: int | None = None
    client_id: str | None = None
    evidence: EvidenceUpload | None = None
    remove_evidence: bool = False


def parse_minutes(errors: FieldErrors, hours: object) -> int:
    """Hours as entered (0.25 to 12 in quarter hours) to whole minutes."""
    try:
        minutes = units.typed_minutes(hours)
    except ValueError:  # not a number, or one too large to compute with
        errors.add("hours", _l("Enter the hours as a number, e.g. 1.5."))
        return 0
    if minutes is None:
        errors.add("hours", _l("This field is required."))
        return 0
    whole = units.whole_minutes(minutes)
    if whole is None or not minutes_are_valid(whole):
        errors.add("hours", _l("Between 0.25 and 12 hours, in steps of a quarter hour."))
        return 0
    return whole


def _check_client_id(errors: FieldErrors, client_id: str | None) -> str | None:
    if not client_id:
        return None
    try:
        return str(uuid.UUID(client_id))
    except (ValueError, AttributeError, TypeError):
        errors.add("client_id", _l("Must be a UUID."))
        return None


def _minutes_on_day(owner_id: int, day: date, excluding: int | None) -> int:
    stmt = select(func.coalesce(func.sum(ExchangeLog.minutes), 0)).where(
        ExchangeLog.owner_id == owner_id,
        ExchangeLog.work_date == day,
        ExchangeLog.status.in_([s.value for s in COUNTS_FOR_DAY]),
    )
    if excluding is not None:
        stmt = stmt.where(ExchangeLog.id != excluding)
    return int(db.session.execute(stmt).scalar_one())


def _serialise_owner(owner_id: int) -> None:
    """Hold the person's row until commit, so two saves of the same day cannot both
    pass the daily limit. A no-op UPDATE takes the row lock on PostgreSQL and the
    write lock on SQLite, where a SELECT … FOR UPDATE would be ignored.

    On SQLite it also makes the transaction a writing one from its first statement:
    a transaction that has read and only then writes cannot start writing once
    another connection has committed in between ("database is locked")."""
    db.session.execute(update(User).where(User.id == owner_id).values(locale=User.locale))


@dataclass(frozen=True)
class CheckedLog:
    """The fields of a log once every check of SPEC §3 has passed: what is stored."""

    kind: LogKind
    work_date: date
    period: Period
    minutes: int
    category: str
    description: str
    enterprise: Enterprise
    department: Department
    course: str | None
    cohort: str | None
    students: int | None
    verifier: User | None
    evidence: tuple[str, str, bytes] | None  # name, media type, content: a new file


def _checked_fields(owner: User, data: LogInput, log: ExchangeLog | None) -> CheckedLog:
    """Validate everything SPEC §3 asks of a log; the values to store, or ValidationError."""
    kind = LogKind(log.kind) if log else log_kind_for(owner.role)
    if kind is None:
        raise PermissionDenied(_l("Administrators do not log hours."))
    errors = FieldErrors()

    today = college_today()
    day = data.work_date
    period: Period | None = None
    if day is None:
        errors.add("date", _l("This field is required."))
    elif day > today:
        errors.add("date", _l("The date cannot be in the future."))
    else:
        period = period_on(day)
        if period is None:
            errors.add("date", _l("No period covers this date."))
        elif not period.is_open:
            errors.add(
                "date", _l("This date lies in the locked period %(name)s.", name=period.name)
            )

    minutes = parse_minutes(errors, data.hours)
    category = errors.choice("category", data.category, CATEGORIES[kind])
    description = errors.text("description", data.description, max_length=2000)
    course: str | None = None
    cohort: str | None = None
    students: int | None = None

    if kind == LogKind.PRACTICE:
        enterprise = errors.record("enterprise_id", Enterprise, data.enterprise_id)
        department = owner.department
    else:
        enterprise = owner.enterprise
        department = errors.record("department_id", Department, data.department_id)
        course = errors.text("course", data.course, max_length=120)
        cohort = errors.text("cohort", data.cohort, max_length=60, required=False) or None
        if data.students is None:
            errors.add("students", _l("This field is required."))
        elif not 1 <= data.students <= 1000:
            errors.add("students", _l("Between 1 and 1000 students."))
        students = data.students

    if enterprise and department and period and "date" not in errors:
        in_force = db.session.execute(
            agreements_in_force(day, kind, department.id, enterprise.id).limit(1)  # type: ignore[arg-type]
        ).first()
        if in_force is None:
            field = "enterprise_id" if kind == LogKind.PRACTICE else "department_id"
            errors.add(
                field,
                _l(
                    "No cooperation agreement with this enterprise is in force "
                    "for this kind of work on that date."
                ),
            )

    verifier = None
    if data.verifier_id is not None:
        verifier = errors.record("verifier_id", User, data.verifier_id)
        if verifier is not None and not _can_verify(verifier, owner, kind, enterprise, department):
            errors.add("verifier_id", _l("Choose one of the offered verifiers."))

    if day and minutes and "date" not in errors:
        _serialise_owner(owner.id)
        used = _minutes_on_day(owner.id, day, excluding=log.id if log else None)
        if used + minutes > DAILY_MINUTES_MAX:
            left = max(DAILY_MINUTES_MAX - used, 0)
            errors.add(
                "hours",
                _l(
                    "At most 12 hours a day: %(left)s h left on this date.",
                    left=units.hours_number(left),
                ),
            )

    evidence = _checked_evidence(errors, data.evidence) if data.evidence is not None else None
    errors.raise_if_any()
    # Past raise_if_any, every required value is there.
    return CheckedLog(
        kind=kind,
        work_date=cast(date, day),
        period=cast(Period, period),
        minutes=minutes,
        category=category,
        description=description,
        enterprise=cast(Enterprise, enterprise),
        department=cast(Department, department),
        course=course,
        cohort=cohort,
        students=students,
        verifier=verifier,
        evidence=evidence,
    )


def _can_verify(
    verifier: User,
    owner: User,
    kind: str,
    enterprise: Enterprise | None,
    department: Department | None,
) -> bool:
    if verifier.id == owner.id:
        return False
    if kind == LogKind.PRACTICE:
        return enterprise is not None and may_verify_at(verifier, kind, enterprise.id, None)
    return department is not None and may_verify_at(verifier, kind, None, department.id)


def verifier_candidates(owner: User, kind: str, place_id: int | None) -> Select[User]:
    """Who may be named verifier: the enterprise's experts (practice) or the
    department's teachers and heads (teaching), active, never the owner."""
    stmt = select(User).where(User.active.is_(True), User.id != owner.id).order_by(User.name)
    if kind == LogKind.PRACTICE:
        return stmt.where(User.role == Role.EXPERT, User.enterprise_id == place_id)
    return stmt.where(User.role.in_([Role.TEACHER, Role.HEAD]), User.department_id == place_id)


def _checked_evidence(errors: FieldErrors, upload: EvidenceUpload) -> tuple[str, str, bytes] | None:
    if len(upload.data) > evidence_rules.MAX_BYTES:
        errors.add("evidence", _l("The file is larger than 5 MB."))
        return None
    media_type = evidence_rules.sniff(upload.data[:32])
    if media_type is None:
        errors.add("evidence", _l("Attach a photo (JPEG, PNG, HEIC …) or a PDF."))
        return None
    name = (upload.filename or "evidence").replace("\\", "/").rsplit("/", 1)[-1][:200]
    return name, media_type, upload.data


def evidence_of(log: ExchangeLog) -> LogEvidence | None:
    """A log's evidence with its content, to serve it; None when it has none."""
    if not log.has_evidence:
        return None
    return db.session.execute(
        select(LogEvidence)
        .where(LogEvidence.log_id == log.id)
        .options(undefer(LogEvidence.content))
    ).scalar_one_or_none()


# The content is a row of log_evidence that follows the log's transaction: a save
# that is rolled back leaves none, a replaced or removed file goes with the change.
# Nothing is written outside the database, so every app server serves the same file.


def _store_evidence(log: ExchangeLog, checked: tuple[str, str, bytes]) -> None:
    name, media_type, data = checked
    digest = hashlib.sha256(data).hexdigest()
    # No autoflush: the log's change reaches the database only in flush_or_conflict.
    with db.session.no_autoflush:
        stored = log.evidence if log.has_evidence else None
    if stored is None:
        log.evidence = LogEvidence(content=data, sha256=digest)
    else:  # the old content is never read, only overwritten
        stored.content, stored.sha256, stored.stored_at = data, digest, utcnow()
    log.evidence_name = name
    log.evidence_type, log.evidence_size = media_type, len(data)


def _clear_evidence(log: ExchangeLog) -> None:
    if log.has_evidence:
        with db.session.no_autoflush:
            log.evidence = None
    log.evidence_name = log.evidence_type = None
    log.evidence_size = None


def _apply(log: ExchangeLog, values: CheckedLog) -> None:
    log.work_date = values.work_date
    log.period = values.period
    log.minutes = values.minutes
    log.category = values.category
    log.description = values.description
    log.enterprise = values.enterprise
    log.department = values.department
    log.course, log.cohort, log.students = values.course, values.cohort, values.students
    log.verifier = values.verifier
    if values.evidence:
        _store_evidence(log, values.evidence)


# --- audit ----------------------------------------------------------------------


def _record(
    log: ExchangeLog,
    action: Action,
    from_status: Status | None,
    to_status: Status,
    *,
    actor: User | None,
    actor_name: str | None = None,
    reason: str | None = None,
) -> LogEvent:
    event = LogEvent(
        actor=actor,
        actor_name=actor_name or (actor.name if actor else ""),
        action=action.value,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value,
        reason=reason or None,
    )
    # No autoflush while the trail loads: the pending change must reach the
    # database only in flush_or_conflict, where a lost race becomes a Conflict.
    with db.session.no_autoflush:
        log.events.append(event)
    return event


def _set_status(log: ExchangeLog, status: Status) -> None:
    """The log's new status, and since when it is in it (what a queue waits on)."""
    if log.status != status.value:
        log.status_since = utcnow()
    log.status = status.value


def _refused(refusal: Refusal) -> Exception:
    messages = {
        Refusal.FORBIDDEN: PermissionDenied(),
        Refusal.OWN_RECORD: PermissionDenied(_l("Nobody verifies or approves their own record.")),
        Refusal.WRONG_STATE: Conflict(),
        Refusal.PERIOD_LOCKED: Conflict(
            _l("The period of this log is locked: nothing in it changes any more.")
        ),
        Refusal.REASON_REQUIRED: reason_missing(),
    }
    return messages[refusal]


def _decide(
    log: ExchangeLog,
    action: Action,
    held: Iterable[Relation],
    reason: str | None = None,
) -> Status:
    try:
        return decide(log.status_enum, action, held, period_open=log.period.is_open, reason=reason)
    except TransitionRefused as refused:
        raise _refused(refused.refusal) from None


# --- create, edit, delete ------------------------------------------------------------


def create_log(actor: User, data: LogInput, *, submit: bool = False) -> tuple[ExchangeLog, bool]:
    """A new draft (or submitted) log; ``(log, False)`` when ``client_id`` was seen before."""
    if log_kind_for(actor.role) is None:
        raise PermissionDenied(_l("Administrators do not log hours."))
    errors = FieldErrors()
    client_id = _check_client_id(errors, data.client_id)
    errors.raise_if_any()
    if client_id:
        earlier = _by_client_id(actor, client_id)
        if earlier is not None:
            return earlier, False

    try:
        values = _checked_fields(actor, data, None)
    except ValidationError:
        # A retry that waited for its twin (same client_id) sees the twin's hours
        # in the day; it is the same log, so answer with it.
        earlier = _by_client_id(actor, client_id) if client_id else None
        if earlier is None:
            raise
        return earlier, False
    log = ExchangeLog(kind=values.kind, owner=actor, client_id=client_id)
    _apply(log, values)
    _record(log, Action.CREATE, None, Status.DRAFT, actor=actor)
    try:
        with db.session.begin_nested():
            db.session.add(log)
    except IntegrityError:
        # The same client_id arrived twice at once: the other request stored it.
        earlier = _by_client_id(actor, client_id) if client_id else None
        if earlier is None:
            raise
        return earlier, False
    if submit:
        transition(actor, log, Action.SUBMIT)
    return log, True


def _by_client_id(owner: User, client_id: str) -> ExchangeLog | None:
    return db.session.execute(
        select(ExchangeLog).where(
            ExchangeLog.owner_id == owner.id, ExchangeLog.client_id == client_id
        )
    ).scalar_one_or_none()


def update_log(actor: User, log: ExchangeLog, data: LogInput) -> ExchangeLog:
    """Only the owner edits, only a draft or a rejected log; a rejected one returns to draft."""
    after = _decide(log, Action.EDIT, relations(actor, log))
    values = _checked_fields(actor, data, log)
    if data.remove_evidence and not values.evidence:
        _clear_evidence(log)
    _apply(log, values)
    return _edited(actor, log, after)


def _edited(actor: User, log: ExchangeLog, after: Status) -> ExchangeLog:
    """The end of every edit: the log's new status (a rejected log is a draft again),
    its trail entry, and the flush that refuses a change made meanwhile."""
    before = log.status_enum
    _set_status(log, after)
    _record(log, Action.EDIT, before, after, actor=actor)
    flush_or_conflict()
    return log


def replace_evidence(actor: User, log: ExchangeLog, upload: EvidenceUpload | None) -> ExchangeLog:
    """Attach a file to a log (replacing any), or with ``None`` remove it: an edit, so
    only by the owner of a draft or rejected log (a rejected one returns to draft)."""
    after = _decide(log, Action.EDIT, relations(actor, log))
    if upload is None:
        _clear_evidence(log)
    else:
        errors = FieldErrors()
        checked = _checked_evidence(errors, upload)
        errors.raise_if_any()
        _store_evidence(log, cast(tuple[str, str, bytes], checked))
    return _edited(actor, log, after)


def delete_log(actor: User, log: ExchangeLog) -> None:
    """The owner deletes a draft; drafts have not been seen by anyone else.

    The draft becomes a tombstone, so its trail keeps the log it speaks of: gone from
    every list, count and page (see ``models._leave_out_deleted``), shown only to
    administrators in the owner's history. Its ``client_id`` is let go, as when the
    row disappeared: the same offline entry sent again makes a new log."""
    _decide(log, Action.DELETE, relations(actor, log))
    _clear_evidence(log)
    log.deleted_at, log.deleted_by = utcnow(), actor
    log.client_id = None
    log.confirmation_nonce = None
    _record(log, Action.DELETE, Status.DRAFT, Status.DRAFT, actor=actor)
    flush_or_conflict()


# --- transitions ---------------------------------------------------------------------


def transition(
    actor: User, log: ExchangeLog, action: Action, reason: str | None = None
) -> ExchangeLog:
    """Submit, withdraw, verify, reject, approve or revoke, as the workflow allows."""
    reason = check_reason(reason, required=False)  # the workflow says when one is needed
    before = log.status_enum
    after = _decide(log, action, relations(actor, log), reason)
    if action is Action.REVOKE:
        signals.log_revoking.send(log)  # rewards refuse while an issued award counts it
    _set_status(log, after)
    if action in (Action.VERIFY, Action.REJECT, Action.WITHDRAW):
        log.confirmation_nonce = None  # an on-site link dies with the submission
    _record(log, action, before, after, actor=actor, reason=reason)
    flush_or_conflict()
    return log


@dataclass(frozen=True)
class BulkOutcome:
    """One id of a bulk approval: approved, or the error it met. Callers tell the
    outcomes apart by the error's kind (its class), never by its message."""

    log_id: int
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str:
        return self.error.code if self.error else ""

    @property
    def message(self) -> str:
        return str(self.error.message) if self.error else ""

    @property
    def status(self) -> int:
        return self.error.status if self.error else 200


def bulk_approve(actor: User, log_ids: Iterable[int]) -> list[BulkOutcome]:
    """Approve each log on its own: one that cannot be approved leaves the others alone.
    The outcomes come in the order asked for."""
    asked = list(dict.fromkeys(log_ids))
    outcomes = {}
    _serialise_owner(actor.id)  # write first: savepoints on SQLite need it (see there)
    for log_id in _in_totals_order(asked):
        try:
            with db.session.begin_nested():
                log = get_log(actor, log_id)
                transition(actor, log, Action.APPROVE)
            outcomes[log_id] = BulkOutcome(log_id)
        except DomainError as error:
            outcomes[log_id] = BulkOutcome(log_id, error)
    return [outcomes[log_id] for log_id in asked]


def _in_totals_order(log_ids: list[int]) -> list[int]:
    """``log_ids`` in the order of the kept totals their approval changes (department,
    period, owner, kind; unknown ids last). Approving a log locks its owner's totals
    (log_total) until the end of the transaction: two bulk approvals touching the same
    people lock them in this one order, so one waits for the other instead of each
    waiting for the other for ever."""
    keys = {
        row.id: (row.department_id, row.period_id, row.owner_id, row.kind)
        for row in db.session.execute(
            select(ExchangeLog.id, ExchangeLog.department_id, ExchangeLog.period_id,
                   ExchangeLog.owner_id, ExchangeLog.kind)
            .where(ExchangeLog.id.in_(log_ids))
        )
    }  # fmt: skip
    return sorted(log_ids, key=lambda i: (0, *keys[i], i) if i in keys else (1,))


def can_change_verifier(actor: User, log: ExchangeLog) -> bool:
    """Whether to offer ``actor`` to name another verifier for ``log`` (its owner or
    heads, an admin; a submitted log in an open period)."""
    return may_reassign(log.status_enum, relations(actor, log), period_open=log.period.is_open)


def change_verifier(actor: User, log: ExchangeLog, verifier_id: int | None) -> ExchangeLog:
    """Name another verifier (``None``: on-site confirmation) for a submitted log, e.g.
    when the one named has moved to another enterprise or department.

    The audit trail has no action of its own for this: it is written as an edit
    that leaves the status as it is, with who was named before and after.
    """
    try:
        decide_reassign(log.status_enum, relations(actor, log), period_open=log.period.is_open)
    except TransitionRefused as refused:
        raise _refused(refused.refusal) from None
    verifier = None
    if verifier_id is not None:
        errors = FieldErrors()
        verifier = errors.record("verifier_id", User, verifier_id)
        if verifier is not None and not _can_verify(
            verifier, log.owner, log.kind, log.enterprise, log.department
        ):
            errors.add("verifier_id", _l("Choose one of the offered verifiers."))
        errors.raise_if_any()
    if verifier == log.verifier:
        return log
    onsite = str(_l("On-site confirmation"))
    change = (
        f"{log.verifier.name if log.verifier else onsite} → {verifier.name if verifier else onsite}"
    )
    log.verifier = verifier
    _record(log, Action.EDIT, log.status_enum, log.status_enum, actor=actor, reason=change)
    flush_or_conflict()
    return log


@signals.period_locked.connect
def _bump_versions_of_locked_period(period: Period, **_: Any) -> None:
    """Every log of a period that was just locked changes version, so a step on one of
    them that was decided while the period was still open fails as a conflict when it
    writes."""
    db.session.execute(
        update(ExchangeLog)
        .where(ExchangeLog.period_id == period.id)
        .values(version=ExchangeLog.version + 1)
        .execution_options(synchronize_session=False)
    )


# --- on-site confirmation ------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    # Accepts links signed with a SECRET_KEY_FALLBACKS key too: rotating the key
    # keeps the QR codes already shown working.
    return signing.serializer(CONFIRMATION_SALT)


def can_issue_confirmation(actor: User, log: ExchangeLog) -> bool:
    """Whether to offer the owner a QR code: their submitted log, in an open period."""
    return log.owner_id == actor.id and log.status_enum is Status.SUBMITTED and log.period.is_open


def _require_confirmable(actor: User, log: ExchangeLog) -> None:
    if Relation.OWNER not in relations(actor, log):
        raise NotFound() if not relations(actor, log) else PermissionDenied()
    if not log.period.is_open:
        raise _refused(Refusal.PERIOD_LOCKED)
    if log.status_enum is not Status.SUBMITTED:
        raise Conflict(_l("Only a submitted log can be confirmed on site."))


def _nonce_issued_at(nonce: str | None) -> datetime | None:
    """When the link of ``nonce`` was issued: a nonce starts with that moment (hex
    seconds), so the link keeps its expiry however often its code is shown again.
    None for no nonce, or one issued before nonces said when."""
    stamp, dot, _random = (nonce or "").partition(".")
    if not dot or not stamp:
        return None
    try:
        return datetime.fromtimestamp(int(stamp, 16), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _confirmation_token(log: ExchangeLog) -> str:
    return _serializer().dumps({"log": log.id, "nonce": log.confirmation_nonce})


def issue_confirmation_link(actor: User, log: ExchangeLog) -> tuple[str, datetime]:
    """A signed, single-use token for the owner's submitted log; a new one replaces the old."""
    _require_confirmable(actor, log)
    issued = utcnow()
    log.confirmation_nonce = f"{int(issued.timestamp()):x}.{secrets.token_hex(11)}"
    flush_or_conflict()
    return _confirmation_token(log), issued + timedelta(days=CONFIRMATION_DAYS)


def current_confirmation_link(actor: User, log: ExchangeLog) -> tuple[str, datetime] | None:
    """The owner's live link again (the code they may already have shown someone), with
    its expiry; None when there is none (never issued, used, replaced or expired)."""
    _require_confirmable(actor, log)
    issued = _nonce_issued_at(log.confirmation_nonce)
    if issued is None:
        return None
    expires_at = issued + timedelta(days=CONFIRMATION_DAYS)
    if expires_at <= utcnow():
        return None
    return _confirmation_token(log), expires_at


def log_for_confirmation(token: str) -> ExchangeLog:
    """The log a live on-site link points to, or the reason the link does not work."""
    try:
        claims = _serializer().loads(token, max_age=CONFIRMATION_DAYS * 24 * 3600)
    except SignatureExpired:
        raise LinkExpired() from None
    except BadSignature:
        raise LinkInvalid() from None
    if not isinstance(claims, dict) or not isinstance(claims.get("log"), int):
        raise LinkInvalid()
    log = db.session.get(ExchangeLog, claims["log"])
    if log is None:
        raise LinkInvalid()
    if log.confirmation_nonce is None or not secrets.compare_digest(
        str(claims.get("nonce")), log.confirmation_nonce
    ):
        raise LinkUsed()
    issued = _nonce_issued_at(log.confirmation_nonce)
    if issued is not None and issued + timedelta(days=CONFIRMATION_DAYS) <= utcnow():
        raise LinkExpired()  # shown again since, but issued too long ago
    if not log.period.is_open:
        raise _refused(Refusal.PERIOD_LOCKED)
    return log


@dataclass(frozen=True)
class OnsiteDecision:
    name: str
    job_title: str
    confirm: bool
    reason: str | None = None


def confirm_onsite(
    token: str,
    decision: OnsiteDecision,
    viewer: User | None = None,
    client: ConfirmingClient | None = None,
) -> ExchangeLog:
    """The confirmer without an account verifies or rejects; the link then dies.

    ``viewer`` is whoever is signed in on the confirming browser, if anyone: the
    log's owner holding their own link is refused like any self-verification.
    """
    log = log_for_confirmation(token)
    if viewer is not None and viewer.id == log.owner_id:
        raise _refused(Refusal.OWN_RECORD)
    errors = FieldErrors()
    name = errors.text("name", decision.name, max_length=120)
    title = errors.text("job_title", decision.job_title, max_length=120)
    reason = None
    if not decision.confirm:
        reason = errors.text("reason", decision.reason, max_length=REASON_MAX)
    errors.raise_if_any()
    action = Action.VERIFY if decision.confirm else Action.REJECT
    before = log.status_enum
    after = _decide(log, action, {Relation.ONSITE}, reason)
    _set_status(log, after)
    log.confirmation_nonce = None
    event = _record(
        log, action, before, after, actor=None, actor_name=f"{name} ({title})", reason=reason
    )
    _note_confirming_client(log, event, name, decision.confirm, client or ConfirmingClient())
    flush_or_conflict()
    return log


@dataclass(frozen=True)
class ConfirmingClient:
    """What the confirming request tells about where it came from (never stored as is):
    the client's address, and the user id a session cookie it carried names, live or
    not (a signed cookie: nobody else can make one name the owner)."""

    address: str | None = None
    session_user_id: int | None = None


def _note_confirming_client(
    log: ExchangeLog, event: LogEvent, name: str, verified: bool, client: ConfirmingClient
) -> None:
    """Keep how the on-site decision came in, for the integrity flags (SPEC §6)."""
    address = signing.address_hash(client.address)
    # No autoflush: the log's change reaches the database only in flush_or_conflict.
    with db.session.no_autoflush:
        owner_address = log.owner.sign_in_address_hash
    db.session.add(
        OnsiteConfirmation(
            log_id=log.id,
            event=event,
            owner_id=log.owner_id,
            confirmer_key=integrity.confirmer_key(name),
            confirmed_on=college_today(),
            verified=verified,
            address_hash=address,
            with_owner_session=client.session_user_id == log.owner_id,
            from_owner_network=address is not None and address == owner_address,
        )
    )


# --- lists -----------------------------------------------------------------------------


def list_owner(actor: User, owner_id: int) -> User:
    """The person whose logs a head or an admin lists (the logs behind a round's hours).

    A head sees only people of their department: its members, and those with a log
    the head may see (experts who taught there). Anyone else is not found (404),
    so that an id does not tell a head the name of a stranger (SPEC §1).
    """
    owner = db.session.get(User, owner_id)
    if owner is None or actor.role not in (Role.HEAD, Role.ADMIN):
        raise NotFound()
    if actor.role == Role.ADMIN or owner.department_id == actor.department_id:
        return owner
    has_visible_log = db.session.execute(
        select(ExchangeLog.id).where(ExchangeLog.owner_id == owner.id, visible_to(actor)).limit(1)
    ).first()
    if has_visible_log is None:
        raise NotFound()
    return owner


def in_open_period() -> Any:
    """SQL condition: the log's period is open (work waiting there can still be done)."""
    return ExchangeLog.period_id.in_(select(Period.id).where(Period.state == "open"))


def approvable_by(actor: User) -> Any:
    """SQL condition: logs ``actor`` may approve (own department's, never their own)."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.HEAD:
        return False
    return (ExchangeLog.department_id == actor.department_id) & (ExchangeLog.owner_id != actor.id)


@dataclass(frozen=True)
class LogDefaults:
    work_date: date
    hours: Decimal | None
    category: str | None
    enterprise_id: int | None
    department_id: int | None
    verifier_id: int | None


def defaults_for(actor: User) -> LogDefaults:
    """Today, and what the person used last time: place, category, duration, verifier."""
    # The latest created is the one with the highest id: read from the owner's index
    # (no sorting of the person's logs), then that one row.
    latest = select(func.max(ExchangeLog.id)).where(ExchangeLog.owner_id == actor.id)
    last = db.session.execute(
        select(ExchangeLog).where(ExchangeLog.id == latest.scalar_subquery())
    ).scalar_one_or_none()
    if last is None:
        return LogDefaults(college_today(), None, None, None, None, None)
    # Not someone who has moved away since: they are no longer offered.
    verifier = last.verifier
    still_there = verifier is not None and may_verify_at(
        verifier, last.kind, last.enterprise_id, last.department_id
    )
    return LogDefaults(
        college_today(),
        last.hours,
        last.category,
        last.enterprise_id if last.kind == LogKind.PRACTICE else None,
        last.department_id if last.kind == LogKind.TEACHING else None,
        last.verifier_id if still_there else None,
    )


# --- kept totals -------------------------------------------------------------------------


def rebuild_totals() -> int:
    """Sum every live log into ``log_total`` afresh (what migration 0013 did), e.g. after
    a data-only restore that let the triggers count the logs a second time; the number
    of keys. On PostgreSQL, writers of logs wait until the rebuild commits (on SQLite
    the rebuild's first write already makes them wait)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE exchange_log IN SHARE MODE"))
    db.session.execute(delete(LogTotal))
    db.session.execute(insert(LogTotal).from_select([*TOTAL_KEY, "minutes", "logs"], summed_logs()))
    return int(db.session.execute(select(func.count()).select_from(LogTotal)).scalar_one())
