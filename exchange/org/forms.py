"""Forms for departments, enterprises, agreements and periods.

The fields carry no business rules: the services check everything and
``run_form`` puts their messages on these fields. Selects skip WTForms' own
choice check so that a tampered value reaches the service and gets its message.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Optional

from exchange.forms import choices, optional_int
from exchange.i18n import _l
from exchange.org.models import AgreementScope
from exchange.presentation.org import AGREEMENT_SCOPE_LABELS, ENTERPRISE_KIND_LABELS


def _date(label: object) -> DateField:
    # Optional: an empty date reaches the service, which says the field is required.
    return DateField(label, validators=[Optional()])


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))


class EnterpriseForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    kind = SelectField(
        _l("Kind"),
        choices=choices((kind.value, label) for kind, label in ENTERPRISE_KIND_LABELS.items()),
        validate_choice=False,
    )
    contact_person = StringField(_l("Contact person"))
    phone = TelField(_l("Phone"))
    address = TextAreaField(_l("Address"))


class AgreementForm(FlaskForm):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, validate_choice=False)
    department_id = SelectField(_l("Department"), coerce=optional_int, validate_choice=False)
    reference = StringField(_l("Reference number"))
    starts_on = _date(_l("Starts on"))
    ends_on = _date(_l("Ends on"))
    scope = SelectField(
        _l("Scope"),
        choices=choices((scope.value, label) for scope, label in AGREEMENT_SCOPE_LABELS.items()),
        default=AgreementScope.BOTH.value,
        validate_choice=False,
    )


class PeriodForm(FlaskForm):
    name = StringField(_l("Name"))
    starts_on = _date(_l("Starts on"))
    ends_on = _date(_l("Ends on"))


class LockPeriodForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand locking is final: nothing in this period can change afterwards."),
        validators=[DataRequired(message=_l("Tick the box to confirm the lock."))],
    )
