"""API endpoints: tokens and the caller."""

from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_login import current_user

from exchange.accounts import services as accounts
from exchange.accounts import two_factor
from exchange.api import bp, models, serialise
from exchange.api.spec import operation
from exchange.errors import DomainError, PermissionDenied
from exchange.extensions import db, limiter
from exchange.i18n import _l
from exchange.permissions import allow, public


class InvalidCredentials(DomainError):
    status = 401
    code = "unauthorized"


def _login_limit() -> str:
    return str(current_app.config["EXCHANGE_LOGIN_LIMIT"])


@bp.route("/tokens", methods=["POST"])
@public
@limiter.limit(_login_limit)
@operation(
    "Get a bearer token",
    tag="auth",
    who="public",
    description="Send it as `Authorization: Bearer <token>`. Rate limited. An account with "
    "two-factor sign-in also sends `code` (401 naming `code` when it is missing or wrong); a "
    "role that must use a second factor and has not set it up gets 403.",
    body=models.TokenRequest,
    errors=(401, 403, 429),
    ok=(201, models.Token, "A new token."),
)
def create_token(body: models.TokenRequest):
    email, password, code = body.email, body.password, body.code or ""
    user = accounts.authenticate(email, password)
    if user is None:
        raise InvalidCredentials(_l("The e-mail address or password is not right."))
    if user.has_two_factor and not two_factor.verify(user, code):
        raise InvalidCredentials(
            _l("This account signs in with a second factor: give its current code."),
            fields={"code": two_factor.WRONG_CODE},
        )
    if two_factor.must_enrol(user):
        raise PermissionDenied(_l("Your role signs in with a second factor: set it up first."))
    token = accounts.issue_token(user, request.remote_addr)
    db.session.commit()
    return jsonify(token=token), 201


@bp.route("/tokens/current", methods=["DELETE"])
@allow()
@operation("Revoke the token used for this call", tag="auth", who="any", ok=(204, None, "Revoked."))
def revoke_current_token():
    accounts.revoke_token(g.api_token)
    db.session.commit()
    return "", 204


@bp.route("/me")
@allow()
@operation("The caller", tag="auth", who="any", ok=(200, models.Me, "The signed-in user."))
def me():
    body = serialise.user(current_user)
    body["department"] = (
        serialise.department(current_user.department) if current_user.department else None
    )
    body["enterprise"] = (
        {
            "id": current_user.enterprise.id,
            "code": current_user.enterprise.code,
            "name": current_user.enterprise.name,
        }
        if current_user.enterprise
        else None
    )
    return jsonify(body)
