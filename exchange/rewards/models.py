"""Reward rules per period, reward rounds per department and period, and awards."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.accounts.models import User
from exchange.db import AppendOnly, Base, TimestampMixin, utcnow
from exchange.org.models import Department, Period, _in
from exchange.rewards import rules as engine


class AwardStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"
    REVOKED = "revoked"


class AwardAction(StrEnum):
    """What happened to an award, as its audit trail records it."""

    PROPOSE = "propose"  # a round found the rule met: a new proposal
    REPROPOSE = "repropose"  # the hours or the amount changed: proposed again, undecided
    WITHDRAW = "withdraw"  # the rule is no longer met: the proposal leaves the round
    APPROVE = "approve"
    REJECT = "reject"
    ISSUE = "issue"  # the round was finalized: certificate number and code
    REVOKE = "revoke"


class RoundState(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"


class RewardRule(TimestampMixin, Base):
    __tablename__ = "reward_rule"
    __table_args__ = (
        UniqueConstraint("period_id", "code", name="uq_reward_rule_period_code"),
        CheckConstraint(_in("kind", engine.RuleKind), name="kind"),
        CheckConstraint(_in("audience", engine.Audience), name="audience"),
        CheckConstraint(_in("scope", engine.Scope), name="scope"),
        CheckConstraint("threshold_minutes >= 0", name="threshold"),
        CheckConstraint(
            "fixed_amount_minor >= 0 AND rate_per_hour_minor >= 0 "
            "AND (cap_minor IS NULL OR cap_minor >= 0)",
            name="money",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120), default="")
    scope: Mapped[str] = mapped_column(String(10), default=engine.Scope.DEPARTMENT.value)
    kind: Mapped[str] = mapped_column(String(8))
    audience: Mapped[str] = mapped_column(String(8))
    threshold_minutes: Mapped[int]
    group: Mapped[str | None] = mapped_column("rule_group", String(40))
    # Money in minor units (fen), 64-bit: a large uncapped bonus still fits.
    fixed_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_per_hour_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cap_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")

    period: Mapped[Period] = relationship()

    def spec(self) -> engine.Rule:
        """The rule as the pure engine sees it."""
        return engine.Rule(
            code=self.code,
            name=self.name,
            kind=engine.RuleKind(self.kind),
            audience=engine.Audience(self.audience),
            threshold_minutes=self.threshold_minutes,
            group=self.group,
            fixed_amount_minor=self.fixed_amount_minor,
            rate_per_hour_minor=self.rate_per_hour_minor,
            cap_minor=self.cap_minor,
            currency=self.currency,
            scope=engine.Scope(self.scope),
            name_zh=self.name_zh,
        )


# The department part of the certificate numbers of a college round (SPEC §5).
COLLEGE_CODE = "COL"


class RewardRound(TimestampMixin, Base):
    """The rewards of one period: a department's (its department rules, its hours) or the
    college's (college rules, each person's hours across departments). Proposed,
    decided, then issued."""

    __tablename__ = "reward_round"
    __table_args__ = (
        # One round per department and period (a college round has no department) ...
        UniqueConstraint("department_id", "period_id", name="uq_reward_round_department_period"),
        # ... and one college round per period.
        Index(
            "uq_reward_round_college_period",
            "period_id",
            unique=True,
            sqlite_where=text("scope = 'college'"),
            postgresql_where=text("scope = 'college'"),
        ),
        CheckConstraint(_in("state", RoundState), name="state"),
        CheckConstraint(
            "(scope = 'department' AND department_id IS NOT NULL) "
            "OR (scope = 'college' AND department_id IS NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), default=engine.Scope.DEPARTMENT.value)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=RoundState.DRAFT)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    refreshed_at: Mapped[datetime | None]
    finalized_at: Mapped[datetime | None]
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # An admin finalized it before the period's end, confirming so explicitly (SPEC §5).
    finalized_early: Mapped[bool] = mapped_column(default=False)

    department: Mapped[Department | None] = relationship()
    period: Mapped[Period] = relationship()
    finalized_by: Mapped[User | None] = relationship(foreign_keys=[finalized_by_id])
    awards: Mapped[list[Award]] = relationship(
        back_populates="round", order_by="Award.id", cascade="all, delete-orphan"
    )

    @property
    def is_draft(self) -> bool:
        return self.state == RoundState.DRAFT

    @property
    def is_college(self) -> bool:
        return self.scope == engine.Scope.COLLEGE

    @property
    def number_code(self) -> str:
        """The department part of its certificate numbers: the department's code, or COL."""
        return self.department.code if self.department else COLLEGE_CODE


class Award(Base):
    """One proposed reward: a rule met by one person in the round's department and period."""

    __tablename__ = "award"
    __table_args__ = (
        UniqueConstraint("round_id", "holder_id", "rule_id", name="uq_award_round_holder_rule"),
        CheckConstraint(_in("status", AwardStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("reward_round.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reward_rule.id"))
    minutes: Mapped[int]
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(10), default=AwardStatus.PROPOSED)
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    certificate_number: Mapped[str | None] = mapped_column(String(60), unique=True)
    verification_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    issued_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    round: Mapped[RewardRound] = relationship(back_populates="awards")
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    rule: Mapped[RewardRule] = relationship()
    # The trail of the award's place in its round (round, holder, rule: what makes an
    # award unique), so a proposal withdrawn by a refresh and proposed again later
    # shows its whole story. Read-only: entries are written by the reward services.
    events: Mapped[list[AwardEvent]] = relationship(
        primaryjoin="and_(Award.round_id == foreign(AwardEvent.round_id), "
        "Award.holder_id == foreign(AwardEvent.holder_id), "
        "Award.rule_id == foreign(AwardEvent.rule_id))",
        order_by="AwardEvent.id",
        viewonly=True,
    )


class AwardEvent(AppendOnly, Base):
    """One entry of an award's audit trail; written once, never changed (see
    :class:`AppendOnly`). ``award_id`` has no foreign key: a proposal that a refresh
    withdraws leaves the round, its trail stays."""

    __tablename__ = "award_event"
    __table_args__ = (
        CheckConstraint(_in("action", AwardAction), name="action"),
        Index("ix_award_event_round_holder_rule", "round_id", "holder_id", "rule_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int]
    round_id: Mapped[int] = mapped_column(ForeignKey("reward_round.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("reward_rule.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))  # None: withdrawn
    # The hours and the amount the award stood at after this step.
    minutes: Mapped[int]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
