"""API endpoints for rewards (SPEC §4, §5, §7): progress, eligibility, reward rounds,
award decisions, the public certificate check and the rules (admin).

Thin, like the pages: JSON → the same services in exchange.rewards.services → one
commit → JSON. Who may see or do what is decided there; a round or award the
caller may not run answers 404, so nothing leaks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    optional_json_body,
    page_args,
    paginated,
    patch_body,
    query_int,
)
from exchange.errors import NotFound, ValidationError
from exchange.extensions import db, limiter
from exchange.org import queries as org_queries
from exchange.org.models import Department, Period
from exchange.permissions import allow, public
from exchange.rewards import queries, services
from exchange.rewards.models import RewardRule
from exchange.rewards.rules import Scope

# Enough for people scanning certificates; too few to try codes by the thousand.
VERIFY_LIMIT = "30 per minute"


def _period() -> Period:
    """The period named by ``?period=``, else the default one, as the pages choose it
    (org.queries.default_period): the open one today falls in, else the latest."""
    period_id = query_int("period")
    if period_id is not None:
        return get_or_404(Period, period_id)
    period = org_queries.default_period()
    if period is None:
        raise NotFound(_l("No period includes today; name one with ?period=."))
    return period


def _page_of(items: Sequence[Any], serialise_item: Callable[[Any], Any]) -> dict[str, Any]:
    """A computed list (not a query) answered like every other list."""
    page, per_page = page_args()
    start = (page - 1) * per_page
    return {
        "items": [serialise_item(item) for item in items[start : start + per_page]],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


# --- progress and eligibility ---------------------------------------------------


@bp.get("/me/progress")
@allow()
def my_progress():
    """The caller's hours and how far each rule is, per department and in sum."""
    period = _period()
    return jsonify(serialise.progress(period.id, services.progress(current_user, period)))


@bp.get("/eligibility")
@allow(Role.HEAD, Role.ADMIN)
def eligibility():
    """Everybody with hours in a department and period (a head's own department by
    default), with every rule's outcome."""
    department_id = query_int("department")
    if department_id is None:
        department_id = current_user.department_id
    if department_id is None:
        raise ValidationError(fields={"department": _l("This field is required.")})
    department = get_or_404(Department, department_id)
    period = _period()
    standings = services.eligibility(current_user, department, period)
    body = _page_of(standings, serialise.eligibility)
    return jsonify({**body, "department_id": department.id, "period_id": period.id})


# --- rounds -----------------------------------------------------------------------


def _round_answer(round_id: int) -> Any:
    return jsonify(serialise.reward_round(queries.round_detail(round_id)))


@bp.get("/rounds")
@allow(Role.HEAD, Role.ADMIN)
def list_rounds():
    """The rounds the caller runs (a head: their department's), newest first."""
    stmt = queries.rounds_query(
        current_user,
        period_id=query_int("period"),
        department_id=query_int("department"),
        with_awards=True,
    )
    return jsonify(paginated(stmt, serialise.reward_round))


@bp.post("/rounds")
@allow(Role.HEAD, Role.ADMIN)
def open_round():
    fields = Fields(json_body())
    department_id, period_id = fields.int("department_id"), fields.int("period_id")
    scope = fields.str("scope", Scope.DEPARTMENT.value)
    fields.check()
    reward_round = services.open_round(current_user, department_id, period_id, scope)
    db.session.commit()
    body = serialise.reward_round(queries.round_detail(reward_round.id))
    return created(body, "api.get_round", round_id=reward_round.id)


@bp.get("/rounds/<id:round_id>")
@allow()
def get_round(round_id: int):
    return _round_answer(services.get_round(current_user, round_id).id)


@bp.post("/rounds/<id:round_id>/refresh")
@allow()
def refresh_round(round_id: int):
    """Picks up newly approved hours; unchanged awards keep their decision."""
    services.refresh_round(current_user, services.get_round(current_user, round_id))
    db.session.commit()
    return _round_answer(round_id)


@bp.post("/rounds/<id:round_id>/finalize")
@allow()
def finalize_round(round_id: int):
    """Once the period is over; before that, 409 ``too_early`` with
    ``details.finalize_from``, unless an admin says ``{"early": true}``."""
    fields = Fields(optional_json_body())
    early = fields.bool("early")
    fields.check()
    reward_round = services.get_round(current_user, round_id)
    services.finalize_round(current_user, reward_round, early=early)
    db.session.commit()
    return _round_answer(round_id)


# --- awards -----------------------------------------------------------------------


def _reason() -> str:
    fields = Fields(optional_json_body())
    reason = fields.str("reason")
    fields.check()
    return reason


@bp.post("/awards/<id:award_id>/approve")
@allow()
def approve_award(award_id: int):
    award = services.get_award(current_user, award_id)
    services.decide_award(current_user, award, approve=True)
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


@bp.post("/awards/<id:award_id>/reject")
@allow()
def reject_award(award_id: int):
    award = services.get_award(current_user, award_id)
    services.decide_award(current_user, award, approve=False, reason=_reason())
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


@bp.post("/awards/<id:award_id>/revoke")
@allow(Role.ADMIN)
def revoke_award(award_id: int):
    award = services.get_award(current_user, award_id)
    services.revoke_award(current_user, award, _reason())
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


# --- the public certificate check ----------------------------------------------


@bp.get("/verify/<code>")
@public
@limiter.limit(VERIFY_LIMIT)
def verify_award(code: str):
    check = services.certificate_check(services.award_for_code(code))
    return jsonify(serialise.verification(check))


# --- rules (admin) ---------------------------------------------------------------


def _rule_input(fields: Fields) -> services.RuleInput:
    return services.RuleInput(
        code=fields.str("code"),
        name=fields.str("name"),
        name_zh=fields.str("name_zh"),
        scope=fields.str("scope", Scope.DEPARTMENT.value),
        kind=fields.str("kind"),
        audience=fields.str("audience"),
        threshold_hours=fields.number("threshold_hours"),
        group=fields.str("group") or None,
        # Absent: no such amount (0); null stays null, which a bonus is told to fill in.
        fixed_amount_minor=fields.int("fixed_amount_minor", 0),
        rate_per_hour_minor=fields.int("rate_per_hour_minor", 0),
        cap_minor=fields.int("cap_minor"),
        currency=fields.str("currency", "CNY"),
    )


@bp.get("/rules")
@allow(Role.ADMIN)
def list_rules():
    """The rules of ``?period=`` (every period's without it), as the period lists them."""
    return jsonify(paginated(queries.rules_query(query_int("period")), serialise.rule))


@bp.post("/rules")
@allow(Role.ADMIN)
def create_rule():
    fields = Fields(json_body())
    period_id = fields.int("period_id")
    parsed = _rule_input(fields)
    period = db.session.get(Period, period_id) if period_id and period_id > 0 else None
    if period is None:
        fields.errors.setdefault("period_id", _l("Choose one of the offered values."))
        raise ValidationError(fields=fields.errors)
    fields.check()
    rule = services.save_rule(current_user, period, parsed)
    db.session.commit()
    return created(serialise.rule(rule), "api.get_rule", rule_id=rule.id)


@bp.get("/rules/<id:rule_id>")
@allow(Role.ADMIN)
def get_rule(rule_id: int):
    return jsonify(serialise.rule(get_or_404(RewardRule, rule_id)))


@bp.patch("/rules/<id:rule_id>")
@allow(Role.ADMIN)
def update_rule(rule_id: int):
    """Only the fields given change; a rule stays in its period."""
    rule = get_or_404(RewardRule, rule_id)
    given, merged = patch_body(serialise.rule(rule))
    if "period_id" in given and given["period_id"] != rule.period_id:
        raise ValidationError(fields={"period_id": _l("A rule stays in its period.")})
    fields = Fields(merged)
    parsed = _rule_input(fields)
    fields.check()
    services.save_rule(current_user, rule.period, parsed, rule)
    db.session.commit()
    return jsonify(serialise.rule(rule))
