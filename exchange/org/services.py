"""Administration of departments, enterprises, agreements and periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, select, update

from exchange import signals
from exchange.accounts.models import User
from exchange.accounts.services import require_admin
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.i18n import _l
from exchange.org.models import (
    Agreement,
    AgreementScope,
    Department,
    Enterprise,
    EnterpriseKind,
    Period,
    PeriodState,
)

# Re-exported under their old names for callers not yet moved (tests, logs.services);
# the reads themselves live in queries.
from exchange.org.queries import EXPIRY_WARNING_DAYS
from exchange.validation import FieldErrors


def _code(errors: FieldErrors, value: str | None) -> str:
    code = errors.text("code", value, max_length=16).upper()
    if code and "code" not in errors and not all(c.isalnum() or c in "-_" for c in code):
        errors.add("code", _l("Use letters, digits, - and _ only."))
    return code


def _taken(model: type[Department] | type[Enterprise], code: str, current_id: int | None) -> bool:
    stmt = select(model.id).where(func.upper(model.code) == code)
    found = db.session.execute(stmt).scalar_one_or_none()
    return found is not None and found != current_id


# --- departments ----------------------------------------------------------


@dataclass(frozen=True)
class DepartmentInput:
    code: str
    name: str


def save_department(actor: User, data: DepartmentInput, department: Department | None = None):
    require_admin(actor)
    errors = FieldErrors()
    code = _code(errors, data.code)
    name = errors.text("name", data.name, max_length=120)
    if "code" not in errors and _taken(Department, code, department.id if department else None):
        errors.add("code", _l("Another department already uses this code."))
    errors.raise_if_any()
    department = department or Department()
    department.code, department.name = code, name
    db.session.add(department)
    db.session.flush()
    return department


# --- enterprises ----------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseInput:
    code: str
    name: str
    kind: str
    contact_person: str = ""
    phone: str = ""
    address: str = ""


def save_enterprise(actor: User, data: EnterpriseInput, enterprise: Enterprise | None = None):
    require_admin(actor)
    errors = FieldErrors()
    code = _code(errors, data.code)
    name = errors.text("name", data.name, max_length=160)
    kind = errors.choice("kind", data.kind, [k.value for k in EnterpriseKind])
    contact = errors.text("contact_person", data.contact_person, max_length=120, required=False)
    phone = errors.text("phone", data.phone, max_length=40, required=False)
    address = errors.text("address", data.address, max_length=300, required=False)
    if "code" not in errors and _taken(Enterprise, code, enterprise.id if enterprise else None):
        errors.add("code", _l("Another enterprise already uses this code."))
    errors.raise_if_any()
    enterprise = enterprise or Enterprise()
    enterprise.code, enterprise.name, enterprise.kind = code, name, kind
    enterprise.contact_person, enterprise.phone, enterprise.address = contact, phone, address
    db.session.add(enterprise)
    db.session.flush()
    return enterprise


# --- agreements -----------------------------------------------------------


@dataclass(frozen=True)
class AgreementInput:
    enterprise_id: int | None
    department_id: int | None  # None: all departments
    reference: str
    starts_on: date | None
    ends_on: date | None
    scope: str


def save_agreement(actor: User, data: AgreementInput, agreement: Agreement | None = None):
    require_admin(actor)
    errors = FieldErrors()
    errors.record("enterprise_id", Enterprise, data.enterprise_id)
    if data.department_id is not None:
        errors.record("department_id", Department, data.department_id)
    reference = errors.text("reference", data.reference, max_length=60)
    scope = errors.choice("scope", data.scope, [s.value for s in AgreementScope])
    errors.date_range(data.starts_on, data.ends_on)
    errors.raise_if_any()
    agreement = agreement or Agreement()
    agreement.enterprise_id = data.enterprise_id  # type: ignore[assignment]
    agreement.department_id = data.department_id
    agreement.reference, agreement.scope = reference, scope
    agreement.starts_on, agreement.ends_on = data.starts_on, data.ends_on  # type: ignore[assignment]
    db.session.add(agreement)
    db.session.flush()
    return agreement


def agreements_in_force(
    day: date, kind: str, department_id: int, enterprise_id: int | None = None
) -> Select[Agreement]:
    """Agreements that allow a log of ``kind`` for ``department_id`` on ``day`` (SPEC §2),
    with one enterprise if ``enterprise_id`` is given."""
    stmt = select(Agreement).where(
        Agreement.starts_on <= day,
        Agreement.ends_on >= day,
        Agreement.scope.in_([kind, AgreementScope.BOTH.value]),
        (Agreement.department_id == department_id) | Agreement.department_id.is_(None),
    )
    if enterprise_id is not None:
        stmt = stmt.where(Agreement.enterprise_id == enterprise_id)
    return stmt


def agreement_standing(agreement: Agreement, today: date, days: int = EXPIRY_WARNING_DAYS) -> str:
    """How an agreement stands on ``today``: upcoming, in_force, expiring or ended.

    "expiring" is exactly what ``expiring_agreements`` selects and dashboards flag.
    """
    if agreement.ends_on < today:
        return "ended"
    if agreement.starts_on > today:
        return "upcoming"
    if agreement.ends_on <= date.fromordinal(today.toordinal() + days):
        return "expiring"
    return "in_force"


# --- periods --------------------------------------------------------------


@dataclass(frozen=True)
class PeriodInput:
    name: str
    starts_on: date | None
    ends_on: date | None


def save_period(actor: User, data: PeriodInput, period: Period | None = None) -> Period:
    require_admin(actor)
    if period is not None and not period.is_open:
        raise Conflict(_l("A locked period cannot be changed."))
    errors = FieldErrors()
    name = errors.text("name", data.name, max_length=40)
    errors.date_range(data.starts_on, data.ends_on)
    if "name" not in errors:
        other = db.session.execute(select(Period).where(Period.name == name)).scalar_one_or_none()
        if other is not None and other is not period:
            errors.add("name", _l("Another period already has this name."))
    if data.starts_on and data.ends_on and "ends_on" not in errors:
        overlap = db.session.execute(
            select(Period).where(
                Period.starts_on <= data.ends_on,
                Period.ends_on >= data.starts_on,
                Period.id != (period.id if period else -1),
            )
        ).scalar()
        if overlap is not None:
            errors.add(
                "starts_on", _l("These dates overlap the period %(name)s.", name=overlap.name)
            )
    errors.raise_if_any()
    is_new = period is None
    period = period or Period(state=PeriodState.OPEN.value)
    period.name = name
    period.starts_on, period.ends_on = data.starts_on, data.ends_on  # type: ignore[assignment]
    db.session.add(period)
    db.session.flush()
    if is_new:
        # Rewards give the new period the previous period's rules (SPEC §4).
        signals.period_created.send(period)
    return period


def lock_period(actor: User, period: Period) -> Period:
    """Locking is final: nothing in a locked period changes any more."""
    require_admin(actor)
    result = db.session.execute(
        update(Period)
        .where(Period.id == period.id, Period.state == PeriodState.OPEN.value)
        .values(state=PeriodState.LOCKED.value)
    )
    if not cast(CursorResult[Any], result).rowcount:
        raise Conflict(_l("This period is already locked."))
    # Logs make a step decided while the period was still open fail as a conflict.
    signals.period_locked.send(period)
    db.session.refresh(period)
    return period
