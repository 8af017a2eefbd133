"""Integrity signals (SPEC §6): why a log deserves a second look.

Pure: the facts of one log and the figures the queries gathered about it come in
as plain data, its flag codes go out. Flags inform approvers and never block.
No Flask, no SQLAlchemy: ``exchange.logs.queries.log_flags`` gathers the figures
for a whole page of logs in a few statements and asks :func:`flags_of` per log.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Flag(StrEnum):
    # The on-site confirmation came with the owner's own signed-in session cookie,
    # or from the address the owner last signed in from.
    SELF_CONFIRMED = "self_confirmed"
    # The same typed confirmer name confirmed logs of several owners on one day.
    CONFIRMER_MANY = "confirmer_many"
    # The owner's claimed logs of that day total over 10 hours.
    DAY_OVER_10H = "day_over_10h"
    # The same description on several of the owner's claimed logs of the period.
    REPEATED_DESCRIPTION = "repeated_description"
    # The owner's period total (in the log's department) is above the department's
    # 99th percentile of period totals.
    UNUSUAL_TOTAL = "unusual_total"
    # No cooperation agreement covers the log's enterprise, department and kind on
    # its date (e.g. the agreement was shortened after the log was written).
    OUTSIDE_AGREEMENT = "outside_agreement"


# The order flags are shown in: what most likely needs a look first.
FLAG_ORDER: tuple[Flag, ...] = (
    Flag.SELF_CONFIRMED,
    Flag.CONFIRMER_MANY,
    Flag.OUTSIDE_AGREEMENT,
    Flag.DAY_OVER_10H,
    Flag.REPEATED_DESCRIPTION,
    Flag.UNUSUAL_TOTAL,
)

# More than this many minutes of one owner on one day (10 h).
DAY_MINUTES_LIMIT = 600
# The same description on at least this many of the owner's logs in one period.
REPEATED_DESCRIPTIONS = 5
# One typed confirmer name confirming logs of at least this many different owners on
# one day: a supervisor confirms their own team's few visitors; a name that signs off
# three people's logs in a day is worth a look.
CONFIRMER_MANY_OWNERS = 3
# The department's usual: its people's period totals, this percentile (nearest rank).
UNUSUAL_PERCENTILE = 99

# The statuses whose logs count as claimed hours for the figures above: what has been
# put forward for verification or approved (drafts and refused logs do not count).
CLAIMED_STATUSES = frozenset({"submitted", "verified", "approved"})


@dataclass(frozen=True)
class OnsiteFacts:
    """How the log's latest verification on site happened."""

    with_owner_session: bool  # the owner's own session cookie came with the request
    from_owner_network: bool  # from the address the owner last signed in from
    owners_confirmed_that_day: int  # different owners the same typed name confirmed that day


@dataclass(frozen=True)
class LogFacts:
    """One log and the figures gathered about it."""

    day_minutes: int  # the owner's claimed minutes on the log's date
    same_description: int  # the owner's claimed logs of the period with this description
    period_minutes: int  # the owner's claimed minutes of the period in the log's department
    department_p99: int | None  # the department's 99th percentile of period totals
    agreement_covers: bool  # an agreement in force covers the log on its date
    onsite: OnsiteFacts | None = None  # None: not verified on site


def percentile(values: Iterable[int], pct: int = UNUSUAL_PERCENTILE) -> int | None:
    """The nearest-rank percentile: the smallest value with at least ``pct`` % of the
    values at or below it; None for no values. With fewer than 100 values the 99th
    percentile is the largest, so nobody is above it: a small department has no
    "unusual" total until it has more than a hundred people with hours."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def flags_of(facts: LogFacts) -> list[Flag]:
    """The flags of one log, in :data:`FLAG_ORDER`."""
    raised: set[Flag] = set()
    onsite = facts.onsite
    if onsite is not None:
        if onsite.with_owner_session or onsite.from_owner_network:
            raised.add(Flag.SELF_CONFIRMED)
        if onsite.owners_confirmed_that_day >= CONFIRMER_MANY_OWNERS:
            raised.add(Flag.CONFIRMER_MANY)
    if not facts.agreement_covers:
        raised.add(Flag.OUTSIDE_AGREEMENT)
    if facts.day_minutes > DAY_MINUTES_LIMIT:
        raised.add(Flag.DAY_OVER_10H)
    if facts.same_description >= REPEATED_DESCRIPTIONS:
        raised.add(Flag.REPEATED_DESCRIPTION)
    if facts.department_p99 is not None and facts.period_minutes > facts.department_p99:
        raised.add(Flag.UNUSUAL_TOTAL)
    return [flag for flag in FLAG_ORDER if flag in raised]


def confirmer_key(name: str) -> str:
    """The typed confirmer name as compared across confirmations: case and spacing
    do not make another person ("Zhang  Wei" is "zhang wei")."""
    return " ".join(name.split()).casefold()[:120]


def waiting_days(since: date, today: date) -> int:
    """Whole days from the local date an item started waiting to today (0: today)."""
    return max((today - since).days, 0)


def is_escalated(days: int, escalate_after: int) -> bool:
    """Waiting longer than the escalation age (``EXCHANGE_ESCALATE_DAYS``)."""
    return days > escalate_after
