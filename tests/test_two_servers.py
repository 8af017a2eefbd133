"""Two app servers on one PostgreSQL database: nothing one needs lives on the other's disk.

Two real gunicorn processes (the project's gunicorn.conf.py, production settings,
each with an instance folder of its own) share one fresh PostgreSQL database, the
same SECRET_KEY and Redis for throttling. A teacher logs hours with evidence on
server A, the verifier verifies them on server B, both serve the same evidence
bytes, a browser session opened on A is accepted by B, and sign-in attempts are
counted once for both.

Always PostgreSQL, whatever TEST_DATABASE_URL says: the scratch database is made
on the server TWO_SERVERS_DATABASE_URL names (default: TEST_DATABASE_URL when it
is PostgreSQL, else postgresql+psycopg://postgres@127.0.0.1:5432/exchange), named
after that URL's database, and dropped afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
READY_SECONDS = 60
LOGIN_LIMIT = 10  # per client address and day: every test attempt is counted below
ADMIN = ("admin@example.com", "an admin password 1")
TEACHER = ("li.wei@example.com", "a teacher password 1")
EXPERT = ("zhang.min@example.com", "an expert password 1")
SECRET_KEY = secrets.token_urlsafe(48)  # the same on both servers
PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(200_000)


def _server_url() -> Any:
    given = os.environ.get("TWO_SERVERS_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL", "")
    url = make_url(given) if given else None
    if url is None or url.get_backend_name() != "postgresql":
        url = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/exchange")
    return url


@pytest.fixture
def database_url() -> Iterator[str]:
    server = _server_url()
    name = f"{server.database or 'exchange'}_two_{secrets.token_hex(4)}"
    dsn = server.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_ports(count: int) -> list[int]:
    """Ports the system hands out as free (held together, so they differ), for the
    hosts to bind: chosen by the system, they do not collide with another suite's."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


@dataclass
class Browser:
    """Cookies as a browser keeps them, for whichever server it talks to."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, server: Server, method: str, path: str, form: str | None = None) -> Answer:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = form.encode()
        answer = server.request(method, path, body, headers)
        for value in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer


def _environment(database_url: str, instance: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "EXCHANGE_"))}
    env.update(
        EXCHANGE_ENV="production",
        SECRET_KEY=SECRET_KEY,
        EXCHANGE_BASE_URL="https://exchange.example.edu",
        DATABASE_URL=database_url,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        EXCHANGE_LOGIN_LIMIT=f"{LOGIN_LIMIT} per day",
        EXCHANGE_INSTANCE_PATH=str(instance),
        EXCHANGE_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    return env


def _flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and command line
        [sys.executable, "-m", "flask", "--app", "exchange", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server {server.name} exited:\n{server.log.read_text()[-3000:]}")
        try:
            if server.request("GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server {server.name} not ready in {READY_SECONDS} s:\n{server.log.read_text()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)  # gunicorn and its workers
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    prefix = f"exchange-two-{uuid.uuid4().hex}"
    ports = _free_ports(2)
    env_a = _environment(database_url, tmp_path / "a", ports[0])
    _flask(env_a, "db", "upgrade")
    _flask(
        env_a, "create-user", "--email", ADMIN[0], "--name", "Admin", "--role", "admin",
        "--password", ADMIN[1],
    )  # fmt: skip
    started: list[Server] = []
    try:
        for name, port in zip("AB", ports, strict=True):
            log = tmp_path / f"server-{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter
                    [
                        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                        f"exchange:create_app({{'RATELIMIT_KEY_PREFIX': '{prefix}'}})",
                    ],
                    cwd=ROOT,
                    env=_environment(database_url, tmp_path / name.lower(), port),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            started.append(Server(name, port, process, log))
        for server in started:
            _wait_until_ready(server)
        yield started[0], started[1]
    finally:
        for server in started:
            _stop(server)
        connection = redis.Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


class Attempts:
    """Every sign-in attempt made against POST /api/v1/tokens, on either server."""

    def __init__(self) -> None:
        self.count = 0

    def token(self, server: Server, email: str, password: str) -> Answer:
        self.count += 1
        return server.request("POST", "/api/v1/tokens", {"email": email, "password": password})

    def bearer(self, server: Server, login: tuple[str, str]) -> dict[str, str]:
        answer = self.token(server, *login)
        assert answer.status == 201, answer.body
        return {"Authorization": f"Bearer {answer.json()['token']}"}


def _ok(answer: Answer, status: int = 200) -> Any:
    assert answer.status == status, answer.body[:2000]
    return answer.json()


def _sign_in(browser: Browser, server: Server, login: tuple[str, str]) -> None:
    page = browser.request(server, "GET", "/login")
    assert page.status == 200
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.body) or re.search(
        rb'name="csrf_token" value="([^"]+)"', page.body
    )
    assert match, "no CSRF token on the sign-in page"
    form = urlencode(
        {"csrf_token": match.group(1).decode(), "email": login[0], "password": login[1]}
    )
    answer = browser.request(server, "POST", "/login", form)
    assert answer.status == 302, answer.body[:2000]
    assert "session" in browser.cookies


def test_a_log_made_on_one_server_is_verified_on_the_other_evidence_included(servers):
    a, b = servers
    attempts = Attempts()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    # The college, set up by its admin on both servers.
    admin_a, admin_b = attempts.bearer(a, ADMIN), attempts.bearer(b, ADMIN)
    department = _ok(
        a.request("POST", "/api/v1/departments", {"code": "CM", "name": "Clinical"}, admin_a), 201
    )
    enterprise = _ok(
        b.request(
            "POST",
            "/api/v1/enterprises",
            {"code": "CH", "name": "City Hospital", "kind": "hospital"},
            admin_b,
        ),
        201,
    )
    span = {
        "starts_on": (today - timedelta(days=60)).isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
    }
    _ok(
        a.request(
            "POST",
            "/api/v1/agreements",
            {
                "enterprise_id": enterprise["id"],
                "department_id": department["id"],
                "reference": "CH-2026-01",
                "scope": "both",
                **span,
            },
            admin_a,
        ),
        201,
    )
    _ok(b.request("POST", "/api/v1/periods", {"name": "This term", **span}, admin_b), 201)
    teacher = _ok(
        a.request(
            "POST",
            "/api/v1/users",
            {
                "email": TEACHER[0],
                "name": "Li Wei",
                "role": "teacher",
                "password": TEACHER[1],
                "department_id": department["id"],
            },
            admin_a,
        ),
        201,
    )
    expert = _ok(
        b.request(
            "POST",
            "/api/v1/users",
            {
                "email": EXPERT[0],
                "name": "Zhang Min",
                "role": "expert",
                "password": EXPERT[1],
                "enterprise_id": enterprise["id"],
            },
            admin_b,
        ),
        201,
    )

    # The teacher logs hours with evidence on A and submits them.
    teacher_a = attempts.bearer(a, TEACHER)
    log = _ok(
        a.request(
            "POST",
            "/api/v1/logs",
            {
                "kind": "practice",
                "date": today.isoformat(),
                "hours": 2.5,
                "category": "clinical",
                "description": "Ward rounds with the cardiology team",
                "enterprise_id": enterprise["id"],
                "verifier_id": expert["id"],
            },
            teacher_a,
        ),
        201,
    )
    log = _ok(
        a.request(
            "PUT",
            f"/api/v1/logs/{log['id']}/evidence?name=ward.png",
            PNG,
            {**teacher_a, "Content-Type": "image/png"},
        )
    )
    assert log["evidence"]["size"] == len(PNG)
    assert log["evidence"]["url"] == f"https://exchange.example.edu/logs/{log['id']}/evidence"
    _ok(a.request("POST", f"/api/v1/logs/{log['id']}/submit", headers=teacher_a))

    # The verifier finds it on B and verifies it there.
    expert_b = attempts.bearer(b, EXPERT)
    queue = _ok(b.request("GET", "/api/v1/logs?scope=verify&status=submitted", headers=expert_b))
    assert [item["id"] for item in queue["items"]] == [log["id"]]
    assert queue["items"][0]["evidence"]["size"] == len(PNG)
    verified = _ok(b.request("POST", f"/api/v1/logs/{log['id']}/verify", headers=expert_b))
    assert verified["status"] == "verified"

    # A sees the verification at once.
    seen = _ok(a.request("GET", f"/api/v1/logs/{log['id']}", headers=teacher_a))
    assert seen["status"] == "verified"
    assert [(e["action"], e["actor_id"]) for e in seen["history"]] == [
        ("create", teacher["id"]),
        ("edit", teacher["id"]),
        ("submit", teacher["id"]),
        ("verify", expert["id"]),
    ]

    # A browser session opened on A is accepted by B: both serve the same bytes.
    browser = Browser()
    _sign_in(browser, a, TEACHER)
    path = f"/logs/{log['id']}/evidence"
    from_a = browser.request(a, "GET", path)
    from_b = browser.request(b, "GET", path)
    assert (from_a.status, from_b.status) == (200, 200)
    assert from_a.body == from_b.body == PNG
    for header in ("Content-Type", "Content-Length", "Content-Disposition", "ETag"):
        assert from_a.headers[header] == from_b.headers[header], header
    assert from_a.headers["Content-Disposition"] == "inline; filename=ward.png"
    page = browser.request(b, "GET", f"/logs/{log['id']}")
    assert page.status == 200
    assert b"Li Wei" in page.body
    # Someone else's browser is refused the file on either server.
    stranger = Browser()
    assert stranger.request(b, "GET", path).status == 302  # to the sign-in page

    # Neither server wrote the file to its own disk.
    for server in (a, b):
        instance = server.log.parent / server.name.lower()
        assert instance.is_dir()
        assert not [p for p in instance.rglob("*") if p.is_file() and p.read_bytes() == PNG]

    # Sign-in attempts are counted once for both servers (in Redis): alternating
    # wrong passwords, the first refusal comes after exactly LOGIN_LIMIT attempts
    # in all, and then both servers refuse.
    answers = []
    for turn in range(2 * LOGIN_LIMIT):
        server = (a, b)[turn % 2]
        answer = attempts.token(server, TEACHER[0], "a wrong password")
        answers.append(answer.status)
        if answer.status == 429:
            other = b if server is a else a
            assert attempts.token(other, TEACHER[0], TEACHER[1]).status == 429
            break
    assert answers[-1] == 429, answers
    assert attempts.count == LOGIN_LIMIT + 2  # the refused one, and the other server's
