"""Reads of reward rules, rounds and awards that pages, the API and the services
share: one function for each list and each ordering, so that they cannot drift."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, distinct, exists, func, select
from sqlalchemy.orm import contains_eager, selectinload

from exchange.accounts.models import Role, User
from exchange.errors import PermissionDenied
from exchange.extensions import db
from exchange.org.models import Period
from exchange.rewards.models import (
    Award,
    AwardEvent,
    AwardStatus,
    RewardRound,
    RewardRule,
    RoundState,
)
from exchange.rewards.rules import Scope

# --- rules -------------------------------------------------------------------------------


def rules_query(period_id: int | None = None) -> Select[RewardRule]:
    """Rules in the order pages and the API list them: newest period first, then
    teachers' rules before experts', honours before bonuses, by threshold."""
    stmt = select(RewardRule).order_by(
        RewardRule.period_id.desc(),
        RewardRule.audience.desc(),  # teachers' rules, then experts'
        RewardRule.kind.desc(),  # honours, then bonuses
        RewardRule.threshold_minutes,
        RewardRule.id,
    )
    return stmt if period_id is None else stmt.where(RewardRule.period_id == period_id)


def period_rules(period_id: int) -> list[RewardRule]:
    return list(db.session.execute(rules_query(period_id)).scalars())


# --- rounds ------------------------------------------------------------------------------

# A round with its awards, their holders and rules: what the API answers for a round.
_ROUND_DETAIL = (
    selectinload(RewardRound.awards).selectinload(Award.holder),
    selectinload(RewardRound.awards).selectinload(Award.rule),
)


def rounds_query(
    actor: User,
    *,
    period_id: int | None = None,
    department_id: int | None = None,
    with_awards: bool = False,
) -> Select[RewardRound]:
    """The rounds the actor runs (a head their department's, an admin every round),
    newest first; optionally only those of a period or department, and with their
    awards loaded."""
    if actor.role not in (Role.HEAD, Role.ADMIN):
        raise PermissionDenied()
    stmt = select(RewardRound).options(
        selectinload(RewardRound.department), selectinload(RewardRound.period)
    )
    if with_awards:
        stmt = stmt.options(*_ROUND_DETAIL)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(RewardRound.department_id == actor.department_id)
    if period_id is not None:
        stmt = stmt.where(RewardRound.period_id == period_id)
    if department_id is not None:
        stmt = stmt.where(RewardRound.department_id == department_id)
    return stmt.order_by(RewardRound.created_at.desc(), RewardRound.id.desc())


def round_detail(round_id: int) -> RewardRound:
    """A round with its awards, their holders and rules, in a fixed number of queries
    (read afresh: the caller may just have committed a change to it)."""
    return db.session.execute(
        select(RewardRound)
        .where(RewardRound.id == round_id)
        .options(*_ROUND_DETAIL)
        .execution_options(populate_existing=True)
    ).scalar_one()


def round_of(department_id: int | None, period_id: int) -> RewardRound | None:
    """The department's round of the period; with no department, the college round."""
    where = (
        RewardRound.department_id == department_id
        if department_id is not None
        else RewardRound.scope == Scope.COLLEGE
    )
    return db.session.execute(
        select(RewardRound).where(where, RewardRound.period_id == period_id)
    ).scalar_one_or_none()


def round_counts(round_ids: list[int]) -> dict[int, Any]:
    """People, awards, awards still to decide and awards issued, per round, in one query."""
    if not round_ids:
        return {}
    rows = db.session.execute(
        select(
            Award.round_id,
            func.count(distinct(Award.holder_id)).label("people"),
            func.count(Award.id).label("awards"),
            func.sum(case((Award.status == AwardStatus.PROPOSED, 1), else_=0)).label("open"),
            func.sum(case((Award.status == AwardStatus.ISSUED, 1), else_=0)).label("issued"),
        )
        .where(Award.round_id.in_(round_ids))
        .group_by(Award.round_id)
    )
    return {row.round_id: row for row in rows}


def round_awards(round_id: int) -> list[Award]:
    """A round's awards with their holders and rules, in one query: by person, honours
    first (and their histories with who acted, in two more)."""
    return list(
        db.session.execute(
            select(Award)
            .join(Award.holder)
            .join(Award.rule)
            .where(Award.round_id == round_id)
            .options(
                contains_eager(Award.holder),
                contains_eager(Award.rule),
                selectinload(Award.events).selectinload(AwardEvent.actor),
            )
            .order_by(
                User.name,
                User.id,
                RewardRule.kind.desc(),
                RewardRule.threshold_minutes,
                RewardRule.id,
            )
        ).scalars()
    )


def periods_with_finalized_rounds() -> list[Period]:
    """Periods of which at least one round is finalized, newest first: those with a
    payout sheet for the whole period."""
    return list(
        db.session.execute(
            select(Period)
            .where(
                exists().where(
                    RewardRound.period_id == Period.id, RewardRound.state == RoundState.FINALIZED
                )
            )
            .order_by(Period.starts_on.desc())
        ).scalars()
    )


# --- awards ------------------------------------------------------------------------------


def recent_awards(user: User, limit: int = 20) -> list[Award]:
    """A person's latest issued and revoked awards, newest first (their home page)."""
    return list(
        db.session.execute(
            select(Award)
            .where(
                Award.holder_id == user.id,
                Award.status.in_([AwardStatus.ISSUED, AwardStatus.REVOKED]),
            )
            .options(selectinload(Award.rule), selectinload(Award.round))
            .order_by(Award.issued_at.desc(), Award.id.desc())
            .limit(limit)
        ).scalars()
    )
