"""Reward rounds, award decisions, certificates and the public certificate check.

Thin: the services decide who may do what and change the round; a view parses
the request, calls one service, commits once and redirects with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from exchange.accounts.models import Role, User
from exchange.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchange.extensions import db, limiter
from exchange.forms import choices
from exchange.i18n import _, _l, ngettext
from exchange.links import external_url
from exchange.org import queries as org_queries
from exchange.permissions import allow, public
from exchange.presentation import local_name, qr_svg
from exchange.rewards import queries, services
from exchange.rewards.forms import OpenRoundForm
from exchange.rewards.models import Award, AwardStatus, RewardRound
from exchange.rewards.rules import RuleKind, Scope
from exchange.web import conflict_redirect, paginate, run_form

bp = Blueprint("rewards", __name__)

# Who runs rounds: heads (their own department) and admins (any).
MANAGERS = (Role.HEAD, Role.ADMIN)

# Plenty for people scanning certificates; too few to try codes by the thousand.
VERIFY_LIMIT = "30 per minute"

SHOWN = (AwardStatus.ISSUED, AwardStatus.REVOKED)


@bp.after_request
def keep_the_code_private(response: Response) -> Response:
    # The verification code travels in the address: not cached, never sent on as a
    # referrer. Also on the 404 and 429 answers of the same address.
    if request.endpoint == "rewards.verify":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- the list of rounds and opening one ----------------------------------------------


def _open_form() -> OpenRoundForm:
    form = OpenRoundForm()
    if current_user.role == Role.ADMIN:
        departments = org_queries.departments_by_name()
        form.department_id.choices = choices(
            [("", _("Choose…")), *((d.id, d.name) for d in departments)]
        )
    else:
        own = current_user.department
        form.department_id.choices = choices([(own.id, own.name)] if own else [])
    periods = org_queries.periods()
    form.period_id.choices = choices([("", _("Choose…")), *((p.id, p.name) for p in periods)])
    if not form.is_submitted():
        if current_user.role != Role.ADMIN:
            form.department_id.data = current_user.department_id
        current = org_queries.current_period()
        form.period_id.data = current.id if current else None
    return form


def _render_rounds(
    form: OpenRoundForm, existing: RewardRound | None = None, status: int = 200
) -> tuple[str, int]:
    page = paginate(queries.rounds_query(current_user))
    counts = queries.round_counts([r.id for r in page.items])
    is_admin = current_user.role == Role.ADMIN
    html = render_template(
        "rewards/rounds.html",
        page=page,
        counts=counts,
        form=form,
        existing=existing,
        is_admin=is_admin,
        paid_periods=queries.periods_with_finalized_rounds() if is_admin else [],
    )
    return html, status


@bp.route("/rewards/rounds")
@allow(*MANAGERS)
def rounds():
    return _render_rounds(_open_form())


@bp.route("/rewards/rounds", methods=["POST"])
@allow(*MANAGERS)
def round_open():
    form = _open_form()
    try:
        opened = run_form(
            form,
            lambda: services.open_round(
                current_user,
                form.department_id.data,
                form.period_id.data,
                form.scope.data or Scope.DEPARTMENT.value,
            ),
        )
    except services.RoundExists as error:
        db.session.rollback()
        flash(str(error.message), "warning")
        return _render_rounds(form, db.session.get(RewardRound, error.existing.id), 409)
    if opened is None:
        return _render_rounds(form, status=422)
    db.session.commit()
    people = len({award.holder_id for award in opened.awards})
    flash(
        ngettext(
            "Round opened: %(num)d person meets a rule.",
            "Round opened: %(num)d people meet a rule.",
            people,
        ),
        "success",
    )
    return redirect(url_for("rewards.round_detail", round_id=opened.id))


# --- one round ------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One holder and their awards in the round, as the page lists them."""

    holder: User
    awards: list[Award]

    @property
    def minutes(self) -> int:
        # Every award of a person in a round counts the same hours.
        return max(award.minutes for award in self.awards)


def _payout(awards: list[Award]) -> list[tuple[str, int]]:
    """Approved (or issued) bonuses added up per currency."""
    totals: dict[str, int] = {}
    for award in awards:
        if award.rule.kind == RuleKind.BONUS and award.status in (
            AwardStatus.APPROVED,
            AwardStatus.ISSUED,
        ):
            totals[award.currency] = totals.get(award.currency, 0) + award.amount_minor
    return sorted(totals.items())


@bp.route("/rewards/rounds/<id:round_id>")
@allow(*MANAGERS)
def round_detail(round_id: int):
    reward_round = services.get_round(current_user, round_id)
    awards = queries.round_awards(reward_round.id)
    people = [
        Person(holder, list(group)) for holder, group in groupby(awards, key=lambda a: a.holder)
    ]
    by_status: dict[str, int] = {}
    for award in awards:
        by_status[award.status] = by_status.get(award.status, 0) + 1
    return render_template(
        "rewards/round.html",
        round=reward_round,
        people=people,
        award_count=len(awards),
        by_status=by_status,
        payout=_payout(awards),
        is_admin=current_user.role == Role.ADMIN,
        finalizable=services.may_finalize_now(reward_round.period),
        finalize_from=services.finalize_from(reward_round.period),
    )


def _to_round(round_id: int, award_id: int | None = None) -> Response:
    anchor = f"award-{award_id}" if award_id else None
    return redirect(url_for("rewards.round_detail", round_id=round_id, _anchor=anchor))


def _conflict(round_id: int, error: Conflict, award_id: int | None = None) -> Response:
    """The round is finalized, or someone else changed it first: say so, show it as it is."""
    anchor = f"award-{award_id}" if award_id else None
    return conflict_redirect(
        error,
        url_for("rewards.round_detail", round_id=round_id, _anchor=anchor),
        changed=_l("This round has changed in the meantime. Here it is as it stands now."),
    )


@bp.route("/rewards/rounds/<id:round_id>/refresh", methods=["POST"])
@allow(*MANAGERS)
def round_refresh(round_id: int):
    reward_round = services.get_round(current_user, round_id)
    try:
        services.refresh_round(current_user, reward_round)
    except Conflict as error:
        return _conflict(round_id, error)
    db.session.commit()
    flash(_("Round refreshed with the hours approved so far."), "success")
    return _to_round(round_id)


@bp.route("/rewards/rounds/<id:round_id>/finalize", methods=["POST"])
@allow(*MANAGERS)
def round_finalize(round_id: int):
    reward_round = services.get_round(current_user, round_id)
    early = request.form.get("early") == "1"
    try:
        services.finalize_round(current_user, reward_round, early=early)
    except PermissionDenied as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _to_round(round_id)
    except Conflict as error:
        return _conflict(round_id, error)
    issued = sum(1 for award in reward_round.awards if award.status == AwardStatus.ISSUED)
    db.session.commit()
    flash(
        ngettext(
            "Round finalized: %(num)d award issued.",
            "Round finalized: %(num)d awards issued.",
            issued,
        ),
        "success",
    )
    return _to_round(round_id)


# --- one award ------------------------------------------------------------------------------


def _award_step(award: Award, step: Callable[[], object]) -> Response | None:
    """Run a decision or revocation; a refused reason or a conflict is said on the
    round page (None when the step went through, to be committed by the caller)."""
    try:
        step()
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.fields.get("reason") or error.message), "error")
        return _to_round(award.round_id, award.id)
    except Conflict as error:
        return _conflict(award.round_id, error, award.id)
    return None


@bp.route("/rewards/awards/<id:award_id>/<any(approve, reject):decision>", methods=["POST"])
@allow(*MANAGERS)
def award_decide(award_id: int, decision: str):
    award = services.get_award(current_user, award_id)
    round_id = award.round_id
    approve = decision == "approve"
    reason = request.form.get("reason")
    refused = _award_step(
        award, lambda: services.decide_award(current_user, award, approve, reason)
    )
    if refused:
        return refused
    names = {"rule": local_name(award.rule), "name": award.holder.name}
    db.session.commit()
    if approve:
        flash(_("Approved: %(rule)s for %(name)s.", **names), "success")
    else:
        flash(_("Rejected: %(rule)s for %(name)s.", **names), "success")
    return _to_round(round_id, award_id)


@bp.route("/rewards/awards/<id:award_id>/revoke", methods=["POST"])
@allow(Role.ADMIN)
def award_revoke(award_id: int):
    award = services.get_award(current_user, award_id)
    round_id = award.round_id
    reason = request.form.get("reason")
    refused = _award_step(award, lambda: services.revoke_award(current_user, award, reason))
    if refused:
        return refused
    number = award.certificate_number
    db.session.commit()
    flash(_("Certificate %(number)s revoked.", number=number), "success")
    return _to_round(round_id, award_id)


# --- the certificate -------------------------------------------------------------------------


@bp.route("/rewards/awards/<id:award_id>/certificate")
@allow()
def certificate(award_id: int):
    award = services.certificate_award(current_user, award_id)
    g.no_store = True  # the page carries the verification code
    url = external_url("rewards.verify", code=award.verification_code)
    is_manager = services.may_run(current_user, award.round)
    return render_template(
        "rewards/certificate.html",
        award=award,
        check=services.certificate_check(award),  # what the public check shows too
        verify_url=url,
        qr=qr_svg(url, millimetres=True),
        back_url=(
            url_for("rewards.round_detail", round_id=award.round_id, _anchor=f"award-{award.id}")
            if is_manager
            else url_for("dashboard.index")
        ),
    )


# --- the public check ------------------------------------------------------------------------


@bp.route("/verify/<code>")
@public
@limiter.limit(VERIFY_LIMIT)
def verify(code: str):
    try:
        check = services.certificate_check(services.award_for_code(code))
    except NotFound:
        return render_template("rewards/verify_unknown.html"), 404
    return render_template("rewards/verify.html", check=check)
