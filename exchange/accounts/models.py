"""Users and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from exchange.db import AppendOnly, Base, TimestampMixin, utcnow
from exchange.org.models import Department, Enterprise, _in


class Role(StrEnum):
    TEACHER = "teacher"
    EXPERT = "expert"
    HEAD = "head"
    ADMIN = "admin"

    @property
    def needs_department(self) -> bool:
        return self in (Role.TEACHER, Role.HEAD)

    @property
    def needs_enterprise(self) -> bool:
        return self is Role.EXPERT


# Tests lower the work factor; production keeps werkzeug's default (scrypt).
PASSWORD_METHOD = "scrypt"  # noqa: S105 - a hashing method, not a password


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(_in("role", Role), name="role"),
        CheckConstraint(
            "(role IN ('teacher', 'head') AND department_id IS NOT NULL AND enterprise_id IS NULL)"
            " OR (role = 'expert' AND enterprise_id IS NOT NULL AND department_id IS NULL)"
            " OR (role = 'admin' AND department_id IS NULL AND enterprise_id IS NULL)",
            name="affiliation",
        ),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    # The college's own staff number (工号), for finance's payout sheet; unique when set.
    staff_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    # "E-mail me a daily digest" (account settings): the reminders of waiting work. On
    # for everybody, also for rows written by plain SQL (a bulk load).
    email_digest: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Two-factor sign-in (TOTP): the shared secret once enrolment is confirmed, and the
    # last time step used, so that a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # A salted hash of the address the person last signed in from (never the address):
    # an on-site confirmation from there is flagged (SPEC §6, ``self_confirmed``).
    sign_in_address_hash: Mapped[str | None] = mapped_column(String(64))

    department: Mapped[Department | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    # The key of the session this object was loaded for (set by the login machinery,
    # never stored): Flask-Login keeps ``get_id()`` in the session and the remember
    # cookie, so both name the session row, and ending the row ends both.
    session_key = None  # type: str | None

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot sign in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key or ''}"

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(TimestampMixin, Base):
    """A bearer token; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class UserSession(TimestampMixin, Base):
    """One signed-in browser (SPEC §1): its cookie carries a random key, of which only
    the SHA-256 digest is stored. Signing out, a password change or reset and a change
    of role or affiliation delete rows, and the cookies naming them stop working."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime]


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor (a lost phone); hashed."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class AccountEvent(AppendOnly, Base):
    """The audit trail of an account's security: second factor enrolled or reset, …
    Written once, never changed (see :class:`AppendOnly`)."""

    __tablename__ = "account_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
