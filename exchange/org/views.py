"""Administration pages for departments, enterprises, agreements and periods."""

from __future__ import annotations

from flask import Blueprint, render_template

from exchange.accounts.models import Role
from exchange.permissions import allow

bp = Blueprint("org", __name__, url_prefix="/admin")


@bp.route("/")
@allow(Role.ADMIN)
def index():
    return render_template("admin/index.html")
