"""The daily digests: plan them, claim the day for each recipient, send, release failures.

``flask --app exchange send-reminders`` runs the steps in this order and commits
between them (see exchange/cli.py):

1. :func:`plan_reminders` reads what waits (a fixed number of statements, whatever
   the number of logs and people) and decides each person's one digest
   (``exchange.reminders.schedule``). Inactive people get nothing; people who
   turned digests off, and people who had today's digest already, are counted as
   skipped.
2. :func:`claim` records today's digest for every recipient *before* any message
   leaves, and the command commits it: a second run on the same day, even one
   started at the same moment, finds the rows and sends nothing.
3. :func:`send_digests` sends each message over one connection; a message that
   fails (the server refuses the address, or is down) is logged, and the others
   are still sent.
4. :func:`release` removes the records of the messages that failed, so that the
   next run retries them; the command then exits non-zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend
from sqlalchemy import delete, insert

from exchange import mail
from exchange.accounts.models import Role, User
from exchange.db import utcnow
from exchange.extensions import db
from exchange.i18n import lazy_ngettext
from exchange.links import external_url
from exchange.logs.models import ExchangeLog
from exchange.logs.services import may_verify_at
from exchange.reminders import queries
from exchange.reminders.models import DigestSent
from exchange.reminders.schedule import (
    DRAFT_DAYS,
    Approvers,
    Digest,
    Waiting,
    WaitingLog,
    plan_digests,
)
from exchange.timeutil import college_today, college_zone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One line of a digest: the log, how many days it has waited, its page."""

    log: ExchangeLog
    days: int
    url: str
    verifier_can_act: bool  # its named verifier may verify it now


@dataclass(frozen=True)
class Outgoing:
    """One digest ready to leave (rendered before anything is committed, so that sending
    reads nothing more from the database)."""

    person_id: int
    email: str
    items: int
    message: mail.EmailMultiAlternatives


@dataclass
class Plan:
    day: date  # today, in the college's calendar
    now: datetime
    outgoing: list[Outgoing] = field(default_factory=list)
    already_sent: int = 0
    turned_off: int = 0

    @property
    def skipped(self) -> int:
        return self.already_sent + self.turned_off


@dataclass
class Outcome:
    sent: list[Outgoing] = field(default_factory=list)
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)  # and why


def escalate_days() -> int:
    return int(current_app.config["EXCHANGE_ESCALATE_DAYS"])


def college_day(moment: datetime) -> date:
    return moment.astimezone(college_zone()).date()


def start_of(day: date) -> datetime:
    """The first instant of a college day."""
    return datetime.combine(day, time(0), tzinfo=college_zone())


def plan_reminders() -> Plan:
    """Today's digests, one per person with something waiting for them."""
    now = utcnow()
    plan = Plan(day=college_today(), now=now)
    # A draft made on day D is older than 14 days from day D + 15 on.
    rows = queries.waiting_logs(drafts_before=start_of(plan.day - timedelta(days=DRAFT_DAYS)))
    staff = queries.approvers()
    heads: dict[int, list[int]] = {}
    for person in staff:
        if person.role == Role.HEAD and person.department_id is not None:
            heads.setdefault(person.department_id, []).append(person.id)
    approvers = Approvers(heads, [p.id for p in staff if p.role == Role.ADMIN])
    waiting = [_waiting(entry, since) for entry, since in rows]
    digests = plan_digests(waiting, approvers, today=plan.day, escalate_days=escalate_days())
    logs = {entry.id: (entry, since) for entry, since in rows}
    # Everybody a digest can go to is loaded already: owners and verifiers with their
    # logs, heads and administrators with the approvers.
    people = {p.id: p for p in staff}
    for entry, _ in rows:
        people[entry.owner.id] = entry.owner
        if entry.verifier is not None:
            people[entry.verifier.id] = entry.verifier
    had_today = queries.digested_on(plan.day, digests)
    for person_id in sorted(digests):
        person = people[person_id]
        if not person.active:
            continue
        if not person.email_digest:
            plan.turned_off += 1
        elif person_id in had_today:
            plan.already_sent += 1
        else:
            digest = digests[person_id]
            message = message_for(person, digest, logs, day=plan.day)
            plan.outgoing.append(Outgoing(person.id, person.email, digest.items, message))
    return plan


def _verifier_can_act(entry: ExchangeLog) -> bool:
    verifier = entry.verifier
    return verifier is not None and may_verify_at(
        verifier, entry.kind, entry.enterprise_id, entry.department_id
    )


def _waiting(entry: ExchangeLog, since: datetime) -> WaitingLog:
    return WaitingLog(
        log_id=entry.id,
        status=Waiting(entry.status),
        owner_id=entry.owner_id,
        department_id=entry.department_id,
        verifier_id=entry.verifier_id if _verifier_can_act(entry) else None,
        since=college_day(since),
    )


def claim(plan: Plan) -> None:
    """Record today's digest of every recipient (one statement); the caller commits
    before sending."""
    if not plan.outgoing:
        return
    db.session.execute(
        insert(DigestSent),
        [
            {"day": plan.day, "user_id": o.person_id, "items": o.items, "sent_at": plan.now}
            for o in plan.outgoing
        ],
    )
    db.session.flush()


def release(plan: Plan, failed: list[Outgoing]) -> None:
    """Forget today's digest of the people whose message did not leave: the next run
    sends it."""
    if not failed:
        return
    db.session.execute(
        delete(DigestSent).where(
            DigestSent.day == plan.day, DigestSent.user_id.in_([o.person_id for o in failed])
        )
    )
    db.session.flush()


def send_digests(plan: Plan) -> Outcome:
    """Send each planned digest; a failure is logged and kept, and the rest go on."""
    outcome = Outcome()
    if not plan.outgoing:
        return outcome
    smtp = mail.connection()
    try:
        _open(smtp)
        for outgoing in plan.outgoing:
            try:
                mail.send(outgoing.message, connection=smtp)
            except Exception as error:  # noqa: BLE001 - whatever the server did, go on
                reason = _reason(error)
                log.warning("Could not send the daily digest to %s: %s", outgoing.email, reason)
                outcome.failed.append((outgoing, reason))
                # The server may have hung up: the next message gets a new connection.
                smtp.close()
                _open(smtp)
            else:
                outcome.sent.append(outgoing)
    finally:
        smtp.close()
    return outcome


def _open(smtp: BaseEmailBackend) -> None:
    try:
        smtp.open()
    except OSError:
        # The server cannot be reached now; each message tries again and fails on its own.
        log.warning("Could not connect to the mail server", exc_info=True)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def message_for(
    person: User,
    digest: Digest,
    logs: dict[int, tuple[ExchangeLog, datetime]],
    *,
    day: date,
) -> mail.EmailMultiAlternatives:
    """The digest of one person, in their language, with links from EXCHANGE_BASE_URL."""

    def entries(ids: list[int]) -> list[Entry]:
        found = []
        for log_id in ids:
            entry, since = logs[log_id]
            days = (day - college_day(since)).days
            url = external_url("logs.detail", log_id=log_id)
            found.append(Entry(entry, days, url, _verifier_can_act(entry)))
        return found

    # Translated when the message is rendered, in the recipient's language.
    subject = lazy_ngettext(
        "Exchange: %(num)d log waits for you", "Exchange: %(num)d logs wait for you", digest.items
    )
    return mail.message_to(
        person,
        "digest",
        subject,
        day=day,
        to_verify=entries(digest.to_verify),
        to_approve=entries(digest.to_approve),
        escalated=entries(digest.escalated),
        drafts=entries(digest.drafts),
        escalate_days=escalate_days(),
        verify_url=external_url("queues.verify"),
        approve_url=external_url("queues.approve"),
        mine_url=external_url("logs.mine"),
        account_url=external_url("accounts.account"),
    )
