"""The "open a round" form, and the one place where reward codes get their labels.

The fields carry no business rules: ``services.open_round`` checks the department
and the period and names the field at fault. Selects skip WTForms' own choice
check so that a tampered value reaches the service and gets its message.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from exchange.forms import optional_int
from exchange.rewards.models import AwardStatus, RewardRound, RoundState
from exchange.rewards.rules import Audience, RuleKind

AWARD_STATUS_LABELS = {
    AwardStatus.PROPOSED: _l("To decide"),
    AwardStatus.APPROVED: _l("Approved"),
    AwardStatus.REJECTED: _l("Rejected"),
    AwardStatus.ISSUED: _l("Issued"),
    AwardStatus.REVOKED: _l("Revoked"),
}

# The badge colour of each status (classes of app.css).
AWARD_STATUS_TONES = {
    AwardStatus.PROPOSED: "warn",
    AwardStatus.APPROVED: "info",
    AwardStatus.REJECTED: "muted",
    AwardStatus.ISSUED: "ok",
    AwardStatus.REVOKED: "danger",
}

ROUND_STATE_LABELS = {
    RoundState.DRAFT: _l("Draft"),
    RoundState.FINALIZED: _l("Finalized"),
}

RULE_KIND_LABELS = {
    RuleKind.HONOUR: _l("Honour"),
    RuleKind.BONUS: _l("Bonus"),
}

AUDIENCE_LABELS = {
    Audience.TEACHER: _l("Teachers (practice hours)"),
    Audience.EXPERT: _l("Experts (teaching hours)"),
}


def award_status_label(code: str) -> Any:
    return AWARD_STATUS_LABELS.get(code, code)


def award_status_tone(code: str) -> str:
    return AWARD_STATUS_TONES.get(code, "muted")


def round_state_label(code: str) -> Any:
    return ROUND_STATE_LABELS.get(code, code)


def rule_kind_label(code: str) -> Any:
    return RULE_KIND_LABELS.get(code, code)  # type: ignore[call-overload]


def audience_label(code: str) -> Any:
    return AUDIENCE_LABELS.get(code, code)  # type: ignore[call-overload]


def round_place(reward_round: RewardRound) -> Any:
    """Whose round it is: the department's name, or the college."""
    return reward_round.department.name if reward_round.department else _l("College")


def template_globals() -> dict[str, object]:
    return {
        "round_place": round_place,
        "award_status_label": award_status_label,
        "award_status_tone": award_status_tone,
        "round_state_label": round_state_label,
        "rule_kind_label": rule_kind_label,
        "audience_label": audience_label,
    }


class OpenRoundForm(FlaskForm):
    # "department" (a department's round) or "college" (the period's college round).
    scope = HiddenField(default="department")
    department_id = SelectField(_l("Department"), coerce=optional_int, validate_choice=False)
    period_id = SelectField(_l("Period"), coerce=optional_int, validate_choice=False)
