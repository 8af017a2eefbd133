"""The JSON API (`/api/v1`): a thin face over the same services as the pages.

Unknown addresses and wrong methods under /api/ get the JSON error body from
exchange.errors (it looks at the path), so there is no catch-all route here: a
catch-all would also match real addresses called with a wrong method and turn
their 405 into a 404.
"""

from flask import Blueprint, Response

from exchange.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.after_request
def bearer_challenge(response: Response) -> Response:
    # RFC 6750: a 401 names the scheme the client should use.
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="exchange"')
    return response


from exchange.api import logs, openapi, org, rewards, users, views  # noqa: E402,F401  (routes register on import)
