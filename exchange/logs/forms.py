"""The "Log hours" form, and the one place where log codes get their translated labels.

The fields carry no business rules: the services check everything and the
views put the services' messages on these fields. Field names follow the names
the services use for their errors (``date``, ``hours``, ``enterprise_id`` …) so
each message lands on its own field. Selects skip WTForms' own choice check so
that a tampered value reaches the service and gets its message.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import TextInput

from exchange.forms import optional_int
from exchange.logs.models import LogKind
from exchange.logs.workflow import Action, Status
from exchange.org.forms import KIND_LABELS as ENTERPRISE_KIND_LABELS
from exchange.timeutil import college_zone

STATUS_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted"),
    Status.VERIFIED: _l("Verified"),
    Status.APPROVED: _l("Approved"),
    Status.REJECTED: _l("Rejected"),
    Status.REVOKED: _l("Revoked"),
}

# What happened, as the timeline tells it.
ACTION_LABELS = {
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
ACTION_BUTTONS = {
    Action.SUBMIT: _l("Submit for verification"),
    Action.WITHDRAW: _l("Withdraw"),
    Action.VERIFY: _l("Verify"),
    Action.REJECT: _l("Reject"),
    Action.APPROVE: _l("Approve"),
    Action.REVOKE: _l("Revoke"),
}

LOG_KIND_LABELS = {
    LogKind.PRACTICE: _l("Practice in an enterprise"),
    LogKind.TEACHING: _l("Teaching in the college"),
}

# Every code of models.CATEGORIES, both kinds ("other" is shared).
CATEGORY_LABELS = {
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


def status_label(code: str) -> Any:
    return STATUS_LABELS.get(code, code)  # type: ignore[call-overload]


def action_label(code: str) -> Any:
    return ACTION_LABELS.get(code, code)  # type: ignore[call-overload]


def action_button(code: str) -> Any:
    return ACTION_BUTTONS.get(code, code)  # type: ignore[call-overload]


def category_label(code: str) -> Any:
    return CATEGORY_LABELS.get(code, code)


def kind_label(code: str) -> Any:
    """A log kind's label. Enterprise kinds (the admin pages' ``kind_label``, which this
    global replaces in templates) have other codes, so both are answered here."""
    if code in LOG_KIND_LABELS:
        return LOG_KIND_LABELS[code]
    return ENTERPRISE_KIND_LABELS.get(code, code)  # type: ignore[call-overload]


def hours_number(minutes: int | None) -> str:
    """Minutes as a plain number of hours: 90 → "1.5", 120 → "2", 15 → "0.25"."""
    if minutes is None:
        return ""
    text = f"{Decimal(minutes) / 60:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def hours(log_or_minutes: Any) -> str:
    """Hours as people read them: a log (or minutes) → "1.5 h"."""
    minutes = getattr(log_or_minutes, "minutes", log_or_minutes)
    return _("%(hours)s h", hours=hours_number(minutes))


def local_time(moment: datetime | None) -> str:
    """A UTC instant shown in the college's time zone."""
    if moment is None:
        return ""
    return moment.astimezone(college_zone()).strftime("%Y-%m-%d %H:%M")


def template_globals() -> dict[str, object]:
    return {
        "status_label": status_label,
        "action_label": action_label,
        "action_button": action_button,
        "category_label": category_label,
        "kind_label": kind_label,
        "hours": hours,
        "local_time": local_time,
    }


# Quick choices under the hours field.
QUICK_HOURS = ("1", "2", "4", "8")


class LogForm(FlaskForm):
    """Fields both kinds share."""

    # Optional: an empty date reaches the service, which says the field is required.
    date = DateField(_l("Date"), validators=[Optional()])
    hours = StringField(_l("Hours"))
    category = SelectField(_l("Category"), validate_choice=False)
    description = TextAreaField(_l("What did you do?"))
    verifier_id = SelectField(_l("Who confirms it"), coerce=optional_int, validate_choice=False)
    evidence = FileField(_l("Evidence (photo or PDF, optional)"))
    remove_evidence = BooleanField(_l("Remove the attached evidence"))
    client_id = HiddenField()


class PracticeLogForm(LogForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, validate_choice=False)


class TeachingLogForm(LogForm):
    department_id = SelectField(_l("Department"), coerce=optional_int, validate_choice=False)
    course = StringField(_l("Course"))
    cohort = StringField(_l("Class or cohort (optional)"))
    students = IntegerField(_l("Students"), validators=[Optional()], widget=TextInput())


FORMS: dict[str, type[LogForm]] = {
    LogKind.PRACTICE: PracticeLogForm,
    LogKind.TEACHING: TeachingLogForm,
}
