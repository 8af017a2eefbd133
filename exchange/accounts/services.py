"""Operations on people: sign-in, administration of users, API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from exchange.accounts.models import ApiToken, Role, User
from exchange.db import utcnow
from exchange.errors import PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.org.models import Department, Enterprise
from exchange.validation import FieldErrors

LOCALES = ("en", "zh_Hans")


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def users_query(role: str | None = None, search: str | None = None) -> Select[User]:
    """Users by name, optionally of one role and matching ``search`` in e-mail or name."""
    stmt = select(User).order_by(User.name, User.id)
    if role:
        stmt = stmt.where(User.role == role)
    if search:
        stmt = stmt.where(
            or_(
                User.email.contains(search.lower(), autoescape=True),
                User.name.icontains(search, autoescape=True),
            )
        )
    return stmt


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (never says which part was wrong)."""
    user = find_user_by_email(email or "")
    if user is None:
        # Spend the same time as a real check, so timing does not reveal accounts.
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


@dataclass(frozen=True)
class UserInput:
    email: str
    name: str
    role: str
    department_id: int | None = None
    enterprise_id: int | None = None
    active: bool = True
    locale: str | None = None
    password: str | None = None  # required on create, optional on edit


def _check_user(data: UserInput, *, existing: User | None) -> FieldErrors:
    errors = FieldErrors()
    email = errors.email("email", data.email)
    errors.text("name", data.name, max_length=120)
    role = errors.choice("role", data.role, [r.value for r in Role])
    if "email" not in errors:
        other = find_user_by_email(email)
        if other is not None and other is not existing:
            errors.add("email", _l("Another account already uses this e-mail address."))
    if existing is None or data.password:
        errors.password("password", data.password)
    if data.locale not in (None, "", *LOCALES):
        errors.add("locale", _l("Choose one of the offered values."))
    if "role" not in errors:
        role_enum = Role(role)
        if role_enum.needs_department:
            if data.department_id is None:
                errors.add("department_id", _l("Teachers and heads belong to a department."))
            else:
                errors.record("department_id", Department, data.department_id)
        if role_enum.needs_enterprise:
            if data.enterprise_id is None:
                errors.add("enterprise_id", _l("Experts belong to an enterprise."))
            else:
                errors.record("enterprise_id", Enterprise, data.enterprise_id)
    return errors


def _apply(user: User, data: UserInput) -> None:
    role = Role(data.role)
    user.email = data.email.strip().lower()
    user.name = data.name.strip()
    user.role = role.value
    user.department_id = data.department_id if role.needs_department else None
    user.enterprise_id = data.enterprise_id if role.needs_enterprise else None
    user.locale = data.locale or None
    if data.password:
        user.set_password(data.password)


def create_user(actor: User | None, data: UserInput) -> User:
    """Create an account; ``actor`` None means the command line (trusted)."""
    if actor is not None:
        require_admin(actor)
    _check_user(data, existing=None).raise_if_any()
    user = User(active=data.active)
    _apply(user, data)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(actor: User, user: User, data: UserInput) -> User:
    require_admin(actor)
    errors = _check_user(data, existing=user)
    if user.id == actor.id and (data.role != Role.ADMIN or not data.active):
        errors.add(
            "role" if data.role != Role.ADMIN else "active",
            _l("You cannot remove your own administrator access."),
        )
    errors.raise_if_any()
    _apply(user, data)
    set_active(actor, user, data.active)
    db.session.flush()
    return user


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivated users keep their history but cannot sign in; sessions end at once."""
    require_admin(actor)
    if user.id == actor.id and not active:
        raise ValidationError(fields={"active": _l("You cannot deactivate your own account.")})
    if user.active and not active:
        revoke_all_tokens(user)
        user.session_nonce = secrets.token_hex(8)
    user.active = active


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    errors = FieldErrors()
    if not user.check_password(current or ""):
        errors.add("current_password", _l("This is not your current password."))
    errors.password("new_password", new)
    if "new_password" not in errors and new != confirm:
        errors.add("confirm_password", _l("The two passwords differ."))
    errors.raise_if_any()
    user.set_password(new)  # rotates the session nonce: other sessions end
    db.session.flush()


def set_locale(user: User, locale: str | None) -> None:
    if locale not in (None, "", *LOCALES):
        raise ValidationError(fields={"locale": _l("Choose one of the offered values.")})
    user.locale = locale or None
    db.session.flush()


# --- API tokens -----------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    days = int(current_app.config["API_TOKEN_DAYS"])
    db.session.add(
        ApiToken(user=user, token_hash=_digest(token), expires_at=utcnow() + timedelta(days=days))
    )
    db.session.flush()
    return token


def user_for_token(token: str) -> tuple[User, ApiToken] | None:
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _digest(token))
    ).scalar_one_or_none()
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user, row


def revoke_token(token: ApiToken) -> None:
    db.session.delete(token)
    db.session.flush()


def revoke_all_tokens(user: User) -> None:
    for token in db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars():
        db.session.delete(token)
