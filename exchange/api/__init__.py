"""The JSON API (`/api/v1`): a thin face over the same services as the pages."""

from flask import Blueprint

from exchange.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

from exchange.api import views  # noqa: E402,F401  (routes register on import)
