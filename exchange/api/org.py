"""API endpoints for the organisation: departments, enterprises, agreements, periods.

Each write takes its typed body (exchange.api.models), calls the same service as
the administration pages, commits once and answers the resource. A PATCH merges
the given fields onto the resource's current values first.
"""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.api import bp, models, serialise
from exchange.api.helpers import created, get_or_404, paginated
from exchange.api.spec import Page, operation, parse_body
from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.org import queries, services
from exchange.org.models import Agreement, Department, Enterprise, Period, PeriodState
from exchange.permissions import allow

TAG = "organisation"

# --- departments ----------------------------------------------------------


def _department_input(body: models.DepartmentInput) -> services.DepartmentInput:
    return services.DepartmentInput(code=body.code, name=body.name)


@bp.get("/departments")
@allow()
@operation(
    "List departments",
    tag=TAG,
    who="any",
    query=Page,
    ok=(200, models.DepartmentPage, "One page."),
)
def list_departments(query: Page):
    return jsonify(paginated(queries.departments(), serialise.department, query))


@bp.post("/departments")
@allow(Role.ADMIN)
@operation(
    "Create a department",
    tag=TAG,
    who="admin",
    body=models.DepartmentInput,
    errors=(409,),
    ok=(201, models.Department, "The new department."),
)
def create_department(body: models.DepartmentInput):
    department = services.save_department(current_user, _department_input(body))
    db.session.commit()
    return created(
        serialise.department(department), "api.get_department", department_id=department.id
    )


@bp.get("/departments/<id:department_id>")
@allow(Role.ADMIN)
@operation("One department", tag=TAG, who="admin", ok=(200, models.Department, "The department."))
def get_department(department_id: int):
    return jsonify(serialise.department(get_or_404(Department, department_id)))


@bp.patch("/departments/<id:department_id>")
@allow(Role.ADMIN)
@operation(
    "Change a department",
    tag=TAG,
    who="admin",
    body=models.DepartmentPatch,
    errors=(409,),
    ok=(200, models.Department, "The department as saved."),
)
def update_department(department_id: int, body: models.DepartmentInput):
    department = get_or_404(Department, department_id)
    merged = {**serialise.department(department), **body.model_dump(exclude_unset=True)}
    data = _department_input(parse_body(models.DepartmentInput, merged))
    services.save_department(current_user, data, department)
    db.session.commit()
    return jsonify(serialise.department(department))


# --- enterprises ----------------------------------------------------------


def _enterprise_input(body: models.EnterpriseInput) -> services.EnterpriseInput:
    return services.EnterpriseInput(
        code=body.code,
        name=body.name,
        kind=body.kind,
        contact_person=body.contact_person or "",
        phone=body.phone or "",
        address=body.address or "",
    )


@bp.get("/enterprises")
@allow()
@operation(
    "List enterprises",
    tag=TAG,
    who="any",
    description="With their agreements.",
    query=Page,
    ok=(200, models.EnterprisePage, "One page."),
)
def list_enterprises(query: Page):
    stmt = queries.enterprises(with_agreements=True)
    return jsonify(paginated(stmt, serialise.enterprise, query))


@bp.post("/enterprises")
@allow(Role.ADMIN)
@operation(
    "Create an enterprise",
    tag=TAG,
    who="admin",
    body=models.EnterpriseInput,
    errors=(409,),
    ok=(201, models.Enterprise, "The new enterprise."),
)
def create_enterprise(body: models.EnterpriseInput):
    enterprise = services.save_enterprise(current_user, _enterprise_input(body))
    db.session.commit()
    return created(
        serialise.enterprise(enterprise), "api.get_enterprise", enterprise_id=enterprise.id
    )


@bp.get("/enterprises/<id:enterprise_id>")
@allow(Role.ADMIN)
@operation("One enterprise", tag=TAG, who="admin", ok=(200, models.Enterprise, "The enterprise."))
def get_enterprise(enterprise_id: int):
    return jsonify(serialise.enterprise(get_or_404(Enterprise, enterprise_id)))


@bp.patch("/enterprises/<id:enterprise_id>")
@allow(Role.ADMIN)
@operation(
    "Change an enterprise",
    tag=TAG,
    who="admin",
    body=models.EnterprisePatch,
    errors=(409,),
    ok=(200, models.Enterprise, "The enterprise as saved."),
)
def update_enterprise(enterprise_id: int, body: models.EnterpriseInput):
    enterprise = get_or_404(Enterprise, enterprise_id)
    merged = {**serialise.enterprise(enterprise), **body.model_dump(exclude_unset=True)}
    data = _enterprise_input(parse_body(models.EnterpriseInput, merged))
    services.save_enterprise(current_user, data, enterprise)
    db.session.commit()
    return jsonify(serialise.enterprise(enterprise))


# --- agreements -----------------------------------------------------------


def _agreement_input(body: models.AgreementInput) -> services.AgreementInput:
    return services.AgreementInput(
        enterprise_id=body.enterprise_id,
        department_id=body.department_id,
        reference=body.reference,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        scope=body.scope,
    )


@bp.get("/agreements")
@allow(Role.ADMIN)
@operation(
    "List agreements",
    tag=TAG,
    who="admin",
    query=models.AgreementQuery,
    ok=(200, models.AgreementPage, "One page."),
)
def list_agreements(query: models.AgreementQuery):
    return jsonify(paginated(queries.agreements(query.enterprise), serialise.agreement, query))


@bp.post("/agreements")
@allow(Role.ADMIN)
@operation(
    "Create an agreement",
    tag=TAG,
    who="admin",
    body=models.AgreementInput,
    errors=(409,),
    ok=(201, models.Agreement, "The new agreement."),
)
def create_agreement(body: models.AgreementInput):
    agreement = services.save_agreement(current_user, _agreement_input(body))
    db.session.commit()
    return created(serialise.agreement(agreement), "api.get_agreement", agreement_id=agreement.id)


@bp.get("/agreements/<id:agreement_id>")
@allow(Role.ADMIN)
@operation("One agreement", tag=TAG, who="admin", ok=(200, models.Agreement, "The agreement."))
def get_agreement(agreement_id: int):
    return jsonify(serialise.agreement(get_or_404(Agreement, agreement_id)))


@bp.patch("/agreements/<id:agreement_id>")
@allow(Role.ADMIN)
@operation(
    "Change an agreement",
    tag=TAG,
    who="admin",
    body=models.AgreementPatch,
    errors=(409,),
    ok=(200, models.Agreement, "The agreement as saved."),
)
def update_agreement(agreement_id: int, body: models.AgreementInput):
    agreement = get_or_404(Agreement, agreement_id)
    merged = {**serialise.agreement(agreement), **body.model_dump(exclude_unset=True)}
    data = _agreement_input(parse_body(models.AgreementInput, merged))
    services.save_agreement(current_user, data, agreement)
    db.session.commit()
    return jsonify(serialise.agreement(agreement))


# --- periods --------------------------------------------------------------

PERIOD_FIELDS = ("name", "starts_on", "ends_on")


def _period_input(body: models.PeriodInput) -> services.PeriodInput:
    return services.PeriodInput(name=body.name, starts_on=body.starts_on, ends_on=body.ends_on)


@bp.get("/periods")
@allow()
@operation(
    "List periods",
    tag=TAG,
    who="any",
    query=Page,
    ok=(200, models.PeriodPage, "One page."),
)
def list_periods(query: Page):
    return jsonify(paginated(queries.periods_query(), serialise.period, query))


@bp.post("/periods")
@allow(Role.ADMIN)
@operation(
    "Create a period",
    tag=TAG,
    who="admin",
    body=models.PeriodInput,
    errors=(409,),
    ok=(201, models.Period, "The new period."),
)
def create_period(body: models.PeriodInput):
    if body.state not in (None, PeriodState.OPEN):
        raise ValidationError(fields={"state": _l("A new period starts open.")})
    period = services.save_period(current_user, _period_input(body))
    db.session.commit()
    return created(serialise.period(period), "api.get_period", period_id=period.id)


@bp.get("/periods/<id:period_id>")
@allow(Role.ADMIN)
@operation("One period", tag=TAG, who="admin", ok=(200, models.Period, "The period."))
def get_period(period_id: int):
    return jsonify(serialise.period(get_or_404(Period, period_id)))


@bp.patch("/periods/<id:period_id>")
@allow(Role.ADMIN)
@operation(
    "Change a period",
    tag=TAG,
    who="admin",
    description='`{"state": "locked"}` locks the period; locking is final.',
    body=models.PeriodPatch,
    errors=(409,),
    ok=(200, models.Period, "The period as saved."),
)
def update_period(period_id: int, body: models.PeriodPatch):
    """Edits name and dates; ``{"state": "locked"}`` locks (final: no way back to open)."""
    period = get_or_404(Period, period_id)
    given = body.model_dump(exclude_unset=True)
    current = serialise.period(period)
    del current["state"]
    data = _period_input(parse_body(models.PeriodInput, {**current, **given, "state": None}))
    if body.state is not None and body.state not in tuple(PeriodState):
        raise ValidationError(fields={"state": _l("Choose one of the offered values.")})
    if body.state == PeriodState.OPEN and not period.is_open:
        raise ValidationError(fields={"state": _l("A locked period cannot be opened again.")})
    if any(name in given for name in PERIOD_FIELDS):
        services.save_period(current_user, data, period)
    if "state" in given and body.state == PeriodState.LOCKED:
        services.lock_period(current_user, period)
    db.session.commit()
    return jsonify(serialise.period(period))
