"""The "Log hours" form (the labels of log codes are ``exchange.presentation``'s).

The fields carry no business rules: the services check everything and the
views put the services' messages on these fields. Field names follow the names
the services use for their errors (``date``, ``hours``, ``enterprise_id`` …) so
each message lands on its own field. Selects skip WTForms' own choice check so
that a tampered value reaches the service and gets its message.
"""

from __future__ import annotations

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

from exchange.forms import QuickSelect, optional_int
from exchange.i18n import _l
from exchange.logs.models import LogKind

# Quick choices under the hours field.
QUICK_HOURS = ("1", "2", "4", "8")


class LogForm(FlaskForm):
    """Fields both kinds share."""

    # Optional: an empty date reaches the service, which says the field is required.
    date = DateField(_l("Date"), validators=[Optional()])
    hours = StringField(_l("Hours"))
    category = SelectField(_l("Category"), validate_choice=False, widget=QuickSelect())
    description = TextAreaField(_l("What did you do?"))
    verifier_id = SelectField(
        _l("Who confirms it"), coerce=optional_int, validate_choice=False, widget=QuickSelect()
    )
    evidence = FileField(_l("Evidence (photo or PDF, optional)"))
    remove_evidence = BooleanField(_l("Remove the attached evidence"))
    client_id = HiddenField()


class PracticeLogForm(LogForm):
    enterprise_id = SelectField(
        _l("Enterprise"), coerce=optional_int, validate_choice=False, widget=QuickSelect()
    )


class TeachingLogForm(LogForm):
    department_id = SelectField(
        _l("Department"), coerce=optional_int, validate_choice=False, widget=QuickSelect()
    )
    course = StringField(_l("Course"))
    cohort = StringField(_l("Class or cohort (optional)"))
    students = IntegerField(_l("Students"), validators=[Optional()], widget=TextInput())


FORMS: dict[str, type[LogForm]] = {
    LogKind.PRACTICE: PracticeLogForm,
    LogKind.TEACHING: TeachingLogForm,
}
