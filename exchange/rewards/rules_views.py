"""Reward rules (admin), eligibility (heads and admins) and the finance exports.

Thin: the services decide who may see what and which rules may change; these
views pick the period and department to show, put the outcomes in rows, and
turn rows into pages or files.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from exchange import exports, units
from exchange.accounts.models import Role
from exchange.db import MAX_ID
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.i18n import _, _l
from exchange.links import external_url
from exchange.org import queries as org_queries
from exchange.org.models import Department, Period
from exchange.permissions import allow
from exchange.presentation import local_name
from exchange.presentation.accounts import role_label
from exchange.presentation.rewards import audience_label, outcome_text, round_place
from exchange.rewards import queries, services
from exchange.rewards.models import Award, RewardRound, RewardRule
from exchange.rewards.rules import RuleKind, Scope
from exchange.rewards.rules_forms import RuleForm, rule_form_data
from exchange.timeutil import college_zone
from exchange.web import conflict_redirect, cut_page, page_number, page_size, run_form

bp = Blueprint("rules", __name__)


def _record_or_404(model: type[Any], raw: str | None) -> Any:
    """The record a query argument names; a malformed or unknown id is a 404."""
    if raw is None or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        abort(404)
    return db.get_or_404(model, int(raw))


def _chosen_period() -> Period | None:
    """The period the address names; else the default one (org.queries.default_period)."""
    raw = request.args.get("period")
    if raw:
        return _record_or_404(Period, raw)  # type: ignore[no-any-return]
    return org_queries.default_period()


# --- rules ---------------------------------------------------------------------------------


@bp.route("/admin/rules")
@allow(Role.ADMIN)
def index():
    period = _chosen_period()
    rules = queries.period_rules(period.id) if period else []
    frozen_scopes = services.frozen_scopes(period) if period else set(Scope)
    return render_template(
        "rewards/rules.html",
        periods=org_queries.periods(),
        period=period,
        rules=rules,
        frozen_scopes=frozen_scopes,
        frozen=frozen_scopes == set(Scope),
    )


def _rule_input(form: RuleForm) -> services.RuleInput:
    return services.RuleInput(
        code=form.code.data or "",
        name=form.name.data or "",
        name_zh=form.name_zh.data or "",
        scope=form.scope.data or "",
        kind=form.kind.data or "",
        audience=form.audience.data or "",
        threshold_hours=form.threshold_hours.data or "",
        group=form.group.data or None,
        fixed_amount_minor=form.fixed_amount_minor.minor,
        rate_per_hour_minor=form.rate_per_hour_minor.minor,
        cap_minor=form.cap_minor.minor,
        currency=form.currency.data or "",
    )


def _refused(error: Conflict, period: Period):
    return conflict_redirect(error, url_for("rules.index", period=period.id), category="error")


def _save(form: RuleForm, period: Period, rule: RewardRule | None):
    """Run the form through ``save_rule``: the saved rule, a redirect, or None to show
    the form again."""
    try:
        saved = run_form(
            form, lambda: services.save_rule(current_user, period, _rule_input(form), rule)
        )
    except Conflict as error:
        return _refused(error, period)
    if saved is None:
        return None
    db.session.commit()
    message = (
        _("Rule %(code)s saved.", code=saved.code)
        if rule
        else _("Rule %(code)s created.", code=saved.code)
    )
    flash(message, "success")
    return redirect(url_for("rules.index", period=period.id))


@bp.route("/admin/rules/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new():
    period = _chosen_period()
    if period is None:
        abort(404)
    form = RuleForm(data=rule_form_data(None))
    done = _save(form, period, None)
    if done is not None:
        return done
    if services.rules_are_frozen(period):
        flash(
            _("The rules of %(name)s are final: they cannot change any more.", name=period.name),
            "error",
        )
        return redirect(url_for("rules.index", period=period.id))
    return render_template(
        "rewards/rules_form.html", form=form, period=period, rule=None, frozen=False
    )


@bp.route("/admin/rules/<id:rule_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit(rule_id: int):
    rule = db.get_or_404(RewardRule, rule_id)
    period = rule.period
    form = RuleForm(data=rule_form_data(rule))
    done = _save(form, period, rule)
    if done is not None:
        return done
    return render_template(
        "rewards/rules_form.html",
        form=form,
        period=period,
        rule=rule,
        frozen=services.rules_are_frozen(period, rule.scope),
    )


# --- eligibility ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityView:
    periods: list[Period]
    period: Period | None
    departments: list[Department]  # the choice of departments (admins only)
    department: Department | None
    sort: str


def _eligibility() -> EligibilityView:
    """Which department, period and order the eligibility page and its export show."""
    periods = org_queries.periods()
    period = _chosen_period()
    departments: list[Department] = []
    raw = request.args.get("department")
    if current_user.role == Role.ADMIN:
        departments = org_queries.departments_by_name()
        department = (
            _record_or_404(Department, raw) if raw else (departments[0] if departments else None)
        )
    else:
        # A head sees their own department; naming another one is refused by the service.
        department = _record_or_404(Department, raw) if raw else current_user.department
    sort = request.args.get("sort", "hours")
    sort = sort if sort in services.ELIGIBILITY_SORTS else "hours"
    return EligibilityView(periods, period, departments, department, sort)


@bp.route("/rewards/eligibility")
@allow(Role.HEAD, Role.ADMIN)
def eligibility():
    view = _eligibility()
    per_page = page_size()
    found = services.StandingsPage([], 0, 1, per_page)
    reward_round = None
    names: dict[str, str] = {}
    if view.department is not None and view.period is not None:
        found = services.eligibility_page(
            current_user, view.department, view.period,
            sort=view.sort, page=page_number(), per_page=per_page,
        )  # fmt: skip
        reward_round = queries.round_of(view.department.id, view.period.id)
        names = {rule.code: local_name(rule) for rule in queries.period_rules(view.period.id)}
    return render_template(
        "rewards/eligibility.html",
        view=view,
        page=cut_page(found.standings, found.total, found.page, found.per_page),
        names=names,
        reward_round=reward_round,
    )


@bp.route("/rewards/eligibility.<any(csv, xlsx):fmt>")
@allow(Role.HEAD, Role.ADMIN)
def eligibility_export(fmt: str):
    view = _eligibility()
    if view.department is None or view.period is None:
        abort(404)
    standings = services.sort_standings(
        services.eligibility(current_user, view.department, view.period), view.sort
    )
    rules = queries.period_rules(view.period.id)
    names = {rule.code: local_name(rule) for rule in rules}
    headers: list[object] = [
        _("Name"),
        _("Role"),
        _("Audience"),
        _("Approved hours"),
        _("Pending hours"),
    ]
    for rule in rules:
        if rule.kind == RuleKind.BONUS:
            headers.append(
                _("%(rule)s (%(currency)s)", rule=local_name(rule), currency=rule.currency)
            )
        else:
            headers.append(local_name(rule))
    rows: list[list[exports.Cell]] = []
    for standing in standings:
        outcomes = {o.rule.code: o for o in standing.outcomes}
        row: list[exports.Cell] = [
            standing.person.name,
            str(role_label(standing.person.role)),
            str(audience_label(standing.audience)),
            units.hours_value(standing.approved_minutes),
            units.hours_value(standing.pending_minutes),
        ]
        for rule in rules:
            outcome = outcomes.get(rule.code)
            if outcome is None:  # the rule counts the other audience's hours
                row.append(None)
            elif rule.kind == RuleKind.BONUS and outcome.met:
                row.append(units.minor_to_major(outcome.amount_minor))
            else:
                row.append(outcome_text(outcome, names))
        rows.append(row)
    name = exports.file_name(view.period.name, view.department.code, "eligibility")
    return exports.download(fmt, headers, rows, _("Eligibility"), name)


# --- finance exports: payout sheet and honour list ---------------------------------------------

SHEET_KINDS = {"payout": RuleKind.BONUS, "honours": RuleKind.HONOUR}
SHEET_TITLES = {"payout": _l("Payout"), "honours": _l("Honours")}


def _role(award: Award) -> str:
    return str(role_label(award.holder.role))


def _local_date(moment: datetime | None) -> str | None:
    """A stored UTC time as the college's calendar day, ISO: what the paperwork says."""
    return moment.astimezone(college_zone()).date().isoformat() if moment else None


def _round_name(reward_round: RewardRound) -> str:
    """What the round is called on the sheet: e.g. Clinical Medicine 2026-2027, College
    2026-2027."""
    return f"{round_place(reward_round)} {reward_round.period.name}"


def _payout_sheet(awards: list[Award]) -> tuple[list[object], list[list[exports.Cell]]]:
    """One row per issued bonus; after each person's rows their total per currency,
    at the end the grand total per currency (SPEC §5). Hours and money are numbers (main
    units), so finance can add them up again."""
    headers: list[object] = [
        _("Staff number"),
        _("Name"),
        _("Role"),
        _("Department"),
        _("Enterprise"),
        _("Period"),
        _("Rule"),
        _("Approved hours"),
        _("Rate per hour"),
        _("Amount"),
        _("Currency"),
        _("Certificate number"),
        _("Round"),
        _("Decision date"),
    ]
    rows: list[list[exports.Cell]] = []
    grand: dict[str, int] = defaultdict(int)
    # The awards come grouped by person (services._sheet_awards).
    for _holder_id, group in groupby(awards, key=lambda a: a.holder_id):
        person_awards = list(group)
        person = person_awards[0].holder
        totals: dict[str, int] = defaultdict(int)
        for award in person_awards:
            rule = award.rule
            rows.append(
                [
                    person.staff_number,
                    person.name,
                    _role(award),
                    str(round_place(award.round)),
                    person.enterprise.name if person.enterprise else None,
                    award.round.period.name,
                    local_name(rule),
                    units.hours_value(award.minutes),
                    units.minor_to_major(rule.rate_per_hour_minor),
                    units.minor_to_major(award.amount_minor),
                    award.currency,
                    award.certificate_number,
                    _round_name(award.round),
                    _local_date(award.decided_at),
                ]
            )
            totals[award.currency] += award.amount_minor
        for currency in sorted(totals):
            # Staff number and name stay on the total row: filtering by person keeps it.
            rows.append(
                [person.staff_number, person.name, None, None, None, None, _("Total"),
                 None, None, units.minor_to_major(totals[currency]), currency, None, None, None]
            )  # fmt: skip
            grand[currency] += totals[currency]
    for currency in sorted(grand):
        rows.append(
            [None, _("Grand total"), None, None, None, None, None,
             None, None, units.minor_to_major(grand[currency]), currency, None, None, None]
        )  # fmt: skip
    return headers, rows


def _honour_list(awards: list[Award]) -> tuple[list[object], list[list[exports.Cell]]]:
    headers: list[object] = [
        _("Staff number"),
        _("Name"),
        _("Department"),
        _("Role"),
        _("Title"),
        _("Period"),
        _("Certificate number"),
        _("Issue date"),
        _("Verification address"),
    ]
    rows: list[list[exports.Cell]] = [
        [
            award.holder.staff_number,
            award.holder.name,
            str(round_place(award.round)),
            _role(award),
            local_name(award.rule),
            award.round.period.name,
            award.certificate_number,
            _local_date(award.issued_at),
            external_url("rewards.verify", code=award.verification_code),
        ]
        for award in awards
    ]
    return headers, rows


SHEETS = {"payout": _payout_sheet, "honours": _honour_list}


@bp.route("/rewards/rounds/<id:round_id>/<any(payout, honours):sheet>.<any(csv, xlsx):fmt>")
@allow()
def round_export(round_id: int, sheet: str, fmt: str):
    """A finalized round's payout sheet or honour list: heads of its department, admins."""
    reward_round = services.get_round(current_user, round_id)
    awards = services.round_sheet_awards(current_user, reward_round, SHEET_KINDS[sheet])
    headers, rows = SHEETS[sheet](awards)
    name = exports.file_name(reward_round.period.name, reward_round.number_code, sheet)
    return exports.download(fmt, headers, rows, str(SHEET_TITLES[sheet]), name)


@bp.route("/rewards/periods/<id:period_id>/<any(payout, honours):sheet>.<any(csv, xlsx):fmt>")
@allow(Role.ADMIN)
def period_export(period_id: int, sheet: str, fmt: str):
    """The payout sheet or honour list of every finalized round of a period (admins):
    each department's round and the college round."""
    period = db.get_or_404(Period, period_id)
    awards = services.period_sheet_awards(current_user, period, SHEET_KINDS[sheet])
    headers, rows = SHEETS[sheet](awards)
    name = exports.file_name(period.name, sheet)
    return exports.download(fmt, headers, rows, str(SHEET_TITLES[sheet]), name)
