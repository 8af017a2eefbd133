"""Reward rules (admin), eligibility (heads and admins) and the finance exports."""

from __future__ import annotations

from flask import Blueprint, abort

from exchange.permissions import allow

bp = Blueprint("rules", __name__)


# Placeholders with the endpoint names other pages link to; replaced by the real views.
@bp.route("/admin/rules")
@allow()
def index():
    abort(501)


@bp.route("/rewards/eligibility")
@allow()
def eligibility():
    abort(501)


@bp.route("/rewards/rounds/<id:round_id>/<any(payout, honours):sheet>.<any(csv, xlsx):fmt>")
@allow()
def round_export(round_id: int, sheet: str, fmt: str):
    abort(501)
