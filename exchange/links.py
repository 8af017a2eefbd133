"""Absolute links for what leaves the app: e-mails, QR codes, API answers, exports.

They start with ``EXCHANGE_BASE_URL`` (SPEC §8), never with the request's ``Host``
header, which the client chooses: a forged ``Host`` would otherwise put an
attacker's address into a password-reset e-mail or a certificate's QR code.
In development and tests the setting may be left out; links then use the
address the page was opened at, as ``url_for(..., _external=True)`` would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

# The Flask development server's address: links made outside any request (the
# command line) in development, when no base URL is configured.
DEVELOPMENT_BASE_URL = "http://localhost:5000"


def base_url() -> str:
    """The configured base URL, or (development only) the current request's."""
    configured = str(current_app.config.get("EXCHANGE_BASE_URL") or "")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/")
    return DEVELOPMENT_BASE_URL


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint`` (a full endpoint name, e.g. ``"rewards.verify"``).

    The path is built by the app's URL map under the base URL's own path, so an app
    served below a prefix (``https://college.edu/exchange``) gets it exactly once.
    """
    if not current_app.config.get("EXCHANGE_BASE_URL") and has_request_context():
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base_url())
    anchor = values.pop("_anchor", None)
    current_app.inject_url_defaults(endpoint, values)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url
