"""Gunicorn's settings for Exchange (`make serve`, or `gunicorn -c gunicorn.conf.py`).

The environment changes what differs between hosts: EXCHANGE_BIND (address:port,
default 127.0.0.1:8000 — a proxy in front terminates TLS) and WEB_CONCURRENCY
(workers, default twice the CPUs plus one).
"""

from __future__ import annotations

import json
import multiprocessing
import os

from gunicorn.glogging import Logger, SafeAtoms

wsgi_app = "exchange:create_app()"
bind = os.environ.get("EXCHANGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)

# A request that takes longer than this is stuck: its worker is replaced.
timeout = 30
# On a restart (SIGHUP, a deploy), workers finish the requests they have.
graceful_timeout = 30
# Idle keep-alive connections from the proxy in front are closed after this.
keepalive = 5
# Gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn): a second
# server of the same user (another app server, the benchmarks' floor) would take it over.
control_socket_disable = True

# Access log: one JSON object per line on stdout, with the id the app gives each
# request (the X-Request-ID it sends back), so a quoted id finds its line.
accesslog = "-"
access_log_format = json.dumps(
    {
        "time": "%(t)s",
        "request_id": "%({x-request-id}o)s",
        "remote_addr": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "query": "%(q)s",
        "status": "%(s)s",
        "bytes": "%(b)s",
        "duration_ms": "%(M)s",
        "referer": "%(f)s",
        "user_agent": "%(a)s",
    }
)
errorlog = "-"  # stderr
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


class JsonSafeAtoms(SafeAtoms):
    """The log line's values escaped for a JSON string (quotes, backslashes, control
    characters): a hostile path or user agent cannot break the line's JSON."""

    def __init__(self, atoms: dict[str, object]) -> None:
        # Not SafeAtoms.__init__: it escapes quotes only, and would escape them twice.
        dict.__init__(self, {key: _json_text(value) for key, value in atoms.items()})


def _json_text(value: object) -> str:
    return json.dumps("-" if value is None else str(value))[1:-1]


class JsonAccessLogger(Logger):
    atoms_wrapper_class = JsonSafeAtoms


logger_class = JsonAccessLogger
