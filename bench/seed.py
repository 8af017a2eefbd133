"""A province's college, seeded in bulk: departments, enterprises with agreements,
teachers, experts, heads and admins, three periods with their reward rules, and
logs in realistic statuses, each with the audit trail its status implies.

Rows go in with core ``insert()`` and executemany (SQLite) or COPY (PostgreSQL);
every seeded account shares one cheap password hash. Three people are measured by
the benchmarks, and their own logs are the same whatever the size of the college:
a teacher (with ``Scale.teacher_logs`` practice logs a period, verified by the
measured expert), an expert (``Scale.expert_logs`` teaching logs a period in the
teacher's department) and the head of that department, in which
``Scale.department_mates`` teachers have ``Scale.mate_logs`` logs a period each (so
that the head's lists and standings are full pages at every size). The rest of the
logs go to everybody else, so a page of theirs at 1,000 and at 300,000 logs shows the
same person's data in a smaller or a larger college.

Run it inside an application context on an empty, migrated database:
``seed(Scale(logs=1000))``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Table, func, insert, select, text
from werkzeug.security import generate_password_hash

from exchange.accounts.models import User
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.logs.models import PRACTICE_CATEGORIES, TEACHING_CATEGORIES, ExchangeLog, LogEvent
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.rewards.services import seed_rules
from exchange.timeutil import college_today

PASSWORD = "bench-password"
# A cheap hash for the seeded accounts: seeding thousands of people must not take minutes.
PASSWORD_METHOD = "pbkdf2:sha256:1000"
PERIOD_DAYS = 365
REASON = "Hours do not match the rota."
TAUGHT = "Taught a session on dosage calculation with case studies."
PRACTISED = "Ward rounds and case discussion with the team."
LOG_COLUMNS = [
    "id", "kind", "owner_id", "work_date", "minutes", "enterprise_id", "department_id",
    "period_id", "category", "course", "cohort", "students", "description", "verifier_id",
    "status", "version", "created_at", "updated_at", "status_since",
]  # fmt: skip
EVENT_COLUMNS = [
    "log_id", "actor_id", "actor_name", "action", "from_status", "to_status", "at", "reason",
]  # fmt: skip
MINUTES = (60, 90, 120, 180, 240, 240, 360, 480)

# How a log's status is reached, action by action: (action, from, to, who acts).
TRAILS: dict[str, list[tuple[str, str | None, str, str]]] = {
    "draft": [("create", None, "draft", "owner")],
    "submitted": [("create", None, "draft", "owner"), ("submit", "draft", "submitted", "owner")],
    "verified": [
        ("create", None, "draft", "owner"),
        ("submit", "draft", "submitted", "owner"),
        ("verify", "submitted", "verified", "verifier"),
    ],
    "approved": [
        ("create", None, "draft", "owner"),
        ("submit", "draft", "submitted", "owner"),
        ("verify", "submitted", "verified", "verifier"),
        ("approve", "verified", "approved", "head"),
    ],
    "rejected": [
        ("create", None, "draft", "owner"),
        ("submit", "draft", "submitted", "owner"),
        ("reject", "submitted", "rejected", "verifier"),
    ],
    "revoked": [
        ("create", None, "draft", "owner"),
        ("submit", "draft", "submitted", "owner"),
        ("verify", "submitted", "verified", "verifier"),
        ("approve", "verified", "approved", "head"),
        ("revoke", "approved", "revoked", "admin"),
    ],
}
# Statuses of a past period's logs (mostly decided) and of the running period's.
PAST = {"approved": 86, "rejected": 5, "revoked": 1, "verified": 4, "submitted": 2, "draft": 2}
CURRENT = {"approved": 45, "verified": 18, "submitted": 20, "draft": 12, "rejected": 5}


@dataclass(frozen=True)
class Scale:
    departments: int = 20
    enterprises: int = 200
    teachers: int = 2000
    experts: int = 500
    admins: int = 2
    periods: int = 3
    logs: int = 300_000
    # The measured teacher's and expert's own logs in each period.
    teacher_logs: int = 50
    expert_logs: int = 20
    # The measured head's department: this many of its teachers have these many logs
    # each period, the same at every size, so that its lists and standings show full
    # pages in a small college too.
    department_mates: int = 30
    mate_logs: int = 2
    # The share of logs that are experts' teaching (the rest is teachers' practice).
    teaching_share: float = 0.2


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    teacher: str = ""  # e-mail addresses of the measured people
    expert: str = ""
    head: str = ""
    admin: str = ""
    department_id: int = 0  # the measured department
    period_id: int = 0  # the running period
    period_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    role: str
    department_id: int | None
    enterprise_id: int | None


def _next_id(model: Any) -> int:
    return (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1


def _sqlite_value(column: Any) -> Any:
    """How SQLAlchemy stores a column's value on SQLite, for the plain DBAPI executemany."""
    if isinstance(column.type, Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(column.type, UTCDateTime):
        return _sqlite_datetime
    return None


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def bulk(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows given as dictionaries (of Python values) at once."""
    if not rows:
        return
    columns = list(rows[0])
    if db.session.connection().dialect.name == "sqlite":
        converters = [_sqlite_value(table.c[c]) for c in columns]
        values = [
            tuple(v if f is None else f(v) for v, f in zip(row.values(), converters, strict=True))
            for row in rows
        ]
    else:
        values = [tuple(row.values()) for row in rows]
    bulk_values(table, columns, values)


def bulk_values(table: Table, columns: list[str], values: list[tuple[Any, ...]]) -> None:
    """Insert many rows at once, their values already in the form the database stores
    (see ``Stored``): COPY on PostgreSQL, one executemany on SQLite."""
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    assert raw is not None  # noqa: S101 - a live connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        copy_from = f"COPY {table.name} ({names}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_from) as copy:
            for row in values:
                copy.write_row(row)
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in values])
        return
    # SQLite: a page cache large enough for the indexes being filled (this connection only).
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()
    cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)  # noqa: S608
    cursor.close()


class Stored:
    """Dates and times as the database stores them: Python objects for PostgreSQL
    (psycopg adapts them), SQLAlchemy's text forms on SQLite."""

    def __init__(self) -> None:
        self.sqlite = db.session.connection().dialect.name == "sqlite"

    def day(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def moment(self, value: datetime) -> Any:
        return _sqlite_datetime(value) if self.sqlite else value


def _fix_sequences(tables: Iterable[Table]) -> None:
    """PostgreSQL: rows were given their ids; let the sequences continue after them."""
    if db.session.connection().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )
        )


def _periods(scale: Scale) -> list[Period]:
    """``scale.periods`` academic years, the last one running today."""
    today = college_today()
    starts = today - timedelta(days=200)
    periods = []
    for back in range(scale.periods - 1, -1, -1):
        begin = starts - timedelta(days=PERIOD_DAYS * back)
        name = f"{begin.year}-{begin.year + 1}"
        periods.append(
            Period(name=name, starts_on=begin, ends_on=begin + timedelta(days=PERIOD_DAYS - 1))
        )
    db.session.add_all(periods)
    db.session.flush()
    for period in periods:
        seed_rules(period)
    return periods


def seed(scale: Scale = Scale(), rng_seed: int = 7) -> Seeded:  # noqa: B008 - frozen
    """Seed the college of ``scale`` into the (empty) database and commit."""
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    seeded = Seeded()

    first_department = _next_id(Department)
    department_ids = list(range(first_department, first_department + scale.departments))
    bulk(Department.__table__, [
        {"id": d, "code": f"D{d:03d}", "name": f"Department {d:03d}", "created_at": now}
        for d in department_ids
    ])  # fmt: skip
    first_enterprise = _next_id(Enterprise)
    enterprise_ids = list(range(first_enterprise, first_enterprise + scale.enterprises))
    kinds = ["hospital", "hospital", "pharma", "device", "health_it", "other"]
    bulk(Enterprise.__table__, [
        {"id": e, "code": f"E{e:04d}", "name": f"Enterprise {e:04d}", "kind": kinds[e % 6],
         "contact_person": "", "phone": "", "address": "", "created_at": now}
        for e in enterprise_ids
    ])  # fmt: skip

    periods = _periods(scale)
    seeded.period_ids = [p.id for p in periods]
    seeded.period_id = periods[-1].id
    bulk(Agreement.__table__, [
        {"enterprise_id": e, "department_id": None, "reference": f"AG-{e:04d}",
         "starts_on": periods[0].starts_on, "ends_on": periods[-1].ends_on, "scope": "both",
         "created_at": now}
        for e in enterprise_ids
    ])  # fmt: skip

    # People: admins, one head per department, teachers and experts spread evenly.
    password_hash = generate_password_hash(PASSWORD, method=PASSWORD_METHOD)
    people: list[_Person] = []
    next_user = _next_id(User)

    def person(role: str, department_id: int | None, enterprise_id: int | None) -> _Person:
        nonlocal next_user
        found = _Person(next_user, f"{role.title()} {next_user:05d}", role, department_id,
                        enterprise_id)  # fmt: skip
        next_user += 1
        people.append(found)
        return found

    admins = [person("admin", None, None) for _ in range(scale.admins)]
    heads = {d: person("head", d, None) for d in department_ids}
    teachers = [person("teacher", department_ids[i % scale.departments], None)
                for i in range(scale.teachers)]  # fmt: skip
    experts = [person("expert", None, enterprise_ids[i % scale.enterprises])
               for i in range(scale.experts)]  # fmt: skip
    bulk(User.__table__, [
        {"id": p.id, "email": f"{p.role}{p.id:05d}@example.com", "name": p.name, "role": p.role,
         "staff_number": f"S{p.id:06d}", "department_id": p.department_id,
         "enterprise_id": p.enterprise_id, "password_hash": password_hash, "active": True,
         "locale": None, "created_at": now}
        for p in people
    ])  # fmt: skip

    def email(p: _Person) -> str:
        return f"{p.role}{p.id:05d}@example.com"

    bench_teacher, bench_expert = teachers[0], experts[0]
    # The measured expert works at an enterprise whose practice logs they verify, and
    # teaches in the measured teacher's department.
    assert bench_expert.enterprise_id is not None  # noqa: S101
    bench_department = bench_teacher.department_id
    assert bench_department is not None  # noqa: S101
    seeded.teacher, seeded.expert = email(bench_teacher), email(bench_expert)
    seeded.head, seeded.admin = email(heads[bench_department]), email(admins[0])
    seeded.department_id = bench_department

    experts_at: dict[int, list[_Person]] = {}
    for expert in experts:
        assert expert.enterprise_id is not None  # noqa: S101
        experts_at.setdefault(expert.enterprise_id, []).append(expert)
    staff_of: dict[int, list[_Person]] = {}
    for teacher in [*heads.values(), *teachers]:
        assert teacher.department_id is not None  # noqa: S101
        staff_of.setdefault(teacher.department_id, []).append(teacher)
    # Everybody else's logs: the measured teacher and expert neither own them nor verify them.
    filler_teachers = [t for t in [*heads.values(), *teachers] if t is not bench_teacher]
    filler_experts = [e for e in experts if e is not bench_expert]
    hosts = [e for e in enterprise_ids if any(x is not bench_expert for x in experts_at.get(e, []))]

    mates = [t for t in staff_of[bench_department] if t.role == "teacher"]
    mates = [t for t in mates if t is not bench_teacher][: scale.department_mates]
    logs = _LogWriter(scale, periods, heads, admins[0])
    fixed = random.Random(1)  # the measured people's logs: the same at every size
    for period in periods:
        for _ in range(scale.teacher_logs):
            logs.add(fixed, period, bench_teacher, bench_expert.enterprise_id, bench_department,
                     bench_expert)  # fmt: skip
        for _ in range(scale.expert_logs):
            verifier = fixed.choice(
                [t for t in staff_of[bench_department] if t is not bench_teacher]
            )
            logs.add(fixed, period, bench_expert, bench_expert.enterprise_id, bench_department,
                     verifier)  # fmt: skip
        for mate in mates:
            for _ in range(scale.mate_logs):
                enterprise = fixed.choice(hosts)
                verifier = fixed.choice(
                    [x for x in experts_at[enterprise] if x is not bench_expert]
                )
                logs.add(fixed, period, mate, enterprise, bench_department, verifier)
    while logs.count < scale.logs:
        period = rng.choice(periods)
        if rng.random() < scale.teaching_share and filler_experts:
            owner = rng.choice(filler_experts)
            department = rng.choice(department_ids)
            verifier = rng.choice(staff_of[department])
            assert owner.enterprise_id is not None  # noqa: S101
            logs.add(rng, period, owner, owner.enterprise_id, department, verifier)
        else:
            owner = rng.choice(filler_teachers)
            enterprise = rng.choice(hosts)
            verifier = rng.choice([x for x in experts_at[enterprise] if x is not bench_expert])
            assert owner.department_id is not None  # noqa: S101
            logs.add(rng, period, owner, enterprise, owner.department_id, verifier)
    bulk_values(ExchangeLog.__table__, LOG_COLUMNS, logs.rows)
    bulk_values(LogEvent.__table__, EVENT_COLUMNS, logs.events)
    _fix_sequences([Department.__table__, Enterprise.__table__, User.__table__,
                    ExchangeLog.__table__])  # fmt: skip
    db.session.commit()

    seeded.counts = {
        "departments": scale.departments,
        "enterprises": scale.enterprises,
        "agreements": scale.enterprises,
        "teachers": scale.teachers,
        "heads": len(heads),
        "experts": scale.experts,
        "admins": scale.admins,
        "periods": scale.periods,
        "logs": len(logs.rows),
        "log_events": len(logs.events),
    }
    return seeded


class _LogWriter:
    """Logs and their audit entries as rows, one owner never twice on one day."""

    def __init__(
        self,
        scale: Scale,
        periods: list[Period],
        heads: dict[int, _Person],
        admin: _Person,
    ) -> None:
        self.scale = scale
        self.heads = heads
        self.admin = admin
        self.today = college_today()
        self.running = periods[-1].id
        self.next_id = _next_id(ExchangeLog)
        self.stored = Stored()
        self.rows: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.days: set[tuple[int, date]] = set()
        # Per period: its first day, how many days logs may fall on (never today, so
        # every step of a trail lies in the past), the statuses and their weights.
        self.periods: dict[int, tuple[date, int, list[str], list[int]]] = {}
        for p in periods:
            weights = CURRENT if p.id == self.running else PAST
            last = min(p.ends_on, self.today - timedelta(days=1))
            self.periods[p.id] = (p.starts_on, (last - p.starts_on).days + 1, list(weights),
                                  list(itertools.accumulate(weights.values())))  # fmt: skip
        self._moments: dict[tuple[date, int], Any] = {}

    @property
    def count(self) -> int:
        return len(self.rows)

    def _day(self, rng: random.Random, starts_on: date, span: int, owner_id: int) -> date:
        for _ in range(50):
            day = starts_on + timedelta(days=rng.randrange(span))
            if (owner_id, day) not in self.days:
                break
        self.days.add((owner_id, day))
        return day

    def _at(self, day: date, hour: int) -> Any:
        """``hour`` o'clock UTC on ``day``, as stored (a few thousand distinct values)."""
        found = self._moments.get((day, hour))
        if found is None:
            found = self.stored.moment(datetime.combine(day, time(hour), UTC))
            self._moments[(day, hour)] = found
        return found

    def add(
        self,
        rng: random.Random,
        period: Period,
        owner: _Person,
        enterprise_id: int,
        department_id: int,
        verifier: _Person,
    ) -> None:
        period_id = period.id
        starts_on, span, statuses, weights = self.periods[period_id]
        status = rng.choices(statuses, cum_weights=weights)[0]
        day = self._day(rng, starts_on, span, owner.id)
        teaching = owner.role == "expert"
        log_id = self.next_id
        self.next_id += 1
        trail = TRAILS[status]
        # Created at 09:00 UTC on the day of the work, one step an hour after that.
        self.rows.append((
            log_id, "teaching" if teaching else "practice", owner.id, self.stored.day(day),
            rng.choice(MINUTES), enterprise_id, department_id, period_id,
            rng.choice(TEACHING_CATEGORIES if teaching else PRACTICE_CATEGORIES),
            "Clinical pharmacology" if teaching else None,
            "2023 nursing" if teaching else None,
            30 if teaching else None,
            TAUGHT if teaching else PRACTISED,
            verifier.id, status, len(trail), self._at(day, 9),
            self._at(day, 9 + len(trail) - 1), self._at(day, 9 + len(trail) - 1),
        ))  # fmt: skip
        head = self.heads[department_id]
        # Nobody approves their own log: a head's own is approved by an administrator.
        actors = {"owner": owner, "verifier": verifier,
                  "head": self.admin if head is owner else head, "admin": self.admin}  # fmt: skip
        for step, (action, before, after, who) in enumerate(trail):
            actor = actors[who]
            self.events.append((
                log_id, actor.id, actor.name, action, before, after, self._at(day, 9 + step),
                REASON if action in ("reject", "revoke") else None,
            ))  # fmt: skip
