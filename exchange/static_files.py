"""Static files: a version in every address, so that browsers keep them for a year.

``url_for('static', filename=…)`` adds ``?v=`` with the first characters of the
file's SHA-256, computed once per file (again when the file changes on disk). An
answer to an address with the file's current version is ``immutable`` for a year:
a phone opening its second page asks for no stylesheet or script at all. Any other
address of a static file (no version, or a version that is not the current one)
is answered with the current file and must be revalidated.

Static files are small: they are sent whole rather than as a stream, so that they
are compressed like the pages.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, cast

from flask import Flask, Response, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 60 * 60


class Versions:
    """The current version of each static file, by its name under the static folder.

    ``watch``: look at the file on disk every time and follow its changes (debug
    mode, where files are edited while the app runs); otherwise a file's version is
    worked out once per process (a deployment restarts the processes) and reused
    without touching the disk, as a page asks for several."""

    def __init__(self, folder: str, *, watch: bool = True) -> None:
        self.folder = folder
        self.watch = watch
        self._known: dict[str, tuple[float, str]] = {}

    def of(self, filename: str) -> str | None:
        if not self.watch:
            known = self._known.get(filename)
            if known is not None:
                return known[1]
        path = safe_join(self.folder, filename)
        if path is None or not os.path.isfile(path):
            return None
        modified = os.stat(path).st_mtime
        known = self._known.get(filename)
        if known is not None and known[0] == modified:
            return known[1]
        with open(path, "rb") as handle:
            version = hashlib.sha256(handle.read()).hexdigest()[:12]
        self._known[filename] = (modified, version)
        return version


def register(app: Flask) -> None:
    assert app.static_folder is not None  # noqa: S101 - create_app always gives one
    versions = Versions(app.static_folder, watch=app.debug)
    send_file = app.view_functions["static"]

    def send_whole(filename: str) -> Response:
        response = cast(Response, send_file(filename=filename))
        response.direct_passthrough = False
        response.make_sequence()  # read now ...
        # ... and close the file now, not when the answer is: a client that hangs up
        # mid-answer (a service worker stopped while it fills its cache) leaves none open.
        response.close()
        return response

    app.view_functions["static"] = send_whole

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values:
            version = versions.of(values.get("filename", ""))
            if version is not None:
                values["v"] = version

    @app.after_request
    def cache_for_a_year(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        asked = request.args.get("v")
        filename = (request.view_args or {}).get("filename", "")
        # What only a page needs is left out (every header is sent with every file of
        # a phone's first visit): framing and referrer rules, the file name. A page's
        # policy also applies to an SVG opened on its own, so an SVG keeps it.
        for name in ("Content-Disposition", "X-Frame-Options", "Referrer-Policy"):
            response.headers.pop(name, None)
        if response.mimetype != "image/svg+xml":
            response.headers.pop("Content-Security-Policy", None)
        if asked and asked == versions.of(filename):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response
