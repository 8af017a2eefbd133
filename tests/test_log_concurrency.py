"""Transitions are atomic (SPEC §3): with real threads racing on the same log, one wins,
the others are told the log has changed (Conflict, 409), and nothing happens twice.

Each thread works as a request does: its own app context (and so its own
database session and connection), one commit. A barrier starts them together;
every join has a timeout, so a deadlock fails the test instead of hanging it.
Run on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from exchange.accounts.models import User
from exchange.errors import Conflict, ValidationError
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.logs.services import LogInput, OnsiteDecision
from exchange.logs.workflow import Action
from exchange.timeutil import college_today
from tests.concurrency import (
    approve_once,
    bulk_once,
    no_crashes,
    race,
    report,
)

THREADS = 8
CLIENT_ID = "7d9a4c1e-5b1f-4c3a-9e2d-2a6f0e8b4c55"


def events(log_id: int, action: str) -> list[LogEvent]:
    return list(
        db.session.execute(
            select(LogEvent).where(LogEvent.log_id == log_id, LogEvent.action == action)
        ).scalars()
    )


def fresh(log_id: int) -> ExchangeLog:
    db.session.expire_all()
    return db.session.get(ExchangeLog, log_id)


def practice(college, **fields) -> LogInput:
    values = {
        "work_date": college_today(),
        "hours": "2",
        "category": "clinical",
        "description": "Night shift in the emergency department",
        "enterprise_id": college.enterprise.id,
    }
    values.update(fields)
    return LogInput(**values)


# --- approving the same log at once ------------------------------------------------------


def test_of_eight_people_approving_one_log_one_wins(app, college, make_log, approvers):
    log = make_log(status="verified")
    log_id = log.id
    ids = [a.id for a in approvers]
    db.session.close()

    outcomes = race(app, [approve_once(actor_id, log_id) for actor_id in ids])

    no_crashes(outcomes)
    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 1, report(outcomes)
    assert all(isinstance(o.domain_error, Conflict) for o in losers), report(outcomes)
    assert {o.domain_error.status for o in losers} == {409}
    assert fresh(log_id).status == "approved"
    [approval] = events(log_id, "approve")
    assert approval.actor_id == winners[0].value
    assert fresh(log_id).version == 4  # created 1, submitted 2, verified 3, approved 4


@pytest.mark.parametrize("attempt", [1, 2, 3])  # the interleaving differs from run to run
def test_bulk_approval_racing_single_approvals(app, college, make_log, approvers, attempt):
    """Half the approvers approve a batch, half approve its middle log alone, all at once."""
    first = make_log(status="verified").id
    contested = make_log(owner=college.other_teacher, status="verified").id
    last = make_log(status="verified").id
    batch = [first, contested, last]
    ids = [a.id for a in approvers]
    db.session.close()

    work = [bulk_once(actor_id, batch) for actor_id in ids[:4]]
    work += [approve_once(actor_id, contested) for actor_id in ids[4:]]
    outcomes = race(app, work)

    no_crashes(outcomes)
    # Whoever was told "approved" for a log is the one person who approved it.
    approved_by: dict[int, list[int]] = {log_id: [] for log_id in batch}
    for actor_id, outcome in zip(ids, outcomes, strict=True):
        if outcome.ok and isinstance(outcome.value, list):
            for log_id, ok, status, code in outcome.value:
                assert ok or (status, code) == (409, "conflict"), report(outcomes)
                if ok:
                    approved_by[log_id].append(actor_id)
        elif outcome.ok:
            approved_by[contested].append(actor_id)
        else:
            assert isinstance(outcome.domain_error, Conflict), report(outcomes)
    for log_id in batch:
        assert fresh(log_id).status == "approved", report(outcomes)
        actors = [e.actor_id for e in events(log_id, "approve")]
        assert len(actors) == 1, (log_id, actors, report(outcomes))
        assert approved_by[log_id] == actors, (log_id, approved_by, report(outcomes))


def test_one_on_site_link_used_by_several_confirmers_at_once(app, college, make_log):
    log = make_log(status="draft", verifier_id=None)
    services.transition(college.teacher, log, Action.SUBMIT)
    token, _ = services.issue_confirmation_link(college.teacher, log)
    db.session.commit()
    log_id = log.id
    db.session.close()

    def confirm(n):
        def work(start):
            start()
            services.confirm_onsite(token, OnsiteDecision(f"Confirmer {n}", "Ward sister", True))
            db.session.commit()
            return n

        return work

    outcomes = race(app, [confirm(n) for n in range(THREADS)])

    no_crashes(outcomes)
    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1, report(outcomes)
    for loser in (o for o in outcomes if not o.ok):
        # Told either that the log changed, or that the link is used: never a 500.
        assert loser.domain_error.status in (404, 409), report(outcomes)
    [verification] = events(log_id, "verify")
    assert verification.actor_name.startswith(f"Confirmer {winners[0].value} ")
    assert fresh(log_id).status == "verified"


def test_the_named_verifier_and_the_on_site_confirmer_at_once(app, college, make_log):
    log = make_log(status="submitted")
    token, _ = services.issue_confirmation_link(college.teacher, log)
    db.session.commit()
    log_id, expert_id = log.id, college.expert.id
    db.session.close()

    def by_verifier(start):
        actor = db.session.get(User, expert_id)
        log = db.session.get(ExchangeLog, log_id)
        assert log.period.is_open
        start()
        services.transition(actor, log, Action.VERIFY)
        db.session.commit()
        return "verifier"

    def on_site(start):
        start()
        services.confirm_onsite(token, OnsiteDecision("Wu Lan", "Ward sister", True))
        db.session.commit()
        return "on site"

    outcomes = race(app, [by_verifier, on_site] * (THREADS // 2))

    no_crashes(outcomes)
    assert len([o for o in outcomes if o.ok]) == 1, report(outcomes)
    assert len(events(log_id, "verify")) == 1
    assert fresh(log_id).status == "verified"


# --- creating at once ------------------------------------------------------------------------


@pytest.mark.parametrize("hours", ["1", "8"])
def test_the_same_client_id_sent_at_once_stores_one_log(app, college, hours):
    """A phone that retries while the first request is still running gets the first log back.

    With 8 hours, the retries must not be refused because the first log filled the day.
    """
    teacher_id = college.teacher.id
    data = practice(college, hours=hours, client_id=CLIENT_ID)
    db.session.close()

    def create(start):
        teacher = db.session.get(User, teacher_id)
        start()
        log, created = services.create_log(teacher, data)
        db.session.commit()
        return log.id, created

    outcomes = race(app, [create] * THREADS)

    no_crashes(outcomes)
    assert all(o.ok for o in outcomes), report(outcomes)
    assert len({o.value[0] for o in outcomes}) == 1, report(outcomes)
    assert sorted(o.value[1] for o in outcomes) == [False] * (THREADS - 1) + [True]
    stored = db.session.execute(
        select(func.count()).select_from(ExchangeLog).where(ExchangeLog.client_id == CLIENT_ID)
    ).scalar_one()
    assert stored == 1
    assert db.session.execute(select(func.count()).select_from(LogEvent)).scalar_one() == 1


def test_logs_for_one_day_sent_at_once_never_exceed_twelve_hours(app, college):
    teacher_id = college.teacher.id
    inputs = [practice(college, hours="2", description=f"Shift {n}") for n in range(THREADS)]
    db.session.close()

    def create(data):
        def work(start):
            teacher = db.session.get(User, teacher_id)
            start()
            log, _ = services.create_log(teacher, data)
            db.session.commit()
            return log.minutes

        return work

    outcomes = race(app, [create(data) for data in inputs])

    no_crashes(outcomes)
    for refused in (o for o in outcomes if not o.ok):
        assert isinstance(refused.domain_error, ValidationError), report(outcomes)
        assert set(refused.domain_error.fields) == {"hours"}
    total = db.session.execute(
        select(func.coalesce(func.sum(ExchangeLog.minutes), 0)).where(
            ExchangeLog.owner_id == teacher_id, ExchangeLog.work_date == college_today()
        )
    ).scalar_one()
    assert total <= 720, report(outcomes)
    # Serialised, the first six fit and the last two are refused: none is lost for nothing.
    assert total == 720, report(outcomes)
    assert sum(o.value for o in outcomes if o.ok) == total


def test_logs_for_different_owners_do_not_wait_for_each_other_to_fail(app, college, make_user):
    teachers = [college.teacher.id] + [
        make_user("teacher", department=college.department).id for _ in range(THREADS - 1)
    ]
    data = practice(college, hours="12")
    db.session.close()

    def create(teacher_id):
        def work(start):
            teacher = db.session.get(User, teacher_id)
            start()
            log, _ = services.create_log(teacher, data)
            db.session.commit()
            return log.id

        return work

    outcomes = race(app, [create(t) for t in teachers])

    no_crashes(outcomes)
    assert all(o.ok for o in outcomes), report(outcomes)
    assert len({o.value for o in outcomes}) == THREADS


# --- a log read before someone else changed it ------------------------------------------------
#
# The same races, made deterministic: the log is read, another connection
# changes it (as a concurrent request would, between our read and our write),
# then the step is attempted on what was read.


def _changed_behind_our_back(log: ExchangeLog, **values: Any) -> None:
    db.session.refresh(log)
    table = ExchangeLog.__table__
    with db.engine.begin() as other:
        other.execute(
            update(table).where(table.c.id == log.id).values(version=table.c.version + 1, **values)
        )


def _unchanged(log_id: int, status: str, version: int, event_count: int) -> None:
    db.session.rollback()
    log = fresh(log_id)
    assert (log.status, log.version) == (status, version)
    assert (
        db.session.execute(
            select(func.count()).select_from(LogEvent).where(LogEvent.log_id == log_id)
        ).scalar_one()
        == event_count
    )


@pytest.mark.parametrize(
    ("status", "who", "action", "reason"),
    [
        ("verified", "head", Action.APPROVE, None),
        ("verified", "admin", Action.REJECT, "Not on the rota"),
        ("submitted", "expert", Action.VERIFY, None),
        ("submitted", "teacher", Action.WITHDRAW, None),
        ("draft", "teacher", Action.SUBMIT, None),
        ("approved", "admin", Action.REVOKE, "Counted twice"),
    ],
)
def test_a_step_on_a_log_changed_since_it_was_read_is_a_conflict(
    college, make_log, status, who, action, reason
):
    log = make_log(status=status)
    log_id, version, trail = log.id, log.version, len(log.events)
    _changed_behind_our_back(log)
    with pytest.raises(Conflict):
        services.transition(getattr(college, who), log, action, reason)
    _unchanged(log_id, status, version + 1, trail)


def test_an_edit_of_a_log_changed_since_it_was_read_is_a_conflict(college, make_log):
    log = make_log()
    _changed_behind_our_back(log, description="Changed in another tab")
    with pytest.raises(Conflict):
        services.update_log(college.teacher, log, practice(college, hours="3"))
    db.session.rollback()
    assert fresh(log.id).description == "Changed in another tab"


def test_deleting_a_log_changed_since_it_was_read_is_a_conflict(college, make_log):
    log = make_log()
    _changed_behind_our_back(log, description="Changed in another tab")
    with pytest.raises(Conflict):
        services.delete_log(college.teacher, log)
    db.session.rollback()
    assert fresh(log.id).description == "Changed in another tab"


def test_a_conflict_in_a_bulk_approval_does_not_undo_the_approvals_before_it(college, make_log):
    """Isolates the second half of the bulk problem: even when the stale log is
    caught as a Conflict, the rollback that reports it must not take the earlier
    approvals of the batch with it while they are reported as done."""
    first = make_log(status="verified")
    changed = make_log(owner=college.other_teacher, status="verified")
    _changed_behind_our_back(changed, status="approved")
    # Load the trails now (this reads no log row), so that the stale write
    # happens in the service's own flush and is reported as a Conflict.
    assert first.events
    assert changed.events
    outcomes = services.bulk_approve(college.head, [first.id, changed.id])
    db.session.commit()
    assert [(o.ok, o.status) for o in outcomes] == [(True, 200), (False, 409)]
    assert fresh(first.id).status == "approved"
    assert [e.actor_id for e in events(first.id, "approve")] == [college.head.id]


def test_locking_the_period_while_a_step_is_in_flight(app, college, make_log):
    """The admin locks the period (in another request) between the head's read and
    write: the approval must not land in the locked period (SPEC §2: in a locked
    period nothing changes any more)."""
    log = make_log(status="verified")
    admin_id, period_id = college.admin.id, log.period_id
    assert log.period.is_open  # the head's request has read the log and its period

    def lock(start):
        from exchange.org.models import Period
        from exchange.org.services import lock_period

        start()
        lock_period(db.session.get(User, admin_id), db.session.get(Period, period_id))
        db.session.commit()

    [locked] = race(app, [lock])
    assert locked.ok, locked.describe()

    try:
        services.transition(college.head, log, Action.APPROVE)
        db.session.commit()
    except Conflict:
        db.session.rollback()
    assert fresh(log.id).status == "verified"
    assert events(log.id, "approve") == []
