"""Reads for the daily digests: a fixed number of statements whatever the college's size."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from exchange.accounts.models import Role, User
from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from exchange.logs.services import in_open_period
from exchange.logs.workflow import Status
from exchange.reminders.models import DigestSent

WAITING = (Status.DRAFT.value, Status.SUBMITTED.value, Status.VERIFIED.value)


def waiting_logs(drafts_before: datetime) -> list[tuple[ExchangeLog, datetime]]:
    """Every log waiting in an open period — submitted, verified, and the drafts that
    have been drafts since before ``drafts_before`` — with when it started waiting, its
    owner, verifier, enterprise and department, in one statement. Deleted drafts are
    left out (as by every read)."""
    since = ExchangeLog.status_since
    stmt = (
        select(ExchangeLog, since.label("since"))
        .where(
            # The statuses first, so that the status index finds the rows.
            ExchangeLog.status.in_(WAITING),
            or_(ExchangeLog.status != Status.DRAFT.value, since < drafts_before),
            in_open_period(),
        )
        .options(
            joinedload(ExchangeLog.owner, innerjoin=True),
            joinedload(ExchangeLog.verifier),
            joinedload(ExchangeLog.enterprise, innerjoin=True),
            joinedload(ExchangeLog.department, innerjoin=True),
        )
    )
    return [(log, moment) for log, moment in db.session.execute(stmt).unique()]


def approvers() -> list[User]:
    """The active heads and administrators (who approve, and hear of escalations)."""
    stmt = (
        select(User)
        .where(User.active.is_(True), User.role.in_((Role.HEAD.value, Role.ADMIN.value)))
        .order_by(User.id)
    )
    return list(db.session.scalars(stmt))


def digested_on(day: date, user_ids: Iterable[int]) -> set[int]:
    """Who of these people has had their digest of ``day`` already."""
    ids = list(user_ids)
    if not ids:
        return set()
    stmt = select(DigestSent.user_id).where(DigestSent.day == day, DigestSent.user_id.in_(ids))
    return set(db.session.scalars(stmt))
