"""Load and fault runs: many people at once on gunicorn, then proof that nothing was lost.

Seeds a college into a fresh database (a SQLite file in a scratch folder, or
the PostgreSQL database in LOAD_DATABASE_URL, which is emptied first), migrated
by the app's own command (``flask --app exchange db upgrade``). Starts gunicorn
with the project's ``gunicorn.conf.py`` and 4 workers on 127.0.0.1, then:

1. the load run: 50 simulated people (``bench/locustfile.py``) sign in, log
   hours, submit, verify, approve and read their lists for LOAD_SECONDS (60);
   half-way through, a backup is taken and restored: it must be whole;
2. the fault run: the same for LOAD_FAULT_SECONDS (30), and half-way through a
   gunicorn worker serving a request is killed with SIGKILL (gunicorn starts
   another);
3. a backup while the app is idle (``flask --app exchange backup`` on SQLite,
   ``pg_dump -Fc`` and ``pg_restore`` on PostgreSQL), restored into a fresh
   database that a fresh instance of the app opens: the same counts and sums.

After each run the database is held to what the clients were told: every
accepted log present exactly once (by client_id), each log's audit trail a
whole chain that starts with its create, agrees with the log's status and with
every answer a client received. Prints one table and exits with 1 when a
figure that must be zero is not.

    .venv/bin/python bench/load.py
    LOAD_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/an_empty_db \
        .venv/bin/python bench/load.py

Loopback only, bounded: every process it starts is stopped when it ends, and
the whole run is stopped after LOAD_TIMEOUT seconds (600) whatever happens.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import exchange.accounts.models as account_models  # noqa: E402
from exchange import create_app  # noqa: E402
from exchange.accounts.models import User  # noqa: E402
from exchange.config import normalise_database_url  # noqa: E402
from exchange.extensions import db  # noqa: E402
from exchange.logs.models import ExchangeLog, LogEvent  # noqa: E402
from exchange.logs.queries import totals_astray  # noqa: E402
from exchange.org.models import Agreement, Department, Enterprise, Period  # noqa: E402
from exchange.timeutil import college_today  # noqa: E402

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
FAULT_SECONDS = int(os.environ.get("LOAD_FAULT_SECONDS", "30"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
PORT = int(os.environ.get("LOAD_PORT", "8200"))
TIMEOUT = int(os.environ.get("LOAD_TIMEOUT", "600"))
BACKGROUND_LOGS = int(os.environ.get("LOAD_BACKGROUND_LOGS", "5000"))
PASSWORD = "load-password"
LOCKED = "database is locked"
BIN = Path(sys.executable).parent

# Who the simulated people are (their share of USERS).
WEIGHTS = {"teachers": 30, "experts": 12, "heads": 8}
DEPARTMENTS, ENTERPRISES = 4, 6


# --- the college ---------------------------------------------------------------------


def seed(url: str) -> dict[str, Any]:
    """Departments, enterprises with agreements, an open period, the simulated people
    (and as many again who only own logs), BACKGROUND_LOGS earlier logs; the plan."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "EXCHANGE_AUTO_MIGRATE": False})
    rng = random.Random(10)
    # The seeded accounts carry a cheap hash: signing in 50 people is not what is measured.
    account_models.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    with app.app_context():
        today = college_today()
        period = Period(
            name="Load", starts_on=today - timedelta(days=300), ends_on=today + timedelta(days=60)
        )
        departments = [Department(code=f"L{i}", name=f"Department {i}") for i in range(DEPARTMENTS)]
        enterprises = [
            Enterprise(code=f"LE{i}", name=f"Hospital {i}", kind="hospital")
            for i in range(ENTERPRISES)
        ]
        db.session.add_all([period, *departments, *enterprises])
        db.session.flush()
        for enterprise in enterprises:
            db.session.add(
                Agreement(
                    enterprise=enterprise,
                    reference="LOAD",
                    scope="both",
                    starts_on=period.starts_on,
                    ends_on=period.ends_on,
                )
            )

        def person(n: int, role: str, **where: Any) -> User:
            user = User(
                email=f"{role}{n}@example.com", name=f"{role.title()} {n}", role=role, **where
            )
            user.set_password(PASSWORD)
            return user

        share = {
            role: max(1, round(USERS * w / sum(WEIGHTS.values()))) for role, w in WEIGHTS.items()
        }
        heads = [
            person(i, "head", department=departments[i % DEPARTMENTS])
            for i in range(share["heads"])
        ]
        teachers = [
            person(i, "teacher", department=departments[i % DEPARTMENTS])
            for i in range(share["teachers"] * 2)
        ]
        experts = [
            person(i, "expert", enterprise=enterprises[i % ENTERPRISES])
            for i in range(share["experts"] * 2)
        ]
        admin = person(0, "admin")
        db.session.add_all([*heads, *teachers, *experts, admin])
        db.session.flush()

        # Earlier drafts, by the people who are not simulated: lists and counts have data.
        now = datetime.now(UTC)
        owners = teachers[share["teachers"] :]
        expert_at = {e.enterprise_id: e.id for e in experts}
        rows = []
        for _ in range(BACKGROUND_LOGS):
            owner = rng.choice(owners)
            enterprise = rng.choice(enterprises)
            rows.append(
                {
                    "kind": "practice",
                    "owner_id": owner.id,
                    "minutes": rng.choice([60, 120, 240]),
                    "work_date": period.starts_on + timedelta(days=rng.randrange(300)),
                    "enterprise_id": enterprise.id,
                    "department_id": owner.department_id,
                    "period_id": period.id,
                    "category": "clinical",
                    "description": "Earlier work",
                    "verifier_id": expert_at[enterprise.id],
                    "status": "draft",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            db.session.execute(insert(ExchangeLog), rows)
            ids = db.session.execute(select(ExchangeLog.id, ExchangeLog.owner_id)).all()
            db.session.execute(
                insert(LogEvent),
                [
                    {
                        "log_id": log_id,
                        "actor_id": owner_id,
                        "actor_name": "seed",
                        "action": "create",
                        "to_status": "draft",
                        "at": now,
                    }
                    for log_id, owner_id in ids
                ],
            )
        db.session.commit()

        simulated_teachers = teachers[: share["teachers"]]
        simulated_experts = experts[: share["experts"]]

        def experts_of(enterprise: Enterprise) -> list[int]:
            return [e.id for e in simulated_experts if e.enterprise_id == enterprise.id]

        def teachers_of(department: Department) -> list[int]:
            return [t.id for t in simulated_teachers if t.department_id == department.id]

        practice_places = [
            {"id": e.id, "verifiers": experts_of(e)} for e in enterprises if experts_of(e)
        ]
        teaching_places = [
            {"id": d.id, "verifiers": teachers_of(d)} for d in departments if teachers_of(d)
        ]
        first_day = max(period.starts_on, today - timedelta(days=300))
        return {
            "password": PASSWORD,
            "first_day": first_day.isoformat(),
            "last_day": today.isoformat(),
            "weights": share,
            "teachers": [{"email": t.email, "places": practice_places} for t in simulated_teachers],
            "experts": [{"email": e.email, "places": teaching_places} for e in simulated_experts],
            "heads": [{"email": h.email} for h in heads],
        }


# --- the servers ------------------------------------------------------------------------


@dataclass
class Server:
    """gunicorn with the project's configuration, in its own process group."""

    url: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    started_workers: set[int] = field(default_factory=set)

    def environment(self) -> dict[str, str]:
        return os.environ | {
            "DATABASE_URL": self.url,
            "EXCHANGE_INSTANCE_PATH": str(self.folder / "instance"),
            "EXCHANGE_BIND": f"127.0.0.1:{PORT}",
            "WEB_CONCURRENCY": str(WORKERS),
            "EXCHANGE_AUTO_MIGRATE": "0",
            "SECRET_KEY": "load-run-secret-key-not-for-production-use",
            # Everybody signs in from 127.0.0.1: the sign-in throttle would refuse them.
            "EXCHANGE_LOGIN_LIMIT": "100000 per minute",
        }

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.environment(),
            stdout=open(self.folder / "access.log", "ab"),  # noqa: SIM115 - the child owns it
            stderr=open(self.folder / "error.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped at start-up: see {self.folder}/error.log")
            if len(self.workers()) == WORKERS and _healthy(f"http://127.0.0.1:{PORT}/healthz"):
                self.started_workers = set(self.workers())
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def workers(self) -> list[int]:
        """The master's children, from /proc."""
        if self.process is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def busy_worker(self) -> int:
        """A worker that holds a client's connection right now (in the middle of a
        request), so that the kill cuts a request short; any worker if none is seen
        serving within 5 s."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            clients = _client_sockets(PORT)
            serving = [pid for pid in self.workers() if _sockets_of(pid) & clients]
            if serving:
                return random.choice(serving)
            time.sleep(0.005)
        return random.choice(self.workers())

    def wait_idle(self) -> None:
        """Until no worker serves a request: a request whose client has stopped
        waiting still runs to its end (and may commit), and the checks must see it."""
        deadline = time.monotonic() + 40  # gunicorn replaces a worker stuck for 30 s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if _client_sockets(PORT):
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 1:
                return
            time.sleep(0.05)
        raise RuntimeError("gunicorn was still serving requests 40 s after the run ended")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")


def _client_sockets(port: int) -> set[str]:
    """The inodes of the established connections to 127.0.0.1:``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            # ESTABLISHED, or CLOSE_WAIT: the client has gone, the worker is still at it.
            if local_port == port and fields[3] in ("01", "08"):
                inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(address, timeout=2) as answer:  # noqa: S310 - loopback
            return answer.status == 200
    except OSError:
        return False


# --- a run ------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    killed: int | None = None
    workers_after: int = 0
    server_ms: list[int] = field(default_factory=list)


def run_locust(server: Server, plan_path: Path, name: str, seconds: int, midway: Any = None) -> Run:
    """One run of the simulated people; ``midway(server)`` is called half-way through
    (it kills a worker, or takes a backup) and may return the pid it killed."""
    records_path = server.folder / f"records-{name}.jsonl"
    access_log = server.folder / "access.log"
    offset = access_log.stat().st_size
    env = os.environ | {"LOAD_PLAN": str(plan_path), "LOAD_RECORDS": str(records_path)}
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        f"{seconds}s",
        # At the end, a person finishes the task at hand (answers can take seconds).
        "--stop-timeout",
        "20",
        "--host",
        f"http://127.0.0.1:{PORT}",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(server.folder / f"locust-{name}.log", "wb") as log:
        locust = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        killed = None
        try:
            if midway is not None:
                time.sleep(seconds / 2)
                killed = midway(server)
            locust.wait(timeout=seconds + 60)
        finally:
            if locust.poll() is None:
                os.killpg(locust.pid, signal.SIGKILL)
                locust.wait()
    lines = [json.loads(line) for line in records_path.read_text().splitlines()]
    server.wait_idle()
    # gunicorn replaces a killed worker within a second or two.
    deadline = time.monotonic() + 20
    while len(server.workers()) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    with open(access_log, "rb") as log:
        log.seek(offset)
        server_ms = sorted(int(json.loads(line)["duration_ms"]) for line in log if line.strip())
    return Run(name, lines[0], lines[1:], killed, len(server.workers()), server_ms)


# --- the checks ---------------------------------------------------------------------


@dataclass
class Findings:
    accepted: int = 0
    missing: int = 0
    duplicated: int = 0
    wrong_id: int = 0
    refused: int = 0
    refused_stored: int = 0
    unacknowledged: int = 0
    unacknowledged_stored: int = 0
    answers: int = 0
    answers_disagreeing: int = 0
    status_disagreeing: int = 0
    changes_never_answered: int = 0
    logs_without_create: int = 0
    events_without_log: int = 0
    broken_trails: int = 0
    totals_astray: int = 0  # keys whose kept totals differ from their logs' sums
    problems: list[str] = field(default_factory=list)


def check(engine: Engine, records: list[dict[str, Any]], new: set[str]) -> Findings:
    """The database against what the clients of every run so far were told; ``new``:
    the client_ids of the creates sent in the last run."""
    found = Findings()
    with engine.connect() as connection:
        logs = {
            row.id: row
            for row in connection.execute(
                text("SELECT id, owner_id, client_id, status, version FROM exchange_log")
            )
        }
        trails: dict[int, list[tuple[str, str | None, str]]] = defaultdict(list)
        for row in connection.execute(
            text("SELECT log_id, action, from_status, to_status FROM log_event ORDER BY id")
        ):
            trails[row.log_id].append((row.action, row.from_status, row.to_status))
        astray = totals_astray(connection)
    found.totals_astray = len(astray)
    found.problems += [f"kept totals {key}: {kept}, the logs' sums {summed}"
                       for key, (kept, summed) in astray.items()]  # fmt: skip
    by_client: dict[str, list[int]] = defaultdict(list)
    for log in logs.values():
        if log.client_id:
            by_client[log.client_id].append(log.id)

    # Every log whole: a trail that starts with its create and ends in its status.
    found.events_without_log = sum(1 for log_id in trails if log_id not in logs)
    for log in logs.values():
        trail = trails.get(log.id, [])
        if not trail or trail[0][0] != "create":
            found.logs_without_create += 1
            found.problems.append(f"log {log.id} has no create entry")
            continue
        chained = all(trail[i][1] == trail[i - 1][2] for i in range(1, len(trail)))
        if not chained or trail[0][1] is not None or trail[-1][2] != log.status:
            found.broken_trails += 1
            found.problems.append(f"log {log.id} ({log.status}): trail {trail}")

    # Every accepted create present exactly once, under the id the client was given.
    accepted = {r["client_id"]: r["log_id"] for r in records if r["type"] == "accepted"}
    found.accepted = sum(1 for client_id in accepted if client_id in new)
    for client_id, log_id in accepted.items():
        stored = by_client.get(client_id, [])
        if not stored:
            found.missing += 1
            found.problems.append(f"accepted log {log_id} ({client_id}) is missing")
        elif len(stored) > 1:
            found.duplicated += 1
        elif stored[0] != log_id:
            found.wrong_id += 1
    refused = {r["client_id"] for r in records if r["type"] == "refused"}
    found.refused = len(refused & new)
    found.refused_stored = sum(1 for c in refused if c in by_client)
    never_answered = {c for c in new if c not in accepted and c not in refused}
    found.unacknowledged = len(never_answered)

    found.unacknowledged_stored = sum(1 for c in never_answered if c in by_client)

    # Every answer agrees with the trail as it is now; the latest answer with the log.
    latest: dict[int, dict[str, Any]] = {}
    for answer in (r for r in records if r["type"] == "answer"):
        found.answers += 1
        log_id = answer["log_id"]
        trail = trails.get(log_id, [])
        history = answer["history"]
        told = [(a, s) for a, s in history] if history is not None else None
        if log_id not in logs or (
            told is not None and [(a, s) for a, _f, s in trail[: len(told)]] != told
        ):
            found.answers_disagreeing += 1
            found.problems.append(f"answer {answer} disagrees with trail {trail}")
        if log_id not in latest or answer["version"] > latest[log_id]["version"]:
            latest[log_id] = answer
    for log_id, answer in latest.items():
        log = logs.get(log_id)
        if log is None:
            continue
        if log.version < answer["version"]:
            found.status_disagreeing += 1
            found.problems.append(
                f"log {log_id} is at version {log.version}, a client saw {answer['version']}"
            )
        elif log.version == answer["version"] and log.status != answer["status"]:
            found.status_disagreeing += 1
            found.problems.append(
                f"log {log_id} is {log.status}, a client was told "
                f"{answer['status']} at the same version"
            )
        elif log.version > answer["version"]:
            found.changes_never_answered += 1
    return found


def fingerprint(url: str) -> dict[str, Any]:
    """What a restore must give back: logs and minutes per status, events, users."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            per_status = {
                row.status: (row.n, int(row.minutes))
                for row in connection.execute(
                    text(
                        "SELECT status, count(*) AS n, sum(minutes) AS minutes FROM exchange_log "
                        "GROUP BY status ORDER BY status"
                    )
                )
            }
            return {
                "logs per status (count, minutes)": per_status,
                "events": connection.execute(text("SELECT count(*) FROM log_event")).scalar(),
                "events per action": dict(
                    connection.execute(
                        text(
                            "SELECT action, count(*) FROM log_event GROUP BY action ORDER BY action"
                        )
                    ).all()
                ),
                "users": connection.execute(text("SELECT count(*) FROM user_account")).scalar(),
                "kept totals per status (minutes, logs)": {
                    row.status: (int(row.minutes), int(row.logs))
                    for row in connection.execute(
                        text(
                            "SELECT status, sum(minutes) AS minutes, sum(logs) AS logs"
                            " FROM log_total GROUP BY status ORDER BY status"
                        )
                    )
                },
            }
    finally:
        engine.dispose()


def flask(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "DATABASE_URL": url,
        "EXCHANGE_INSTANCE_PATH": str(folder / "instance"),
        "EXCHANGE_AUTO_MIGRATE": "0",
    }
    return subprocess.run(
        [str(BIN / "flask"), "--app", "exchange", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def restored_copy(url: str, folder: Path, name: str) -> tuple[str, str]:
    """A backup of the database (``flask --app exchange backup`` on SQLite, ``pg_dump -Fc``
    on PostgreSQL), restored into a fresh database: its URL, and how it was made."""
    if url.startswith("sqlite"):
        copy = folder / f"{name}.db"
        flask(url, folder, "backup", str(copy))
        return f"sqlite:///{copy}", "flask backup"
    dump = folder / f"{name}.dump"
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq], check=True, timeout=300)
    target = make_url(url).set(database=f"{make_url(url).database}_{name}")
    _recreate_database(url, target.database or "")
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "-d",
            target.set(drivername="postgresql").render_as_string(hide_password=False),
            str(dump),
        ],
        check=True,
        timeout=300,
    )
    return target.render_as_string(hide_password=False), "pg_dump -Fc, pg_restore"


def drop_copy(url: str, copy_url: str) -> None:
    if not url.startswith("sqlite"):
        _drop_database(url, make_url(copy_url).database or "")


def backup_under_load(url: str, folder: Path) -> Findings:
    """A backup taken while everybody works is whole: no half-written log or entry."""
    copy_url, _how = restored_copy(url, folder, "under_load")
    engine = create_engine(copy_url)
    try:
        found = check(engine, [], set())
        with engine.connect() as connection:
            found.accepted = connection.execute(text("SELECT count(*) FROM exchange_log")).scalar()
    finally:
        engine.dispose()
        drop_copy(url, copy_url)
    return found


def backup_and_restore(url: str, folder: Path) -> tuple[bool, str, dict[str, Any]]:
    """A backup of the idle database, restored as a fresh instance's database: the same
    counts and sums."""
    live = fingerprint(url)
    copy_url, how = restored_copy(url, folder, "restore")
    try:
        # A fresh instance on the restored database: it starts and answers.
        app = create_app({"SQLALCHEMY_DATABASE_URI": copy_url, "EXCHANGE_AUTO_MIGRATE": False})
        answer = app.test_client().get("/healthz")
        with app.app_context():
            db.engine.dispose()
        restored = fingerprint(copy_url)
    finally:
        drop_copy(url, copy_url)
    return live == restored and answer.status_code == 200, how, live


def _admin_engine(url: str) -> Engine:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _recreate_database(url: str, name: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _drop_database(url: str, name: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()


def empty_postgresql(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# --- the table ----------------------------------------------------------------------------


def table(
    dialect: str,
    runs: list[Run],
    findings: list[Findings],
    locked_in_log: list[int],
    under_load: Findings,
    backup: tuple[bool, str, dict[str, Any]],
) -> tuple[str, bool]:
    rows: list[tuple[str, list[str], bool]] = []  # (what, per run, must hold)

    def row(what: str, values: list[Any], ok: bool = True) -> None:
        rows.append((what, [str(v) for v in values], ok))

    def codes(run: Run, low: int, high: int) -> int:
        return sum(n for c, n in run.summary["status_codes"].items() if low <= int(c) < high)

    row("requests", [r.summary["requests"] for r in runs])
    row("requests/s", [f"{r.summary['rps']:.0f}" for r in runs])
    row(
        "median / p95 ms",
        [f"{r.summary['median_ms']:.0f} / {r.summary['p95_ms']:.0f}" for r in runs],
    )
    row(
        "server time median / p95 ms (access log)",
        [f"{_percentile(r.server_ms, 0.5)} / {_percentile(r.server_ms, 0.95)}" for r in runs],
    )
    row("2xx / 3xx", [f"{codes(r, 200, 300)} / {codes(r, 300, 400)}" for r in runs])
    row(
        "409 changed first / 422 refused",
        [
            f"{r.summary['status_codes'].get('409', 0)} / {r.summary['status_codes'].get('422', 0)}"
            for r in runs
        ],
    )
    other_4xx = [
        codes(r, 400, 500)
        - r.summary["status_codes"].get("409", 0)
        - r.summary["status_codes"].get("422", 0)
        for r in runs
    ]
    row("other 4xx (must be 0)", other_4xx, not any(other_4xx))
    surprises = [r.summary["task_errors"] for r in runs]
    row("answers of an unexpected shape (must be 0)", surprises, not any(surprises))
    fives = [codes(r, 500, 600) for r in runs]
    row("5xx (must be 0)", fives, not any(fives))
    broken = [r.summary["status_codes"].get("0", 0) for r in runs]
    row("requests cut off (the killed worker's)", broken, broken[0] == 0)
    locked = [
        r.summary["locked_in_responses"] + n for r, n in zip(runs, locked_in_log, strict=True)
    ]
    row(f'"{LOCKED}" in answers and logs (must be 0)', locked, not any(locked))
    row(
        "worker killed (SIGKILL) / workers after",
        [f"{'pid ' + str(r.killed) if r.killed else 'none'} / {r.workers_after}" for r in runs],
        all(r.workers_after == WORKERS for r in runs),
    )
    row("logs accepted (acknowledged creates)", [f.accepted for f in findings])
    lost = [f.missing + f.duplicated + f.wrong_id for f in findings]
    row(
        "accepted logs missing / twice / other id (must be 0)",
        [f"{f.missing} / {f.duplicated} / {f.wrong_id}" for f in findings],
        not any(lost),
    )
    row(
        "creates refused (422) / stored all the same (must be 0)",
        [f"{f.refused} / {f.refused_stored}" for f in findings],
        not any(f.refused_stored for f in findings),
    )
    row(
        "creates never answered (cut off or stopped by the run's end): stored whole / absent",
        [
            f"{f.unacknowledged_stored} / {f.unacknowledged - f.unacknowledged_stored}"
            for f in findings
        ],
    )
    row("answers about a log checked against its trail", [f.answers for f in findings])
    disagree = [f.answers_disagreeing + f.status_disagreeing for f in findings]
    row("answers the database contradicts (must be 0)", disagree, not any(disagree))
    # A change no client heard of: only from a request cut off, or still on its way
    # when the run ended.
    unanswered = [sum(1 for r in run.records if r["type"] in ("cut", "stopped")) for run in runs]
    row(
        "changes committed but never answered (≤ requests cut off or stopped)",
        [f"{f.changes_never_answered} (≤ {n})" for f, n in zip(findings, unanswered, strict=True)],
        all(f.changes_never_answered <= n for f, n in zip(findings, unanswered, strict=True)),
    )
    half = [f.logs_without_create + f.events_without_log + f.broken_trails for f in findings]
    row(
        "half-written: log w/o create / event w/o log / broken trail (must be 0)",
        [f"{f.logs_without_create} / {f.events_without_log} / {f.broken_trails}" for f in findings],
        not any(half),
    )
    astray = [f.totals_astray for f in findings]
    row("kept totals that differ from the logs' sums (must be 0)", astray, not any(astray))
    whole = not (
        under_load.logs_without_create + under_load.events_without_log + under_load.broken_trails
    )
    rows.append(
        (
            f"backup taken half-way through the load run: whole ({under_load.accepted} logs)",
            ["yes" if whole else "NO", "-"],
            whole,
        )
    )
    same, how, live = backup
    statuses = ", ".join(
        f"{s} {n}/{m // 60}h" for s, (n, m) in live["logs per status (count, minutes)"].items()
    )
    rows.append(
        (
            f"backup of the idle database ({how}) restored: identical counts and sums",
            [
                f"{'yes' if same else 'NO'}: {statuses}; "
                f"{live['events']} events, {live['users']} users"
            ],
            same,
        )
    )

    title = f"Load and fault run on {dialect}: {USERS} users, gunicorn -w {WORKERS}"
    headers = [f"load {SECONDS}s", f"fault {FAULT_SECONDS}s"]
    width = max(len(r[0]) for r in rows) + 2
    lines = [title, "", f"{'':<{width}}" + "".join(f"{h:>22}" for h in headers)]
    for what, values, ok in rows:
        mark = "" if ok else "   <-- FAILS"
        if len(values) == 1 and len(values[0]) > 22:
            lines.append(f"{what:<{width}}{mark}\n    {values[0]}")
        else:
            lines.append(f"{what:<{width}}" + "".join(f"{v:>22}" for v in values) + mark)
    return "\n".join(lines), all(ok for _w, _v, ok in rows)


def _percentile(values: list[int], share: float) -> int:
    return values[min(len(values) - 1, int(len(values) * share))] if values else 0


# --- main --------------------------------------------------------------------------------


def _out_of_time(*_args: Any) -> None:
    raise TimeoutError(f"the load run took longer than LOAD_TIMEOUT ({TIMEOUT} s)")


def main() -> int:
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(TIMEOUT)
    folder = Path(tempfile.mkdtemp(prefix="exchange-load-"))
    (folder / "instance").mkdir()
    given = os.environ.get("LOAD_DATABASE_URL")
    url = normalise_database_url(given) if given else f"sqlite:///{folder}/load.db"
    if given:
        empty_postgresql(url)
    flask(url, folder, "db", "upgrade")
    plan = seed(url)
    plan_path = folder / "plan.json"
    plan_path.write_text(json.dumps(plan))
    engine = create_engine(url)
    dialect = engine.dialect.name
    print(
        f"seeded {dialect} in {folder}; starting gunicorn -w {WORKERS} on 127.0.0.1:{PORT}",
        flush=True,
    )
    server = Server(url, folder)
    try:
        server.start()
        runs, findings, locked_in_log = [], [], []
        records: list[dict[str, Any]] = []
        under_load: list[Findings] = []

        def take_backup(_server: Server) -> None:
            under_load.append(backup_under_load(url, folder))

        def kill_a_worker(server: Server) -> int:
            pid = server.busy_worker()
            os.kill(pid, signal.SIGKILL)
            return pid

        for name, seconds, midway in (
            ("load", SECONDS, take_backup),
            ("fault", FAULT_SECONDS, kill_a_worker),
        ):
            print(f"{name} run: {USERS} users for {seconds} s", flush=True)
            before = server.log_text().count(LOCKED)
            run = run_locust(server, plan_path, name, seconds, midway)
            runs.append(run)
            locked_in_log.append(server.log_text().count(LOCKED) - before)
            records += run.records
            new = {r["client_id"] for r in run.records if r["type"] == "sent"}
            findings.append(check(engine, records, new))
        backup = backup_and_restore(url, folder)
    finally:
        server.stop()
        engine.dispose()
    report, ok = table(dialect, runs, findings, locked_in_log, under_load[0], backup)
    print(report)
    for run in runs:
        for kind, what in (("cut", "cut off"), ("stopped", "still on their way at the end")):
            requests = Counter(r["request"] for r in run.records if r["type"] == kind)
            if requests:
                listed = ", ".join(f"{name} ×{n}" for name, n in requests.most_common())
                print(f"  {run.name} run, {what}: {listed}")
    for problem in [p for f in findings for p in f.problems][:20]:
        print("  " + problem)
    print(f"\n(logs, plan and records in {folder})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
