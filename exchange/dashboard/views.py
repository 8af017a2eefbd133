"""Home page for every signed-in user, and the health check for operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user

from exchange.dashboard.queries import database_reachable
from exchange.extensions import limiter
from exchange.logs.queries import approved_minutes_by_period, needs_attention
from exchange.logs.services import log_kind_for
from exchange.logs.views import queue_counts_of_request
from exchange.org import queries as org_queries
from exchange.permissions import allow, public
from exchange.rewards import queries as rewards_queries
from exchange.rewards import services as rewards
from exchange.timeutil import college_today

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@allow()
def index():
    today = college_today()
    period = org_queries.period_on(today)
    expiring = []
    if current_user.role in ("head", "admin"):
        expiring = org_queries.agreements_expiring(today)
    return render_template(
        "dashboard/index.html",
        period=period,
        today=today,
        expiring=expiring,
        logs_hours=log_kind_for(current_user.role) is not None,
        attention=needs_attention(current_user),
        standings=rewards.progress(current_user, period) if period else [],
        counts=queue_counts_of_request(),
        earlier=approved_minutes_by_period(current_user, period),
        awards=rewards_queries.recent_awards(current_user),
    )


@bp.route("/favicon.ico")
@public
@limiter.exempt
def favicon():
    return send_from_directory(
        current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@bp.route("/healthz")
@public
@limiter.exempt
def healthz():
    if not database_reachable():
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
