"""Exchange at province scale: one table of figures, each beside its floor.

Seeds two colleges into fresh databases, one with BENCH_LOGS logs (300,000) and one
with BENCH_SMALL (1,000), the same people in both (20 departments, 200 enterprises
with agreements, 2,000 teachers, 500 experts, their heads and admins, 3 periods
with their reward rules, logs in realistic statuses with their audit trails). Then,
in each college and in the same run as the floor it is divided by:

* eligibility of one department-period and of the whole college (the college rules
  on everybody's college total), and the refresh of a department's and of the
  college round, through the app's own functions (exchange.rewards, which read the
  totals the database keeps) ÷ the same aggregation over the logs as one raw SQL
  query on the best index for it (created for that measure; target ≤ 1.3×);
* requests/s of the busiest pages under gunicorn (gunicorn.conf.py, BENCH_WORKERS
  workers) driven by wrk ÷ a bare Flask page of the same size under the same
  settings (target ≥ 0.3); their median latency under that load at 1,000 and at
  300,000 logs (target ≤ 1.3× growth); the in-process server time of each page
  (test client, median) and its SQL statements (the same at both sizes). The first
  page, the password form, reads no exchange data: its figures are what the stack
  (session, user, layout, one small form) costs per page, the ceiling of the others.

SQLite by default (files in a temporary folder); PostgreSQL with BENCH_DATABASE_URL:
two scratch databases named after it (``<name>_p1k`` and ``<name>_p300k``, on the
same server) are created, migrated and dropped again. Everything runs on loopback
and stops by itself; a run takes about 5–8 minutes on 2 cores.

    .venv/bin/python bench/province.py
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/province.py

Settings (environment): BENCH_LOGS (300000), BENCH_SMALL (1000), BENCH_WORKERS (2),
BENCH_SECONDS (wrk seconds per page, 5), BENCH_CONNECTIONS (8), BENCH_REPEAT
(in-process requests per page, 15), BENCH_PORT (first of three ports, 8600),
BENCH_KEEP=1 keeps the databases.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_migrate
from flask import Flask
from gunicorn import __version__ as gunicorn_version
from sqlalchemy import create_engine, event, func, make_url, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seed import PASSWORD, Scale, Seeded, seed  # noqa: E402
from bench.servers import (  # noqa: E402
    Browser,
    Gunicorn,
    Load,
    drain,
    get_script,
    post_script,
    wrk,
)
from exchange import create_app  # noqa: E402
from exchange.accounts.models import User  # noqa: E402
from exchange.extensions import db  # noqa: E402
from exchange.logs.models import ExchangeLog  # noqa: E402
from exchange.org.models import Department, Period  # noqa: E402
from exchange.rewards import rules as engine  # noqa: E402
from exchange.rewards import services as rewards  # noqa: E402
from exchange.rewards.queries import period_rules  # noqa: E402
from exchange.timeutil import college_today  # noqa: E402

LOGS = int(os.environ.get("BENCH_LOGS", "300000"))
SMALL = int(os.environ.get("BENCH_SMALL", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
PORT = int(os.environ.get("BENCH_PORT", "8600"))
KEEP = os.environ.get("BENCH_KEEP") == "1"
LOAD_BEFORE = os.getloadavg()[0]
DOMAIN_REPEAT = 9
FLOOR_INDEX = "bench_floor_department_sums"
SECRET = "bench-secret-key-" + "k" * 40

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # teacher, expert or head: the measured person of that role
    method: str
    path: str


PAGES = [
    # The least a signed-in page does (the session and its user, the layout, a form of
    # three fields, no exchange data): what the stack itself costs per page.
    Page("lightest signed-in page `/account/password`", "teacher", "GET", "/account/password"),
    Page("dashboard `/`", "teacher", "GET", "/"),
    Page("my logs `/logs/`", "teacher", "GET", "/logs/"),
    Page("log form `GET /logs/new`", "teacher", "GET", "/logs/new"),
    Page("verify queue `/logs/verify`", "expert", "GET", "/logs/verify"),
    Page("approval queue `/logs/approve`", "head", "GET", "/logs/approve"),
    Page("eligibility `/rewards/eligibility`", "head", "GET", "/rewards/eligibility"),
    # Last: it adds logs to the teacher's own.
    Page("log form `POST /logs/new`", "teacher", "POST", "/logs/new"),
]

PENDING = "('submitted', 'verified')"
# The same aggregations as the domain's, each as one raw SQL query with the people's names,
# over live logs (not deleted drafts), as the domain's are: the hot paths' partial indexes
# hold exactly those.
SQL_DEPARTMENT = f"""
WITH here AS (
  SELECT owner_id, kind,
         SUM(CASE WHEN status = 'approved' THEN minutes ELSE 0 END) AS approved,
         SUM(CASE WHEN status IN {PENDING} THEN minutes ELSE 0 END) AS pending
  FROM exchange_log
  WHERE department_id = :department AND period_id = :period AND deleted_at IS NULL
  GROUP BY owner_id, kind
), college AS (
  SELECT owner_id, kind, SUM(minutes) AS approved FROM exchange_log
  WHERE period_id = :period AND status = 'approved' AND deleted_at IS NULL
    AND owner_id IN (SELECT owner_id FROM here)
  GROUP BY owner_id, kind
)
SELECT here.owner_id, u.name, here.kind, here.approved, here.pending,
       COALESCE(college.approved, 0)
FROM here JOIN user_account u ON u.id = here.owner_id
LEFT JOIN college ON college.owner_id = here.owner_id AND college.kind = here.kind
"""  # noqa: S608 - constants only
SQL_DEPARTMENT_SUMS = f"""
SELECT l.owner_id, u.name, l.kind,
       SUM(CASE WHEN l.status = 'approved' THEN l.minutes ELSE 0 END),
       SUM(CASE WHEN l.status IN {PENDING} THEN l.minutes ELSE 0 END)
FROM exchange_log l JOIN user_account u ON u.id = l.owner_id
WHERE l.department_id = :department AND l.period_id = :period AND l.deleted_at IS NULL
GROUP BY l.owner_id, u.name, l.kind
"""  # noqa: S608
SQL_COLLEGE = f"""
SELECT l.owner_id, u.name, l.kind,
       SUM(CASE WHEN l.status = 'approved' THEN l.minutes ELSE 0 END),
       SUM(CASE WHEN l.status IN {PENDING} THEN l.minutes ELSE 0 END)
FROM exchange_log l JOIN user_account u ON u.id = l.owner_id
WHERE l.period_id = :period AND l.deleted_at IS NULL
GROUP BY l.owner_id, u.name, l.kind
"""  # noqa: S608


@dataclass
class Figures:
    """What one college measured."""

    logs: int = 0
    seed_seconds: float = 0.0
    domain: dict[str, tuple[float, float]] = field(default_factory=dict)  # ms, floor ms
    server_ms: dict[str, float] = field(default_factory=dict)
    statements: dict[str, set[int]] = field(default_factory=dict)
    load: dict[str, tuple[Load, Load, int]] = field(default_factory=dict)  # page, floor, bytes
    created: int = 0  # logs the POSTs under load created


# --- databases --------------------------------------------------------------------------


class Scratch:
    """A fresh database for one college: a SQLite file, or a PostgreSQL database."""

    def __init__(self, label: str, folder: Path) -> None:
        base = os.environ.get("BENCH_DATABASE_URL")
        if base:
            url = make_url(base)
            self.name = f"{url.database}_{label}"
            self.admin_url = url.set(database="postgres")
            self.url = url.set(database=self.name).render_as_string(hide_password=False)
            self._run(f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"')
        else:
            self.name = str(folder / f"{label}.db")
            self.admin_url = None
            self.url = f"sqlite:///{self.name}"

    def _run(self, *statements: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
        engine.dispose()

    def drop(self) -> None:
        if KEEP:
            print(f"kept {self.url}")
            return
        if self.admin_url is not None:
            self._run(f'DROP DATABASE IF EXISTS "{self.name}"')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.name + suffix).unlink(missing_ok=True)


def settle() -> None:
    """What PostgreSQL's autovacuum does after a bulk load, done at once: statistics for
    the planner, and the visibility map that lets a query read an index alone (without
    it, every index-only scan visits the table too). Nothing to do on SQLite."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )


def make_app(url: str, instance: Path) -> Flask:
    os.environ["EXCHANGE_INSTANCE_PATH"] = str(instance)
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "EXCHANGE_AUTO_MIGRATE": False,
    })  # fmt: skip


# --- in-process measures -------------------------------------------------------------------


def median_ms(run: Callable[[], Any], prepare: Callable[[], Any] | None = None,
              repeat: int = DOMAIN_REPEAT) -> float:  # fmt: skip
    """Median wall time of ``run`` (after ``prepare``, untimed), each in a fresh session."""
    timings = []
    for _ in range(repeat + 2):  # the first two warm caches
        db.session.remove()
        args = prepare() if prepare else None
        started = time.perf_counter()
        run() if args is None else run(*args)
        timings.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    db.session.remove()
    return statistics.median(timings[2:])


def raw(sql: str, **params: int) -> Callable[[], Any]:
    return lambda: db.session.connection().execute(text(sql), params).fetchall()


def college_standings(period: Period) -> list[tuple[Any, list[engine.Outcome]]]:
    """Eligibility for the whole college: the college rules on everybody's college total
    (what the college round decides), through the domain's own functions."""
    specs = [r.spec() for r in period_rules(period.id) if r.scope == engine.Scope.COLLEGE]
    return [
        (h, engine.evaluate(specs, h.audience, h.approved_minutes))
        for h in rewards.college_hours(period.id)
    ]


def measure_domain(seeded: Seeded, figures: Figures) -> None:
    by_email = {
        u.email: u.id
        for u in db.session.execute(
            select(User).where(User.email.in_([seeded.head, seeded.admin]))
        ).scalars()
    }
    department_round = rewards.open_round(
        db.session.get(User, by_email[seeded.admin]), seeded.department_id, seeded.period_id
    )
    college_round = rewards.open_round(
        db.session.get(User, by_email[seeded.admin]), None, seeded.period_id, scope="college"
    )
    db.session.commit()
    round_ids = {"department": department_round.id, "college": college_round.id}

    def eligibility_args() -> tuple[User, Department, Period]:
        return (
            db.session.get(User, by_email[seeded.head]),
            db.session.get(Department, seeded.department_id),
            db.session.get(Period, seeded.period_id),
        )

    def round_args(scope: str) -> Callable[[], tuple[User, Any]]:
        def prepare() -> tuple[User, Any]:
            admin = db.session.get(User, by_email[seeded.admin])
            return admin, rewards.get_round(admin, round_ids[scope])

        return prepare

    def refresh(admin: User, reward_round: Any) -> None:
        rewards.refresh_round(admin, reward_round)
        db.session.flush()

    ids = {"department": seeded.department_id, "period": seeded.period_id}
    domain = {
        "eligibility, one department-period": median_ms(rewards.eligibility, eligibility_args),
        "eligibility, whole college (college rules)": median_ms(
            college_standings, lambda: (db.session.get(Period, seeded.period_id),)
        ),
        "refresh of the department's round": median_ms(refresh, round_args("department")),
        "refresh of the college round": median_ms(refresh, round_args("college")),
    }
    with floor_index():
        floors = {
            "eligibility, one department-period": median_ms(raw(SQL_DEPARTMENT, **ids)),
            "eligibility, whole college (college rules)": median_ms(
                raw(SQL_COLLEGE, period=seeded.period_id)
            ),
            "refresh of the department's round": median_ms(raw(SQL_DEPARTMENT_SUMS, **ids)),
            "refresh of the college round": median_ms(raw(SQL_COLLEGE, period=seeded.period_id)),
        }
    for name, took in domain.items():
        figures.domain[name] = (took, floors[name])


@contextmanager
def floor_index() -> Iterator[None]:
    """The best index for the raw department queries, there while they are measured:
    the app itself reads its kept totals (log_total) and needs no such index on the
    logs, but a floor is the aggregation over the logs at its fastest."""
    db.session.execute(text(
        f"CREATE INDEX {FLOOR_INDEX} ON exchange_log"
        " (department_id, period_id, owner_id, kind, status, minutes) WHERE deleted_at IS NULL"
    ))  # fmt: skip
    settle()
    try:
        yield
    finally:
        db.session.execute(text(f"DROP INDEX {FLOOR_INDEX}"))
        db.session.commit()


def post_form(seeded: Seeded) -> dict[str, str]:
    expert = db.session.execute(select(User).where(User.email == seeded.expert)).scalar_one()
    return {
        "hours": "0.25", "category": "clinical", "description": "Ward round with the team.",
        "enterprise_id": str(expert.enterprise_id), "verifier_id": str(expert.id),
        "intent": "submit",
    }  # fmt: skip


def free_days(seeded: Seeded) -> list[str]:
    """Days of the running period on which a quarter-hour log still fits the teacher's day."""
    period = db.session.get(Period, seeded.period_id)
    assert period is not None  # noqa: S101
    last = college_today()
    return [
        (period.starts_on + timedelta(days=n)).isoformat()
        for n in range((last - period.starts_on).days + 1)
    ]


def measure_pages(app: Flask, seeded: Seeded, figures: Figures) -> None:
    emails = {"teacher": seeded.teacher, "expert": seeded.expert, "head": seeded.head}
    with app.app_context():
        form = post_form(seeded)
        days = free_days(seeded)
    clients = {}
    for role, email in emails.items():
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD})
        clients[role] = client
    counted: list[int] = []

    def count(*_args: Any) -> None:
        counted.append(1)

    with app.app_context():
        engine_ = db.engine
    for index, page in enumerate(PAGES):
        client = clients[page.who]
        timings, statements = [], set()
        for n in range(REPEAT + 3):
            counted.clear()
            event.listen(engine_, "before_cursor_execute", count)
            started = time.perf_counter()
            if page.method == "POST":
                data = {**form, "date": days[(index * 7 + n * 13) % len(days)]}
                answer = client.post(page.path, data=data)
                expected = 302
            else:
                answer = client.get(page.path)
                expected = 200
            elapsed = (time.perf_counter() - started) * 1000
            event.remove(engine_, "before_cursor_execute", count)
            if answer.status_code != expected:
                raise RuntimeError(f"{page.path} answered {answer.status_code} in process")
            if n >= 3:  # the first ones warm caches
                timings.append(elapsed)
                statements.add(len(counted))
        figures.server_ms[page.name] = statistics.median(timings)
        figures.statements[page.name] = statements


# --- under gunicorn ---------------------------------------------------------------------


def measure_load(url: str, instance: Path, seeded: Seeded, figures: Figures, floor_port: int,
                 app_port: int, app: Flask) -> None:  # fmt: skip
    env = {
        "DATABASE_URL": url, "EXCHANGE_ENV": "production", "SECRET_KEY": SECRET,
        "EXCHANGE_BASE_URL": f"http://127.0.0.1:{app_port}", "EXCHANGE_SECURE_COOKIES": "0",
        "EXCHANGE_AUTO_MIGRATE": "0", "EXCHANGE_INSTANCE_PATH": str(instance),
        "GUNICORN_LOG_LEVEL": "warning",
    }  # fmt: skip
    emails = {"teacher": seeded.teacher, "expert": seeded.expert, "head": seeded.head}
    with app.app_context():
        form = post_form(seeded)
        days = free_days(seeded)
    with Gunicorn(app_port, WORKERS, env, log=instance / "gunicorn.log") as server:
        server.wait_ready("/healthz")
        browsers = {}
        for role, email in emails.items():
            browsers[role] = Browser(app_port)
            browsers[role].sign_in(email, PASSWORD)
        for page in PAGES:
            browser = browsers[page.who]
            if page.method == "POST":
                fields = {**form, "csrf_token": browser.csrf(page.path)}
                sample = browser.open("POST", page.path, {**fields, "date": days[0]})
                if sample.status != 302:
                    raise RuntimeError(f"POST {page.path} answered {sample.status}")
                script = post_script(browser.cookie_header, fields, days)
            else:
                sample = browser.open("GET", page.path)
                if sample.status != 200:
                    raise RuntimeError(f"{page.path} answered {sample.status} under gunicorn")
                script = get_script(browser.cookie_header)
            size = len(sample.body)
            wrk(app_port, page.path, 1, CONNECTIONS, script=script)  # warm up the workers
            floor_script = script if page.method == "POST" else ""
            wrk(floor_port, f"/{size}", 1, CONNECTIONS, script=floor_script)
            drain(app_port)
            if page.method == "POST":
                before = _count_logs(app)
            measured = wrk(app_port, page.path, SECONDS, CONNECTIONS, script=script)
            drain(app_port)
            if page.method == "POST":
                figures.created = _count_logs(app) - before
            floor = wrk(floor_port, f"/{size}", SECONDS, CONNECTIONS, script=floor_script)
            figures.load[page.name] = (measured, floor, size)


def _count_logs(app: Flask) -> int:
    with app.app_context():
        found = db.session.execute(select(func.count()).select_from(ExchangeLog)).scalar_one()
        db.session.remove()
        return found


# --- one college ----------------------------------------------------------------------------


def run_college(logs: int, label: str, folder: Path, ports: tuple[int, int]) -> Figures:
    figures = Figures(logs=logs)
    scratch = Scratch(label, folder)
    instance = folder / f"instance-{label}"
    instance.mkdir()
    app = make_app(scratch.url, instance)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            started = time.perf_counter()
            seeded = seed(Scale(logs=logs))
            figures.seed_seconds = time.perf_counter() - started
            settle()
            print(f"  seeded {seeded.counts['logs']:,} logs ({seeded.counts['log_events']:,} "
                  f"audit entries) in {figures.seed_seconds:.1f} s", flush=True)  # fmt: skip
            measure_domain(seeded, figures)
        print("  measured eligibility and rounds", flush=True)
        measure_pages(app, seeded, figures)
        print("  measured pages in process", flush=True)
        floor_port, app_port = ports
        measure_load(scratch.url, instance, seeded, figures, floor_port, app_port, app)
        print("  measured pages under gunicorn", flush=True)
    finally:
        with app.app_context():  # no connection left open on the database about to go
            db.session.remove()
            db.engine.dispose()
        scratch.drop()
    return figures


# --- the table ----------------------------------------------------------------------------


def _ms(value: float) -> str:
    if value != value or value <= 0:  # NaN: no request finished
        return "—"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def table(small: Figures, large: Figures) -> list[str]:
    s, b = f"{small.logs:,}", f"{large.logs:,}"
    rows = [
        f"| figure | at {s} logs | at {b} logs | target |",
        "|---|---|---|---|",
        f"| seeding (people, agreements, logs, audit entries) | {small.seed_seconds:.1f} s "
        f"| {large.seed_seconds:.1f} s | ≤ 60 s {_mark(large.seed_seconds <= 60)} |",
    ]
    for name, (ms, floor) in large.domain.items():
        small_ms, small_floor = small.domain[name]
        ok = ms / floor <= 1.3 and small_ms / small_floor <= 1.3
        rows.append(
            f"| {name}: domain ÷ one raw SQL query | {_ms(small_ms)} ÷ {_ms(small_floor)} = "
            f"{small_ms / small_floor:.2f}× | {_ms(ms)} ÷ {_ms(floor)} = {ms / floor:.2f}× "
            f"| ≤ 1.3× {_mark(ok)} |"
        )
    for page in PAGES:
        name = page.name
        (load_s, floor_s, size_s) = small.load[name]
        (load_b, floor_b, size_b) = large.load[name]
        ratio_s = load_s.requests_per_second / floor_s.requests_per_second
        ratio_b = load_b.requests_per_second / floor_b.requests_per_second
        errors = load_s.errors + load_b.errors
        note = f" ({errors} errors)" if errors else ""
        rows.append(
            f"| {name}: req/s ÷ bare page of {size_b:,} B{note} | "
            f"{_rate(load_s.requests_per_second)} ÷ {_rate(floor_s.requests_per_second)} = "
            f"{ratio_s:.2f} | {_rate(load_b.requests_per_second)} ÷ "
            f"{_rate(floor_b.requests_per_second)} = {ratio_b:.2f} "
            f"| ≥ 0.3 {_mark(min(ratio_s, ratio_b) >= 0.3 and not errors)} |"
        )
        measured = load_s.median_ms > 0 and load_b.median_ms > 0  # NaN: none finished
        growth = load_b.median_ms / load_s.median_ms if measured else float("nan")
        rows.append(
            f"| {name}: median latency under load (floor {_ms(floor_s.median_ms)} / "
            f"{_ms(floor_b.median_ms)}) | {_ms(load_s.median_ms)} | {_ms(load_b.median_ms)}"
            + (f" ({growth:.2f}×)" if measured else " (no request finished)")
            + f" | ≤ 1.3× {_mark(measured and growth <= 1.3)} |"
        )
        server_s, server_b = small.server_ms[name], large.server_ms[name]
        growth = server_b / server_s
        rows.append(
            f"| {name}: server time in process, median | {_ms(server_s)} | {_ms(server_b)} "
            f"({growth:.2f}×) | ≤ 5 ms, ≤ 1.3× {_mark(server_s <= 5 and growth <= 1.3)} |"
        )
        st_s, st_b = small.statements[name], large.statements[name]
        rows.append(
            f"| {name}: SQL statements | {_set(st_s)} | {_set(st_b)} "
            f"| the same {_mark(st_s == st_b and len(st_s) == 1)} |"
        )
    return rows


def _set(values: set[int]) -> str:
    return "–".join(str(v) for v in sorted(values)) if len(values) > 1 else str(min(values))


def machine(url: str | None) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    database = f"SQLite {sqlite3.sqlite_version}"
    if url:
        # The server's own maintenance database: the one named may not exist yet.
        engine_ = create_engine(make_url(url).set(database="postgres"))
        with engine_.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar()
        engine_.dispose()
        database = f"PostgreSQL {version}"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)  # noqa: S607
    wrk_name = (wrk_version.stdout or wrk_version.stderr).split(" [")[0].strip()
    return [
        f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{database}, gunicorn {gunicorn_version} with {WORKERS} workers (gunicorn.conf.py), "
        f"{wrk_name} -t2 -c{CONNECTIONS} -d{SECONDS:g}s. Load average of the machine "
        f"when the run began and ended: {LOAD_BEFORE:.1f}, {os.getloadavg()[0]:.1f}.",
    ]


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    # Stopped from outside: leave through the ``finally`` blocks, which stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = os.environ.get("BENCH_DATABASE_URL")
    settings = " ".join(
        f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
        if k.startswith("BENCH_")
    )  # fmt: skip
    command = f"{settings} .venv/bin/python bench/province.py".strip()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="exchange-province-"))
    floor = Gunicorn(PORT, WORKERS, {"GUNICORN_LOG_LEVEL": "warning"}, app="bench.floor_app:app",
                     log=folder / "floor.log")  # fmt: skip
    try:
        floor.wait_ready("/10")
        print(f"{'PostgreSQL' if url else 'SQLite'}: a college of {SMALL:,} logs", flush=True)
        small = run_college(SMALL, "p1k", folder, (PORT, PORT + 1))
        print(f"{'PostgreSQL' if url else 'SQLite'}: a college of {LOGS:,} logs", flush=True)
        large = run_college(LOGS, "p300k", folder, (PORT, PORT + 2))
    finally:
        floor.stop()
        if not KEEP:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"Exchange at province scale ({'PostgreSQL' if url else 'SQLite'}), `{command}`:")
    for line in machine(url):
        print(line)
    print(
        "People: 20 departments, 200 enterprises with agreements, 2,000 teachers, 500 experts, "
        "20 heads, 2 admins; 3 periods. Pages as the measured teacher, expert and head, whose "
        "own logs are the same at both sizes."
    )
    print()
    for row in table(small, large):
        print(row)
    print()
    print(f"POSTs under load created {small.created:,} and {large.created:,} logs. "
          f"Whole run: {(time.perf_counter() - started) / 60:.1f} min.")  # fmt: skip


if __name__ == "__main__":
    main()
