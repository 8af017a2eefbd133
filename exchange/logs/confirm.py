"""On-site confirmation: the owner's QR code, and the public page the confirmer opens.

The token travels in the address, so every answer of this blueprint is kept out
of caches and never sent on as a referrer. A link that does not work answers
404 (not valid) or 410 (expired, used or replaced) and shows nothing of the log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField

from exchange.errors import Conflict
from exchange.extensions import db, limiter
from exchange.i18n import _, _l
from exchange.links import external_url
from exchange.logs import services
from exchange.permissions import allow, public
from exchange.presentation import qr_svg
from exchange.signing import LinkInvalid
from exchange.timeutil import college_zone
from exchange.web import conflict_redirect, is_post, run_form

bp = Blueprint("confirm", __name__)

# Enough for a confirmer who mistypes a few times; too few to try tokens by the thousand.
CONFIRM_LIMIT = "30 per minute"


@bp.after_request
def keep_the_token_private(response: Response) -> Response:
    # Runs before the app's own header hook, which only fills in what is missing.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- the owner's QR code -----------------------------------------------------------


@bp.route("/logs/<id:log_id>/confirmation")
@allow()
def show(log_id: int):
    """The owner's live code, as often as they open or reload it; a button to make one
    when there is none."""
    log = services.get_log(current_user, log_id)
    try:
        link = services.current_confirmation_link(current_user, log)
    except Conflict as error:
        return conflict_redirect(error, url_for("logs.detail", log_id=log_id))
    if link is None:
        return render_template("logs/confirm_issued.html", log=log, url=None)
    token, expires_at = link
    url = external_url("confirm.page", token=token)
    return render_template(
        "logs/confirm_issued.html",
        log=log,
        url=url,
        qr=qr_svg(url),
        expires=expires_at.astimezone(college_zone()).strftime("%Y-%m-%d %H:%M"),
        zone=str(college_zone()),
    )


@bp.route("/logs/<id:log_id>/confirmation", methods=["POST"])
@allow()
def issue(log_id: int):
    """Make a code, then show it (its own address: a reload shows it again). A code
    already live is kept unless the owner asked for a new one (``new=1``), which makes
    the one they may have shown stop working."""
    log = services.get_log(current_user, log_id)
    try:
        live = services.current_confirmation_link(current_user, log)
        if live is None or request.form.get("new") == "1":
            services.issue_confirmation_link(current_user, log)
    except Conflict as error:
        return conflict_redirect(error, url_for("logs.detail", log_id=log_id))
    db.session.commit()
    return redirect(url_for("confirm.show", log_id=log_id), 303)


# --- the confirmer's page -------------------------------------------------------------


class OnsiteForm(FlaskForm):
    """What the confirmer types. No checks here: the service checks and names the field."""

    name = StringField(_l("Your name"))
    job_title = StringField(_l("Your job title"))
    reason = TextAreaField(_l("Reason (needed to reject)"))


def _link_refused(error: LinkInvalid) -> tuple[str, int]:
    status = error.status_for_page
    return render_template("logs/confirm_link.html", code=error.code, status=status), status


def _changed(error: Conflict) -> tuple[str, int]:
    html = render_template(
        "logs/confirm_link.html", code=error.code, status=409, message=error.message
    )
    return html, 409


def _cookie_user_id() -> int | None:
    """The person a signed-in cookie of this browser names (the session's or the
    "keep me signed in" one), whether or not that session is still live: both are
    signed with the app's secret, so only a browser that person signed in on has
    one. A live session of the owner is refused by the service as self-verification;
    a dead one is recorded, and flags the confirmation (SPEC §6, ``self_confirmed``)."""
    remember_name = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    remembered = request.cookies.get(remember_name)
    for claimed in (session.get("_user_id"), decode_cookie(remembered) if remembered else None):
        user_id = str(claimed or "").partition(":")[0]
        if user_id.isdigit() and len(user_id) <= 10:
            return int(user_id)
    return None


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
@limiter.limit(CONFIRM_LIMIT)
def page(token: str) -> Any:
    try:
        log = services.log_for_confirmation(token)
    except LinkInvalid as error:
        return _link_refused(error)
    except Conflict as error:  # the log's period has been locked
        return _changed(error)
    form = OnsiteForm()
    if is_post():
        decision = request.form.get("decision")
        if decision not in ("confirm", "reject"):
            form.form_errors.append(_("Tap “Confirm” or “Reject”."))
        else:
            onsite = services.OnsiteDecision(
                name=form.name.data or "",
                job_title=form.job_title.data or "",
                confirm=decision == "confirm",
                reason=form.reason.data or "",
            )
            try:
                viewer = current_user if current_user.is_authenticated else None
                client = services.ConfirmingClient(request.remote_addr, _cookie_user_id())
                done = run_form(
                    form, lambda: services.confirm_onsite(token, onsite, viewer, client)
                )
            except LinkInvalid as error:  # used by someone else in between
                db.session.rollback()
                return _link_refused(error)
            except Conflict as error:  # confirmed by someone else at the same moment
                db.session.rollback()
                return _changed(error)
            if done is not None:
                db.session.commit()
                return render_template("logs/confirm_done.html", confirmed=onsite.confirm)
    return render_template("logs/confirm_page.html", log=log, form=form)
