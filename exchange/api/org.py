"""API endpoints for the organisation: departments, enterprises, agreements, periods.

Each write parses JSON into the service's input dataclass, calls the same
service as the administration pages, commits once and answers the resource.
A PATCH merges the given fields onto the resource's current values first.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.api import bp, serialise
from exchange.api.helpers import (
    Fields,
    created,
    get_or_404,
    json_body,
    paginated,
    patch_body,
    query_int,
)
from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.org import queries, services
from exchange.org.models import Agreement, Department, Enterprise, Period, PeriodState
from exchange.permissions import allow

# --- departments ----------------------------------------------------------


def _department_input(data: dict[str, Any]) -> services.DepartmentInput:
    fields = Fields(data)
    parsed = services.DepartmentInput(code=fields.str("code"), name=fields.str("name"))
    fields.check()
    return parsed


@bp.get("/departments")
@allow()
def list_departments():
    return jsonify(paginated(queries.departments(), serialise.department))


@bp.post("/departments")
@allow(Role.ADMIN)
def create_department():
    department = services.save_department(current_user, _department_input(json_body()))
    db.session.commit()
    return created(
        serialise.department(department), "api.get_department", department_id=department.id
    )


@bp.get("/departments/<id:department_id>")
@allow(Role.ADMIN)
def get_department(department_id: int):
    return jsonify(serialise.department(get_or_404(Department, department_id)))


@bp.patch("/departments/<id:department_id>")
@allow(Role.ADMIN)
def update_department(department_id: int):
    department = get_or_404(Department, department_id)
    _, data = patch_body(serialise.department(department))
    services.save_department(current_user, _department_input(data), department)
    db.session.commit()
    return jsonify(serialise.department(department))


# --- enterprises ----------------------------------------------------------


def _enterprise_input(data: dict[str, Any]) -> services.EnterpriseInput:
    fields = Fields(data)
    parsed = services.EnterpriseInput(
        code=fields.str("code"),
        name=fields.str("name"),
        kind=fields.str("kind"),
        contact_person=fields.str("contact_person"),
        phone=fields.str("phone"),
        address=fields.str("address"),
    )
    fields.check()
    return parsed


@bp.get("/enterprises")
@allow()
def list_enterprises():
    return jsonify(paginated(queries.enterprises(with_agreements=True), serialise.enterprise))


@bp.post("/enterprises")
@allow(Role.ADMIN)
def create_enterprise():
    enterprise = services.save_enterprise(current_user, _enterprise_input(json_body()))
    db.session.commit()
    return created(
        serialise.enterprise(enterprise), "api.get_enterprise", enterprise_id=enterprise.id
    )


@bp.get("/enterprises/<id:enterprise_id>")
@allow(Role.ADMIN)
def get_enterprise(enterprise_id: int):
    return jsonify(serialise.enterprise(get_or_404(Enterprise, enterprise_id)))


@bp.patch("/enterprises/<id:enterprise_id>")
@allow(Role.ADMIN)
def update_enterprise(enterprise_id: int):
    enterprise = get_or_404(Enterprise, enterprise_id)
    _, data = patch_body(serialise.enterprise(enterprise))
    services.save_enterprise(current_user, _enterprise_input(data), enterprise)
    db.session.commit()
    return jsonify(serialise.enterprise(enterprise))


# --- agreements -----------------------------------------------------------


def _agreement_input(data: dict[str, Any]) -> services.AgreementInput:
    fields = Fields(data)
    parsed = services.AgreementInput(
        enterprise_id=fields.int("enterprise_id"),
        department_id=fields.int("department_id"),
        reference=fields.str("reference"),
        starts_on=fields.date("starts_on"),
        ends_on=fields.date("ends_on"),
        scope=fields.str("scope"),
    )
    fields.check()
    return parsed


@bp.get("/agreements")
@allow(Role.ADMIN)
def list_agreements():
    stmt = queries.agreements(query_int("enterprise"))
    return jsonify(paginated(stmt, serialise.agreement))


@bp.post("/agreements")
@allow(Role.ADMIN)
def create_agreement():
    agreement = services.save_agreement(current_user, _agreement_input(json_body()))
    db.session.commit()
    return created(serialise.agreement(agreement), "api.get_agreement", agreement_id=agreement.id)


@bp.get("/agreements/<id:agreement_id>")
@allow(Role.ADMIN)
def get_agreement(agreement_id: int):
    return jsonify(serialise.agreement(get_or_404(Agreement, agreement_id)))


@bp.patch("/agreements/<id:agreement_id>")
@allow(Role.ADMIN)
def update_agreement(agreement_id: int):
    agreement = get_or_404(Agreement, agreement_id)
    _, data = patch_body(serialise.agreement(agreement))
    services.save_agreement(current_user, _agreement_input(data), agreement)
    db.session.commit()
    return jsonify(serialise.agreement(agreement))


# --- periods --------------------------------------------------------------

PERIOD_FIELDS = ("name", "starts_on", "ends_on")
PERIOD_STATES = frozenset(s.value for s in PeriodState)


def _period_input(data: dict[str, Any]) -> tuple[services.PeriodInput, str | None]:
    """The period's dates and name, and the state asked for (None: not given)."""
    fields = Fields(data)
    parsed = services.PeriodInput(
        name=fields.str("name"), starts_on=fields.date("starts_on"), ends_on=fields.date("ends_on")
    )
    state = fields.str("state") if fields.has("state") else None
    if state is not None and "state" not in fields.errors and state not in PERIOD_STATES:
        fields.errors["state"] = _l("Choose one of the offered values.")
    fields.check()
    return parsed, state


@bp.get("/periods")
@allow()
def list_periods():
    return jsonify(paginated(queries.periods_query(), serialise.period))


@bp.post("/periods")
@allow(Role.ADMIN)
def create_period():
    data, state = _period_input(json_body())
    if state not in (None, PeriodState.OPEN):
        raise ValidationError(fields={"state": _l("A new period starts open.")})
    period = services.save_period(current_user, data)
    db.session.commit()
    return created(serialise.period(period), "api.get_period", period_id=period.id)


@bp.get("/periods/<id:period_id>")
@allow(Role.ADMIN)
def get_period(period_id: int):
    return jsonify(serialise.period(get_or_404(Period, period_id)))


@bp.patch("/periods/<id:period_id>")
@allow(Role.ADMIN)
def update_period(period_id: int):
    """Edits name and dates; ``{"state": "locked"}`` locks (final: no way back to open)."""
    period = get_or_404(Period, period_id)
    given, merged = patch_body(serialise.period(period))
    data, state = _period_input(merged)
    if state == PeriodState.OPEN and not period.is_open:
        raise ValidationError(fields={"state": _l("A locked period cannot be opened again.")})
    if any(name in given for name in PERIOD_FIELDS):
        services.save_period(current_user, data, period)
    if "state" in given and state == PeriodState.LOCKED:
        services.lock_period(current_user, period)
    db.session.commit()
    return jsonify(serialise.period(period))
