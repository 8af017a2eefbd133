"""API endpoints for rewards (SPEC §4, §5, §7): progress, eligibility, reward rounds,
award decisions, the public certificate check and the rules (admin).

Thin, like the pages: JSON → the same services in exchange.rewards.services → one
commit → JSON. Who may see or do what is decided there; a round or award the
caller may not run answers 404, so nothing leaks.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.api import bp, models, serialise
from exchange.api.helpers import created, get_or_404, get_or_none, page_of, paginated
from exchange.api.spec import operation, parse_body
from exchange.credentials import services as credential_services
from exchange.errors import NotFound, ValidationError
from exchange.extensions import db, limiter
from exchange.i18n import _l
from exchange.org import queries as org_queries
from exchange.org.models import Department, Period
from exchange.permissions import allow, public
from exchange.rewards import queries, services
from exchange.rewards.models import RewardRule

TAG = "rewards"
# Enough for people scanning certificates; too few to try codes by the thousand.
VERIFY_LIMIT = "30 per minute"


def _period(period_id: int | None) -> Period:
    """The period named by ``?period=``, else the default one, as the pages choose it
    (org.queries.default_period): the open one today falls in, else the latest."""
    if period_id is not None:
        return get_or_404(Period, period_id)
    period = org_queries.default_period()
    if period is None:
        raise NotFound(_l("No period includes today; name one with ?period=."))
    return period


# --- progress and eligibility ---------------------------------------------------


@bp.get("/me/progress")
@allow()
@operation(
    "The caller's progress",
    tag=TAG,
    who="any",
    description="Approved and pending hours, and how far each rule of the period is. Admins "
    "get no rules and zero hours.",
    query=models.PeriodQuery,
    errors=(404,),
    ok=(200, models.Progress, "The progress."),
)
def my_progress(query: models.PeriodQuery):
    """The caller's hours and how far each rule is, per department and in sum."""
    period = _period(query.period)
    return jsonify(serialise.progress(period.id, services.progress(current_user, period)))


@bp.get("/eligibility")
@allow(Role.HEAD, Role.ADMIN)
@operation(
    "Who meets which rule",
    tag=TAG,
    who="head (own department), admin",
    description="Everybody with approved or pending hours in the department and period, by "
    "audience and name, with every rule's outcome. A head of another department gets 403.",
    query=models.EligibilityQuery,
    errors=(404, 422),
    ok=(200, models.EligibilityPage, "One page."),
)
def eligibility(query: models.EligibilityQuery):
    """Everybody with hours in a department and period (a head's own department by
    default), with every rule's outcome."""
    department_id = query.department
    if department_id is None:
        department_id = current_user.department_id
    if department_id is None:
        raise ValidationError(fields={"department": _l("This field is required.")})
    department = get_or_404(Department, department_id)
    period = _period(query.period)
    standings = services.eligibility(current_user, department, period)
    body = page_of(standings, serialise.eligibility, query)
    return jsonify({**body, "department_id": department.id, "period_id": period.id})


# --- rounds -----------------------------------------------------------------------

ROUND_WHO = "heads of the round's department (the college round: admins), admin"


def _round_answer(round_id: int) -> Any:
    return jsonify(serialise.reward_round(queries.round_detail(round_id)))


@bp.get("/rounds")
@allow(Role.HEAD, Role.ADMIN)
@operation(
    "List reward rounds",
    tag=TAG,
    who="head (own department's), admin",
    description="Newest first, with their awards.",
    query=models.RoundQuery,
    ok=(200, models.RoundPage, "One page."),
)
def list_rounds(query: models.RoundQuery):
    """The rounds the caller runs (a head: their department's), newest first."""
    stmt = queries.rounds_query(
        current_user,
        period_id=query.period,
        department_id=query.department,
        with_awards=True,
    )
    return jsonify(paginated(stmt, serialise.reward_round, query))


@bp.post("/rounds")
@allow(Role.HEAD, Role.ADMIN)
@operation(
    "Open a reward round",
    tag=TAG,
    who="head (own department), admin (also the college round)",
    description="Proposes an award for every rule of the round's scope that each person's "
    "approved hours meet (tiers: the highest; bonuses coming to 0 are left out): a department "
    'round its department rules, the college round (`"scope": "college"`, admins only, 403 '
    "otherwise) the college rules on each person's hours across all departments. 409 when "
    "the department (or the college) already has a round for the period; 422 names an "
    "unknown department or period.",
    body=models.RoundInput,
    errors=(409,),
    ok=(201, models.Round, "The new round."),
)
def open_round(body: models.RoundInput):
    reward_round = services.open_round(current_user, body.department_id, body.period_id, body.scope)
    db.session.commit()
    answer = serialise.reward_round(queries.round_detail(reward_round.id))
    return created(answer, "api.get_round", round_id=reward_round.id)


@bp.get("/rounds/<id:round_id>")
@allow()
@operation(
    "One reward round",
    tag=TAG,
    who="heads of the round's department, admin",
    description="Anyone else gets 404.",
    ok=(200, models.Round, "The round."),
)
def get_round(round_id: int):
    return _round_answer(services.get_round(current_user, round_id).id)


@bp.post("/rounds/<id:round_id>/refresh")
@allow()
@operation(
    "Refresh a draft round",
    tag=TAG,
    who=ROUND_WHO,
    description="Picks up newly approved hours: new awards are proposed, awards no longer met "
    "go, an award whose hours or amount changed is proposed again; the others keep their "
    "decision. 409 once finalized. Anyone else gets 404.",
    errors=(409,),
    ok=(200, models.Round, "The round as it is now."),
)
def refresh_round(round_id: int):
    """Picks up newly approved hours; unchanged awards keep their decision."""
    services.refresh_round(current_user, services.get_round(current_user, round_id))
    db.session.commit()
    return _round_answer(round_id)


@bp.post("/rounds/<id:round_id>/finalize")
@allow()
@operation(
    "Finalize a round",
    tag=TAG,
    who=ROUND_WHO,
    description="Issues every approved award with a certificate number (`<period>-<department "
    "code>-<sequence>`, `COL` for the college round) and a verification code; the round "
    "never changes again. Only once the period's end date has passed (college time zone) or "
    "the period is locked: before that 409 `too_early` with `details.finalize_from`, unless "
    'an admin sends `{"early": true}` (a head who does gets 403). 409 while an award is '
    "still proposed, or once finalized. Anyone else gets 404.",
    body=models.FinalizeInput,
    body_required=False,
    errors=(409,),
    ok=(200, models.Round, "The round as it is now."),
)
def finalize_round(round_id: int, body: models.FinalizeInput):
    reward_round = services.get_round(current_user, round_id)
    services.finalize_round(current_user, reward_round, early=body.early)
    db.session.commit()
    return _round_answer(round_id)


# --- awards -----------------------------------------------------------------------

AWARD_WHO = "heads of the round's department (never their own award: 403), admin"


@bp.post("/awards/<id:award_id>/approve")
@allow()
@operation(
    "Approve a proposed award",
    tag=TAG,
    who=AWARD_WHO,
    description="While the round is a draft; a decision can be changed until it is finalized "
    "(then 409). No body needed. Anyone else gets 404.",
    errors=(409,),
    ok=(200, models.AwardDetail, "The award as it is now, with its history."),
)
def approve_award(award_id: int):
    award = services.get_award(current_user, award_id)
    services.decide_award(current_user, award, approve=True)
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


@bp.post("/awards/<id:award_id>/reject")
@allow()
@operation(
    "Reject a proposed award",
    tag=TAG,
    who=AWARD_WHO,
    description="While the round is a draft (then 409). 422 names `reason` when it is missing "
    "or longer than 500 characters. Anyone else gets 404.",
    body=models.Reason,
    body_required=False,
    errors=(409,),
    ok=(200, models.AwardDetail, "The award as it is now, with its history."),
)
def reject_award(award_id: int, body: models.Reason):
    award = services.get_award(current_user, award_id)
    services.decide_award(current_user, award, approve=False, reason=body.reason or "")
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


@bp.post("/awards/<id:award_id>/revoke")
@allow(Role.ADMIN)
@operation(
    "Revoke an issued award",
    tag=TAG,
    who="admin",
    description="Only an issued award (otherwise 409); its certificate then verifies as "
    "revoked. 422 names `reason` when it is missing or longer than 500 characters.",
    body=models.Reason,
    body_required=False,
    errors=(409,),
    ok=(200, models.AwardDetail, "The award as it is now, with its history."),
)
def revoke_award(award_id: int, body: models.Reason):
    award = services.get_award(current_user, award_id)
    services.revoke_award(current_user, award, body.reason or "")
    db.session.commit()
    return jsonify(serialise.award(award, history=True))


@bp.get("/awards/<id:award_id>/credential")
@allow()
@operation(
    "An honour's Open Badges 3.0 credential",
    tag=TAG,
    who="the holder, heads of the round's department, admin",
    description="The `OpenBadgeCredential` of an issued (or revoked) honour, signed as a "
    "VC-JWT (Open Badges 3.0 §8.2), issuer `did:web` of the institution (DID document at "
    "/.well-known/did.json), revocation in the status list its `credentialStatus` names. "
    "A bonus, an award not issued, or one the caller may not see: 404.",
    ok=(200, None, "The credential, a compact JWT.", credential_services.MEDIA_TYPE),
)
def award_credential(award_id: int):
    award = services.certificate_award(current_user, award_id)
    stored = credential_services.credential_of(award)
    db.session.commit()  # an honour issued before credentials gets its own now
    return Response(stored.token, mimetype=credential_services.MEDIA_TYPE)


# --- the public certificate check ----------------------------------------------


@bp.get("/verify/<code>")
@public
@limiter.limit(VERIFY_LIMIT)
@operation(
    "Check a certificate",
    tag=TAG,
    who="public",
    description="What the QR code on a certificate leads to: holder, award in English and "
    "Chinese, period, certificate number, issue date, issuer, institution and whether it is "
    "valid or revoked, nothing else. 404 for an unknown code. Rate limited (30 a minute).",
    path={"code": {"type": "string", "maxLength": 40}},
    errors=(404, 429),
    ok=(200, models.Verification, "The certificate."),
)
def verify_award(code: str):
    check = services.certificate_check(services.award_for_code(code))
    return jsonify(serialise.verification(check))


# --- rules (admin) ---------------------------------------------------------------


def _rule_input(body: models.RuleInput) -> services.RuleInput:
    return services.RuleInput(
        code=body.code,
        name=body.name,
        name_zh=body.name_zh or "",
        scope=body.scope,
        kind=body.kind,
        audience=body.audience,
        threshold_hours=body.threshold_hours,
        group=body.group or None,
        # Absent: no such amount (0); null stays null, which a bonus is told to fill in.
        fixed_amount_minor=body.fixed_amount_minor,
        rate_per_hour_minor=body.rate_per_hour_minor,
        cap_minor=body.cap_minor,
        currency=body.currency,
    )


@bp.get("/rules")
@allow(Role.ADMIN)
@operation(
    "List rules",
    tag=TAG,
    who="admin",
    description="The rules of `?period=` (every period's without it), as the period lists them.",
    query=models.RuleQuery,
    ok=(200, models.RulePage, "One page."),
)
def list_rules(query: models.RuleQuery):
    return jsonify(paginated(queries.rules_query(query.period), serialise.rule, query))


@bp.post("/rules")
@allow(Role.ADMIN)
@operation(
    "Create a rule",
    tag=TAG,
    who="admin",
    body=models.RuleInput,
    parse=False,
    errors=(409,),
    ok=(201, models.Rule, "The new rule."),
)
def create_rule(body: dict[str, Any]):
    period_id = body.get("period_id")
    period = get_or_none(Period, period_id) if type(period_id) is int else None
    unknown_period = {"period_id": _l("Choose one of the offered values.")}
    try:
        parsed = parse_body(models.RuleInput, body)
    except ValidationError as error:
        if period is None:  # named with the other fields' problems
            error.fields = {**unknown_period, **error.fields}
        raise
    if period is None:
        raise ValidationError(fields=unknown_period)
    rule = services.save_rule(current_user, period, _rule_input(parsed))
    db.session.commit()
    return created(serialise.rule(rule), "api.get_rule", rule_id=rule.id)


@bp.get("/rules/<id:rule_id>")
@allow(Role.ADMIN)
@operation("One rule", tag=TAG, who="admin", ok=(200, models.Rule, "The rule."))
def get_rule(rule_id: int):
    return jsonify(serialise.rule(get_or_404(RewardRule, rule_id)))


@bp.patch("/rules/<id:rule_id>")
@allow(Role.ADMIN)
@operation(
    "Change a rule",
    tag=TAG,
    who="admin",
    description="Only the fields given change. 409 once the rules are final: the period is "
    "locked or one of its rounds is finalized. `period_id` cannot change (422).",
    body=models.RulePatch,
    errors=(409,),
    ok=(200, models.Rule, "The rule as saved."),
)
def update_rule(rule_id: int, body: models.RuleInput):
    """Only the fields given change; a rule stays in its period."""
    rule = get_or_404(RewardRule, rule_id)
    given = body.model_dump(exclude_unset=True)
    if "period_id" in given and given["period_id"] != rule.period_id:
        raise ValidationError(fields={"period_id": _l("A rule stays in its period.")})
    merged = parse_body(models.RuleInput, {**serialise.rule(rule), **given})
    services.save_rule(current_user, rule.period, _rule_input(merged), rule)
    db.session.commit()
    return jsonify(serialise.rule(rule))
