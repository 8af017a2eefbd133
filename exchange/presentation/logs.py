"""The labels of logs' codes: statuses, actions and their buttons, kinds, categories."""

from __future__ import annotations

from exchange.i18n import _l
from exchange.logs.integrity import (
    CONFIRMER_MANY_OWNERS,
    DAY_MINUTES_LIMIT,
    REPEATED_DESCRIPTIONS,
    Flag,
)
from exchange.logs.models import LogKind
from exchange.logs.workflow import Action, Status
from exchange.presentation import Label, label
from exchange.presentation.org import ENTERPRISE_KIND_LABELS

STATUS_LABELS: dict[Status, Label] = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted"),
    Status.VERIFIED: _l("Verified"),
    Status.APPROVED: _l("Approved"),
    Status.REJECTED: _l("Rejected"),
    Status.REVOKED: _l("Revoked"),
}

# What happened, as the timeline tells it.
ACTION_LABELS: dict[Action, Label] = {
    Action.CREATE: _l("Created"),
    Action.EDIT: _l("Edited"),
    Action.DELETE: _l("Deleted"),
    Action.SUBMIT: _l("Submitted"),
    Action.WITHDRAW: _l("Withdrawn"),
    Action.VERIFY: _l("Verified"),
    Action.REJECT: _l("Rejected"),
    Action.APPROVE: _l("Approved"),
    Action.REVOKE: _l("Revoked"),
}

# What a button does.
ACTION_BUTTONS: dict[Action, Label] = {
    Action.SUBMIT: _l("Submit for verification"),
    Action.WITHDRAW: _l("Withdraw"),
    Action.VERIFY: _l("Verify"),
    Action.REJECT: _l("Reject"),
    Action.APPROVE: _l("Approve"),
    Action.REVOKE: _l("Revoke"),
}

LOG_KIND_LABELS: dict[LogKind, Label] = {
    LogKind.PRACTICE: _l("Practice in an enterprise"),
    LogKind.TEACHING: _l("Teaching in the college"),
}

# Every code of logs.models.CATEGORIES, both kinds ("other" is shared).
CATEGORY_LABELS: dict[str, Label] = {
    "clinical": _l("Clinical rotation"),
    "technical_training": _l("Technical training"),
    "joint_research": _l("Joint R&D"),
    "process_study": _l("Process study"),
    "management": _l("Management"),
    "lecture": _l("Lecture"),
    "lab": _l("Lab session"),
    "workshop": _l("Workshop"),
    "clinical_teaching": _l("Clinical teaching"),
    "mentoring": _l("Thesis mentoring"),
    "other": _l("Other"),
}


# Integrity flags in words (SPEC §6): why a log deserves a second look.
FLAG_LABELS: dict[Flag, Label] = {
    Flag.SELF_CONFIRMED: _l("Confirmed on site from the owner's own browser or network"),
    Flag.CONFIRMER_MANY: _l(
        "The confirmer confirmed logs of %(num)d or more people that day",
        num=CONFIRMER_MANY_OWNERS,
    ),
    Flag.OUTSIDE_AGREEMENT: _l("No cooperation agreement covers this work on that day"),
    Flag.DAY_OVER_10H: _l(
        "Over %(num)d hours on one day across the owner's logs", num=DAY_MINUTES_LIMIT // 60
    ),
    Flag.REPEATED_DESCRIPTION: _l(
        "The same description on %(num)d or more of the owner's logs this period",
        num=REPEATED_DESCRIPTIONS,
    ),
    Flag.UNUSUAL_TOTAL: _l("Period total above the department's 99th percentile"),
}


def flag_label(code: str) -> Label:
    return label(FLAG_LABELS, code)


def status_label(code: str) -> Label:
    return label(STATUS_LABELS, code)


def action_label(code: str) -> Label:
    return label(ACTION_LABELS, code)


def action_button(code: str) -> Label:
    return label(ACTION_BUTTONS, code)


def category_label(code: str) -> Label:
    return label(CATEGORY_LABELS, code)


def kind_label(code: str) -> Label:
    """A log kind's or an enterprise kind's label (their codes differ)."""
    if code in LOG_KIND_LABELS:
        return label(LOG_KIND_LABELS, code)
    return label(ENTERPRISE_KIND_LABELS, code)
