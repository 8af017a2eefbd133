"""Every request gets an id, sent back as ``X-Request-ID`` and written beside its log
lines, so that a person quoting it from an error page leads to the right traceback."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
# A proxy's or client's own id is kept only when it is a short, plain token: it is
# echoed in a header and written to logs, so it must not carry anything else.
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(value: str | None) -> str:
    """The id a proxy in front already gave this request, if it is safe; else a new one."""
    if value and SAFE_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    """This request's id (None outside a request). Given on first use too, so that a
    request refused before its own ``before_request`` ran (a rate limit) has one."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        g.request_id = incoming_request_id(request.headers.get(HEADER))
    return str(g.request_id)


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record of the app's logger ("-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        current_request_id()

    @app.after_request
    def send_request_id(response: Response) -> Response:
        request_id = current_request_id()
        if request_id:
            response.headers[HEADER] = request_id
        return response

    if not any(isinstance(f, RequestIdFilter) for f in app.logger.filters):
        app.logger.addFilter(RequestIdFilter())
