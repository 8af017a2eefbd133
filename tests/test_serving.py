"""Serving: request ids, the generic 500, trusted proxies and gunicorn's settings."""

from __future__ import annotations

import json
import logging
import runpy
from pathlib import Path

import pytest
from flask import request

from exchange.config import ConfigError
from tests.helpers import API, assert_error

ROOT = Path(__file__).resolve().parent.parent
HEADER = "X-Request-ID"
SECRET = "database password is hunter2"


def test_every_response_carries_a_new_request_id(client):
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert first.headers[HEADER]
    assert second.headers[HEADER]
    assert first.headers[HEADER] != second.headers[HEADER]


def test_a_proxys_safe_request_id_is_kept(client):
    response = client.get("/healthz", headers={HEADER: "edge-42.a_B"})
    assert response.headers[HEADER] == "edge-42.a_B"


@pytest.mark.parametrize(
    "unsafe",
    ["x" * 65, "has space", "semi;colon", "new\\nline", "<script>", "ünïcode"],
)
def test_an_unsafe_request_id_is_replaced(client, unsafe):
    response = client.get("/healthz", headers={HEADER: unsafe})
    answered = response.headers[HEADER]
    assert answered != unsafe
    assert 0 < len(answered) <= 64
    assert answered.replace("-", "").isalnum()


def test_api_errors_carry_the_request_id(client):
    response = client.get(f"{API}/logs", headers={HEADER: "req-401"})
    error = assert_error(response, 401, "unauthorized")
    assert error["request_id"] == "req-401"


def test_a_page_refused_before_the_view_still_has_a_request_id(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers[HEADER]


@pytest.fixture
def failing_app(make_app):
    """An app that answers unexpected exceptions as production does (no propagation),
    with a page and an API route that fail."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError(SECRET)

    app.add_url_rule("/explode", "explode", explode)
    app.add_url_rule(f"{API}/explode", "api_explode", explode)
    return app


def test_an_unexpected_error_answers_the_generic_page_with_the_request_id(failing_app, caplog):
    with caplog.at_level(logging.ERROR, logger=failing_app.logger.name):
        response = failing_app.test_client().get("/explode", headers={HEADER: "quote-me-1"})
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert response.headers[HEADER] == "quote-me-1"
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "quote-me-1" in page
    assert SECRET not in page
    assert "Traceback" not in page
    assert "RuntimeError" not in page
    # The traceback is in the log, under the same id.
    logged = [r for r in caplog.records if r.exc_info and SECRET in str(r.exc_info[1])]
    assert len(logged) == 1
    assert logged[0].request_id == "quote-me-1"
    assert "quote-me-1" in logged[0].getMessage()


def test_an_unexpected_api_error_answers_the_json_error_body(failing_app):
    response = failing_app.test_client().get(f"{API}/explode")
    error = assert_error(response, 500, "server_error")
    assert error["fields"] == {}
    assert error["request_id"] == response.headers[HEADER]
    text = response.get_data(as_text=True)
    assert SECRET not in text
    assert "Traceback" not in text


def test_tests_still_see_the_exception_itself(make_app):
    app = make_app()

    def explode():
        raise RuntimeError(SECRET)

    app.add_url_rule("/explode", "explode", explode)
    with pytest.raises(RuntimeError, match="hunter2"):
        app.test_client().get("/explode")


def _remote_addr_app(make_app, proxies):
    app = make_app(EXCHANGE_PROXIES=proxies)
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr or "")
    return app.test_client()


FORGED = {"X-Forwarded-For": "203.0.113.9"}


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(make_app):
    client = _remote_addr_app(make_app, 0)
    answer = client.get("/whoami", headers=FORGED, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert answer.get_data(as_text=True) == "10.0.0.5"


def test_with_one_trusted_proxy_its_forwarded_for_is_the_client(make_app):
    client = _remote_addr_app(make_app, 1)
    answer = client.get("/whoami", headers=FORGED, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert answer.get_data(as_text=True) == "203.0.113.9"
    # Only the address the trusted proxy added counts, not one the client put first.
    chained = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    answer = client.get("/whoami", headers=chained, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert answer.get_data(as_text=True) == "203.0.113.9"


@pytest.mark.parametrize("proxies", ["-1", "two"])
def test_a_wrong_number_of_proxies_is_refused(make_app, proxies):
    with pytest.raises(ConfigError, match="EXCHANGE_PROXIES"):
        make_app(EXCHANGE_PROXIES=proxies)


def _gunicorn_settings() -> dict:
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_settings_load(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("EXCHANGE_BIND", raising=False)
    settings = _gunicorn_settings()
    assert settings["workers"] >= 1
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["wsgi_app"] == "exchange:create_app()"
    assert settings["timeout"] > 0
    assert settings["graceful_timeout"] > 0
    assert settings["keepalive"] > 0
    assert settings["accesslog"] == "-"
    assert settings["errorlog"] == "-"
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("EXCHANGE_BIND", "0.0.0.0:9000")
    settings = _gunicorn_settings()
    assert settings["workers"] == 3
    assert settings["bind"] == "0.0.0.0:9000"


def test_gunicorn_access_log_lines_are_json_with_the_request_id():
    settings = _gunicorn_settings()
    atoms = {
        "t": "[01/Jan/2027:09:00:00 +0800]",
        "h": "127.0.0.1",
        "m": "GET",
        "U": '/logs/"quoted"\\back\nslash',
        "q": "page=2",
        "s": "200",
        "b": "1234",
        "M": 12,
        "f": "-",
        "a": 'Mozilla/5.0 "evil" \x1b[31m',
        "{x-request-id}o": "abc123",
    }
    line = settings["access_log_format"] % settings["JsonSafeAtoms"](atoms)
    record = json.loads(line)
    assert record["request_id"] == "abc123"
    assert record["path"] == atoms["U"]
    assert record["user_agent"] == atoms["a"]
    assert record["status"] == "200"
    assert "\n" not in line
    # A request without the header (none answered) still makes a valid line.
    del atoms["{x-request-id}o"]
    record = json.loads(settings["access_log_format"] % settings["JsonSafeAtoms"](atoms))
    assert record["request_id"] == "-"
