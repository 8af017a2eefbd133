"""Who names another verifier for a log (SPEC §1, §3), read off the product contract.

The verifier named may have moved to another enterprise or department: the
owner, a head of the log's department or an admin then names another one, while
the log waits for verification in an open period. The named verifier does not
hand the log on, and nobody else touches it.
"""

from __future__ import annotations

import pytest

from exchange.logs.workflow import (
    Refusal,
    Relation,
    Status,
    TransitionRefused,
    decide_reassign,
    may_reassign,
)

MAY = [Relation.OWNER, Relation.DEPARTMENT_HEAD, Relation.ADMIN]
MAY_NOT = [Relation.VERIFIER, Relation.ONSITE]


@pytest.mark.parametrize("relation", MAY)
def test_owner_heads_and_admins_name_another_verifier_for_a_submitted_log(relation):
    decide_reassign(Status.SUBMITTED, {relation})
    assert may_reassign(Status.SUBMITTED, {relation})


@pytest.mark.parametrize("relation", MAY)
@pytest.mark.parametrize("status", [s for s in Status if s is not Status.SUBMITTED])
def test_only_while_the_log_waits_for_verification(relation, status):
    with pytest.raises(TransitionRefused) as refused:
        decide_reassign(status, {relation})
    assert refused.value.refusal is Refusal.WRONG_STATE
    assert not may_reassign(status, {relation})


@pytest.mark.parametrize("relation", MAY)
def test_not_in_a_locked_period(relation):
    with pytest.raises(TransitionRefused) as refused:
        decide_reassign(Status.SUBMITTED, {relation}, period_open=False)
    assert refused.value.refusal is Refusal.PERIOD_LOCKED


@pytest.mark.parametrize("relations", [set(), {Relation.VERIFIER}, {Relation.ONSITE}])
@pytest.mark.parametrize("status", list(Status))
def test_nobody_else_ever(relations, status):
    with pytest.raises(TransitionRefused) as refused:
        decide_reassign(status, relations)
    assert refused.value.refusal is Refusal.FORBIDDEN
