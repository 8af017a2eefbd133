"""Pages for one's own logs: log hours, my logs, a log with its timeline, its actions."""

from __future__ import annotations

from flask import Blueprint, abort

from exchange.permissions import allow

bp = Blueprint("logs", __name__, url_prefix="/logs")


# Placeholders with the endpoint names other pages link to; replaced by the real views.
@bp.route("/new", methods=["GET", "POST"])
@allow()
def new():
    abort(501)


@bp.route("/")
@allow()
def mine():
    abort(501)


@bp.route("/<id:log_id>")
@allow()
def detail(log_id: int):
    abort(501)


@bp.route("/<id:log_id>/<any(submit, withdraw, verify, reject, approve, revoke):action>",
          methods=["POST"])  # fmt: skip
@allow()
def act(log_id: int, action: str):
    abort(501)
