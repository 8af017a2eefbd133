"""Home page for every signed-in user, and the health check for operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from exchange.extensions import db, limiter
from exchange.org.services import expiring_agreements, period_for
from exchange.permissions import allow, public
from exchange.timeutil import college_today

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@allow()
def index():
    today = college_today()
    expiring = []
    if current_user.role in ("head", "admin"):
        expiring = db.session.execute(expiring_agreements(today)).scalars().all()
    return render_template(
        "dashboard/index.html", period=period_for(today), today=today, expiring=expiring
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
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
