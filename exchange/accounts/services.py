"""Operations on people: sign-in, administration of users, API tokens."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from exchange import signing
from exchange.accounts.models import ApiToken, Role, User, UserSession
from exchange.db import utcnow
from exchange.errors import PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.org.models import Department, Enterprise
from exchange.validation import FieldErrors

LOCALES = ("en", "zh_Hans")

STAFF_NUMBER_MAX = 32  # the column's length
# ASCII letters and digits, with - and / as separators inside ("T2019034", "HR/2019-034"):
# what college personnel systems print, and nothing that looks like another character
# (full-width digits, spaces) so that one number cannot be entered twice in two spellings.
STAFF_NUMBER_PATTERN = re.compile(r"[A-Z0-9](?:[A-Z0-9/-]*[A-Z0-9])?")


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def find_user_by_staff_number(staff_number: str) -> User | None:
    """The user with this staff number (as normalised by ``normalise_staff_number``)."""
    return db.session.execute(
        select(User).where(User.staff_number == staff_number)
    ).scalar_one_or_none()


def normalise_staff_number(value: str | None) -> str | None:
    """A staff number as stored: trimmed and upper-cased (so "t2019034" and "T2019034"
    are one number for the unique constraint); empty means none."""
    cleaned = (value or "").strip().upper()
    return cleaned or None


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
    staff_number: str | None = None  # the college's 工号; empty or None: none


EMAIL_TAKEN = _l("Another account already uses this e-mail address.")
STAFF_NUMBER_TAKEN = _l("Another account already has this staff number.")


@dataclass(frozen=True)
class KnownUsers:
    """Accounts looked up once for the checks of many people (a staff import), by
    e-mail address and staff number: two queries instead of two for every person."""

    by_email: dict[str, User]
    by_staff_number: dict[str, User]

    @classmethod
    def load(cls, emails: Iterable[str], staff_numbers: Iterable[str | None]) -> KnownUsers:
        wanted_emails = sorted({e.strip().lower() for e in emails if e})
        wanted_numbers = sorted({n for n in map(normalise_staff_number, staff_numbers) if n})
        by_email: dict[str, User] = {}
        by_number: dict[str, User] = {}
        for chunk in _chunks(wanted_emails):
            for user in db.session.execute(select(User).where(User.email.in_(chunk))).scalars():
                by_email[user.email] = user
        for chunk in _chunks(wanted_numbers):
            found = db.session.execute(select(User).where(User.staff_number.in_(chunk)))
            for user in found.scalars():
                by_number[user.staff_number or ""] = user
        return cls(by_email, by_number)

    def email(self, email: str) -> User | None:
        return self.by_email.get(email.strip().lower())

    def staff_number(self, staff_number: str) -> User | None:
        return self.by_staff_number.get(staff_number)


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    return (values[start : start + size] for start in range(0, len(values), size))


def _check_staff_number(
    errors: FieldErrors, value: str | None, existing: User | None, known: KnownUsers | None
) -> None:
    staff_number = normalise_staff_number(value)
    if staff_number is None:
        return
    if len(staff_number) > STAFF_NUMBER_MAX:
        errors.add("staff_number", _l("At most %(max)d characters.", max=STAFF_NUMBER_MAX))
    # ASCII before upper-casing: "ſ".upper() is "S", and would pass as another spelling.
    elif not (value or "").strip().isascii() or not STAFF_NUMBER_PATTERN.fullmatch(staff_number):
        errors.add(
            "staff_number",
            _l("Use Latin letters, digits, - and / only, starting and ending with a letter "
               "or digit."),
        )  # fmt: skip
    else:
        other = (known.staff_number if known else find_user_by_staff_number)(staff_number)
        if other is not None and other is not existing:
            errors.add("staff_number", STAFF_NUMBER_TAKEN)


def _check_user(
    data: UserInput, *, existing: User | None, known: KnownUsers | None = None
) -> FieldErrors:
    errors = FieldErrors()
    email = errors.email("email", data.email)
    errors.text("name", data.name, max_length=120)
    role = errors.choice("role", data.role, [r.value for r in Role])
    if "email" not in errors:
        other = (known.email if known else find_user_by_email)(email)
        if other is not None and other is not existing:
            errors.add("email", EMAIL_TAKEN)
    _check_staff_number(errors, data.staff_number, existing, known)
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
    user.staff_number = normalise_staff_number(data.staff_number)
    if data.password:
        user.set_password(data.password)


def _taken_fields(user_id: int | None, data: UserInput) -> dict[str, object]:
    """The unique values of ``data`` that an account other than ``user_id`` holds, as
    field errors."""
    taken: dict[str, object] = {}
    others = select(User.id).where(User.id != user_id) if user_id else select(User.id)
    email = data.email.strip().lower()
    if db.session.execute(others.where(User.email == email)).first():
        taken["email"] = EMAIL_TAKEN
    staff_number = normalise_staff_number(data.staff_number)
    if staff_number and db.session.execute(others.where(User.staff_number == staff_number)).first():
        taken["staff_number"] = STAFF_NUMBER_TAKEN
    return taken


def _store(user_id: int | None, data: UserInput, write: Callable[[], None]) -> None:
    """Run ``write`` (which stores ``data``) and flush it in a savepoint.

    The checks above read before writing: another admin can store the same e-mail
    address or staff number in between (two forms sent at once). The unique
    constraints then refuse this write, and the loser hears which field is taken,
    as if the check had seen it, rather than a bare conflict.
    """
    try:
        with db.session.begin_nested():
            write()
            db.session.flush()
    except IntegrityError:
        taken = _taken_fields(user_id, data)
        if not taken:
            raise  # another constraint: the error handler answers with a conflict
        raise ValidationError(fields=taken) from None


def create_user(actor: User | None, data: UserInput) -> User:
    """Create an account; ``actor`` None means the command line (trusted)."""
    if actor is not None:
        require_admin(actor)
    _check_user(data, existing=None).raise_if_any()
    user = User(active=data.active)
    _apply(user, data)
    _store(None, data, lambda: db.session.add(user))
    return user


def update_user(actor: User, user: User, data: UserInput, known: KnownUsers | None = None) -> User:
    """``known``: accounts already looked up for a batch of changes (an import)."""
    require_admin(actor)
    errors = _check_user(data, existing=user, known=known)
    if user.id == actor.id and (data.role != Role.ADMIN or not data.active):
        errors.add(
            "role" if data.role != Role.ADMIN else "active",
            _l("You cannot remove your own administrator access."),
        )
    errors.raise_if_any()

    def write() -> None:
        before = _standing(user)
        _apply(user, data)
        set_active(actor, user, data.active)
        if data.password or _standing(user) != before:
            # A reset password, or rights that follow the role and affiliation: what
            # was signed in or issued under the old ones must not carry on.
            end_sessions(user)

    _store(user.id, data, write)
    return user


def _standing(user: User) -> tuple[str, int | None, int | None]:
    return user.role, user.department_id, user.enterprise_id


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivated users keep their history but cannot sign in; sessions end at once."""
    require_admin(actor)
    if user.id == actor.id and not active:
        raise ValidationError(fields={"active": _l("You cannot deactivate your own account.")})
    if user.active and not active:
        end_sessions(user)
    user.active = active


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    errors = FieldErrors()
    if not user.check_password(current or ""):
        errors.add("current_password", _l("This is not your current password."))
    errors.password("new_password", new)
    if "new_password" not in errors and new != confirm:
        errors.add("confirm_password", _l("The two passwords differ."))
    errors.raise_if_any()
    user.set_password(new)
    end_sessions(user, keep=user.session_key)  # a stolen cookie or token ends here
    db.session.flush()


def set_locale(user: User, locale: str | None) -> None:
    if locale not in (None, "", *LOCALES):
        raise ValidationError(fields={"locale": _l("Choose one of the offered values.")})
    user.locale = locale or None
    db.session.flush()


def set_email_digest(user: User, wanted: bool) -> None:
    """Whether ``user`` gets the daily digest of waiting work (``send-reminders``)."""
    user.email_digest = bool(wanted)
    db.session.flush()


# --- API tokens -----------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, address: str | None = None) -> str:
    """A new API token; ``address`` is the client's (see ``note_sign_in_address``)."""
    note_sign_in_address(user, address)
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


# --- sessions ------------------------------------------------------------------

# "Keep me signed in" lasts at most this long; so does any other session (SPEC §1).
SESSION_DAYS = 14


def start_session(user: User, remember: bool, address: str | None = None) -> str:
    """A new signed-in session for ``user``: its key goes into the cookies (through
    ``user.get_id()``), its digest into the database. ``address`` is the client's:
    its salted hash is kept as where the person last signed in from."""
    note_sign_in_address(user, address)
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            key_hash=_digest(key),
            remember=remember,
            expires_at=utcnow() + timedelta(days=SESSION_DAYS),
        )
    )
    db.session.flush()
    user.session_key = key
    return key


def note_sign_in_address(user: User, address: str | None) -> None:
    """Keep where ``user`` signs in from, as a salted hash (SPEC §6: an on-site
    confirmation from the network the owner last signed in from is flagged)."""
    if address:
        user.sign_in_address_hash = signing.address_hash(address)


@functools.cache
def _session_user_statement() -> Any:
    """Built once per process: every signed-in request runs it with its own values."""
    return (
        select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.key_hash == bindparam("key_hash"),
            UserSession.user_id == bindparam("user_id"),
        )
    )


def user_for_session(user_id: int, key: str) -> User | None:
    """The active user whose live session ``key`` names, or None (one query: every
    signed-in request asks it)."""
    row = db.session.execute(
        _session_user_statement(), {"key_hash": _digest(key), "user_id": user_id}
    ).one_or_none()
    if row is None or row.expires_at <= utcnow():
        return None
    user = row.User
    if not user.active:
        return None
    user.session_key = key
    return user


def end_session(user: User) -> None:
    """Sign out: the session's cookies (session and remember-me) stop working, on
    every device they were copied to."""
    if user.session_key:
        db.session.execute(
            delete(UserSession).where(UserSession.key_hash == _digest(user.session_key))
        )
        user.session_key = None


def end_sessions(user: User, keep: str | None = None) -> None:
    """End every session of ``user`` (but the one ``keep`` names) and revoke every API
    token: after a password change or reset, deactivation, or a change of role,
    department or enterprise, nothing issued before is usable."""
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        stmt = stmt.where(UserSession.key_hash != _digest(keep))
    db.session.execute(stmt)
    revoke_all_tokens(user)


def revoke_all_tokens(user: User) -> None:
    for token in db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars():
        db.session.delete(token)


# --- accounts made by the staff import ---------------------------------------------------


def unusable_password_hash() -> str:
    """A stored password that no password matches ("!" names no hashing method, so
    werkzeug's check says no at once), random so that no two accounts share it."""
    return "!" + secrets.token_urlsafe(24)


def create_invited_user(
    actor: User | None, data: UserInput, known: KnownUsers | None = None
) -> User:
    """Create an account that waits for its owner to set a password through the e-mailed
    link (staff import, SPEC §8): the checks of ``create_user`` but the password's, and
    an unusable password until then. ``data.password`` is not used.

    No password is hashed: an import of two thousand people must not spend two thousand
    slow hashes on passwords nobody will ever type."""
    if actor is not None:
        require_admin(actor)
    errors = _check_user(data, existing=None, known=known)
    errors.fields.pop("password", None)
    errors.raise_if_any()
    user = User(active=data.active)
    _apply(user, replace(data, password=None))
    user.password_hash = unusable_password_hash()
    _store(None, data, lambda: db.session.add(user))
    return user
