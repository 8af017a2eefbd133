"""The exchange-log workflow (SPEC §3): states, the transition table, who may do what.

Pure: no Flask, no SQLAlchemy. The services ask :func:`decide` before they
change anything, so this table is the only place the rules live.

    draft ──submit──▶ submitted ──verify──▶ verified ──approve──▶ approved ──revoke──▶ revoked
      ▲                  │  │                    │
      │                  │  └──reject (verifier)─┤
      └──edit── rejected ◀──────reject (head)────┘
      └──withdraw (owner, from submitted)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class Action(StrEnum):
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    VERIFY = "verify"
    REJECT = "reject"
    APPROVE = "approve"
    REVOKE = "revoke"


class Relation(StrEnum):
    """How the one acting stands to the log."""

    OWNER = "owner"
    VERIFIER = "verifier"  # the named verifier
    ONSITE = "onsite"  # a confirmer holding a valid on-site link
    DEPARTMENT_HEAD = "department_head"  # a head of the log's department
    ADMIN = "admin"


@dataclass(frozen=True)
class Transition:
    to_status: Status
    by: frozenset[Relation]


def _by(*relations: Relation) -> frozenset[Relation]:
    return frozenset(relations)


S, A, R = Status, Action, Relation

TRANSITIONS: dict[tuple[Status, Action], Transition] = {
    (S.DRAFT, A.EDIT): Transition(S.DRAFT, _by(R.OWNER)),
    (S.REJECTED, A.EDIT): Transition(S.DRAFT, _by(R.OWNER)),
    (S.DRAFT, A.DELETE): Transition(S.DRAFT, _by(R.OWNER)),
    (S.DRAFT, A.SUBMIT): Transition(S.SUBMITTED, _by(R.OWNER)),
    (S.SUBMITTED, A.WITHDRAW): Transition(S.DRAFT, _by(R.OWNER)),
    (S.SUBMITTED, A.VERIFY): Transition(S.VERIFIED, _by(R.VERIFIER, R.ONSITE)),
    (S.SUBMITTED, A.REJECT): Transition(S.REJECTED, _by(R.VERIFIER, R.ONSITE)),
    (S.VERIFIED, A.APPROVE): Transition(S.APPROVED, _by(R.DEPARTMENT_HEAD, R.ADMIN)),
    (S.VERIFIED, A.REJECT): Transition(S.REJECTED, _by(R.DEPARTMENT_HEAD, R.ADMIN)),
    (S.APPROVED, A.REVOKE): Transition(S.REVOKED, _by(R.ADMIN)),
}

# Acts of judgement: nobody performs them on their own record.
JUDGEMENTS = frozenset({A.VERIFY, A.REJECT, A.APPROVE, A.REVOKE})
NEEDS_REASON = frozenset({A.REJECT, A.REVOKE})


class Refusal(StrEnum):
    FORBIDDEN = "forbidden"  # this person may never do this to this log
    OWN_RECORD = "own_record"  # … because it is their own log
    WRONG_STATE = "wrong_state"  # … not in the log's current state (it has changed)
    PERIOD_LOCKED = "period_locked"  # nothing changes in a locked period
    REASON_REQUIRED = "reason_required"


class TransitionRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


def actions_for(relations: Iterable[Relation]) -> frozenset[Action]:
    """Every action these relations allow in some state."""
    held = frozenset(relations)
    return frozenset(action for (_, action), t in TRANSITIONS.items() if t.by & held)


def decide(
    status: Status,
    action: Action,
    relations: Iterable[Relation],
    *,
    period_open: bool = True,
    reason: str | None = None,
) -> Status:
    """The status the log moves to, or :class:`TransitionRefused` saying why not.

    The order of the checks is what the refused person is told: first whether
    they may ever do this, then whether it is their own record, then whether
    the period and the log's state allow it now.
    """
    held = frozenset(relations)
    if action not in actions_for(held):
        raise TransitionRefused(Refusal.FORBIDDEN)
    if action in JUDGEMENTS and Relation.OWNER in held:
        raise TransitionRefused(Refusal.OWN_RECORD)
    if not period_open:
        raise TransitionRefused(Refusal.PERIOD_LOCKED)
    transition = TRANSITIONS.get((status, action))
    if transition is None:
        raise TransitionRefused(Refusal.WRONG_STATE)
    if not transition.by & held:
        raise TransitionRefused(Refusal.FORBIDDEN)
    if action in NEEDS_REASON and not (reason or "").strip():
        raise TransitionRefused(Refusal.REASON_REQUIRED)
    return transition.to_status


def allowed_actions(
    status: Status, relations: Iterable[Relation], *, period_open: bool = True
) -> frozenset[Action]:
    """The actions to offer this person on this log now (buttons on the log page)."""
    offered = set()
    for action in actions_for(relations):
        try:
            decide(status, action, relations, period_open=period_open, reason="-")
        except TransitionRefused:
            continue
        offered.add(action)
    return frozenset(offered)


# Naming another verifier for a submitted log: the one named may have left the
# enterprise or department, and verifier rights follow the person's current one
# (SPEC §1). The owner or the log's heads choose again. Not a transition (the
# status stays), so it sits beside the table rather than in it.
REASSIGN_FROM = S.SUBMITTED
REASSIGN_BY = _by(R.OWNER, R.DEPARTMENT_HEAD, R.ADMIN)


def decide_reassign(
    status: Status, relations: Iterable[Relation], *, period_open: bool = True
) -> None:
    """Nothing if these relations may name another verifier now, else :class:`TransitionRefused`
    (checked in the order :func:`decide` uses)."""
    if not REASSIGN_BY & frozenset(relations):
        raise TransitionRefused(Refusal.FORBIDDEN)
    if not period_open:
        raise TransitionRefused(Refusal.PERIOD_LOCKED)
    if status is not REASSIGN_FROM:
        raise TransitionRefused(Refusal.WRONG_STATE)


def may_reassign(
    status: Status, relations: Iterable[Relation], *, period_open: bool = True
) -> bool:
    try:
        decide_reassign(status, relations, period_open=period_open)
    except TransitionRefused:
        return False
    return True


# Hours are entered in quarter hours from a quarter to twelve (SPEC §3).
MINUTES_STEP = 15
MINUTES_MIN = 15
MINUTES_MAX = 720
DAILY_MINUTES_MAX = 720


def minutes_are_valid(minutes: int) -> bool:
    return MINUTES_MIN <= minutes <= MINUTES_MAX and minutes % MINUTES_STEP == 0


# Statuses whose minutes count against the owner's day (rejected and revoked do not).
COUNTS_FOR_DAY = frozenset({S.DRAFT, S.SUBMITTED, S.VERIFIED, S.APPROVED})
PENDING = frozenset({S.SUBMITTED, S.VERIFIED})
