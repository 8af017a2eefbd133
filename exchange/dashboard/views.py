"""Home page for every signed-in user, and the health check for operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from exchange.extensions import db, limiter
from exchange.logs.models import ExchangeLog
from exchange.logs.services import log_kind_for, queue_counts
from exchange.logs.workflow import Status
from exchange.org.models import Agreement, Period
from exchange.org.services import expiring_agreements, period_for
from exchange.permissions import allow, public
from exchange.rewards import services as rewards
from exchange.timeutil import college_today

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@allow()
def index():
    today = college_today()
    period = period_for(today)
    expiring = []
    if current_user.role in ("head", "admin"):
        expiring = (
            db.session.execute(
                expiring_agreements(today).options(selectinload(Agreement.enterprise))
            )
            .scalars()
            .all()
        )
    return render_template(
        "dashboard/index.html",
        period=period,
        today=today,
        expiring=expiring,
        logs_hours=log_kind_for(current_user.role) is not None,
        standings=rewards.progress(current_user, period) if period else [],
        counts=queue_counts(current_user),
        earlier=_earlier_periods(period),
        awards=db.session.execute(rewards.awards_of(current_user).limit(20)).scalars().all(),
    )


def _earlier_periods(current: Period | None) -> list[tuple[Period, int]]:
    """Approved minutes of the user in each earlier period, newest first (one query)."""
    approved = func.sum(ExchangeLog.minutes)
    stmt = (
        select(Period, approved)
        .join(ExchangeLog, ExchangeLog.period_id == Period.id)
        .where(ExchangeLog.owner_id == current_user.id, ExchangeLog.status == Status.APPROVED)
        .group_by(Period.id)
        .order_by(Period.starts_on.desc())
    )
    if current is not None:
        stmt = stmt.where(Period.id != current.id)
    return [(period, int(minutes)) for period, minutes in db.session.execute(stmt)]


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
