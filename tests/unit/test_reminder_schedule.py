"""Who hears of which waiting log (SPEC §6 "Reminders"), without an app or a database."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from exchange.reminders.schedule import (
    Approvers,
    Waiting,
    WaitingLog,
    plan_digests,
)

TODAY = date(2026, 12, 9)
TEACHER, OTHER_TEACHER, EXPERT = 1, 2, 3
HEAD, OTHER_HEAD, FOREIGN_HEAD, ADMIN = 10, 11, 12, 20
CM, NUR = 100, 200
APPROVERS = Approvers({CM: [HEAD, OTHER_HEAD], NUR: [FOREIGN_HEAD]}, [ADMIN])


def waiting(
    log_id: int,
    status: Waiting,
    days: int,
    *,
    owner: int = TEACHER,
    department: int = CM,
    verifier: int | None = EXPERT,
) -> WaitingLog:
    return WaitingLog(log_id, status, owner, department, verifier, TODAY - timedelta(days=days))


def plan(*logs: WaitingLog, approvers: Approvers = APPROVERS, escalate_days: int = 7):
    return plan_digests(logs, approvers, today=TODAY, escalate_days=escalate_days)


def lists(digests, person: int) -> dict[str, list[int]]:
    digest = digests[person]
    return {
        name: getattr(digest, name)
        for name in ("to_verify", "to_approve", "escalated", "drafts")
        if getattr(digest, name)
    }


def test_a_submitted_log_waits_for_its_verifier_and_after_the_escalation_age_the_heads():
    fresh = plan(waiting(1, Waiting.SUBMITTED, 7))
    assert set(fresh) == {EXPERT}
    assert lists(fresh, EXPERT) == {"to_verify": [1]}

    late = plan(waiting(1, Waiting.SUBMITTED, 8))
    assert set(late) == {EXPERT, HEAD, OTHER_HEAD}  # not the other department's head
    assert lists(late, HEAD) == {"escalated": [1]}

    later = plan(waiting(1, Waiting.SUBMITTED, 15))
    assert set(later) == {EXPERT, HEAD, OTHER_HEAD, ADMIN}
    assert lists(later, ADMIN) == {"escalated": [1]}
    assert set(plan(waiting(1, Waiting.SUBMITTED, 14))) == {EXPERT, HEAD, OTHER_HEAD}


def test_the_escalation_age_is_the_configured_one():
    assert set(plan(waiting(1, Waiting.SUBMITTED, 3), escalate_days=2)) == {
        EXPERT,
        HEAD,
        OTHER_HEAD,
    }
    assert ADMIN in plan(waiting(1, Waiting.SUBMITTED, 5), escalate_days=2)


def test_a_verified_log_waits_for_the_heads_of_its_department_but_its_owner():
    digests = plan(waiting(1, Waiting.VERIFIED, 1, owner=HEAD))
    assert set(digests) == {OTHER_HEAD}
    assert lists(digests, OTHER_HEAD) == {"to_approve": [1]}
    # Waiting too long, it is not listed twice to those who are to approve it.
    late = plan(waiting(1, Waiting.VERIFIED, 20))
    assert lists(late, HEAD) == {"to_approve": [1]}
    assert lists(late, ADMIN) == {"escalated": [1]}


def test_with_no_head_to_approve_it_a_verified_log_waits_for_the_administrators():
    sole_head = Approvers({CM: [HEAD]}, [ADMIN])
    digests = plan(waiting(1, Waiting.VERIFIED, 0, owner=HEAD), approvers=sole_head)
    assert set(digests) == {ADMIN}
    assert lists(digests, ADMIN) == {"to_approve": [1]}
    headless = plan(
        waiting(2, Waiting.VERIFIED, 0, department=NUR), approvers=Approvers({}, [ADMIN])
    )
    assert lists(headless, ADMIN) == {"to_approve": [2]}


def test_a_log_without_a_verifier_who_can_act_reaches_only_the_heads_in_time():
    assert plan(waiting(1, Waiting.SUBMITTED, 7, verifier=None)) == {}
    late = plan(waiting(1, Waiting.SUBMITTED, 8, verifier=None))
    assert set(late) == {HEAD, OTHER_HEAD}


def test_a_head_who_verifies_a_log_hears_of_it_once():
    digests = plan(waiting(1, Waiting.SUBMITTED, 10, verifier=HEAD, owner=EXPERT))
    assert lists(digests, HEAD) == {"to_verify": [1]}
    assert lists(digests, OTHER_HEAD) == {"escalated": [1]}


def test_old_drafts_remind_their_owner_only():
    assert plan(waiting(1, Waiting.DRAFT, 14)) == {}
    digests = plan(waiting(1, Waiting.DRAFT, 15), waiting(2, Waiting.DRAFT, 40))
    assert set(digests) == {TEACHER}
    assert lists(digests, TEACHER) == {"drafts": [2, 1]}  # oldest first


def test_everything_for_one_person_is_one_digest_oldest_first():
    digests = plan(
        waiting(1, Waiting.VERIFIED, 2),
        waiting(2, Waiting.SUBMITTED, 9, verifier=None),
        waiting(3, Waiting.VERIFIED, 5, owner=OTHER_TEACHER),
        waiting(4, Waiting.DRAFT, 30, owner=HEAD),
    )
    assert lists(digests, HEAD) == {"to_approve": [3, 1], "escalated": [2], "drafts": [4]}
    assert digests[HEAD].items == 4


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Waiting)),
            st.integers(0, 60),
            st.sampled_from([TEACHER, OTHER_TEACHER, EXPERT, HEAD]),
            st.sampled_from([EXPERT, HEAD, None]),
            st.sampled_from([CM, NUR]),
        ),
        max_size=12,
    )
)
def test_nobody_judges_their_own_log_and_no_log_is_listed_twice_to_anyone(cases):
    logs = [
        waiting(n, status, days, owner=owner, verifier=verifier, department=department)
        for n, (status, days, owner, verifier, department) in enumerate(cases, start=1)
    ]
    owners = {log.log_id: log.owner_id for log in logs}
    for person, digest in plan(*logs).items():
        judged = digest.to_verify + digest.to_approve + digest.escalated
        assert len(judged + digest.drafts) == len(set(judged + digest.drafts))
        assert all(owners[log_id] != person for log_id in judged)
        assert all(owners[log_id] == person for log_id in digest.drafts)
