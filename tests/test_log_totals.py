"""The totals the database keeps of the logs (``log_total``, migration 0013): minutes
and live logs per department, period, owner, kind and status, what eligibility, rounds
and the "unusual total" flag read instead of every log.

Triggers keep them, so they follow every write: the app's services, plain SQL of
one row or of many, updates that move a log between keys, tombstones and deletions,
and transactions racing on one person's totals. (Every other test of the suite
checks, when it ends, that the totals still add up: see ``conftest._clean_database``.)
Run on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text

from exchange.accounts.models import User
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import ExchangeLog, LogTotal
from exchange.logs.queries import totals_astray
from exchange.logs.services import LogInput
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.concurrency import approve_once, bulk_once, no_crashes, race, report


def totals(owner_id: int) -> dict[tuple[int, str, str], tuple[int, int]]:
    """The owner's kept totals that hold something:
    ``{(department, kind, status): (minutes, logs)}``."""
    rows = db.session.execute(
        select(LogTotal.department_id, LogTotal.kind, LogTotal.status, LogTotal.minutes,
               LogTotal.logs)
        .where(LogTotal.owner_id == owner_id)
    )  # fmt: skip
    return {(d, k, s): (m, n) for d, k, s, m, n in rows if m or n}


# --- through the app ------------------------------------------------------------------------


def test_a_log_moves_through_its_owners_totals_from_draft_to_approved(college, make_log):
    teacher, department = college.teacher, college.department.id
    log = make_log(teacher, status="draft", hours="2")
    assert totals(teacher.id) == {(department, "practice", "draft"): (120, 1)}

    services.transition(teacher, log, services.Action.SUBMIT)
    db.session.commit()
    assert totals(teacher.id) == {(department, "practice", "submitted"): (120, 1)}

    services.transition(college.expert, log, services.Action.VERIFY)
    services.transition(college.head, log, services.Action.APPROVE)
    db.session.commit()
    make_log(teacher, status="approved", hours="1.5")
    assert totals(teacher.id) == {(department, "practice", "approved"): (210, 2)}
    # What the head's eligibility shows is what the totals hold.
    [standing] = [
        s for s in rewards.eligibility(college.head, college.department, college.period)
        if s.person.id == teacher.id
    ]  # fmt: skip
    assert (standing.approved_minutes, standing.pending_minutes) == (210, 0)


def test_editing_sending_back_and_deleting_change_the_totals(college, make_log):
    teacher, department = college.teacher, college.department.id
    log = make_log(teacher, status="rejected", hours="3")
    assert totals(teacher.id) == {(department, "practice", "rejected"): (180, 1)}

    values = {
        "work_date": log.work_date, "hours": "4.5", "category": "clinical",
        "description": "Ward rounds, longer", "verifier_id": college.expert.id,
        "enterprise_id": college.enterprise.id,
    }  # fmt: skip
    services.update_log(teacher, log, LogInput(**values))  # a rejected log edited is a draft
    db.session.commit()
    assert totals(teacher.id) == {(department, "practice", "draft"): (270, 1)}

    services.delete_log(teacher, log)  # a tombstone: no longer counted
    db.session.commit()
    assert totals(teacher.id) == {}
    assert (
        db.session.execute(
            text("SELECT count(*) FROM exchange_log WHERE deleted_at IS NOT NULL")
        ).scalar_one()
        == 1
    )


def test_an_experts_teaching_counts_in_the_department_where_they_taught(college, make_log):
    make_log(college.expert, status="approved", hours="2", department_id=college.department.id)
    make_log(
        college.expert, status="submitted", hours="1", department_id=college.other_department.id,
        verifier=college.foreign_head,
    )  # fmt: skip
    assert totals(college.expert.id) == {
        (college.department.id, "teaching", "approved"): (120, 1),
        (college.other_department.id, "teaching", "submitted"): (60, 1),
    }


# --- in plain SQL ---------------------------------------------------------------------------


def _row(college, owner: User, status: str, minutes: int, days_ago: int = 0) -> dict:
    now = datetime.now(UTC)
    return {
        "kind": "practice", "owner_id": owner.id, "category": "clinical", "status": status,
        "work_date": college_today() - timedelta(days=days_ago), "minutes": minutes,
        "enterprise_id": college.enterprise.id, "department_id": owner.department_id,
        "period_id": college.period.id, "description": "Ward rounds",
        "verifier_id": college.expert.id, "version": 1, "created_at": now, "updated_at": now,
    }  # fmt: skip


def test_writes_in_plain_sql_keep_the_totals_too(college):
    """Whoever writes the SQL: a statement of many rows, an update of many rows at
    once, an update that changes nothing counted, a tombstone and a real deletion."""
    teacher, other = college.teacher, college.other_teacher
    department = college.department.id
    rows = [_row(college, teacher, "verified", 60, n) for n in range(3)]
    rows += [_row(college, other, "verified", 120, n) for n in range(2)]
    db.session.execute(insert(ExchangeLog), rows)
    db.session.commit()
    assert totals(teacher.id) == {(department, "practice", "verified"): (180, 3)}
    assert totals(other.id) == {(department, "practice", "verified"): (240, 2)}

    db.session.execute(text("UPDATE exchange_log SET status = 'approved'"))  # all at once
    db.session.execute(text("UPDATE exchange_log SET description = 'Rounds', version = 2"))
    db.session.execute(
        text("UPDATE exchange_log SET minutes = 90 WHERE owner_id = :o AND work_date = :d"),
        {"o": teacher.id, "d": college_today()},
    )
    db.session.commit()
    assert totals(teacher.id) == {(department, "practice", "approved"): (210, 3)}
    assert totals(other.id) == {(department, "practice", "approved"): (240, 2)}

    moved = college.other_department.id
    db.session.execute(
        text("UPDATE exchange_log SET department_id = :d, status = 'draft' WHERE owner_id = :o"),
        {"d": moved, "o": other.id},
    )
    db.session.execute(
        text("UPDATE exchange_log SET deleted_at = :now WHERE owner_id = :o AND minutes = 90"),
        {"now": datetime.now(UTC), "o": teacher.id},
    )
    db.session.commit()
    assert totals(teacher.id) == {(department, "practice", "approved"): (120, 2)}
    assert totals(other.id) == {(moved, "practice", "draft"): (240, 2)}

    db.session.execute(text("DELETE FROM exchange_log WHERE owner_id = :o"), {"o": other.id})
    db.session.commit()
    assert totals(other.id) == {}
    assert totals_astray() == {}


def test_a_rolled_back_change_leaves_the_totals_as_they_were(college, make_log):
    make_log(college.teacher, status="submitted", hours="2")
    db.session.execute(text("UPDATE exchange_log SET status = 'approved'"))
    assert totals(college.teacher.id) == {(college.department.id, "practice", "approved"): (120, 1)}
    db.session.rollback()
    assert totals(college.teacher.id) == {
        (college.department.id, "practice", "submitted"): (120, 1)
    }


STATUSES = ["draft", "submitted", "verified", "approved", "rejected", "revoked"]
change = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 2), st.sampled_from(STATUSES),
              st.sampled_from([15, 60, 720])),
    st.tuples(st.just("status"), st.integers(0, 9), st.sampled_from(STATUSES)),
    st.tuples(st.just("minutes"), st.integers(0, 9), st.sampled_from([30, 45, 600])),
    st.tuples(st.just("owner"), st.integers(0, 9), st.integers(0, 2)),
    st.tuples(st.just("tombstone"), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("all_status"), st.sampled_from(STATUSES)),
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(change, max_size=25))
def test_any_sequence_of_writes_leaves_totals_that_add_up(college, changes):
    """Random inserts, status changes, new minutes, new owners, tombstones and deletions
    (of one log or all of them): afterwards the totals are the logs' sums, key by key."""
    people = [college.teacher, college.other_teacher, college.head]
    for step in changes:
        ids = db.session.execute(text("SELECT id FROM exchange_log ORDER BY id")).scalars().all()
        aimed = ids and step[0] not in ("insert", "all_status")
        target = {"id": ids[step[1] % len(ids)]} if aimed else None
        match step:
            case ("insert", who, status, minutes):
                db.session.execute(
                    insert(ExchangeLog), [_row(college, people[who], status, minutes)]
                )
            case ("status", _, status) if target:
                db.session.execute(text("UPDATE exchange_log SET status = :s WHERE id = :id"),
                                   {**target, "s": status})  # fmt: skip
            case ("minutes", _, minutes) if target:
                db.session.execute(text("UPDATE exchange_log SET minutes = :m WHERE id = :id"),
                                   {**target, "m": minutes})  # fmt: skip
            case ("owner", _, who) if target:
                db.session.execute(text("UPDATE exchange_log SET owner_id = :o WHERE id = :id"),
                                   {**target, "o": people[who].id})  # fmt: skip
            case ("tombstone", _) if target:
                db.session.execute(text("UPDATE exchange_log SET deleted_at = :t WHERE id = :id"),
                                   {**target, "t": datetime.now(UTC)})  # fmt: skip
            case ("delete", _) if target:
                db.session.execute(text("DELETE FROM exchange_log WHERE id = :id"), target)
            case ("all_status", status):
                db.session.execute(text("UPDATE exchange_log SET status = :s"), {"s": status})
        assert totals_astray() == {}, step
    db.session.execute(text("DELETE FROM exchange_log"))
    db.session.commit()
    assert not any(
        m or n for m, n in db.session.execute(text("SELECT minutes, logs FROM log_total"))
    )


# --- at the same time -----------------------------------------------------------------------


def test_eight_approvals_of_one_persons_logs_at_once_all_count(app, college, make_log, approvers):
    """Each approval moves minutes between the same two totals of the same person:
    they wait for each other, and every one of them counts."""
    logs = [make_log(college.teacher, status="verified", hours="1").id for _ in approvers]
    actors = [a.id for a in approvers]
    teacher, department = college.teacher.id, college.department.id
    db.session.close()

    outcomes = race(app, [approve_once(a, log) for a, log in zip(actors, logs, strict=True)])

    assert all(o.ok for o in outcomes), report(outcomes)
    assert totals(teacher) == {(department, "practice", "approved"): (480, 8)}


def test_two_bulk_approvals_of_the_same_people_in_opposite_orders_both_finish(
    app, college, make_log, monkeypatch
):
    """Two heads approve a batch each, of logs of the same two people, listed in
    opposite orders, and each has approved its first log before either goes on:
    they lock the people's totals in one order, so one waits for the other (no
    deadlock), and every log they were told is approved counts."""
    teacher, other = college.teacher, college.other_teacher
    batches = [
        [make_log(teacher, status="verified").id, make_log(other, status="verified").id],
        [make_log(other, status="verified").id, make_log(teacher, status="verified").id],
    ]
    heads = [college.head.id, college.other_head.id]
    people, department = [teacher.id, other.id], college.department.id
    db.session.close()
    # Both wait for each other (a moment at most) before their second log.
    both_started = threading.Barrier(2, timeout=3)
    get_log = services.get_log
    calls = threading.local()

    def get_log_in_step(actor, log_id):
        calls.n = getattr(calls, "n", 0) + 1
        if calls.n == 2:
            # Broken: the other is waiting for this one's totals, so it goes on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_started.wait()
        return get_log(actor, log_id)

    monkeypatch.setattr(services, "get_log", get_log_in_step)

    outcomes = race(app, [bulk_once(h, b) for h, b in zip(heads, batches, strict=True)])

    no_crashes(outcomes)
    assert all(o.ok for o in outcomes), report(outcomes)
    # The outcomes come in the order each head asked for.
    assert [[log_id for log_id, *_ in o.value] for o in outcomes] == batches
    assert all(ok for o in outcomes for _, ok, *_ in o.value), report(outcomes)
    for person in people:
        assert totals(person) == {(department, "practice", "approved"): (240, 2)}


# --- checked and repaired from the command line ---------------------------------------------


def test_check_totals_finds_totals_that_differ_and_repairs_them(runner, college, make_log):
    make_log(college.teacher, status="approved", hours="2")
    make_log(college.other_teacher, status="submitted", hours="1")
    fine = runner.invoke(args=["check-totals"])
    assert fine.exit_code == 0, fine.output
    assert "are the sums of the logs" in fine.output

    # A data-only restore that let the triggers count the logs a second time.
    db.session.execute(text("UPDATE log_total SET minutes = minutes * 2, logs = logs * 2"))
    db.session.commit()
    found = runner.invoke(args=["check-totals"])
    assert found.exit_code == 1
    assert "2 kept total(s) differ" in found.output
    assert totals(college.teacher.id) == {(college.department.id, "practice", "approved"): (240, 2)}

    repaired = runner.invoke(args=["check-totals", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "Summed the logs afresh: 2 kept total(s)." in repaired.output
    db.session.expire_all()
    assert totals(college.teacher.id) == {(college.department.id, "practice", "approved"): (120, 1)}
    assert totals_astray() == {}
