"""Reads of a person's own record: approved logs by period and issued or revoked awards.

Each read runs a fixed number of queries however many logs and awards there are
(SPEC §6, DESIGN "bounded number of queries"): logs come with their period,
enterprise, department and verifier in one query; the on-site confirmers of all
of them in a second; the awards with rule, round, period and department in a third.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from exchange.accounts.models import User
from exchange.db import MAX_ID
from exchange.errors import NotFound
from exchange.extensions import db
from exchange.logs.models import ExchangeLog, LogEvent, LogKind
from exchange.logs.workflow import Action, Status
from exchange.org.models import Department, Period
from exchange.rewards.models import Award, AwardStatus, RewardRound, RewardRule
from exchange.timeutil import college_zone

# The awards a record shows: those once issued (a revoked one stays, marked).
RECORDED_AWARDS = (AwardStatus.ISSUED, AwardStatus.REVOKED)

# ``?period=`` meaning every period.
ALL_PERIODS = "all"


@dataclass(frozen=True)
class RecordedLog:
    """One approved log as the record lists it, with who verified it."""

    log: ExchangeLog
    # The verifier's name, or the on-site confirmer's name and job title as typed.
    verifier: str | None
    onsite: bool

    @property
    def place(self) -> str:
        """Where the work took place: the enterprise (practice), or the department and
        the course (teaching)."""
        if self.log.kind == LogKind.PRACTICE:
            return self.log.enterprise.name
        return " · ".join(part for part in (self.log.department.name, self.log.course) if part)


@dataclass(frozen=True)
class PeriodLogs:
    """The approved logs of one period, oldest first."""

    period: Period
    logs: list[RecordedLog]

    @property
    def minutes(self) -> int:
        return sum(entry.log.minutes for entry in self.logs)


@dataclass(frozen=True)
class RecordedAward:
    award: Award
    # The day it was issued in the college's calendar.
    issued_on: date | None

    @property
    def revoked(self) -> bool:
        return self.award.status == AwardStatus.REVOKED


@dataclass(frozen=True)
class PersonalRecord:
    person: User
    period: Period | None  # None: every period
    periods: list[PeriodLogs]
    awards: list[RecordedAward]

    @property
    def minutes(self) -> int:
        return sum(group.minutes for group in self.periods)

    @property
    def is_empty(self) -> bool:
        return not self.periods and not self.awards


def periods() -> Sequence[Period]:
    """Every period, newest first, for the period chooser."""
    return db.session.execute(select(Period).order_by(Period.starts_on.desc())).scalars().all()


def chosen_period(value: str | None) -> Period | None:
    """The period ``?period=`` names: None for every period (absent, empty or "all").

    Anything else that is not the id of a period (not a number, too large, no such
    period) is NotFound, never an error of the server.
    """
    if value is None or value in ("", ALL_PERIODS):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise NotFound()
    number = int(value)
    period = db.session.get(Period, number) if 0 < number <= MAX_ID else None
    if period is None:
        raise NotFound()
    return period


def _approved(person: User, period_id: int | None) -> list[Any]:
    where = [ExchangeLog.owner_id == person.id, ExchangeLog.status == Status.APPROVED.value]
    if period_id is not None:
        where.append(ExchangeLog.period_id == period_id)
    return where


def _onsite_confirmers(person: User, period_id: int | None) -> dict[int, str]:
    """Per approved log verified on site, the confirmer as the audit trail recorded them
    ("name (job title)"), in one query. Only a log's last verification counts: a log
    confirmed on site, rejected later and then verified by its named verifier was
    verified by that person."""
    last_verification = (
        select(func.max(LogEvent.id))
        .join(ExchangeLog, ExchangeLog.id == LogEvent.log_id)
        .where(*_approved(person, period_id), LogEvent.action == Action.VERIFY.value)
        .group_by(LogEvent.log_id)
    )
    rows = db.session.execute(
        select(LogEvent.log_id, LogEvent.actor_name).where(
            LogEvent.id.in_(last_verification), LogEvent.actor_id.is_(None)
        )
    )
    return {row.log_id: row.actor_name for row in rows}


def approved_logs(person: User, period_id: int | None = None) -> list[PeriodLogs]:
    """The person's approved logs of one period (or all), grouped by period, oldest first."""
    logs = (
        db.session.execute(
            select(ExchangeLog)
            .join(ExchangeLog.period)
            .where(*_approved(person, period_id))
            .options(
                contains_eager(ExchangeLog.period),
                joinedload(ExchangeLog.enterprise),
                joinedload(ExchangeLog.department),
                joinedload(ExchangeLog.verifier),
            )
            .order_by(Period.starts_on, Period.id, ExchangeLog.work_date, ExchangeLog.id)
        )
        .scalars()
        .all()
    )
    if not logs:
        return []
    confirmers = _onsite_confirmers(person, period_id)
    entries = [
        RecordedLog(
            log=log,
            verifier=confirmers.get(log.id, log.verifier.name if log.verifier else None),
            onsite=log.id in confirmers,
        )
        for log in logs
    ]
    return [
        PeriodLogs(period=period, logs=list(group))
        for period, group in groupby(entries, key=lambda entry: entry.log.period)
    ]


def recorded_awards(person: User, period_id: int | None = None) -> list[RecordedAward]:
    """The person's issued and revoked awards of one period (or all), oldest first,
    with rule, round, period and issuing department, in one query."""
    stmt = (
        select(Award)
        .join(Award.rule)
        .join(Award.round)
        .join(RewardRound.period)
        .outerjoin(RewardRound.department)
        .where(Award.holder_id == person.id, Award.status.in_(RECORDED_AWARDS))
        .options(
            contains_eager(Award.rule),
            contains_eager(Award.round).contains_eager(RewardRound.period),
            contains_eager(Award.round).contains_eager(RewardRound.department),
        )
        .order_by(
            Period.starts_on,
            Period.id,
            Award.issued_at,
            Department.name,
            RewardRule.kind.desc(),  # honours before bonuses
            RewardRule.threshold_minutes,
            Award.id,
        )
    )
    if period_id is not None:
        stmt = stmt.where(RewardRound.period_id == period_id)
    zone = college_zone()
    return [
        RecordedAward(
            award=award,
            issued_on=award.issued_at.astimezone(zone).date() if award.issued_at else None,
        )
        for award in db.session.execute(stmt).scalars().all()
    ]


def personal_record(person: User, period: Period | None = None) -> PersonalRecord:
    """The person's own record of one period, or of every period."""
    period_id = period.id if period is not None else None
    return PersonalRecord(
        person=person,
        period=period,
        periods=approved_logs(person, period_id),
        awards=recorded_awards(person, period_id),
    )
