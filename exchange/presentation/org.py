"""The labels of the organisation's codes: enterprise kinds, agreement scopes."""

from __future__ import annotations

from exchange.i18n import _l
from exchange.org.models import AgreementScope, EnterpriseKind
from exchange.presentation import Label

ENTERPRISE_KIND_LABELS: dict[EnterpriseKind, Label] = {
    EnterpriseKind.HOSPITAL: _l("Hospital"),
    EnterpriseKind.PHARMA: _l("Pharmaceutical company"),
    EnterpriseKind.DEVICE: _l("Medical-device company"),
    EnterpriseKind.HEALTH_IT: _l("Health-tech firm"),
    EnterpriseKind.OTHER: _l("Other"),
}

AGREEMENT_SCOPE_LABELS: dict[AgreementScope, Label] = {
    AgreementScope.PRACTICE: _l("Teacher practice"),
    AgreementScope.TEACHING: _l("Expert teaching"),
    AgreementScope.BOTH: _l("Practice and teaching"),
}

# How an enterprise's agreements stand today (the enterprise partnership report).
AGREEMENT_STATE_LABELS: dict[str, Label] = {
    "in_force": _l("In force"),
    "ended": _l("Ended"),
    "not_started": _l("Not started yet"),
    "none": _l("No agreement"),
}


def agreement_state_label(code: str) -> Label:
    return AGREEMENT_STATE_LABELS.get(code, code)
