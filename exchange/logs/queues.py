"""Work waiting for someone: logs to verify, logs to approve (with bulk approval)."""

from __future__ import annotations

from flask import Blueprint, abort

from exchange.permissions import allow

bp = Blueprint("queues", __name__, url_prefix="/logs")


# Placeholders with the endpoint names other pages link to; replaced by the real views.
@bp.route("/verify")
@allow()
def verify():
    abort(501)


@bp.route("/approve", methods=["GET", "POST"])
@allow()
def approve():
    abort(501)
