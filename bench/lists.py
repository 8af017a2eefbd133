"""What a page costs in the server, at a small and at a province-sized college.

Seeds a college of province shape (20 departments, 200 enterprises, 2,000
teachers with 20 heads, 500 experts, three periods of which the last is open)
with LOGS logs into a fresh SQLite file (or the empty database in
BENCH_DATABASE_URL), then opens the pages a teacher, an expert, a head and an
admin open most with the test client: the median in-process time of each page
(the request through Flask, the queries and the template, no network) and its
SQL statements. Several sizes (comma-separated) are seeded one after the
other, and the last column is the growth of each page's median from the first
size to the last. Also times the domain's aggregations on their own:
eligibility for one department-period, the college's hours of a period and a
round's refresh.

    .venv/bin/python bench/lists.py                   # LOGS=1000,300000
    LOGS=20000 .venv/bin/python bench/lists.py        # one size
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/an_empty_db \
        .venv/bin/python bench/lists.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
from sqlalchemy import event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.security import generate_password_hash  # noqa: E402

from exchange import create_app  # noqa: E402
from exchange.accounts.models import User  # noqa: E402
from exchange.extensions import db  # noqa: E402
from exchange.logs.models import ExchangeLog, LogEvent  # noqa: E402
from exchange.org.models import Agreement, Department, Enterprise, Period  # noqa: E402
from exchange.rewards import services as rewards  # noqa: E402
from exchange.rewards.models import RewardRound  # noqa: E402
from exchange.timeutil import college_today  # noqa: E402

SIZES = [int(n) for n in os.environ.get("LOGS", "1000,300000").split(",") if n.strip()]
REPEAT = int(os.environ.get("REPEAT", "40"))
PASSWORD = "bench-password"  # noqa: S105 - the seeded people's password
DEPARTMENTS, ENTERPRISES, TEACHERS, EXPERTS = 20, 200, 2000, 500
STATUSES = ["draft", "submitted", "verified", "approved", "approved", "approved", "rejected"]

# Who opens which page: (label, role, path).
PAGES = [
    ("dashboard", "teacher", "/"),
    ("my logs", "teacher", "/logs/"),
    ("my logs, approved", "teacher", "/logs/?status=approved"),
    ("log form", "teacher", "/logs/new"),
    ("verify queue", "expert", "/logs/verify"),
    ("dashboard", "head", "/"),
    ("approve queue", "head", "/logs/approve"),
    ("department logs", "head", "/logs/department"),
    ("eligibility", "head", "/rewards/eligibility"),
    ("approve queue", "admin", "/logs/approve"),
    ("all logs", "admin", "/logs/department"),
    ("API my logs", "teacher", "/api/v1/logs"),
    ("API verify queue", "expert", "/api/v1/logs?scope=verify"),
    ("API approve queue", "head", "/api/v1/logs?scope=approve"),
]


def seed(logs: int, rng: random.Random) -> dict[str, Any]:
    """The college and ``logs`` logs; the busiest person of each role."""
    today = college_today()
    periods = [
        Period(name=f"bench {i}", state="locked" if i < 2 else "open",
               starts_on=today - timedelta(days=365 * (3 - i) - 1),
               ends_on=today - timedelta(days=365 * (2 - i)) + timedelta(days=30 if i == 2 else 0))
        for i in range(3)
    ]  # fmt: skip
    departments = [Department(code=f"D{i}", name=f"Department {i}") for i in range(DEPARTMENTS)]
    enterprises = [Enterprise(code=f"E{i}", name=f"Enterprise {i}", kind="hospital")
                   for i in range(ENTERPRISES)]  # fmt: skip
    db.session.add_all(periods + departments + enterprises)
    db.session.flush()
    for period in periods:
        rewards.seed_rules(period)
    # Agreements of every enterprise with every department, ending at different times
    # (a few within the two months a head's dashboard warns about).
    db.session.add_all(
        Agreement(enterprise=e, reference="B", scope="both", starts_on=periods[0].starts_on,
                  ends_on=today + timedelta(days=rng.randrange(30, 1500)))
        for e in enterprises
    )  # fmt: skip
    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = datetime.now(UTC)
    people = [
        {"email": f"t{i}@example.com", "name": f"Teacher {i}", "password_hash": hashed,
         "role": "head" if i % 100 == 0 else "teacher", "department_id": departments[i % 20].id,
         "active": True, "created_at": now, "updated_at": now}
        for i in range(TEACHERS)
    ] + [
        {"email": f"x{i}@example.com", "name": f"Expert {i}", "password_hash": hashed,
         "role": "expert", "enterprise_id": enterprises[i % 200].id,
         "active": True, "created_at": now, "updated_at": now}
        for i in range(EXPERTS)
    ] + [{"email": "admin@example.com", "name": "Admin", "password_hash": hashed,
          "role": "admin", "active": True, "created_at": now, "updated_at": now}]  # fmt: skip
    db.session.execute(insert(User), people)
    users = db.session.execute(
        select(User.id, User.role, User.department_id, User.enterprise_id)
    ).all()
    teachers = [u for u in users if u.role in ("teacher", "head")]
    experts_at: dict[int, list[Any]] = {}
    for u in users:
        if u.role == "expert":
            experts_at.setdefault(u.enterprise_id, []).append(u)
    rows = []
    for _ in range(logs):
        owner = rng.choice(teachers)
        enterprise = rng.choice(enterprises)
        period = rng.choice(periods)
        status = rng.choice(STATUSES)
        if period.state == "locked" and status in ("draft", "submitted", "verified"):
            status = "approved"
        rows.append({
            "kind": "practice", "owner_id": owner.id,
            "work_date": period.starts_on + timedelta(days=rng.randrange(360)),
            "minutes": rng.choice([60, 120, 240, 480]), "enterprise_id": enterprise.id,
            "department_id": owner.department_id, "period_id": period.id, "category": "clinical",
            "description": "Ward rounds " * 8,
            "verifier_id": rng.choice(experts_at[enterprise.id]).id,
            "status": status, "version": 1, "created_at": now, "updated_at": now,
        })  # fmt: skip
    for start in range(0, len(rows), 20000):
        db.session.execute(insert(ExchangeLog), rows[start : start + 20000])
    ids = db.session.execute(select(ExchangeLog.id, ExchangeLog.owner_id)).all()
    events = [{"log_id": log_id, "actor_id": owner_id, "actor_name": "x", "action": "create",
               "to_status": "draft", "at": now} for log_id, owner_id in ids]  # fmt: skip
    for start in range(0, len(events), 20000):
        db.session.execute(insert(LogEvent), events[start : start + 20000])
    db.session.commit()
    by_owner = Counter(r["owner_id"] for r in rows)
    to_verify = Counter(r["verifier_id"] for r in rows if r["status"] == "submitted")
    heads = [u for u in teachers if u.role == "head"]
    head = max(heads, key=lambda h: sum(by_owner[t.id] for t in teachers
                                        if t.department_id == h.department_id))  # fmt: skip
    busiest = {
        "teacher": max((t for t in teachers if t.role == "teacher"), key=lambda t: by_owner[t.id]),
        "expert": max((u for u in users if u.role == "expert"), key=lambda e: to_verify[e.id]),
        "head": head,
        "admin": next(u for u in users if u.role == "admin"),
    }
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return {
        "emails": {role: db.session.get(User, u.id).email for role, u in busiest.items()},
        "department_id": head.department_id,
        "period_id": periods[-1].id,
        "admin_id": busiest["admin"].id,
    }


def median_ms(
    engine: Any, action: Callable[[], Any], repeat: int = REPEAT
) -> tuple[float, float, int]:
    """The median time of ``action`` in ms (wall clock, and this process's CPU time,
    which other programs on a busy machine disturb less), and the SQL statements it
    sends (each time)."""
    statements: list[int] = []

    def count(*_args: Any) -> None:
        statements.append(1)

    action()  # warm: the first call compiles, fills caches, opens a connection
    event.listen(engine, "before_cursor_execute", count)
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    event.remove(engine, "before_cursor_execute", count)
    return statistics.median(wall), statistics.median(cpu), len(statements) // repeat


def measure(logs: int) -> dict[tuple[str, str], tuple[float, float, int]]:
    url = os.environ.get("BENCH_DATABASE_URL")
    folder = tempfile.mkdtemp(prefix="exchange-bench-")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db",
        "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
    })  # fmt: skip
    results: dict[tuple[str, str], tuple[float, float, int]] = {}
    with app.app_context():
        if url:
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
        flask_migrate.upgrade()
        started = time.perf_counter()
        seeded = seed(logs, random.Random(7))
        engine = db.engine
        print(f"seeded {logs} logs in {time.perf_counter() - started:.1f} s "
              f"({db.engine.dialect.name})", file=sys.stderr)  # fmt: skip
    clients = {}
    for role, email in seeded["emails"].items():
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD})
        token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
        clients[role] = (client, {"Authorization": f"Bearer {token.get_json()['token']}"})
    for label, role, path in PAGES:
        client, token = clients[role]
        headers = token if path.startswith("/api/") else {}

        def get(client: Any = client, path: str = path, headers: dict[str, str] = headers) -> None:
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")

        # Outside any app context: each request has its own, as in a server.
        results[(label, role)] = median_ms(engine, get)
    with app.app_context():
        admin = db.session.get(User, seeded["admin_id"])
        department = db.session.get(Department, seeded["department_id"])
        period = db.session.get(Period, seeded["period_id"])
        results[("eligibility (service)", "head")] = median_ms(
            engine, lambda: rewards.eligibility(admin, department, period)
        )
        results[("college hours (service)", "admin")] = median_ms(
            engine, lambda: rewards.college_hours(period.id)
        )
        reward_round = rewards.open_round(admin, department.id, period.id)
        db.session.commit()

        def refresh() -> None:
            rewards.refresh_round(admin, db.session.get(RewardRound, reward_round.id))
            db.session.rollback()

        results[("round refresh (service)", "admin")] = median_ms(engine, refresh, repeat=10)
        db.session.remove()
        if url:
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
        db.engine.dispose()
    return results


def main() -> None:
    by_size = {logs: measure(logs) for logs in SIZES}
    first, last = by_size[SIZES[0]], by_size[SIZES[-1]]
    print(f"in-process median per page (wall ms, CPU ms of this process), SQL statements;"
          f" {db_kind()}, {os.cpu_count()} CPUs, {REPEAT} requests each")  # fmt: skip
    head = f"{'page':<26} {'who':<8}"
    for logs in SIZES:
        head += f" {f'ms@{logs:,}':>11} {'cpu':>6} {'SQL':>4}"
    print(head + (f" {'growth':>7}" if len(SIZES) > 1 else ""))
    for key in first:
        line = f"{key[0]:<26} {key[1]:<8}"
        for logs in SIZES:
            ms, cpu, statements = by_size[logs][key]
            line += f" {ms:11.2f} {cpu:6.2f} {statements:4d}"
        if len(SIZES) > 1:
            line += f" {last[key][0] / first[key][0]:6.2f}x"
        print(line)


def db_kind() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    return "PostgreSQL" if url and url.startswith("postgresql") else "SQLite"


if __name__ == "__main__":
    main()
