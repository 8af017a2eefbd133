"""The reward rule form.

The fields carry no business rules: ``save_rule`` checks everything and
``run_form`` puts its messages on these fields, whose names follow the
service's. The one thing done here is reading what people type: amounts are
entered in yuan ("50.00") and handed to the service in fen (``exchange.units``
reads them); an amount that is not a number is an error on its field. Whether an
amount is allowed (negative, too large, money on an honour) is the service's to
say. The labels of the choices are ``exchange.presentation``'s.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from exchange.forms import choices
from exchange.i18n import _l
from exchange.presentation.rewards import AUDIENCE_LABELS, RULE_KIND_CHOICES, RULE_SCOPE_LABELS
from exchange.rewards.models import RewardRule
from exchange.rewards.rules import Audience, RuleKind, Scope
from exchange.units import hours_number, parse_yuan, yuan_text


class YuanField(StringField):
    """An amount typed in yuan. ``data`` keeps what was typed (so the form shows it
    again); ``minor`` is the amount in fen, or None when left empty."""

    minor: int | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.minor = None
        try:
            self.minor = parse_yuan(self.data)
        except ValueError:
            raise ValueError(
                _l("Enter an amount in yuan with at most two decimals, e.g. 50.00.")
            ) from None


class RuleForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name in English"))
    name_zh = StringField(_l("Name in Chinese"))
    scope = SelectField(
        _l("Counted and decided"),
        choices=choices((scope.value, label) for scope, label in RULE_SCOPE_LABELS.items()),
        validate_choice=False,
    )
    kind = SelectField(
        _l("Kind"),
        choices=choices((kind.value, label) for kind, label in RULE_KIND_CHOICES.items()),
        validate_choice=False,
    )
    audience = SelectField(
        _l("Counts the hours of"),
        choices=choices((audience.value, label) for audience, label in AUDIENCE_LABELS.items()),
        validate_choice=False,
    )
    threshold_hours = StringField(_l("Threshold (approved hours)"))
    group = StringField(_l("Tier group (honours only)"))
    fixed_amount_minor = YuanField(_l("Fixed amount"))
    rate_per_hour_minor = YuanField(_l("Amount per hour above the threshold"))
    cap_minor = YuanField(_l("Cap"))
    currency = StringField(_l("Currency"), default="CNY")


def rule_form_data(rule: RewardRule | None) -> dict[str, str]:
    """What an empty form (a new rule) or a rule's form shows first, amounts in yuan."""
    if rule is None:
        return {"kind": RuleKind.HONOUR.value, "audience": Audience.TEACHER.value,
                "scope": Scope.DEPARTMENT.value, "currency": "CNY"}  # fmt: skip
    bonus = rule.kind == RuleKind.BONUS
    return {
        "code": rule.code,
        "name": rule.name,
        "name_zh": rule.name_zh,
        "scope": rule.scope,
        "kind": rule.kind,
        "audience": rule.audience,
        "threshold_hours": hours_number(rule.threshold_minutes),
        "group": rule.group or "",
        "fixed_amount_minor": yuan_text(rule.fixed_amount_minor) if bonus else "",
        "rate_per_hour_minor": yuan_text(rule.rate_per_hour_minor) if bonus else "",
        "cap_minor": yuan_text(rule.cap_minor) if bonus else "",
        "currency": rule.currency,
    }
