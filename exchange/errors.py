"""One family of domain errors and one place that turns them into responses.

Services raise these; views turn them into form errors or flashes, the API
into the JSON error body of SPEC §7.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from exchange.extensions import db
from exchange.i18n import _l
from exchange.request_id import current_request_id


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message: Any = _l("The request could not be processed.")

    def __init__(
        self,
        message: Any = None,
        fields: dict[str, Any] | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        # Machine-readable facts a client needs to act on the error (e.g. a date).
        self.details = details or {}
        # Kept lazy: the language is chosen when the message is shown, not raised.
        super().__init__(self.message)

    @property
    def generic(self) -> bool:
        """Whether the error says only what its kind says (no particular message)."""
        return self.message is self.default_message


class ValidationError(DomainError):
    status = 422
    code = "validation_error"
    default_message: Any = _l("Please correct the highlighted fields.")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message: Any = _l("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message: Any = _l("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message: Any = _l("This record has changed in the meantime. Reload and try again.")


def flush_or_conflict() -> None:
    """Write now; someone else's change in between is a Conflict. The caller's
    error handling rolls back (the whole request, or one savepoint of a bulk)."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def error_body(
    code: str,
    message: Any,
    fields: dict[str, Any] | None = None,
    details: dict[str, str] | None = None,
) -> dict[str, Any]:
    # "fields" is always there (empty when no single field is at fault), so
    # clients can read error.fields.<name> without checking for it first.
    body: dict[str, Any] = {
        "code": code,
        "message": str(message),
        "fields": {name: str(text) for name, text in (fields or {}).items()},
    }
    if details:
        body["details"] = details
    # The id this request is logged under, for a person to quote when reporting it.
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    return {"error": body}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> None:
        # No field has a use for NUL, and PostgreSQL cannot store it: refuse it
        # here once rather than as a database error in every form.
        if "\x00" in request.path:
            abort(404)
        for values in (request.args, request.form):
            if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
                abort(400, description="The request contains a NUL character.")

    @app.errorhandler(IntegrityError)
    @app.errorhandler(StaleDataError)
    def lost_race(error: Exception):  # type: ignore[no-untyped-def]
        # A race that slipped past a service's check (a unique value taken, a
        # versioned row changed) and surfaced at commit: the database kept its
        # promise, and the loser is told the data changed.
        db.session.rollback()
        return domain_error(Conflict())

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if wants_json():
            body = error_body(error.code, error.message, error.fields, error.details)
            return jsonify(body), error.status
        return (
            render_template("errors/error.html", status=error.status, message=error.message),
            error.status,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if wants_json():
            code = HTTP_CODES.get(status, "error")
            response = jsonify(error_body(code, error.description or error.name))
            if status == 405 and error.get_response().headers.get("Allow"):
                response.headers["Allow"] = error.get_response().headers["Allow"]
            return response, status
        return (
            render_template(
                "errors/error.html",
                status=status,
                message=error.description,
                request_id=current_request_id(),
            ),
            status,
        )

    @app.errorhandler(Exception)
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
        # Anything no handler above expected (HTTP errors, domain errors and lost
        # races have theirs). Tests and the debugger want the exception itself, as
        # Flask gives it them without this handler.
        propagate = app.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = app.testing or app.debug
        if propagate:
            raise error
        request_id = current_request_id()
        current_app.logger.error(
            "Unexpected error on %s %s (request %s)",
            request.method,
            request.path,
            request_id,
            exc_info=error,
        )
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the database may be what failed
            current_app.logger.exception("Rollback failed (request %s)", request_id)
        if wants_json():
            message = _l("The server could not finish this request. Please try again later.")
            return jsonify(error_body("server_error", message)), 500
        try:
            page = render_template("errors/error.html", status=500, request_id=request_id)
        except Exception:  # noqa: BLE001 - the page itself needs what failed (the database)
            current_app.logger.exception("The error page failed too (request %s)", request_id)
            page = f"Something went wrong. Request id: {request_id}"
        return page, 500
