"""Two-factor sign-in (SPEC §1): time-based one-time codes (TOTP, RFC 6238, through
pyotp) and ten one-time recovery codes for a lost phone.

A code is accepted once: the time step it belongs to is kept, and an earlier or the
same step is refused afterwards (a code read over a shoulder cannot be replayed).
Recovery codes are stored as SHA-256 digests and used once. Enrolment, disabling,
the use of a recovery code and an administrator's reset are written to the
account's audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
from flask import current_app
from sqlalchemy import delete, func, select

from exchange.accounts.models import AccountEvent, RecoveryCode, User
from exchange.accounts.services import end_sessions, require_admin
from exchange.db import utcnow
from exchange.errors import Conflict, ValidationError
from exchange.extensions import db
from exchange.i18n import _l

RECOVERY_CODES = 10
# One step either side: a phone clock half a minute off still signs in.
VALID_WINDOW = 1

WRONG_CODE = _l("This code is not right. Enter the 6 digits your app shows now.")


def required_for(user: User) -> bool:
    """Whether the user's role must sign in with a second factor
    (``EXCHANGE_REQUIRE_2FA_FOR``, e.g. "admin" or "admin,head")."""
    roles = current_app.config["EXCHANGE_REQUIRE_2FA_FOR"]
    return user.role in roles


def must_enrol(user: User) -> bool:
    return required_for(user) and not user.has_two_factor


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    issuer = str(current_app.config["EXCHANGE_INSTITUTION"])
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _digits(code: str | None) -> str:
    return "".join((code or "").split())


def _matching_step(secret: str, code: str, after: int | None, now: datetime) -> int | None:
    """The time step within the window whose code is ``code`` and that comes after
    ``after`` (the last step used), or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if (after is None or step > after) and secrets.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def _audit(user: User, action: str, actor: User | None = None) -> None:
    db.session.add(
        AccountEvent(user_id=user.id, actor_id=(actor or user).id, action=action, at=utcnow())
    )


def _recovery_digest(code: str) -> str:
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_digest(code)))
    return codes


def enrol(user: User, secret: str, code: str | None) -> list[str]:
    """Turn the second factor on with the secret the person's app now holds, proven by
    a first code from it; returns the recovery codes (shown once, stored hashed).
    Every other session of the person ends: they were signed in with one factor."""
    if user.has_two_factor:
        raise Conflict(_l("Two-factor sign-in is already on."))
    step = _matching_step(secret, _digits(code), None, utcnow())
    if step is None:
        raise ValidationError(fields={"code": WRONG_CODE})
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, utcnow(), step
    codes = _new_recovery_codes(user)
    _audit(user, "two_factor_enrolled")
    end_sessions(user, keep=user.session_key)
    db.session.flush()
    return codes


def verify(user: User, code: str | None) -> bool:
    """Whether ``code`` is the person's current one-time code or an unused recovery
    code; either is used up by a successful check."""
    if not user.has_two_factor or not user.totp_secret:
        return False
    typed = _digits(code)
    step = _matching_step(user.totp_secret, typed, user.totp_last_step, utcnow())
    if step is not None:
        user.totp_last_step = step
        db.session.flush()
        return True
    if not typed or len(typed) > 40:
        return False
    recovery = db.session.execute(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_digest(typed),
            RecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    _audit(user, "recovery_code_used")
    db.session.flush()
    return True


def recovery_codes_left(user: User) -> int:
    return db.session.execute(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def _clear(user: User) -> None:
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, password: str | None) -> None:
    """The person turns their own second factor off, with their password, unless
    their role requires it."""
    if required_for(user):
        raise Conflict(_l("Your role requires two-factor sign-in: it cannot be turned off."))
    if not user.check_password(password or ""):
        raise ValidationError(fields={"password": _l("This is not your current password.")})
    _clear(user)
    _audit(user, "two_factor_disabled")
    db.session.flush()


def reset(actor: User, user: User) -> None:
    """An administrator removes a person's second factor (a lost phone, no recovery
    codes left): the person signs in with the password and enrols again. Audited;
    the person's sessions and tokens end."""
    require_admin(actor)
    if not user.has_two_factor:
        raise Conflict(_l("This person does not use two-factor sign-in."))
    _clear(user)
    _audit(user, "two_factor_reset", actor)
    end_sessions(user)
    db.session.flush()


def events(user: User) -> list[AccountEvent]:
    """The account's audit trail, newest first."""
    return list(
        db.session.execute(
            select(AccountEvent)
            .where(AccountEvent.user_id == user.id)
            .order_by(AccountEvent.at.desc(), AccountEvent.id.desc())
        ).scalars()
    )
