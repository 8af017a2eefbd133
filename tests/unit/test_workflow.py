"""The pure workflow of exchange logs (SPEC §3), checked against a table written by hand.

The expected outcomes below are read off SPEC §3, not computed from
``exchange.logs.workflow``: if the module's table drifts from the product
contract, these tests say where.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.logs.workflow import (
    COUNTS_FOR_DAY,
    PENDING,
    TRANSITIONS,
    Action,
    Refusal,
    Relation,
    Status,
    TransitionRefused,
    allowed_actions,
    decide,
    minutes_are_valid,
)

OWNER, VERIFIER, ONSITE = Relation.OWNER, Relation.VERIFIER, Relation.ONSITE
HEAD, ADMIN = Relation.DEPARTMENT_HEAD, Relation.ADMIN

# The columns of every row below, in this order.
STATUSES = ("draft", "submitted", "verified", "approved", "rejected", "revoked")

# Cells: a status name = the action succeeds and the log moves there;
# F = FORBIDDEN (this person may never do this to this log), N = FORBIDDEN too
# (they may do this in another state, but in this one the step is someone
# else's), O = OWN_RECORD (a judgement on one's own log), W = WRONG_STATE (the
# log is not in a state where this happens).
EXPECTED: dict[frozenset[Relation], str] = {
    # Nobody: a stranger to the log may do nothing at all.
    frozenset(): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    F          F          F          F          F          F
        reject    F          F          F          F          F          F
        approve   F          F          F          F          F          F
        revoke    F          F          F          F          F          F
    """,
    # The owner edits (draft, rejected → draft), deletes drafts, submits, withdraws.
    frozenset({OWNER}): """
        create    F          F          F          F          F          F
        edit      draft      W          W          W          draft      W
        delete    draft      W          W          W          W          W
        submit    submitted  W          W          W          W          W
        withdraw  W          draft      W          W          W          W
        verify    F          F          F          F          F          F
        reject    F          F          F          F          F          F
        approve   F          F          F          F          F          F
        revoke    F          F          F          F          F          F
    """,
    # The named verifier verifies or rejects a submitted log, and nothing else.
    frozenset({VERIFIER}): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    W          verified   W          W          W          W
        reject    W          rejected   N          W          W          W
        approve   F          F          F          F          F          F
        revoke    F          F          F          F          F          F
    """,
    # The on-site confirmer stands where the named verifier stands.
    frozenset({ONSITE}): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    W          verified   W          W          W          W
        reject    W          rejected   N          W          W          W
        approve   F          F          F          F          F          F
        revoke    F          F          F          F          F          F
    """,
    # A head of the log's department approves or rejects a verified log.
    frozenset({HEAD}): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    F          F          F          F          F          F
        reject    W          N          rejected   W          W          W
        approve   W          W          approved   W          W          W
        revoke    F          F          F          F          F          F
    """,
    # An admin approves or rejects a verified log and alone revokes an approved one.
    frozenset({ADMIN}): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    F          F          F          F          F          F
        reject    W          N          rejected   W          W          W
        approve   W          W          approved   W          W          W
        revoke    W          W          W          revoked    W          W
    """,
    # A head's own log: an owner for everything an owner does, never its judge.
    frozenset({OWNER, HEAD}): """
        create    F          F          F          F          F          F
        edit      draft      W          W          W          draft      W
        delete    draft      W          W          W          W          W
        submit    submitted  W          W          W          W          W
        withdraw  W          draft      W          W          W          W
        verify    F          F          F          F          F          F
        reject    O          O          O          O          O          O
        approve   O          O          O          O          O          O
        revoke    F          F          F          F          F          F
    """,
    # Named as verifier of one's own log (the services refuse to store this, and
    # the workflow refuses it again): no self-verification.
    frozenset({OWNER, VERIFIER}): """
        create    F          F          F          F          F          F
        edit      draft      W          W          W          draft      W
        delete    draft      W          W          W          W          W
        submit    submitted  W          W          W          W          W
        withdraw  W          draft      W          W          W          W
        verify    O          O          O          O          O          O
        reject    O          O          O          O          O          O
        approve   F          F          F          F          F          F
        revoke    F          F          F          F          F          F
    """,
    # A head named verifier of an expert's teaching log in the head's department.
    frozenset({VERIFIER, HEAD}): """
        create    F          F          F          F          F          F
        edit      F          F          F          F          F          F
        delete    F          F          F          F          F          F
        submit    F          F          F          F          F          F
        withdraw  F          F          F          F          F          F
        verify    W          verified   W          W          W          W
        reject    W          rejected   rejected   W          W          W
        approve   W          W          approved   W          W          W
        revoke    F          F          F          F          F          F
    """,
}

REFUSALS = {
    "F": Refusal.FORBIDDEN,
    "N": Refusal.FORBIDDEN,
    "O": Refusal.OWN_RECORD,
    "W": Refusal.WRONG_STATE,
}


def _parse(table: str) -> dict[tuple[Status, Action], str]:
    cells: dict[tuple[Status, Action], str] = {}
    for line in table.strip().splitlines():
        action, *row = line.split()
        assert len(row) == len(STATUSES), line
        for status, cell in zip(STATUSES, row, strict=True):
            cells[(Status(status), Action(action))] = cell
    assert len(cells) == len(Status) * len(Action)
    return cells


def _who(relations: frozenset[Relation]) -> str:
    return "+".join(sorted(relations)) or "nobody"


CASES = [
    pytest.param(status, action, relations, cell, id=f"{status}-{action}-{_who(relations)}")
    for relations, table in EXPECTED.items()
    for (status, action), cell in _parse(table).items()
]


def _outcome(status: Status, action: Action, relations, **kwargs) -> Status | Refusal:
    try:
        return decide(status, action, relations, **kwargs)
    except TransitionRefused as refused:
        return refused.refusal


def test_the_table_covers_every_status_action_and_relation_set():
    assert len(CASES) == len(EXPECTED) * len(Status) * len(Action)
    assert set(STATUSES) == {s.value for s in Status}


@pytest.mark.parametrize(("status", "action", "relations", "cell"), CASES)
def test_decide_in_an_open_period(status, action, relations, cell):
    expected = REFUSALS.get(cell) or Status(cell)
    assert _outcome(status, action, relations, reason="A reason") == expected


@pytest.mark.parametrize(("status", "action", "relations", "cell"), CASES)
def test_decide_in_a_locked_period(status, action, relations, cell):
    # Who may never act, or acts on their own record, is told so first; everyone
    # else is told the period is locked, whatever the log's state and whoever's
    # step it would be in that state.
    expected = REFUSALS[cell] if cell in ("F", "O") else Refusal.PERIOD_LOCKED
    assert _outcome(status, action, relations, period_open=False, reason="A reason") == expected


@pytest.mark.parametrize(("status", "action", "relations", "cell"), CASES)
def test_reject_and_revoke_need_a_reason_checked_last(status, action, relations, cell):
    for reason in (None, "", "   \n\t"):
        outcome = _outcome(status, action, relations, reason=reason)
        if action in (Action.REJECT, Action.REVOKE) and cell not in REFUSALS:
            assert outcome == Refusal.REASON_REQUIRED
        else:
            assert outcome == (REFUSALS.get(cell) or Status(cell))


def test_the_modules_table_names_exactly_the_specs_steps():
    steps = {
        (status, action): Status(cell)
        for table in EXPECTED.values()
        for (status, action), cell in _parse(table).items()
        if cell not in REFUSALS
    }
    module_steps = {key: t.to_status for key, t in TRANSITIONS.items()}
    assert module_steps == steps


# --- refusal kinds and their order ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "relations", "period_open", "reason", "expected"),
    [
        # May never: forbidden beats everything, even a locked period and a missing reason.
        (Status.DRAFT, Action.APPROVE, {OWNER}, False, None, Refusal.FORBIDDEN),
        (Status.APPROVED, Action.REVOKE, {HEAD}, False, None, Refusal.FORBIDDEN),
        (Status.VERIFIED, Action.VERIFY, set(), True, "x", Refusal.FORBIDDEN),
        # Own record beats a locked period and the log's state.
        (Status.DRAFT, Action.APPROVE, {OWNER, HEAD}, False, None, Refusal.OWN_RECORD),
        (Status.VERIFIED, Action.APPROVE, {OWNER, HEAD}, True, None, Refusal.OWN_RECORD),
        (Status.SUBMITTED, Action.VERIFY, {OWNER, VERIFIER}, True, None, Refusal.OWN_RECORD),
        # A locked period beats the log's state.
        (Status.APPROVED, Action.APPROVE, {HEAD}, False, None, Refusal.PERIOD_LOCKED),
        (Status.VERIFIED, Action.APPROVE, {ADMIN}, False, None, Refusal.PERIOD_LOCKED),
        (Status.REJECTED, Action.REJECT, {HEAD}, False, None, Refusal.PERIOD_LOCKED),
        # The state, then someone else's step in this state.
        (Status.APPROVED, Action.APPROVE, {HEAD}, True, None, Refusal.WRONG_STATE),
        (Status.SUBMITTED, Action.REJECT, {HEAD}, True, "x", Refusal.FORBIDDEN),
        (Status.VERIFIED, Action.REJECT, {VERIFIER}, True, "x", Refusal.FORBIDDEN),
        # The reason last: a wrong state is reported even without one.
        (Status.DRAFT, Action.REJECT, {HEAD}, True, None, Refusal.WRONG_STATE),
        (Status.VERIFIED, Action.REJECT, {HEAD}, True, None, Refusal.REASON_REQUIRED),
        (Status.APPROVED, Action.REVOKE, {ADMIN}, True, " ", Refusal.REASON_REQUIRED),
        (Status.SUBMITTED, Action.REJECT, {ONSITE}, True, "", Refusal.REASON_REQUIRED),
    ],
)
def test_refusal_kinds_and_their_order(status, action, relations, period_open, reason, expected):
    with pytest.raises(TransitionRefused) as refused:
        decide(status, action, relations, period_open=period_open, reason=reason)
    assert refused.value.refusal is expected


def test_a_reason_is_not_needed_where_none_is_asked_for():
    assert decide(Status.VERIFIED, Action.APPROVE, {HEAD}) is Status.APPROVED
    assert decide(Status.SUBMITTED, Action.VERIFY, {VERIFIER}) is Status.VERIFIED


def test_decide_accepts_any_iterable_of_relations():
    assert decide(Status.DRAFT, Action.SUBMIT, [OWNER]) is Status.SUBMITTED
    assert decide(Status.DRAFT, Action.SUBMIT, (r for r in [OWNER])) is Status.SUBMITTED


# --- the buttons a person is offered --------------------------------------------


@pytest.mark.parametrize(
    ("status", "relations", "offered"),
    [
        (Status.DRAFT, {OWNER}, {Action.EDIT, Action.DELETE, Action.SUBMIT}),
        (Status.SUBMITTED, {OWNER}, {Action.WITHDRAW}),
        (Status.VERIFIED, {OWNER}, set()),
        (Status.APPROVED, {OWNER}, set()),
        (Status.REJECTED, {OWNER}, {Action.EDIT}),
        (Status.REVOKED, {OWNER}, set()),
        (Status.SUBMITTED, {VERIFIER}, {Action.VERIFY, Action.REJECT}),
        (Status.VERIFIED, {VERIFIER}, set()),
        (Status.SUBMITTED, {ONSITE}, {Action.VERIFY, Action.REJECT}),
        (Status.SUBMITTED, {HEAD}, set()),
        (Status.VERIFIED, {HEAD}, {Action.APPROVE, Action.REJECT}),
        (Status.APPROVED, {HEAD}, set()),
        (Status.VERIFIED, {ADMIN}, {Action.APPROVE, Action.REJECT}),
        (Status.APPROVED, {ADMIN}, {Action.REVOKE}),
        (Status.REVOKED, {ADMIN}, set()),
        # A head looking at their own verified log sees no approve or reject button.
        (Status.VERIFIED, {OWNER, HEAD}, set()),
        (Status.DRAFT, {OWNER, HEAD}, {Action.EDIT, Action.DELETE, Action.SUBMIT}),
        (Status.SUBMITTED, {OWNER, VERIFIER}, {Action.WITHDRAW}),
        (Status.SUBMITTED, {VERIFIER, HEAD}, {Action.VERIFY, Action.REJECT}),
        (Status.VERIFIED, {VERIFIER, HEAD}, {Action.APPROVE, Action.REJECT}),
        (Status.VERIFIED, set(), set()),
    ],
)
def test_allowed_actions_for_typical_people(status, relations, offered):
    assert allowed_actions(status, relations) == offered


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("relations", list(EXPECTED))
def test_nothing_is_offered_in_a_locked_period(status, relations):
    assert allowed_actions(status, relations, period_open=False) == frozenset()


# --- minutes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "valid"),
    [
        (-15, False),
        (0, False),
        (14, False),
        (15, True),
        (16, False),
        (29, False),
        (30, True),
        (45, True),
        (705, True),
        (719, False),
        (720, True),
        (721, False),
        (735, False),
        (1440, False),
    ],
)
def test_minutes_are_valid_at_every_boundary(minutes, valid):
    assert minutes_are_valid(minutes) is valid


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_minutes_are_quarter_hours_from_a_quarter_to_twelve(minutes):
    assert minutes_are_valid(minutes) is (minutes in range(15, 721, 15))


def test_which_statuses_count_for_the_day_and_which_are_pending():
    # SPEC §3: rejected logs do not count against the day; revoked ones neither.
    assert {Status.DRAFT, Status.SUBMITTED, Status.VERIFIED, Status.APPROVED} == COUNTS_FOR_DAY
    assert {Status.SUBMITTED, Status.VERIFIED} == PENDING


# --- properties -----------------------------------------------------------------------

relation_sets = st.frozensets(st.sampled_from(list(Relation)))
reasons = st.one_of(st.none(), st.text(max_size=20))


@given(
    st.sampled_from(list(Status)),
    st.sampled_from(list(Action)),
    relation_sets,
    st.booleans(),
    reasons,
)
def test_decide_only_moves_along_a_step_the_relations_hold(
    status, action, relations, period_open, reason
):
    try:
        to = decide(status, action, relations, period_open=period_open, reason=reason)
    except TransitionRefused:
        return
    step = TRANSITIONS[(status, action)]
    assert step.by & relations
    assert to is step.to_status
    assert period_open
    # Nobody judges their own record.
    if action in (Action.VERIFY, Action.REJECT, Action.APPROVE, Action.REVOKE):
        assert OWNER not in relations
    if action in (Action.REJECT, Action.REVOKE):
        assert reason is not None
        assert reason.strip()


@given(st.sampled_from(list(Action)), relation_sets, st.booleans(), reasons)
def test_approved_is_final_except_revoke_by_an_admin(action, relations, period_open, reason):
    try:
        to = decide(Status.APPROVED, action, relations, period_open=period_open, reason=reason)
    except TransitionRefused:
        return
    assert action is Action.REVOKE
    assert ADMIN in relations
    assert to is Status.REVOKED


@given(st.sampled_from(list(Action)), relation_sets, st.booleans(), reasons)
def test_revoked_is_the_end(action, relations, period_open, reason):
    try:
        to = decide(Status.REVOKED, action, relations, period_open=period_open, reason=reason)
    except TransitionRefused:
        to = None
    assert to is None


@given(st.sampled_from(list(Status)), st.sampled_from(list(Action)), relation_sets, reasons)
def test_nothing_is_allowed_when_the_period_is_locked(status, action, relations, reason):
    with pytest.raises(TransitionRefused) as refused:
        decide(status, action, relations, period_open=False, reason=reason)
    assert refused.value.refusal in (
        Refusal.FORBIDDEN,
        Refusal.OWN_RECORD,
        Refusal.PERIOD_LOCKED,
    )
    assert allowed_actions(status, relations, period_open=False) == frozenset()


@given(st.sampled_from(list(Status)), relation_sets)
def test_allowed_actions_agree_with_decide(status, relations):
    offered = allowed_actions(status, relations)
    for action in Action:
        try:
            decide(status, action, relations, reason="because")
        except TransitionRefused:
            assert action not in offered
        else:
            assert action in offered


def test_every_pair_of_statuses_is_joined_only_by_the_specs_arrows():
    arrows = {
        (Status.DRAFT, Status.DRAFT),  # edit, delete
        (Status.REJECTED, Status.DRAFT),
        (Status.DRAFT, Status.SUBMITTED),
        (Status.SUBMITTED, Status.DRAFT),
        (Status.SUBMITTED, Status.VERIFIED),
        (Status.SUBMITTED, Status.REJECTED),
        (Status.VERIFIED, Status.APPROVED),
        (Status.VERIFIED, Status.REJECTED),
        (Status.APPROVED, Status.REVOKED),
    }
    everyone = [frozenset(c) for n in range(6) for c in itertools.combinations(Relation, n)]
    reached = set()
    for status, action, relations in itertools.product(Status, Action, everyone):
        outcome = _outcome(status, action, relations, reason="because")
        if isinstance(outcome, Status):
            reached.add((status, outcome))
    assert reached == arrows
