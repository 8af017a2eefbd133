"""On-site confirmation: the owner's QR code, and the public page the confirmer opens."""

from __future__ import annotations

from flask import Blueprint, abort

from exchange.permissions import allow, public

bp = Blueprint("confirm", __name__)


# Placeholders with the endpoint names other pages link to; replaced by the real views.
@bp.route("/logs/<id:log_id>/confirmation", methods=["POST"])
@allow()
def issue(log_id: int):
    abort(501)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
def page(token: str):
    abort(501)
