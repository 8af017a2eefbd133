"""The "open a round" form (the labels of reward codes are ``exchange.presentation``'s).

The fields carry no business rules: ``services.open_round`` checks the department
and the period and names the field at fault. Selects skip WTForms' own choice
check so that a tampered value reaches the service and gets its message.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from exchange.forms import optional_int
from exchange.i18n import _l


class OpenRoundForm(FlaskForm):
    # "department" (a department's round) or "college" (the period's college round).
    scope = HiddenField(default="department")
    department_id = SelectField(_l("Department"), coerce=optional_int, validate_choice=False)
    period_id = SelectField(_l("Period"), coerce=optional_int, validate_choice=False)
