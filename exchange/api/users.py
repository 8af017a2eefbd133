"""API endpoints for the administration of users (admin only)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from exchange.accounts import queries, services
from exchange.accounts.models import Role, User
from exchange.api import bp, models, serialise
from exchange.api.helpers import created, get_or_404, paginated
from exchange.api.spec import operation, parse_body
from exchange.extensions import db
from exchange.permissions import allow

TAG = "users"


def _user_input(body: models.UserInput) -> services.UserInput:
    return services.UserInput(
        email=body.email,
        name=body.name,
        role=body.role,
        department_id=body.department_id,
        enterprise_id=body.enterprise_id,
        active=body.active,
        locale=body.locale or None,
        # Absent, null or "" on an edit: the password stays as it is.
        password=body.password or None,
        # Absent on an edit: kept (the PATCH body is merged onto the user); null or "": none.
        staff_number=body.staff_number or None,
    )


@bp.get("/users")
@allow(Role.ADMIN)
@operation("List users", tag=TAG, who="admin", query=models.UserQuery,
           ok=(200, models.UserPage, "One page, by name."))  # fmt: skip
def list_users(query: models.UserQuery):
    """All users by name; ``?role=`` keeps one role, ``?q=`` searches e-mail and name."""
    stmt = queries.users_query(query.role, query.q)
    return jsonify(paginated(stmt, serialise.user, query))


@bp.post("/users")
@allow(Role.ADMIN)
@operation("Create a user", tag=TAG, who="admin", body=models.UserInput, errors=(409,),
           ok=(201, models.User, "The new user."))  # fmt: skip
def create_user(body: models.UserInput):
    user = services.create_user(current_user, _user_input(body))
    db.session.commit()
    return created(serialise.user(user), "api.get_user", user_id=user.id)


@bp.get("/users/<id:user_id>")
@allow(Role.ADMIN)
@operation("One user", tag=TAG, who="admin", ok=(200, models.User, "The user."))
def get_user(user_id: int):
    return jsonify(serialise.user(get_or_404(User, user_id)))


@bp.patch("/users/<id:user_id>")
@allow(Role.ADMIN)
@operation("Change a user", tag=TAG, who="admin", body=models.UserPatch, errors=(409,),
           ok=(200, models.User, "The user as saved."))  # fmt: skip
def update_user(user_id: int, body: models.UserInput):
    user = get_or_404(User, user_id)
    merged = {**serialise.user(user), **body.model_dump(exclude_unset=True)}
    services.update_user(current_user, user, _user_input(parse_body(models.UserInput, merged)))
    db.session.commit()
    return jsonify(serialise.user(user))
