"""The credentials' addresses: the DID document, the status lists, the badge downloads
of a certificate, and the public check of a pasted credential or badge image.

Thin: the services make and check the credentials; a view reads the request, calls
one, commits once (a credential made on first need) and answers.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from exchange.credentials import baking, document, services
from exchange.extensions import db, limiter
from exchange.i18n import _l
from exchange.links import base_url
from exchange.permissions import allow, public
from exchange.rewards import services as reward_services

bp = Blueprint("credentials", __name__)

# A person checking a badge now and then; too few to try forgeries by the thousand.
CHECK_LIMIT = "20 per minute"
MAX_PASTE = 32 * 1024  # characters: a credential is a few kilobytes
MAX_IMAGE = 512 * 1024  # bytes: our badges are a few dozen
IMAGE_TYPES = {"image/png", "image/svg+xml"}
IMAGE_SUFFIXES = (".png", ".svg")


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    g.no_store = True
    return response


# --- published for verifiers ----------------------------------------------------------------


@bp.route("/.well-known/did.json")
@bp.route("/did.json")  # did:web below a path: <base path>/did.json
@public
def did_document():
    published = services.did_document()
    db.session.commit()  # the first key, made on first need
    response = jsonify(published)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/credentials/status/<int:number>")
@public
def status_list(number: int):
    token = services.status_list_token(number)
    db.session.commit()
    response = Response(token, mimetype=services.MEDIA_TYPE)
    # A revocation counts at once: nobody keeps an old list.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- a certificate's downloads ----------------------------------------------------------------


def _credential(award_id: int):
    award = reward_services.certificate_award(current_user, award_id)
    stored = services.credential_of(award)
    db.session.commit()
    return award, stored


@bp.route("/rewards/awards/<id:award_id>/credential.jwt")
@allow()
def credential_download(award_id: int):
    award, stored = _credential(award_id)
    return _download(stored.token, services.MEDIA_TYPE, f"{award.certificate_number}.jwt")


@bp.route("/rewards/awards/<id:award_id>/badge.<any(svg, png):kind>")
@allow()
def badge_download(award_id: int, kind: str):
    award, stored = _credential(award_id)
    body, mimetype = services.badge_image(award, stored, kind)
    return _download(body, mimetype, f"{award.certificate_number}.{kind}")


# --- the public check -------------------------------------------------------------------------


class InputProblem(Exception):
    def __init__(self, message: object, status: int = 422) -> None:
        super().__init__(str(message))
        self.message, self.status = message, status


def _token_from_request() -> str:
    """The credential to check: pasted, or baked into the uploaded badge image."""
    if (request.content_length or 0) > MAX_IMAGE + MAX_PASTE * 4 + 16 * 1024:
        raise InputProblem(_l("That is too large: a badge image is at most 512 KB."), 413)
    pasted = (request.form.get("credential") or "").strip()
    upload = request.files.get("badge")
    if upload is not None and upload.filename:
        name = upload.filename.lower()
        if upload.mimetype not in IMAGE_TYPES and not name.endswith(IMAGE_SUFFIXES):
            raise InputProblem(_l("Choose a PNG or SVG badge image."))
        data = upload.stream.read(MAX_IMAGE + 1)
        if len(data) > MAX_IMAGE:
            raise InputProblem(_l("That is too large: a badge image is at most 512 KB."), 413)
        try:
            return baking.read_badge(data)
        except baking.NotABadge:
            raise InputProblem(
                _l("This image carries no Open Badges credential, or it is not a PNG or SVG image.")
            ) from None
    if pasted:
        if len(pasted) > MAX_PASTE:
            raise InputProblem(
                _l("That is too long for a credential (at most 32,000 characters)."), 413
            )
        return pasted
    raise InputProblem(_l("Paste a credential or choose a badge image."))


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.limit(CHECK_LIMIT, methods=["POST"])
def check():
    g.no_store = True
    if request.method == "GET":
        return _page()
    try:
        token = _token_from_request()
    except InputProblem as problem:
        # What was pasted stays in its box, to be corrected rather than pasted again.
        return _page(problem=problem.message, typed=request.form.get("credential", "")), (
            problem.status
        )
    return _page(result=services.check_token(token))


def _page(
    result: services.CredentialCheck | None = None, problem: object = None, typed: str = ""
) -> str:
    return render_template(
        "credentials/check.html",
        result=result,
        problem=problem,
        typed=typed,
        did_url=document.did_document_url(base_url()),
    )
