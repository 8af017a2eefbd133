"""Setting a password from an e-mailed link: "Forgot password?" and the invitation
of a newly imported person (SPEC §1).

A link carries a signed token naming the account and a fingerprint of what the
link may change: the password hash, the e-mail address and whether the account
is active. Setting a password changes the hash, so the link (and every other
link sent before) stops working: single use without storing anything. A reset
link lives 1 hour, an invitation 7 days; each kind is signed with its own salt,
so neither can stand in for the other.

Asking for a link always answers the same way, whether or not an account uses
the address, and the message leaves in the background, so neither the answer
nor its timing tells which addresses have accounts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_mailman.backends.base import BaseEmailBackend
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from exchange import mail, signing
from exchange.accounts import services
from exchange.accounts.models import AccountEvent, User
from exchange.db import utcnow
from exchange.extensions import db, limiter
from exchange.i18n import _, _l
from exchange.links import external_url
from exchange.permissions import public
from exchange.signing import LinkExpired, LinkInvalid, LinkUsed
from exchange.validation import FieldErrors
from exchange.web import run_form

# --- the rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class LinkKind:
    salt: str
    lifetime: timedelta


RESET = LinkKind("exchange.password-reset", timedelta(hours=1))
INVITATION = LinkKind("exchange.invitation", timedelta(days=7))
LINK_KINDS = (RESET, INVITATION)


def _fingerprint(user: User) -> str:
    """Changes whenever a password is set, the address changes or the account is
    deactivated: each of these ends every link sent before."""
    material = "\0".join((str(user.id), user.email, str(user.active), user.password_hash))
    return hashlib.sha256(material.encode()).hexdigest()


def make_token(user: User, kind: LinkKind) -> str:
    return signing.serializer(kind.salt).dumps({"user": user.id, "fp": _fingerprint(user)})


def user_for_token(token: str) -> User:
    """The account a live link names, or the reason it does not work."""
    expired = False
    for kind in LINK_KINDS:
        try:
            claims = signing.serializer(kind.salt).loads(
                token, max_age=int(kind.lifetime.total_seconds())
            )
        except SignatureExpired:
            expired = True
            continue
        except BadSignature:
            continue
        break
    else:
        raise LinkExpired() if expired else LinkInvalid()
    if not isinstance(claims, dict) or not isinstance(claims.get("user"), int):
        raise LinkInvalid()
    user = db.session.get(User, claims["user"])
    if user is None:
        raise LinkInvalid()
    if not secrets.compare_digest(str(claims.get("fp")), _fingerprint(user)):
        raise LinkUsed()
    return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link to the active account using ``email``; else do nothing.

    The caller answers the same either way (no account enumeration).
    """
    user = services.find_user_by_email(email or "")
    if user is None or not user.active:
        return
    _send_link(user, RESET, "password_reset", _l("Reset your Exchange password"))


def send_set_password_email(
    user: User, *, background: bool = False, connection: BaseEmailBackend | None = None
) -> None:
    """Invite a newly created person to choose their password (a 7-day link), in their
    language.

    Sent now (a failure raises, so an import can report it) unless ``background``;
    many invitations can share one ``mail.connection()``.
    """
    _send_link(
        user,
        INVITATION,
        "invitation",
        _l("Your Exchange account"),
        background=background,
        connection=connection,
    )


def _send_link(
    user: User,
    kind: LinkKind,
    template: str,
    subject: Any,
    *,
    background: bool = True,
    connection: BaseEmailBackend | None = None,
) -> None:
    mail.send_to_user(
        user,
        template,
        subject,
        background=background,
        connection=connection,
        url=external_url("reset.set_password", token=make_token(user, kind)),
        expires_at=utcnow() + kind.lifetime,
        institution=current_app.config["EXCHANGE_INSTITUTION"],
        login_url=external_url("accounts.login"),
    )


def set_password(token: str, new: str, confirm: str) -> User:
    """Set the password a live link allows, then end every session and API token
    of the account: whoever might have known the old password is out."""
    user = user_for_token(token)
    errors = FieldErrors()
    errors.password("new_password", new)
    if "new_password" not in errors and new != confirm:
        errors.add("confirm_password", _l("The two passwords differ."))
    errors.raise_if_any()
    user.set_password(new)  # the link's fingerprint changes: it works once
    services.end_sessions(user)
    # In the account's security history (the admin's page of the person).
    db.session.add(AccountEvent(user_id=user.id, actor_id=user.id, action="password_set_by_link"))
    db.session.flush()
    return user


# --- the pages ---------------------------------------------------------------------

bp = Blueprint("reset", __name__)


@bp.after_request
def keep_the_token_private(response: Response) -> Response:
    # The token travels in the address: keep it out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class SetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[DataRequired()])


def _email_limit() -> str:
    return str(current_app.config["EXCHANGE_RESET_EMAIL_LIMIT"])


def _client_limit() -> str:
    return str(current_app.config["EXCHANGE_RESET_CLIENT_LIMIT"])


def _requested_email() -> str:
    """The throttling key of a reset request: the address asked for, as stored."""
    return "reset:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_client_limit, methods=["POST"])
@limiter.limit(_email_limit, methods=["POST"], key_func=_requested_email)
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data or "")
        # The same answer for every address; a redirect, so that reloading the page
        # does not send the request (and another e-mail) again.
        return redirect(url_for("reset.forgot_sent"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/forgot/sent")
@public
def forgot_sent():
    return render_template("accounts/forgot_sent.html")


@bp.route("/password/set/<token>", methods=["GET", "POST"], endpoint="set_password")
@public
@limiter.limit(_client_limit, methods=["POST"])
def set_password_page(token: str):
    try:
        user_for_token(token)
    except LinkInvalid as error:
        status = error.status_for_page
        return render_template("accounts/set_password_link.html", code=error.code), status
    form = SetPasswordForm()
    done = run_form(
        form,
        lambda: set_password(token, form.new_password.data or "", form.confirm_password.data or ""),
    )
    if done:
        db.session.commit()
        # Not signed in here: an account with a second factor must still give its code.
        flash(_("Your password is set. Sign in with it."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form)
