"""Reward rounds, award decisions, certificates and the public certificate check."""

from __future__ import annotations

from flask import Blueprint, abort

from exchange.permissions import allow, public

bp = Blueprint("rewards", __name__)


# Placeholders with the endpoint names other pages link to; replaced by the real views.
@bp.route("/rewards/rounds")
@allow()
def rounds():
    abort(501)


@bp.route("/rewards/rounds/<id:round_id>")
@allow()
def round_detail(round_id: int):
    abort(501)


@bp.route("/rewards/awards/<id:award_id>/certificate")
@allow()
def certificate(award_id: int):
    abort(501)


@bp.route("/verify/<code>")
@public
def verify(code: str):
    abort(501)
