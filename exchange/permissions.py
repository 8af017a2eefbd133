"""Who may open which address: every view declares it, and a test checks that.

``public`` views need nobody; ``allow()`` needs a signed-in user; ``allow(Role.ADMIN)``
needs one of the roles. Anonymous visitors are sent to the login page (pages) or
answered 401 (API); signed-in users without the role get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed-in"


def public(view: F) -> F:
    view.permission = PUBLIC  # type: ignore[attr-defined]
    return view


def allow(*roles: Role) -> Callable[[F], F]:
    allowed = frozenset(r.value for r in roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return login_manager.unauthorized()
            if allowed and current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.permission = allowed or SIGNED_IN  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def permission_of(view: Callable[..., Any]) -> object:
    return getattr(view, "permission", None)
