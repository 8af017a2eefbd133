"""The labels of accounts' codes: roles and account events."""

from __future__ import annotations

from exchange.accounts.models import Role
from exchange.i18n import _l
from exchange.presentation import Label, label

ROLE_LABELS: dict[Role, Label] = {
    Role.TEACHER: _l("Teacher"),
    Role.EXPERT: _l("Enterprise expert"),
    Role.HEAD: _l("Department head"),
    Role.ADMIN: _l("Administrator"),
}

ACCOUNT_EVENT_LABELS: dict[str, Label] = {
    "two_factor_enrolled": _l("Two-factor sign-in turned on"),
    "two_factor_disabled": _l("Two-factor sign-in turned off"),
    "two_factor_reset": _l("Second factor removed by an administrator"),
    "recovery_code_used": _l("Signed in with a recovery code"),
    "password_set_by_link": _l("Password set with an e-mailed link"),
}


def role_label(role: str) -> Label:
    return label(ROLE_LABELS, Role(role))


def account_event_label(action: str) -> Label:
    return label(ACCOUNT_EVENT_LABELS, action)
