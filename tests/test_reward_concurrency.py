"""Reward rounds under concurrency (SPEC §5): with real threads finalizing, opening,
deciding and refreshing at once, one wins and the others are told the round has
changed (Conflict, 409); certificate numbers stay unique and contiguous; a
finalized round never changes.

Each thread works as a request does: its own app context (its own database
session and connection) and one commit. A barrier starts them together; every
join has a timeout, so a deadlock fails the test instead of hanging it. Run on
SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import User
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.rewards import services
from exchange.rewards.models import Award, RewardRound
from exchange.timeutil import college_today
from tests.concurrency import (
    Outcome,
    in_thread,
    join_all,
    no_crashes,
    past_the_check,
    race,
    report,
)
from tests.conftest import period_end

STEP_TIMEOUT = 20  # one step of a scripted interleaving
PAUSE = 2  # seconds a scripted thread holds still (below SQLite's busy timeout of 5 s)


def one_winner_others_conflict(outcomes: list[Outcome]) -> Outcome:
    no_crashes(outcomes)
    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1, report(outcomes)
    losers = [o for o in outcomes if not o.ok]
    assert all(isinstance(o.domain_error, Conflict) for o in losers), report(outcomes)
    assert {o.domain_error.status for o in losers} <= {409}
    return winners[0]


def fresh_round(round_id: int) -> RewardRound:
    db.session.expire_all()
    return db.session.get(RewardRound, round_id)


def issued_numbers(round_id: int) -> list[str]:
    return sorted(
        a.certificate_number for a in fresh_round(round_id).awards if a.status == "issued"
    )


def expected_numbers(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(1, count + 1)]


# --- set-up ----------------------------------------------------------------------------


@pytest.fixture
def log_hours(college, make_log):
    """Approved logs of ``total`` hours for ``owner``, 12 h a day at most, counted back
    from today (the day the test began: still in the period after ``travel``)."""
    next_day: dict[int, int] = defaultdict(int)
    today = college_today()

    def log(owner, total, **fields):
        quarters = int(Decimal(str(total)) * 4)
        while quarters > 0:
            chunk = min(quarters, 48)
            work_date = today - timedelta(days=next_day[owner.id])
            next_day[owner.id] += 1
            make_log(owner, status="approved", hours=str(Decimal(chunk) / 4), work_date=work_date,
                     **fields)  # fmt: skip
            quarters -= chunk

    return log


@pytest.fixture
def heads(college, make_user) -> list[User]:
    """Eight people who may all run the rounds of Clinical Medicine."""
    extra = [make_user("head", department=college.department) for _ in range(5)]
    return [college.head, college.other_head, college.admin, *extra]


def decided_round(actor, department, period) -> RewardRound:
    reward_round = services.open_round(actor, department.id, period.id)
    for award in reward_round.awards:
        services.decide_award(actor, award, True)
    db.session.commit()
    return reward_round


@pytest.fixture
def cm_round(college, log_hours, make_user) -> RewardRound:
    """A draft round of Clinical Medicine with twelve approved awards."""
    log_hours(college.teacher, 41)  # certificate and allowance
    log_hours(college.other_teacher, 160)  # star and allowance
    for n in range(3):
        log_hours(make_user("teacher", name=f"Teacher {n}", department=college.department), 45)
    log_hours(college.expert, 20)  # fee (the mentor certificate is the college round's)
    log_hours(college.other_expert, 3)  # fee
    reward_round = decided_round(college.admin, college.department, college.period)
    assert len(reward_round.awards) == 12
    return reward_round


@pytest.fixture
def nur_round(college, log_hours, make_user) -> RewardRound:
    """A draft round of Nursing with seven approved awards."""
    for n in range(3):
        log_hours(make_user("teacher", name=f"Nurse {n}", department=college.other_department), 50)
    log_hours(
        college.other_expert, 2, department_id=college.other_department.id,
        verifier=college.foreign_head,
    )  # fmt: skip
    reward_round = decided_round(college.admin, college.other_department, college.period)
    assert len(reward_round.awards) == 7
    return reward_round


def finalize_once(actor_id: int, round_id: int):
    def work(start):
        actor = db.session.get(User, actor_id)
        reward_round = db.session.get(RewardRound, round_id)
        # Read everything the page would show before the race starts.
        assert reward_round.is_draft
        assert all(a.holder.name and a.rule.code for a in reward_round.awards)
        start()
        services.finalize_round(actor, reward_round)
        db.session.commit()
        return sorted(a.certificate_number for a in reward_round.awards)

    return work


# --- finalizing the same round at once -----------------------------------------------------


@pytest.mark.parametrize(
    ("threads", "attempt"), [(2, 1), (2, 2), (2, 3), (8, 1), (8, 2)]
)  # the interleaving differs from run to run
def test_of_several_finalizing_one_round_one_wins(
    app, college, cm_round, heads, threads, attempt, travel
):
    travel(period_end(college.period))
    round_id = cm_round.id
    actors = [h.id for h in heads[:threads]]
    db.session.close()

    outcomes = race(app, [finalize_once(actor_id, round_id) for actor_id in actors])

    winner = one_winner_others_conflict(outcomes)
    prefix = "2026-2027-CM"
    assert winner.value == expected_numbers(prefix, 12), report(outcomes)
    assert issued_numbers(round_id) == expected_numbers(prefix, 12)
    finalized = fresh_round(round_id)
    assert finalized.state == "finalized"
    assert finalized.finalized_by_id == actors[outcomes.index(winner)]
    codes = [a.verification_code for a in finalized.awards]
    assert None not in codes
    assert len(set(codes)) == len(codes)
    total = db.session.execute(
        select(func.count()).select_from(Award).where(Award.certificate_number.is_not(None))
    ).scalar_one()
    assert total == 12


def test_two_departments_finalizing_at_once_each_get_their_own_sequence(
    app, college, cm_round, nur_round, travel
):
    travel(period_end(college.period))
    rounds = [(college.head.id, cm_round.id), (college.foreign_head.id, nur_round.id)]
    db.session.close()

    outcomes = race(app, [finalize_once(actor_id, round_id) for actor_id, round_id in rounds])

    no_crashes(outcomes)
    assert all(o.ok for o in outcomes), report(outcomes)
    assert issued_numbers(cm_round.id) == expected_numbers("2026-2027-CM", 12)
    assert issued_numbers(nur_round.id) == expected_numbers("2026-2027-NUR", 7)
    codes = db.session.execute(select(Award.verification_code)).scalars().all()
    assert len(codes) == 19
    assert len(set(codes)) == 19


def test_each_department_finalizing_twice_at_once_still_numbers_once(
    app, college, cm_round, nur_round, travel
):
    travel(period_end(college.period))
    work = [
        finalize_once(college.head.id, cm_round.id),
        finalize_once(college.other_head.id, cm_round.id),
        finalize_once(college.foreign_head.id, nur_round.id),
        finalize_once(college.admin.id, nur_round.id),
    ]
    db.session.close()

    outcomes = race(app, work)

    no_crashes(outcomes)
    for pair in (outcomes[:2], outcomes[2:]):
        one_winner_others_conflict(pair)
    assert issued_numbers(cm_round.id) == expected_numbers("2026-2027-CM", 12)
    assert issued_numbers(nur_round.id) == expected_numbers("2026-2027-NUR", 7)


# --- opening, deciding and refreshing at once --------------------------------------------------


def open_once(actor_id: int, department_id: int, period_id: int):
    def work(start):
        actor = db.session.get(User, actor_id)
        start()
        reward_round = services.open_round(actor, department_id, period_id)
        db.session.commit()
        return reward_round.id

    return work


def test_opening_the_same_round_at_once_makes_one_round(app, college, log_hours, heads):
    log_hours(college.teacher, 41)
    department_id, period_id = college.department.id, college.period.id
    actors = [h.id for h in heads]
    db.session.close()

    outcomes = race(app, [open_once(a, department_id, period_id) for a in actors])

    rounds = db.session.execute(select(RewardRound)).scalars().all()
    assert len(rounds) == 1, report(outcomes)
    assert len(rounds[0].awards) == 2
    winner = one_winner_others_conflict(outcomes)
    assert winner.value == rounds[0].id


def test_opening_the_same_round_past_the_check_at_once_is_a_conflict(
    app, college, log_hours, heads
):
    """Every thread has seen that no round exists before any of them adds one: the
    database refuses the twins, and the service must say so as a Conflict."""
    log_hours(college.teacher, 41)
    department_id, period_id = college.department.id, college.period.id
    actors = [h.id for h in heads[:4]]
    db.session.close()

    def open_past_the_check(actor_id: int):
        return past_the_check(
            RewardRound,
            lambda: (
                services.open_round(db.session.get(User, actor_id), department_id, period_id).id
            ),
        )

    outcomes = race(app, [open_past_the_check(a) for a in actors])

    rounds = db.session.execute(select(RewardRound)).scalars().all()
    assert len(rounds) == 1, report(outcomes)
    winner = one_winner_others_conflict(outcomes)
    assert winner.value == rounds[0].id
    assert len(rounds[0].awards) == 2


def test_opening_rounds_of_two_departments_at_once_makes_both(app, college, log_hours):
    log_hours(college.teacher, 41)
    work = [
        open_once(college.head.id, college.department.id, college.period.id),
        open_once(college.foreign_head.id, college.other_department.id, college.period.id),
    ]
    db.session.close()

    outcomes = race(app, work)

    no_crashes(outcomes)
    assert all(o.ok for o in outcomes), report(outcomes)
    assert db.session.execute(select(func.count()).select_from(RewardRound)).scalar_one() == 2


def test_two_heads_deciding_one_award_at_once_one_wins(app, college, log_hours):
    log_hours(college.expert, 3)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    award_id = reward_round.awards[0].id
    head_id, other_head_id = college.head.id, college.other_head.id
    db.session.close()

    def decide(actor_id: int, approve: bool):
        def work(start):
            actor = db.session.get(User, actor_id)
            award = db.session.get(Award, award_id)
            assert award.round.is_draft
            start()
            services.decide_award(actor, award, approve, None if approve else "Paid already")
            db.session.commit()
            return approve

        return work

    outcomes = race(app, [decide(head_id, True), decide(other_head_id, False)])

    winner = one_winner_others_conflict(outcomes)
    db.session.expire_all()
    award = db.session.get(Award, award_id)
    assert award.status == ("approved" if winner.value else "rejected")
    assert award.version == 2


def test_two_refreshes_at_once_propose_each_award_once(app, college, log_hours, heads):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    round_id = reward_round.id
    log_hours(college.other_teacher, 50)  # two new awards for the refresh to find
    log_hours(college.expert, 5)  # and one more
    actors = [h.id for h in heads[:4]]
    db.session.close()

    def refresh(actor_id: int):
        def work(start):
            actor = db.session.get(User, actor_id)
            rnd = db.session.get(RewardRound, round_id)
            assert len(rnd.awards) == 2
            start()
            services.refresh_round(actor, rnd)
            db.session.commit()
            return len(rnd.awards)

        return work

    outcomes = race(app, [refresh(a) for a in actors])

    no_crashes(outcomes)
    assert any(o.ok for o in outcomes), report(outcomes)
    assert all(o.ok or isinstance(o.domain_error, Conflict) for o in outcomes), report(outcomes)
    keys = [(a.holder_id, a.rule_id) for a in fresh_round(round_id).awards]
    assert len(keys) == len(set(keys)) == 5


# --- a finalized round never changes, even for a request that read it as a draft ----------


def finalize_in_thread(app, actor_id: int, round_id: int) -> None:
    def work():
        actor = db.session.get(User, actor_id)
        services.finalize_round(actor, db.session.get(RewardRound, round_id))
        db.session.commit()

    thread, outcome = in_thread(app, work)
    join_all([thread])
    assert outcome.ok, outcome.describe()


def test_a_decision_read_as_draft_is_refused_once_another_finalized_the_round(
    app, college, log_hours, travel
):
    """Request A shows the round as a draft; request B finalizes it; then A rejects a
    rejected award again or approves it: the finalized round must not change."""
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    by_code = {a.rule.code: a for a in reward_round.awards}
    services.decide_award(college.head, by_code["practice-cert"], True)
    services.decide_award(college.head, by_code["practice-allowance"], False, "Budget")
    db.session.commit()
    round_id, allowance_id = reward_round.id, by_code["practice-allowance"].id
    # Request A reads the round and the award it is about to decide.
    allowance = db.session.get(Award, allowance_id)
    assert allowance.round.is_draft
    assert allowance.status == "rejected"
    travel(period_end(college.period))

    finalize_in_thread(app, college.other_head.id, round_id)  # request B

    try:
        services.decide_award(college.head, allowance, True)
        db.session.commit()
    except Conflict:
        db.session.rollback()
    finalized = fresh_round(round_id)
    assert finalized.state == "finalized"
    assert {a.rule.code: a.status for a in finalized.awards} == {
        "practice-cert": "issued",
        "practice-allowance": "rejected",
    }, "a finalized round changed: an award was decided after it was finalized"


def test_a_refresh_read_as_draft_is_refused_once_another_finalized_the_round(
    app, college, log_hours, travel
):
    """Request A opened the round page (a draft); request B finalizes it; then A's
    refresh must not add awards to the finalized round."""
    log_hours(college.teacher, 41)
    reward_round = decided_round(college.head, college.department, college.period)
    round_id = reward_round.id
    reward_round = db.session.get(RewardRound, round_id)
    assert reward_round.is_draft
    assert len(reward_round.awards) == 2
    travel(period_end(college.period))

    finalize_in_thread(app, college.other_head.id, round_id)  # request B
    log_hours(college.other_teacher, 40)  # approved after B finalized: A's refresh would find it

    try:
        services.refresh_round(college.head, reward_round)
        db.session.commit()
    except Conflict:
        db.session.rollback()
    finalized = fresh_round(round_id)
    assert finalized.state == "finalized"
    assert sorted(a.status for a in finalized.awards) == ["issued", "issued"], [
        (a.holder.name, a.rule.code, a.status) for a in finalized.awards
    ]


def test_a_refresh_racing_a_finalize_leaves_no_undecided_award(
    app, college, log_hours, monkeypatch, travel
):
    """A refresh and a finalize of the same round at once, with a newly approved person
    for the refresh to find: either the finalize loses, or nothing undecided ends up
    in the finalized round.

    If the finalize gets as far as its UPDATE of the round (after checking that every
    award is decided), it is held there for at most PAUSE seconds while the refresh
    runs; if the refresh waits on a lock the finalize holds, the finalize goes on."""
    log_hours(college.teacher, 41)
    reward_round = decided_round(college.head, college.department, college.period)
    round_id = reward_round.id
    log_hours(college.other_teacher, 40)
    admin_id, other_head_id = college.admin.id, college.other_head.id
    travel(period_end(college.period))  # the finalize would be refused as too early before
    db.session.close()

    checked, refreshed = threading.Event(), threading.Event()
    finalizer: list[int] = []
    real_update = services.update

    def paused_update(*args, **kwargs):
        # finalize_round builds its UPDATE of the round after checking every award.
        if threading.get_ident() in finalizer and not checked.is_set():
            checked.set()
            refreshed.wait(PAUSE)
        return real_update(*args, **kwargs)

    monkeypatch.setattr(services, "update", paused_update)

    def finalize():
        finalizer.append(threading.get_ident())
        try:
            actor = db.session.get(User, admin_id)
            services.finalize_round(actor, db.session.get(RewardRound, round_id))
            db.session.commit()
        finally:
            checked.set()  # never leave the refresh waiting

    def refresh():
        assert checked.wait(STEP_TIMEOUT), "finalize never reached its check"
        try:
            actor = db.session.get(User, other_head_id)
            services.refresh_round(actor, db.session.get(RewardRound, round_id))
            db.session.commit()
        finally:
            refreshed.set()

    (finalizing, finalized), (refreshing, refresh_outcome) = (
        in_thread(app, finalize),
        in_thread(app, refresh),
    )
    join_all([finalizing, refreshing])

    outcomes = [finalized, refresh_outcome]
    no_crashes(outcomes)
    assert any(o.ok for o in outcomes), report(outcomes)
    final = fresh_round(round_id)
    awards = [(a.holder.name, a.rule.code, a.status) for a in final.awards]
    if final.state == "finalized":
        assert all(status == "issued" for _, _, status in awards), (report(outcomes), awards)
    else:
        assert not finalized.ok, report(outcomes)
