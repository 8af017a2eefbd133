"""The labels of rewards' codes (award statuses and their badge tones, round states,
rule kinds, audiences and scopes), whose round it is, and an outcome in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from exchange.i18n import _, _l
from exchange.presentation import Label, hours, label, money
from exchange.rewards.models import AwardAction, AwardStatus, RoundState
from exchange.rewards.rules import Audience, Outcome, RuleKind, Scope

AWARD_STATUS_LABELS: dict[AwardStatus, Label] = {
    AwardStatus.PROPOSED: _l("To decide"),
    AwardStatus.APPROVED: _l("Approved"),
    AwardStatus.REJECTED: _l("Rejected"),
    AwardStatus.ISSUED: _l("Issued"),
    AwardStatus.REVOKED: _l("Revoked"),
}

# The steps of an award's history.
AWARD_ACTION_LABELS: dict[AwardAction, Label] = {
    AwardAction.PROPOSE: _l("Proposed"),
    AwardAction.REPROPOSE: _l("Proposed again (hours changed)"),
    AwardAction.WITHDRAW: _l("Withdrawn (rule no longer met)"),
    AwardAction.APPROVE: _l("Approved"),
    AwardAction.REJECT: _l("Rejected"),
    AwardAction.ISSUE: _l("Issued"),
    AwardAction.REVOKE: _l("Revoked"),
}

# The badge colour of each status (classes of app.css).
AWARD_STATUS_TONES: dict[AwardStatus, str] = {
    AwardStatus.PROPOSED: "warn",
    AwardStatus.APPROVED: "info",
    AwardStatus.REJECTED: "muted",
    AwardStatus.ISSUED: "ok",
    AwardStatus.REVOKED: "danger",
}

ROUND_STATE_LABELS: dict[RoundState, Label] = {
    RoundState.DRAFT: _l("Draft"),
    RoundState.FINALIZED: _l("Finalized"),
}

# A rule's kind where it is shown (badges, rounds, records, exports) …
RULE_KIND_LABELS: dict[RuleKind, Label] = {
    RuleKind.HONOUR: _l("Honour"),
    RuleKind.BONUS: _l("Bonus"),
}

# … and where an administrator chooses it, with what it means.
RULE_KIND_CHOICES: dict[RuleKind, Label] = {
    RuleKind.HONOUR: _l("Honour (title and certificate)"),
    RuleKind.BONUS: _l("Bonus (money)"),
}

AUDIENCE_LABELS: dict[Audience, Label] = {
    Audience.TEACHER: _l("Teachers (practice hours)"),
    Audience.EXPERT: _l("Enterprise experts (teaching hours)"),
}

RULE_SCOPE_LABELS: dict[Scope, Label] = {
    Scope.DEPARTMENT: _l("Department (hours per department, in its round)"),
    Scope.COLLEGE: _l("College (hours across all departments, in the college round)"),
}


def award_status_label(code: str) -> Label:
    return label(AWARD_STATUS_LABELS, code)


def award_action_label(code: str) -> Label:
    return label(AWARD_ACTION_LABELS, code)


def award_status_tone(code: str) -> str:
    if code in AWARD_STATUS_TONES:
        return AWARD_STATUS_TONES[AwardStatus(code)]
    return "muted"


def round_state_label(code: str) -> Label:
    return label(ROUND_STATE_LABELS, code)


def rule_kind_label(code: str) -> Label:
    return label(RULE_KIND_LABELS, code)


def audience_label(code: str) -> Label:
    return label(AUDIENCE_LABELS, code)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _Placed(Protocol):
    @property
    def department(self) -> _Named | None: ...


def round_place(reward_round: _Placed) -> Label:
    """Whose round it is: the department's name, or the college."""
    return reward_round.department.name if reward_round.department else _l("College")


def outcome_text(outcome: Outcome, names: Mapping[str, str]) -> str:
    """How one person stands against one rule, in words."""
    rule = outcome.rule
    if not outcome.met:
        return str(_("%(hours)s missing", hours=hours(outcome.minutes_missing)))
    if outcome.outranked_by:
        return str(
            _("outranked by %(rule)s", rule=names.get(outcome.outranked_by, outcome.outranked_by))
        )
    if rule.kind == RuleKind.BONUS:
        text = money(outcome.amount_minor, rule.currency)
        return str(_("%(amount)s (the cap)", amount=text)) if outcome.capped else text
    return str(_("awarded"))
