"""API endpoints for the administration of users (admin only)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from exchange.accounts import queries, services
from exchange.accounts.models import Role, User
from exchange.api import bp, serialise
from exchange.api.helpers import (
    Fields,
    created,
    get_or_404,
    json_body,
    paginated,
    patch_body,
    query_choice,
    query_text,
)
from exchange.extensions import db
from exchange.permissions import allow


def _user_input(data: dict[str, Any]) -> services.UserInput:
    fields = Fields(data)
    parsed = services.UserInput(
        email=fields.str("email"),
        name=fields.str("name"),
        role=fields.str("role"),
        department_id=fields.int("department_id"),
        enterprise_id=fields.int("enterprise_id"),
        active=fields.bool("active", True),
        locale=fields.str("locale") or None,
        # Absent, null or "" on an edit: the password stays as it is.
        password=fields.str("password") or None,
        # Absent on an edit: kept (the PATCH body is merged onto the user); null or "": none.
        staff_number=fields.str("staff_number") or None,
    )
    fields.check()
    return parsed


@bp.get("/users")
@allow(Role.ADMIN)
def list_users():
    """All users by name; ``?role=`` keeps one role, ``?q=`` searches e-mail and name."""
    role = query_choice("role", (r.value for r in Role))
    stmt = queries.users_query(role, query_text("q"))
    return jsonify(paginated(stmt, serialise.user))


@bp.post("/users")
@allow(Role.ADMIN)
def create_user():
    user = services.create_user(current_user, _user_input(json_body()))
    db.session.commit()
    return created(serialise.user(user), "api.get_user", user_id=user.id)


@bp.get("/users/<id:user_id>")
@allow(Role.ADMIN)
def get_user(user_id: int):
    return jsonify(serialise.user(get_or_404(User, user_id)))


@bp.patch("/users/<id:user_id>")
@allow(Role.ADMIN)
def update_user(user_id: int):
    user = get_or_404(User, user_id)
    _, data = patch_body(serialise.user(user))
    services.update_user(current_user, user, _user_input(data))
    db.session.commit()
    return jsonify(serialise.user(user))
