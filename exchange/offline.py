"""Working without a network: the service worker and what it needs from the server.

The worker (``templates/sw.js``, answered at ``/sw.js`` so that its scope is the
whole site) keeps the app shell, and the pages a signed-in person saw, to show
them again offline; "Log hours" saved offline waits on the phone
(``static/offline.js``) and is sent when the network returns, exactly once by its
``client_id`` (``exchange.logs.services.create_log``).

Pages are kept per signed-in session, never across people: every signed-in page
names its session to the worker in ``SESSION_HEADER`` (a keyed digest of the
session, which tells nothing about it), and the worker keeps one cache per name,
forgetting the others as soon as it sees another name or none (signed out,
session ended). Entries waiting to be sent carry ``OWNER_HEADER``'s value, and
are only ever sent in a session of that same person.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, Flask, Response, current_app, request, url_for
from flask_login import current_user

from exchange.extensions import limiter
from exchange.i18n import _
from exchange.logs import evidence as evidence_rules
from exchange.permissions import public

bp = Blueprint("offline", __name__)

SESSION_HEADER = "X-Exchange-Session"
OWNER_HEADER = "X-Exchange-Owner"
# Pages the worker must not keep even for their own session: secrets shown once.
KEEP_HEADER = "X-Exchange-Keep"
NOT_KEPT = frozenset({"accounts.two_factor_setup"})

# The static files every page needs: kept by the worker when it installs.
SHELL_FILES = (
    "app.css",
    "app.js",
    "offline.js",
    "favicon.svg",
    "icon-192.png",
    "manifest.webmanifest",
)


def _digest(purpose: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def session_name() -> str | None:
    """The signed-in session's name for the worker's cache, or None when nobody is
    signed in."""
    if not current_user.is_authenticated or not current_user.session_key:
        return None
    return _digest("offline-session", f"{current_user.id}:{current_user.session_key}")


def owner_name() -> str | None:
    """The signed-in person's name for their waiting entries (the same in every
    session of theirs, so that an entry made before a sign-out is sent after the
    next sign-in, and by nobody else)."""
    if not current_user.is_authenticated:
        return None
    return _digest("offline-owner", str(current_user.id))


def shell_urls() -> list[str]:
    """The static files to keep, through ``url_for`` so that they follow the static
    files' addresses (a version in the URL changes the worker, which then renews them)."""
    return [url_for("static", filename=name) for name in SHELL_FILES]


def page_urls() -> list[str]:
    """The pages a signed-in session keeps from its start: home, the log form and
    My logs (a role that has no such page simply gets none)."""
    return [url_for("dashboard.index"), url_for("logs.new"), url_for("logs.mine")]


def page_texts() -> dict[str, str]:
    """What ``static/offline.js`` says on a page, in the page's language."""
    return {
        "offline": _("Offline — showing what you saw last."),
        "online": _("Back online."),
        "reload": _("Reload"),
        "needsNetwork": _("Needs a connection"),
        "saved": _("Saved on this phone: it will be sent when you are back online."),
        "waitingTitle": _("Waiting to send"),
        "waiting": _("Waiting to send"),
        "refused": _("Not accepted:"),
        "signIn": _("Sign in again to send them."),
        "fix": _("Open to fix"),
        "discard": _("Discard"),
        "discardConfirm": _("Discard this entry? It has not been sent."),
        "hours": _("%(hours)s h", hours="{hours}"),
        "tooLarge": _("The file is larger than 5 MB: choose a smaller one."),
        "fixing": _("Not accepted yet: correct it and save again."),
        "notFound": _("This entry is no longer on this phone."),
    }


def offline_config() -> dict[str, object]:
    """The page script's settings and texts (a JSON block in base.html)."""
    return {
        "worker": url_for("offline.service_worker"),
        "logForm": url_for("logs.new"),
        "myLogs": url_for("logs.mine"),
        "owner": owner_name(),
        "maxBytes": evidence_rules.MAX_BYTES,
        "text": page_texts(),
    }


@bp.route("/sw.js")
@public
@limiter.exempt
def service_worker() -> Response:
    # Not render_template: the page context (the navigation's counts) is not wanted here.
    script = current_app.jinja_env.get_template("sw.js").render(
        config={
            "shell": shell_urls(),
            "pages": page_urls(),
            "logForm": url_for("logs.new"),
            "logout": url_for("accounts.logout"),
            "myLogs": url_for("logs.mine"),
            "offlineScript": url_for("static", filename="offline.js"),
            "maxBytes": evidence_rules.MAX_BYTES,
        },
    )
    response = Response(script, mimetype="text/javascript")
    # Browsers check for a new worker at most once a day unless told otherwise;
    # no-cache makes every check ask the server (which answers 304 if unchanged).
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)  # 304 when the browser's copy is current
    return response


def register(app: Flask) -> None:
    """The worker's route, the session names on signed-in pages and the page settings."""
    app.register_blueprint(bp)

    @app.after_request
    def name_the_session(response: Response) -> Response:
        if response.mimetype == "text/html":
            name = session_name()
            if name is not None:
                response.headers[SESSION_HEADER] = name
                response.headers[OWNER_HEADER] = owner_name() or ""
                if request.endpoint in NOT_KEPT:
                    response.headers[KEEP_HEADER] = "no"
        return response

    @app.context_processor
    def offline_settings() -> dict[str, object]:
        return {"offline_config": offline_config}
