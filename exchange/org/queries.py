"""Reads of the organisation that pages and the API share: one function for each
list and each default, so that the two faces cannot choose differently."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from exchange.extensions import db
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.timeutil import college_today


def periods() -> list[Period]:
    """Every period, newest first (the choice lists of pages)."""
    return list(db.session.execute(periods_query()).scalars())


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


def periods_query() -> Select[Period]:
    """Every period, newest first, as a statement to page through (the API's list; the
    order of ``periods()``, with the id to break a tie)."""
    return select(Period).order_by(Period.starts_on.desc(), Period.id)


# --- departments ----------------------------------------------------------


def departments() -> Select[Department]:
    """Every department by code: the administration list and the API's."""
    return select(Department).order_by(Department.code, Department.id)


def departments_by_name() -> list[Department]:
    """Every department by name, for a form's choices."""
    return list(db.session.execute(select(Department).order_by(Department.name)).scalars())


# --- enterprises ----------------------------------------------------------


def enterprises(
    search: str = "", kind: str = "", *, with_agreements: bool = False
) -> Select[Enterprise]:
    """Enterprises by name, optionally of one kind and matching ``search`` in name or
    code; ``with_agreements`` loads each one's agreements too (in one more query)."""
    stmt = select(Enterprise).order_by(Enterprise.name, Enterprise.id)
    if search:
        stmt = stmt.where(
            or_(
                Enterprise.name.icontains(search, autoescape=True),
                Enterprise.code.icontains(search, autoescape=True),
            )
        )
    if kind:
        stmt = stmt.where(Enterprise.kind == kind)
    if with_agreements:
        stmt = stmt.options(selectinload(Enterprise.agreements))
    return stmt


def enterprises_by_name() -> list[Enterprise]:
    """Every enterprise by name, for a form's choices."""
    return list(db.session.execute(select(Enterprise).order_by(Enterprise.name)).scalars())


def agreement_counts(enterprise_ids: list[int]) -> dict[int, int]:
    """Agreements per enterprise, counted in one query for a whole page."""
    if not enterprise_ids:
        return {}
    rows = db.session.execute(
        select(Agreement.enterprise_id, func.count(Agreement.id))
        .where(Agreement.enterprise_id.in_(enterprise_ids))
        .group_by(Agreement.enterprise_id)
    )
    return dict(rows.all())


# --- agreements -----------------------------------------------------------

EXPIRY_WARNING_DAYS = 60


def agreements(enterprise_id: int | None = None) -> Select[Agreement]:
    """Agreements by enterprise name, newest first, with their enterprise and department
    (of one enterprise if ``enterprise_id`` is given): the administration list, an
    enterprise's page and the API's list."""
    stmt = (
        select(Agreement)
        .join(Agreement.enterprise)
        .options(contains_eager(Agreement.enterprise), joinedload(Agreement.department))
        .order_by(Enterprise.name, Agreement.starts_on.desc(), Agreement.id)
    )
    if enterprise_id is not None:
        stmt = stmt.where(Agreement.enterprise_id == enterprise_id)
    return stmt


def agreements_of(enterprise: Enterprise) -> list[Agreement]:
    """An enterprise's agreements, newest first."""
    return list(db.session.execute(agreements(enterprise.id)).scalars())


def expiring_agreements(today: date, days: int = EXPIRY_WARNING_DAYS) -> Select[Agreement]:
    """Agreements in force today that end within ``days`` days (flagged on dashboards)."""
    return (
        select(Agreement)
        .where(Agreement.starts_on <= today, Agreement.ends_on >= today)
        .where(Agreement.ends_on <= date.fromordinal(today.toordinal() + days))
        .order_by(Agreement.ends_on)
    )


def agreements_expiring(today: date) -> list[Agreement]:
    """The expiring agreements a dashboard flags, with their enterprise."""
    stmt = expiring_agreements(today).options(selectinload(Agreement.enterprise))
    return list(db.session.execute(stmt).scalars())
