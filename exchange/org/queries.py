"""Reads of the organisation that pages and the API share: one function for each
list and each default, so that the two faces cannot choose differently."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from exchange.extensions import db
from exchange.org.models import Period
from exchange.timeutil import college_today


def periods() -> list[Period]:
    """Every period, newest first."""
    return list(db.session.execute(select(Period).order_by(Period.starts_on.desc())).scalars())


def period_on(day: date) -> Period | None:
    """The period a day falls in (every work date falls in at most one)."""
    return db.session.execute(
        select(Period).where(Period.starts_on <= day, Period.ends_on >= day)
    ).scalar_one_or_none()


def current_period() -> Period | None:
    """The period today (college time) falls in, if any."""
    return period_on(college_today())


def default_period() -> Period | None:
    """The period a page or list shows when none is named: the open one today falls in,
    else the latest one."""
    current = current_period()
    if current is not None and current.is_open:
        return current
    every = periods()
    return every[0] if every else None
