"""Reads of accounts that pages and the API share: one function for each list, so
that the two faces cannot choose differently."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from exchange.accounts.models import User
from exchange.extensions import db


def users_query(
    role: str | None = None, search: str | None = None, *, with_places: bool = False
) -> Select[User]:
    """Users by name, optionally of one role and matching ``search`` in e-mail, name or
    staff number; ``with_places`` loads each one's department and enterprise too."""
    stmt = select(User).order_by(User.name, User.id)
    if role:
        stmt = stmt.where(User.role == role)
    if search:
        stmt = stmt.where(
            or_(
                User.email.contains(search.lower(), autoescape=True),
                User.name.icontains(search, autoescape=True),
                User.staff_number.contains(search.upper(), autoescape=True),
            )
        )
    if with_places:
        stmt = stmt.options(selectinload(User.department), selectinload(User.enterprise))
    return stmt


def user_by_id(user_id: int) -> User | None:
    """The user with this id, if there is one."""
    return db.session.get(User, user_id)
