"""Servers and load for the benchmarks: gunicorn started with the project's own
``gunicorn.conf.py`` on a loopback port, a small HTTP client that signs in, and wrk.

Everything started here is stopped by ``Gunicorn.stop`` (or leaving its ``with``);
wrk runs for a fixed time and stops by itself.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WRK = shutil.which("wrk") or "wrk"


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py [app]`` on 127.0.0.1:``port`` with ``workers`` workers."""

    def __init__(self, port: int, workers: int, env: dict[str, str], app: str | None = None,
                 log: Path | None = None) -> None:  # fmt: skip
        self.port = port
        self.log = log or Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
        command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py"]
        if app:
            command.append(app)
        environment = {**os.environ, **env, "EXCHANGE_BIND": f"{HOST}:{port}",
                       "WEB_CONCURRENCY": str(workers)}  # fmt: skip
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
            stderr=self._log_file, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped; see {self.log}")
            try:
                if request(self.port, "GET", path).status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def drain(port: int, path: str = "/healthz", timeout: float = 120) -> None:
    """Wait until the server has worked off what an earlier load left queued: wrk stops
    at its deadline, but the requests it had sent are still served, one by one. A quick
    request through the queue means it is empty again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.perf_counter()
        request(port, "GET", path)
        if time.perf_counter() - started < 0.2:
            return


@dataclass
class Answer:
    status: int
    body: bytes
    headers: http.client.HTTPMessage


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:  # fmt: skip
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.read(), response.headers)
    finally:
        connection.close()


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """Cookies kept between requests, as a browser keeps them (no redirects followed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def open(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Cookie": self.cookie_header} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = request(self.port, method, path, body, headers)
        for value in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        return answer

    def csrf(self, path: str) -> str:
        found = CSRF.search(self.open("GET", path).body)
        if not found:
            raise RuntimeError(f"no form on {path}")
        return found.group(1).decode()

    def sign_in(self, email: str, password: str) -> None:
        token = self.csrf("/login")
        answer = self.open("POST", "/login",
                           {"email": email, "password": password, "csrf_token": token})  # fmt: skip
        if answer.status != 302:
            raise RuntimeError(f"signing in as {email} answered {answer.status}")


@dataclass
class Load:
    requests_per_second: float
    median_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(port: int, path: str, seconds: float, connections: int, threads: int = 2,
        script: str = "") -> Load:  # fmt: skip
    """wrk against 127.0.0.1:``port``; ``script`` is Lua (cookies, a POST's body)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
             "--timeout", "30s", "-s", lua.name, f"http://{HOST}:{port}{path}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(lua.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    median = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        errors += int(bad.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    median_ms = float(median.group(1)) * _UNITS[median.group(2)] if median else float("nan")
    return Load(rate, median_ms, done, errors)


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def get_script(cookie: str) -> str:
    return f'wrk.headers["Cookie"] = {lua_string(cookie)}\n'


def post_script(cookie: str, form: dict[str, str], dates: list[str]) -> str:
    """A POST of ``form`` with a ``date`` drawn from ``dates`` each time."""
    days = ", ".join(lua_string(d) for d in dates)
    return f"""
wrk.method = "POST"
wrk.headers["Cookie"] = {lua_string(cookie)}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local days = {{{days}}}
local fixed = {lua_string(urlencode(form))}
function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end
function init(args)
  math.randomseed(seed)
end
function request()
  return wrk.format(nil, nil, nil, fixed .. "&date=" .. days[math.random(#days)])
end
"""
