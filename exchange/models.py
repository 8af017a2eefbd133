"""Every domain's models, imported once so the mapper and Alembic see them all."""

from exchange.accounts.models import (
    AccountEvent,
    ApiToken,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from exchange.credentials.models import AwardCredential, SigningKey
from exchange.logs.models import ExchangeLog, LogEvent, OnsiteConfirmation
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.reminders.models import DigestSent
from exchange.rewards.models import Award, AwardEvent, RewardRound, RewardRule

__all__ = [
    "Agreement",
    "ApiToken",
    "Award",
    "AwardCredential",
    "SigningKey",
    "AwardEvent",
    "Department",
    "DigestSent",
    "Enterprise",
    "ExchangeLog",
    "LogEvent",
    "OnsiteConfirmation",
    "Period",
    "RewardRound",
    "RewardRule",
    "Role",
    "User",
    "UserSession",
    "RecoveryCode",
    "AccountEvent",
]
