"""How the busiest lists behave at a realistic size.

Seeds its own college into a fresh SQLite file (or the database in
BENCH_DATABASE_URL): 40 departments' worth of people and LOGS logs, then times
the list pages and API lists a teacher, an expert and a head open most, and
counts their SQL statements. Prints one line per address.

    .venv/bin/python bench/lists.py            # 20,000 logs
    LOGS=100000 .venv/bin/python bench/lists.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
from sqlalchemy import event, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import exchange.accounts.models as account_models  # noqa: E402
from exchange import create_app  # noqa: E402
from exchange.accounts.models import User  # noqa: E402
from exchange.extensions import db  # noqa: E402
from exchange.logs.models import ExchangeLog, LogEvent  # noqa: E402
from exchange.org.models import Agreement, Department, Enterprise, Period  # noqa: E402
from exchange.timeutil import college_today  # noqa: E402

LOGS = int(os.environ.get("LOGS", "20000"))
REPEAT = 20
STATUSES = ["draft", "submitted", "verified", "approved", "approved", "approved", "rejected"]


def seed(rng: random.Random) -> dict[str, User]:
    today = college_today()
    period = Period(name="bench", starts_on=today - timedelta(days=300), ends_on=today)
    db.session.add(period)
    departments = [Department(code=f"D{i}", name=f"Department {i}") for i in range(8)]
    enterprises = [Enterprise(code=f"E{i}", name=f"Enterprise {i}", kind="hospital")
                   for i in range(20)]  # fmt: skip
    db.session.add_all(departments + enterprises)
    db.session.flush()
    for enterprise in enterprises:
        db.session.add(Agreement(enterprise=enterprise, reference="B", scope="both",
                                 starts_on=period.starts_on, ends_on=period.ends_on))  # fmt: skip
    account_models.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    people = []
    for i in range(400):
        expert = i % 5 == 0
        user = User(email=f"p{i}@example.com", name=f"Person {i}",
                    role="expert" if expert else ("head" if i % 50 == 1 else "teacher"),
                    enterprise=rng.choice(enterprises) if expert else None,
                    department=None if expert else rng.choice(departments))  # fmt: skip
        user.set_password("bench-password")
        people.append(user)
    db.session.add_all(people)
    db.session.flush()
    teachers = [p for p in people if p.role != "expert"]
    experts = [p for p in people if p.role == "expert"]
    rows, events, now = [], [], datetime.now(UTC)
    for _ in range(LOGS):
        owner = rng.choice(teachers)
        status = rng.choice(STATUSES)
        rows.append({
            "kind": "practice", "owner_id": owner.id,
            "work_date": period.starts_on + timedelta(days=rng.randrange(300)),
            "minutes": rng.choice([60, 120, 240, 480]), "enterprise_id": rng.choice(enterprises).id,
            "department_id": owner.department_id, "period_id": period.id, "category": "clinical",
            "description": "Ward rounds " * 8, "verifier_id": rng.choice(experts).id,
            "status": status, "version": 1, "created_at": now, "updated_at": now,
        })  # fmt: skip
    db.session.execute(insert(ExchangeLog), rows)
    ids = db.session.execute(select(ExchangeLog.id, ExchangeLog.owner_id)).all()
    for log_id, owner_id in ids:
        events.append({"log_id": log_id, "actor_id": owner_id, "actor_name": "x",
                       "action": "create", "to_status": "draft", "at": now})  # fmt: skip
    db.session.execute(insert(LogEvent), events)
    db.session.commit()
    head = next(p for p in teachers if p.role == "head")
    busiest_expert = max(experts, key=lambda e: sum(1 for r in rows if r["verifier_id"] == e.id))
    busiest_teacher = max(teachers, key=lambda t: sum(1 for r in rows if r["owner_id"] == t.id))
    return {"teacher": busiest_teacher, "expert": busiest_expert, "head": head}


def measure(client, path: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    timings = []
    status = 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        status = client.get(path, headers=headers or {}).status_code
        timings.append((time.perf_counter() - started) * 1000)
    event.remove(db.engine, "before_cursor_execute", count)
    return statistics.median(timings), len(statements) // REPEAT, status


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    folder = tempfile.mkdtemp(prefix="exchange-bench-")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{folder}/bench.db",
        "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
    })  # fmt: skip
    with app.app_context():
        flask_migrate.upgrade()
        started = time.perf_counter()
        people = seed(random.Random(7))
        print(f"seeded {LOGS} logs in {time.perf_counter() - started:.1f} s "
              f"({db.engine.dialect.name})")  # fmt: skip
        emails = {role: user.email for role, user in people.items()}
    print(f"{'address':<44} {'who':<8} {'median ms':>9} {'queries':>8}")
    for role, paths in {
        "teacher": ["/logs/", "/logs/?status=approved", "/api/v1/logs"],
        "expert": ["/logs/verify", "/api/v1/logs?scope=verify"],
        "head": ["/logs/approve", "/api/v1/logs?scope=approve", "/api/v1/logs?scope=department"],
    }.items():
        client = app.test_client()
        client.post("/login", data={"email": emails[role], "password": "bench-password"})
        token = client.post("/api/v1/tokens",
                            json={"email": emails[role], "password": "bench-password"})  # fmt: skip
        headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
        for path in paths:
            with app.app_context():
                median, queries, status = measure(client, path, headers)
            print(f"{path:<44} {role:<8} {median:9.1f} {queries:8d}  (HTTP {status})")


if __name__ == "__main__":
    main()
