"""The reports at province scale: each report's page in process beside a floor.

Seeds a college with BENCH_LOGS logs (300,000; ``bench.seed``: 20 departments, 200
enterprises, 2,500 people, 3 periods, so about 100,000 logs in the running period)
into a fresh database — a SQLite file in a scratch folder, or a scratch PostgreSQL
database named after BENCH_DATABASE_URL (``<name>_reports``, created and dropped
again) — then measures in process (Flask's test client, median of BENCH_REPEAT
requests after two that warm caches), for the running period:

* the department report of the measured department (head), the college report and
  the enterprise partnership report (admin): the whole page, every query, chart and
  template included, and the SQL statements it sent;
* beside each, its floor measured in the same run: the report's main aggregation
  (approved and pending minutes per status, department and day; for the
  partnership report, per enterprise and kind) as one raw SQL query on the schema.

Target: each page under 300 ms at 300,000 logs, on SQLite and on PostgreSQL.

    .venv/bin/python bench/reports.py
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/reports_bench \\
        .venv/bin/python bench/reports.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_migrate
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.province import Scratch, make_app, settle  # noqa: E402
from bench.seed import PASSWORD, Scale, seed  # noqa: E402
from exchange.extensions import db  # noqa: E402

LOGS = int(os.environ.get("BENCH_LOGS", "300000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "9"))
TARGET_MS = 300.0

PENDING = "('submitted', 'verified')"
COUNTED = "('approved', 'submitted', 'verified')"
# The reports' main aggregation as one raw query over the live logs: approved and
# pending minutes per status, department and day, from which the months, the
# departments and the waiting work are summed (the report also reads enterprises,
# categories, people, rules, the oldest waiting logs and agreements, and renders).
SQL_BREAKDOWN = f"""
SELECT status, department_id, work_date, SUM(minutes), COUNT(*)
FROM exchange_log
WHERE period_id = :period AND status IN {COUNTED} AND deleted_at IS NULL {{department}}
GROUP BY status, department_id, work_date
"""  # noqa: S608 - constants only
SQL_PARTNERSHIPS = f"""
SELECT enterprise_id, kind, COUNT(DISTINCT owner_id),
       SUM(CASE WHEN status = 'approved' THEN minutes ELSE 0 END),
       SUM(CASE WHEN status IN {PENDING} THEN minutes ELSE 0 END), COUNT(*)
FROM exchange_log
WHERE period_id = :period AND status IN {COUNTED} AND deleted_at IS NULL
GROUP BY enterprise_id, kind
"""  # noqa: S608


def breakdown_sql(department: bool) -> str:
    return SQL_BREAKDOWN.format(department="AND department_id = :department" if department else "")


def median_ms(run: Callable[[], Any]) -> float:
    timings = []
    for _ in range(REPEAT + 2):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[2:])


def measure_page(client: Any, path: str, engine: Any) -> tuple[float, set[int]]:
    """The page's median time in process, and the numbers of statements it sent."""
    counted: list[int] = []
    statements: set[int] = set()

    def count(*_args: Any) -> None:
        counted.append(1)

    def page() -> None:
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        answer = client.get(path)
        event.remove(engine, "before_cursor_execute", count)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        statements.add(len(counted))

    return median_ms(page), statements


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="exchange-reports-"))
    scratch = Scratch("reports", folder)
    instance = folder / "instance"
    instance.mkdir()
    app = make_app(scratch.url, instance)
    rows: list[tuple[str, float, float, set[int]]] = []
    try:
        with app.app_context():
            flask_migrate.upgrade()
            started = time.perf_counter()
            seeded = seed(Scale(logs=LOGS))
            seconds = time.perf_counter() - started
            settle()
            backend = db.engine.dialect.name
            engine = db.engine
            print(
                f"  seeded {seeded.counts['logs']:,} logs in {seconds:.1f} s on {backend}",
                flush=True,
            )
        clients = {}
        for who, email in (("head", seeded.head), ("admin", seeded.admin)):
            clients[who] = app.test_client()
            answer = clients[who].post("/login", data={"email": email, "password": PASSWORD})
            assert answer.status_code == 302, f"{who} could not sign in"  # noqa: S101
        period = {"period": seeded.period_id}
        ids = {**period, "department": seeded.department_id}
        reports = [
            (
                "department report `/reports/department`",
                "head",
                f"/reports/department?period={seeded.period_id}",
                breakdown_sql(True),
                ids,
            ),
            (
                "college report `/reports/college`",
                "admin",
                f"/reports/college?period={seeded.period_id}",
                breakdown_sql(False),
                period,
            ),
            (
                "enterprise report `/reports/enterprises`",
                "admin",
                f"/reports/enterprises?period={seeded.period_id}",
                SQL_PARTNERSHIPS,
                period,
            ),
        ]
        for name, who, path, sql, params in reports:
            measured, statements = measure_page(clients[who], path, engine)
            with app.app_context():
                floor = median_ms(
                    lambda sql=sql, params=params: db.session.execute(text(sql), params).all()
                )
                db.session.remove()
            rows.append((name, measured, floor, statements))
            print(f"  measured {name}", flush=True)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        scratch.drop()
    print()
    print(
        f"Reports at {LOGS:,} logs ({backend}; median of {REPEAT} in-process requests; "
        f"target < {TARGET_MS:.0f} ms)"
    )
    print()
    print(
        "| report | page | floor: main aggregation as one raw SQL query | page ÷ floor "
        "| SQL statements | < 300 ms |"
    )
    print("|---|---|---|---|---|---|")
    for name, measured, floor, statements in rows:
        ok = "yes" if measured < TARGET_MS else "**no**"
        counts = ", ".join(str(n) for n in sorted(statements))
        print(
            f"| {name} | {measured:.0f} ms | {floor:.0f} ms | {measured / floor:.1f}× "
            f"| {counts} | {ok} |"
        )


if __name__ == "__main__":
    main()
