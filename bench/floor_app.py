"""The floor of a page's throughput: a bare Flask app answering any number of bytes.

``GET`` or ``POST /<size>`` answers ``size`` bytes of HTML and does nothing else.
Served by the same gunicorn settings as Exchange (``gunicorn -c gunicorn.conf.py
bench.floor_app:app``), it is what a page of that size costs when the app does no work.
"""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)

_CHUNK = "<p>" + "x" * 93 + "</p>\n"  # 100 bytes


@app.route("/<int:size>", methods=["GET", "POST"])
def page(size: int) -> Response:
    body = (_CHUNK * (size // len(_CHUNK) + 1))[:size]
    return Response(body, mimetype="text/html")
