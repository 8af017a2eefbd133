"""Administration pages for departments, enterprises, agreements and periods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.forms import choices
from exchange.i18n import _
from exchange.org import queries, services
from exchange.org.forms import (
    AgreementForm,
    DepartmentForm,
    EnterpriseForm,
    LockPeriodForm,
    PeriodForm,
)
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.permissions import allow
from exchange.presentation.org import ENTERPRISE_KIND_LABELS
from exchange.timeutil import college_today
from exchange.web import paginate, run_form

bp = Blueprint("org", __name__, url_prefix="/admin")


@bp.route("/")
@allow(Role.ADMIN)
def index():
    return render_template("admin/index.html")


# --- departments ----------------------------------------------------------


def _department_input(form: DepartmentForm) -> services.DepartmentInput:
    return services.DepartmentInput(code=form.code.data or "", name=form.name.data or "")


@bp.route("/departments")
@allow(Role.ADMIN)
def departments():
    return render_template("admin/departments.html", page=paginate(queries.departments()))


@bp.route("/departments/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def department_new():
    form = DepartmentForm()
    department = run_form(
        form, lambda: services.save_department(current_user, _department_input(form))
    )
    if department:
        db.session.commit()
        flash(_("Department %(name)s created.", name=department.name), "success")
        return redirect(url_for("org.departments"))
    return render_template("admin/department_form.html", form=form, department=None)


@bp.route("/departments/<id:department_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def department_edit(department_id: int):
    department = db.get_or_404(Department, department_id)
    form = DepartmentForm(obj=department)
    saved = run_form(
        form, lambda: services.save_department(current_user, _department_input(form), department)
    )
    if saved:
        db.session.commit()
        flash(_("Department %(name)s saved.", name=department.name), "success")
        return redirect(url_for("org.departments"))
    return render_template("admin/department_form.html", form=form, department=department)


# --- enterprises ----------------------------------------------------------


def _enterprise_input(form: EnterpriseForm) -> services.EnterpriseInput:
    return services.EnterpriseInput(
        code=form.code.data or "",
        name=form.name.data or "",
        kind=form.kind.data or "",
        contact_person=form.contact_person.data or "",
        phone=form.phone.data or "",
        address=form.address.data or "",
    )


@bp.route("/enterprises")
@allow(Role.ADMIN)
def enterprises():
    query = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    if kind not in ENTERPRISE_KIND_LABELS:
        kind = ""
    page = paginate(queries.enterprises(query, kind))
    counts = queries.agreement_counts([enterprise.id for enterprise in page.items])
    return render_template("admin/enterprises.html", page=page, counts=counts, q=query, kind=kind)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def enterprise_new():
    form = EnterpriseForm()
    enterprise = run_form(
        form, lambda: services.save_enterprise(current_user, _enterprise_input(form))
    )
    if enterprise:
        db.session.commit()
        flash(_("Enterprise %(name)s created.", name=enterprise.name), "success")
        return redirect(url_for("org.enterprise_edit", enterprise_id=enterprise.id))
    return render_template("admin/enterprise_form.html", form=form, enterprise=None)


@bp.route("/enterprises/<id:enterprise_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def enterprise_edit(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    form = EnterpriseForm(obj=enterprise)
    saved = run_form(
        form, lambda: services.save_enterprise(current_user, _enterprise_input(form), enterprise)
    )
    if saved:
        db.session.commit()
        flash(_("Enterprise %(name)s saved.", name=enterprise.name), "success")
        return redirect(url_for("org.enterprises"))
    agreements = queries.agreements_of(enterprise)
    today = college_today()
    return render_template(
        "admin/enterprise_form.html",
        form=form,
        enterprise=enterprise,
        agreements=agreements,
        statuses=_statuses(agreements, today),
        today=today,
    )


# --- agreements -----------------------------------------------------------


def _statuses(agreements: Iterable[Agreement], today: date) -> dict[int, str]:
    return {agreement.id: services.agreement_standing(agreement, today) for agreement in agreements}


def _agreement_form(agreement: Agreement | None = None) -> AgreementForm:
    form = AgreementForm(obj=agreement)
    enterprises = queries.enterprises_by_name()
    departments = queries.departments_by_name()
    form.enterprise_id.choices = choices(
        [("", "—")] + [(e.id, f"{e.name} ({e.code})") for e in enterprises]
    )
    form.department_id.choices = choices(
        [("", _("All departments"))] + [(d.id, d.name) for d in departments]
    )
    return form


def _agreement_input(form: AgreementForm) -> services.AgreementInput:
    return services.AgreementInput(
        enterprise_id=form.enterprise_id.data,
        department_id=form.department_id.data,
        reference=form.reference.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        scope=form.scope.data or "",
    )


@bp.route("/agreements")
@allow(Role.ADMIN)
def agreements():
    page = paginate(queries.agreements())
    today = college_today()
    return render_template(
        "admin/agreements.html",
        page=page,
        statuses=_statuses(page.items, today),
        today=today,
    )


@bp.route("/agreements/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def agreement_new():
    form = _agreement_form()
    from_enterprise = request.args.get("enterprise_id", type=int)
    if not form.is_submitted():
        form.enterprise_id.data = from_enterprise
    agreement = run_form(
        form, lambda: services.save_agreement(current_user, _agreement_input(form))
    )
    if agreement:
        db.session.commit()
        flash(_("Agreement %(reference)s created.", reference=agreement.reference), "success")
        if from_enterprise is not None:
            return redirect(url_for("org.enterprise_edit", enterprise_id=agreement.enterprise_id))
        return redirect(url_for("org.agreements"))
    return render_template(
        "admin/agreement_form.html", form=form, agreement=None, from_enterprise=from_enterprise
    )


@bp.route("/agreements/<id:agreement_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def agreement_edit(agreement_id: int):
    agreement = db.get_or_404(Agreement, agreement_id)
    form = _agreement_form(agreement)
    saved = run_form(
        form, lambda: services.save_agreement(current_user, _agreement_input(form), agreement)
    )
    if saved:
        db.session.commit()
        flash(_("Agreement %(reference)s saved.", reference=agreement.reference), "success")
        return redirect(url_for("org.agreements"))
    return render_template(
        "admin/agreement_form.html", form=form, agreement=agreement, from_enterprise=None
    )


# --- periods --------------------------------------------------------------


def _period_input(form: PeriodForm) -> services.PeriodInput:
    return services.PeriodInput(
        name=form.name.data or "", starts_on=form.starts_on.data, ends_on=form.ends_on.data
    )


def _refused(error: Conflict, period: Period):
    db.session.rollback()
    flash(str(error.message), "error")
    return redirect(url_for("org.period_edit", period_id=period.id))


@bp.route("/periods")
@allow(Role.ADMIN)
def periods():
    return render_template("admin/periods.html", periods=queries.periods(), today=college_today())


@bp.route("/periods/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def period_new():
    form = PeriodForm()
    period = run_form(form, lambda: services.save_period(current_user, _period_input(form)))
    if period:
        db.session.commit()
        flash(_("Period %(name)s created.", name=period.name), "success")
        return redirect(url_for("org.periods"))
    return render_template("admin/period_form.html", form=form, period=None, lock_form=None)


@bp.route("/periods/<id:period_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def period_edit(period_id: int):
    period = db.get_or_404(Period, period_id)
    form = PeriodForm(obj=period)
    try:
        saved = run_form(
            form, lambda: services.save_period(current_user, _period_input(form), period)
        )
    except Conflict as error:
        return _refused(error, period)
    if saved:
        db.session.commit()
        flash(_("Period %(name)s saved.", name=period.name), "success")
        return redirect(url_for("org.periods"))
    return render_template(
        "admin/period_form.html", form=form, period=period, lock_form=LockPeriodForm(formdata=None)
    )


@bp.route("/periods/<id:period_id>/lock", methods=["POST"])
@allow(Role.ADMIN)
def period_lock(period_id: int):
    period = db.get_or_404(Period, period_id)
    lock_form = LockPeriodForm()
    if not lock_form.validate_on_submit():
        form = PeriodForm(formdata=None, obj=period)
        return render_template(
            "admin/period_form.html", form=form, period=period, lock_form=lock_form
        )
    try:
        services.lock_period(current_user, period)
    except Conflict as error:
        return _refused(error, period)
    db.session.commit()
    flash(_("Period %(name)s is locked.", name=period.name), "success")
    return redirect(url_for("org.periods"))
