"""Every page costs what its own person's data costs: the navigation's counts, the
lists, eligibility and a round's refresh read exchange logs through indexes that
match them, and a page sends as many statements at a larger college as at a small one.

The SQL is what the pages and services really send (captured on its way to the
database, with its parameters), asked back for its plan: EXPLAIN QUERY PLAN on
SQLite, EXPLAIN on PostgreSQL. SQLite plans without statistics, as it does in a
fresh instance. On PostgreSQL, whose planner rightly prefers reading a small table
whole, sequential scans, sorts and hashed aggregates are priced out
(``enable_seqscan``/``enable_sort``/``enable_hashagg`` off): the plan then shows one
only when no index can answer the query in its order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text

from exchange.accounts.models import User
from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from exchange.org.models import Department
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.helpers import sql_statements

# The pages a person opens most, by who opens them.
PAGES = {
    "teacher": ["/", "/logs/", "/logs/?status=approved", "/logs/new"],
    "expert": ["/", "/logs/", "/logs/verify", "/logs/verify?flagged=1"],
    "head": ["/", "/logs/approve", "/logs/approve?flagged=1", "/logs/department",
             "/logs/department?status=approved", "/rewards/eligibility"],
    "admin": ["/", "/logs/approve", "/logs/approve?flagged=1", "/logs/department",
              "/rewards/eligibility"],
}  # fmt: skip


@contextmanager
def sent_sql() -> Iterator[list[tuple[str, Any]]]:
    """The statements sent inside the block, with their parameters (not executemany)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        if not executemany:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def plan(statement: str, parameters: Any) -> list[str]:
    """The plan of one statement, one line per step."""
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[3] for row in rows]
    for setting in ("enable_seqscan", "enable_sort", "enable_hashagg"):
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return [row[0] for row in rows]


# The tables of logs: the logs themselves, and their totals kept per person.
LOG_TABLES = ("exchange_log", "log_total")
_TABLE = r"(?:exchange_log|log_total)"


def reads_logs(statement: str) -> bool:
    return any(table in statement for table in LOG_TABLES) and statement.lstrip().startswith(
        ("SELECT", "WITH")
    )


def defects(lines: list[str], *, whole_college: bool = False, sorts: bool = False) -> list[str]:
    """What in a plan costs more than the data asked about: a full scan of
    exchange_log or log_total, a temporary B-tree (SQLite), a sequential scan or a
    sort (PostgreSQL).

    ``whole_college``: an admin's list of every log, whose count reads every log
    (from the smallest index) and whose page is read in the list's order. ``sorts``:
    sorting is allowed (what is sorted must still be found through an index)."""
    found = []
    for line in lines:
        if sorts and ("TEMP B-TREE" in line or re.search(r"\bSort\b", line)):
            continue
        if "TEMP B-TREE" in line:
            found.append(line)
        elif re.search(rf"\bSCAN {_TABLE}\b", line):
            in_index_order = "USING INDEX" in line or "USING COVERING INDEX" in line
            if not (whole_college and in_index_order):
                found.append(line)
        elif re.search(rf"Seq Scan on {_TABLE}\b", line) or re.search(r"\bSort\b", line):
            found.append(line)
    return found


def assert_indexed(sent: list[tuple[str, Any]], what: str, **allowed: bool) -> None:
    read = [(s, p) for s, p in sent if reads_logs(s)]
    assert read, f"{what}: no read of logs or their totals captured"
    for statement, parameters in read:
        lines = plan(statement, parameters)
        bad = defects(lines, **allowed)
        assert not bad, f"{what}:\n{statement}\n" + "\n".join(lines)


def lookup_columns(statement: str, parameters: Any) -> list[set[str]]:
    """The columns of the condition of every index lookup of exchange_log and
    log_total in the plan."""
    lines = plan(statement, parameters)
    if db.engine.dialect.name == "sqlite":
        conditions = [
            match.group(1)
            for line in lines
            if (
                match := re.search(
                    rf"SEARCH {_TABLE} USING (?:(?:COVERING )?INDEX \w+|PRIMARY KEY) \((.*)\)",
                    line,
                )
            )
        ]
        found = [set(re.findall(r"(\w+)\s*(?:=|>|<|IN\b)", cond)) for cond in conditions]
    else:
        # The conditions of index scans of the log tables (named on the scan's own
        # line: "Index Scan using ix_exchange_log_… on exchange_log", "Bitmap Index
        # Scan on ix_exchange_log_…", "… using pk_log_total on log_total"), not of the
        # other tables a statement reads.
        conditions, scan = [], ""
        for line in lines:
            if "Scan" in line:
                scan = line
            elif "Index Cond:" in line and any(table in scan for table in LOG_TABLES):
                conditions.append(line.split("Index Cond:", 1)[1])
        # "(period_id = ANY (…))", "((status)::text = 'verified'::text)"
        found = [set(re.findall(r"\(+(\w+)\)?(?:::\w+)? (?:=|<|>)", cond)) for cond in conditions]
    # The open periods, looked up by their key, are not lookups of logs.
    return [columns for columns in found if columns - {"id", "state"}]


# --- a college with enough logs for the plans to mean something ------------------------


def add_logs(college, count: int, seed: int = 7) -> None:
    """``count`` more logs, all statuses, written in bulk (their trail is not what is
    measured): of the college's people and of teachers of eight more departments,
    verified by the college's experts and ten more, so that, as in a real college,
    one person's or one department's logs are a small share of all of them."""
    rng = random.Random(seed)
    today = college_today()
    now = datetime.now(UTC)
    departments = [Department(code=f"X{n}", name=f"Extra {n}") for n in range(8)]
    teachers = [
        User(email=f"extra-teacher{n}@example.com", name=f"Extra teacher {n}", role="teacher",
             department=departments[n % 8], password_hash="-")
        for n in range(24)
    ]  # fmt: skip
    experts = [
        User(email=f"extra-expert{n}@example.com", name=f"Extra expert {n}", role="expert",
             enterprise=college.enterprise, password_hash="-")
        for n in range(10)
    ]  # fmt: skip
    db.session.add_all([*departments, *teachers, *experts])
    db.session.flush()
    practice = [college.teacher, college.other_teacher, college.head, college.other_head,
                college.foreign_head, *teachers]  # fmt: skip
    verifiers = [college.expert, college.other_expert, *experts]
    rows = []
    for _ in range(count):
        status = rng.choice(["draft", "submitted", "verified", "approved", "approved", "rejected"])
        if rng.random() < 0.9:
            owner = rng.choice(practice)
            kind, category = "practice", "clinical"
            verifier = rng.choice(verifiers)
            department_id = owner.department_id
        else:
            owner = rng.choice([college.expert, college.other_expert])
            kind, category = "teaching", "lecture"
            verifier = rng.choice([college.other_teacher, college.head])
            department_id = college.department.id
        rows.append({
            "kind": kind, "owner_id": owner.id, "category": category, "status": status,
            "work_date": today - timedelta(days=rng.randrange(90)),
            "minutes": rng.choice([60, 120, 240]), "enterprise_id": college.enterprise.id,
            "department_id": department_id, "period_id": college.period.id,
            "description": "Ward rounds", "verifier_id": verifier.id, "version": 1,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    db.session.execute(insert(ExchangeLog), rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


@pytest.fixture
def everyone(app, college, make_log):
    """One signed-in client per role, and at least one log in every list they open."""
    make_log(college.teacher, status="draft")
    make_log(college.teacher, status="submitted")
    make_log(college.teacher, status="verified")
    make_log(college.teacher, status="approved")
    make_log(college.expert, status="submitted", verifier=college.head)
    # A flagged log in each queue (12 h on one day): "flagged only" lists something.
    yesterday = college_today() - timedelta(days=1)
    make_log(college.other_teacher, status="verified", hours="11", work_date=yesterday)
    make_log(college.other_teacher, status="submitted", hours="1", work_date=yesterday)
    people = {
        "teacher": college.teacher,
        "expert": college.expert,
        "head": college.head,
        "admin": college.admin,
    }
    clients = {}
    for role, person in people.items():
        client = app.test_client()
        response = client.post("/login", data={"email": person.email, "password": PASSWORD})
        assert response.status_code == 302
        clients[role] = client
    return clients


def statements_per_page(clients: dict[str, Any]) -> dict[str, int]:
    counted = {}
    for role, paths in PAGES.items():
        for path in paths:
            with sql_statements() as statements:
                response = clients[role].get(path)
            assert response.status_code == 200, (role, path, response.status_code)
            counted[f"{role} {path}"] = len(statements)
    return counted


# --- the tests --------------------------------------------------------------------------


def test_every_page_sends_as_many_statements_at_a_larger_college(college, everyone):
    small = statements_per_page(everyone)
    add_logs(college, 1500)
    larger = statements_per_page(everyone)
    assert larger == small


@pytest.mark.parametrize("role", ["teacher", "expert", "head", "admin"])
def test_the_navigation_counts_read_only_the_persons_own_queue(college, everyone, role):
    from exchange.logs.queries import queue_counts

    add_logs(college, 1500)
    person = {"teacher": college.teacher, "expert": college.expert, "head": college.head,
              "admin": college.admin}[role]  # fmt: skip
    db.session.refresh(person)
    with sent_sql() as sent:
        counts = queue_counts(person)
    assert len(sent) == 1
    assert_indexed(sent, f"queue counts of the {role}")
    # Each count looks its rows up by the person's own key: the verifier's id, the
    # head's department (with the status); only an admin's is the college's status.
    led_by = {
        "teacher": {"verifier_id"},
        "expert": {"verifier_id"},
        "head": {"verifier_id", "department_id"},
        "admin": {"status"},
    }[role]
    lookups = lookup_columns(*sent[0])
    # Every lookup is narrowed by the person's own key (an index that also narrows by
    # the open periods, as the reports' does, reads the same rows or fewer).
    assert lookups
    assert all(columns & led_by for columns in lookups), lookups
    assert set().union(*lookups) & led_by == led_by
    # The numbers the person sees are still theirs.
    page = everyone[role].get("/").get_data(as_text=True)
    if counts.to_verify:
        assert f"{counts.to_verify} log" in page


def test_the_counts_are_only_counted_for_people_who_can_have_them(college, everyone):
    from exchange.logs.queries import queue_counts

    for person in (college.teacher, college.admin, college.head):
        db.session.refresh(person)
    with sent_sql() as sent:
        queue_counts(college.teacher)
    assert "verifier_id" in sent[0][0]
    assert "status = " in sent[0][0]
    assert sent[0][0].count("count(") == 1  # a teacher approves nothing
    with sent_sql() as sent:
        queue_counts(college.admin)
    assert "verifier_id" not in sent[0][0]  # an admin verifies nothing
    assert sent[0][0].count("count(") == 1
    with sent_sql() as sent:
        queue_counts(college.head)
    assert sent[0][0].count("count(") == 2


@pytest.mark.parametrize("role", ["teacher", "expert", "head", "admin"])
def test_every_list_page_reads_logs_through_a_matching_index(college, everyone, role):
    add_logs(college, 1500)
    for path in PAGES[role]:
        with sent_sql() as sent:
            response = everyone[role].get(path)
        assert response.status_code == 200
        whole_college = role == "admin" and path == "/logs/department"
        # Eligibility ranks a department's people by their sums (or names) to show one
        # page of them: no index holds sums in order, so those few rows are sorted.
        ranked = path.startswith("/rewards/eligibility")
        assert_indexed(sent, f"{role} {path}", whole_college=whole_college, sorts=ranked)


@pytest.mark.parametrize("role", ["teacher", "expert", "head"])
def test_a_persons_own_pages_look_logs_up_by_their_own_key(college, everyone, role):
    """A person's pages read only their own logs (by owner), the logs they verify (by
    verifier) and a department's (by department: a head's own, and those of the logs in
    a queue, whose period totals the "unusual total" flag ranks): an index led by the
    period and status instead would read every approved log of the college's period."""
    keys = {"owner_id", "verifier_id", "department_id", "id", "log_id"}
    add_logs(college, 1500)
    for path in PAGES[role]:
        with sent_sql() as sent:
            assert everyone[role].get(path).status_code == 200
        for statement, parameters in sent:
            if not reads_logs(statement):
                continue
            for columns in lookup_columns(statement, parameters):
                assert columns & keys, f"{role} {path}: {columns}\n{statement}"


def test_a_head_who_moved_still_sees_their_own_logs_of_the_old_department(
    college, everyone, make_log
):
    own = make_log(college.head, status="approved")
    college.head.department = college.other_department
    db.session.commit()
    page = everyone["head"].get("/logs/department").get_data(as_text=True)
    assert f"/logs/{own.id}" in page
    # Their department's logs and their own, found through the two indexes; sorted
    # together (the department's and one person's logs, not the college's).
    with sent_sql() as sent:
        everyone["head"].get("/logs/department")
    assert_indexed(sent, "a moved head's department logs", sorts=True)


def _service(college, action: Callable[[], Any], what: str) -> None:
    add_logs(college, 1500)
    with sent_sql() as sent:
        action()
    assert_indexed(sent, what)


def test_eligibility_sums_each_persons_minutes_from_an_index(college, everyone):
    found: list[Any] = []
    _service(
        college,
        lambda: found.extend(rewards.eligibility(college.head, college.department, college.period)),
        "eligibility",
    )
    assert {s.person.id for s in found} >= {college.teacher.id, college.other_teacher.id}


@pytest.mark.parametrize("scope", ["department", "college"])
def test_a_rounds_refresh_sums_from_an_index(college, everyone, scope):
    department_id = college.department.id if scope == "department" else None
    reward_round = rewards.open_round(college.admin, department_id, college.period.id, scope)
    db.session.commit()
    _service(college, lambda: rewards.refresh_round(college.admin, reward_round), "refresh")
    assert reward_round.awards  # the approved hours earned something
    db.session.rollback()


@pytest.mark.parametrize("role", ["expert", "head", "admin"])
def test_a_queues_flags_are_read_from_indexes(college, everyone, role):
    """The flags of a page of a queue (and of the whole queue, for "flagged only"):
    each owner's day, period and descriptions from the owner's indexes, the
    department's totals from its covering index, confirmations by log and by name."""
    from exchange.logs.queries import log_flags

    add_logs(college, 1500)
    path = "/logs/verify" if role == "expert" else "/logs/approve"
    for query in ("", "?flagged=1"):
        with sent_sql() as sent:
            response = everyone[role].get(path + query)
        assert response.status_code == 200
        assert_indexed(sent, f"{role} {path}{query}")
    ids = [log.id for log in db.session.query(ExchangeLog).limit(50)]
    with sent_sql() as sent:
        log_flags(ids)
    assert_indexed(sent, "the flags of 50 logs")
    for statement, parameters in sent:
        if "onsite_confirmation" in statement:
            assert not any(
                re.search(r"\bSCAN onsite_confirmation\b|Seq Scan on onsite_confirmation", line)
                for line in plan(statement, parameters)
            ), statement
