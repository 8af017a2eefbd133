"""The rules engine (SPEC §4): rules and approved hours in, explained outcomes out.

Pure: no Flask, no SQLAlchemy. Hours are exact (minutes / 60 as Decimal); money
is in integer minor units (fen). A bonus comes to

    min(cap, fixed + round_half_up(rate_per_hour × (hours − threshold)))

and honours of one group are tiers: only the highest threshold met is awarded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from exchange.units import hours


class RuleKind(StrEnum):
    HONOUR = "honour"  # a title and a certificate
    BONUS = "bonus"  # money


class Audience(StrEnum):
    TEACHER = "teacher"  # approved practice minutes of teachers and heads
    EXPERT = "expert"  # approved teaching minutes of experts


class Scope(StrEnum):
    DEPARTMENT = "department"  # hours counted per department, decided in its round
    COLLEGE = "college"  # a person's hours across all departments, the college round


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    kind: RuleKind
    audience: Audience
    threshold_minutes: int
    group: str | None = None
    fixed_amount_minor: int = 0
    rate_per_hour_minor: int = 0
    cap_minor: int | None = None  # None: no cap
    currency: str = "CNY"
    scope: Scope = Scope.DEPARTMENT
    name_zh: str = ""

    @property
    def is_open_bonus(self) -> bool:
        """A bonus without a threshold: earned from the first hour, so there is no
        "how far" to show, only the amount so far (and the cap)."""
        return self.kind == RuleKind.BONUS and self.threshold_minutes == 0

    @property
    def threshold_hours(self) -> Decimal:
        return hours(self.threshold_minutes)


@dataclass(frozen=True)
class Outcome:
    """How one person stands against one rule, and why."""

    rule: Rule
    approved_minutes: int
    met: bool  # approved hours reach the threshold
    awarded: bool  # met, and not outranked by a higher tier of the same group
    outranked_by: str | None  # the code of the higher tier that is awarded instead
    amount_minor: int  # bonus only; 0 for honours and for rules not met
    uncapped_minor: int  # the formula's amount before the cap

    @property
    def hours(self) -> Decimal:
        return hours(self.approved_minutes)

    @property
    def minutes_missing(self) -> int:
        return max(self.rule.threshold_minutes - self.approved_minutes, 0)

    @property
    def hours_missing(self) -> Decimal:
        return hours(self.minutes_missing)

    @property
    def capped(self) -> bool:
        return self.amount_minor < self.uncapped_minor

    @property
    def cap_reached(self) -> bool:
        """The bonus has come to its cap: more hours bring no more money."""
        return self.rule.cap_minor is not None and self.amount_minor >= self.rule.cap_minor

    @property
    def progress(self) -> Decimal:
        """0 to 1: how far along the way to the threshold (1 once met)."""
        if self.rule.threshold_minutes <= 0 or self.met:
            return Decimal(1)
        return Decimal(self.approved_minutes) / Decimal(self.rule.threshold_minutes)


def bonus_amount(rule: Rule, approved_minutes: int) -> tuple[int, int]:
    """(amount, amount before the cap) in minor units for a met bonus rule."""
    over_minutes = max(approved_minutes - rule.threshold_minutes, 0)
    # rate × minutes / 60, rounded half up, in whole numbers: floor((2·rate·minutes + 60)
    # / 120) is exact for the non-negative rates and minutes the rules hold.
    variable = (2 * rule.rate_per_hour_minor * over_minutes + 60) // 120
    uncapped = rule.fixed_amount_minor + variable
    amount = uncapped if rule.cap_minor is None else min(uncapped, rule.cap_minor)
    return amount, uncapped


def evaluate(rules: Iterable[Rule], audience: Audience, approved_minutes: int) -> list[Outcome]:
    """Every rule of ``audience`` against one person's approved minutes, in the order
    the rules were given. The caller passes the minutes each rule's scope counts:
    one department's for department rules, the whole college's for college rules."""
    own = [rule for rule in rules if rule.audience == audience]
    met = {rule.code for rule in own if approved_minutes >= rule.threshold_minutes}
    top_of_group: dict[str, Rule] = {}
    for rule in own:
        if rule.kind == RuleKind.HONOUR and rule.group and rule.code in met:
            best = top_of_group.get(rule.group)
            if best is None or rule.threshold_minutes > best.threshold_minutes:
                top_of_group[rule.group] = rule
    outcomes = []
    for rule in own:
        is_met = rule.code in met
        outranked_by = None
        if is_met and rule.kind == RuleKind.HONOUR and rule.group:
            top = top_of_group[rule.group]
            outranked_by = None if top.code == rule.code else top.code
        amount = uncapped = 0
        if is_met and rule.kind == RuleKind.BONUS:
            amount, uncapped = bonus_amount(rule, approved_minutes)
        outcomes.append(
            Outcome(
                rule=rule,
                approved_minutes=approved_minutes,
                met=is_met,
                awarded=is_met and outranked_by is None,
                outranked_by=outranked_by,
                amount_minor=amount,
                uncapped_minor=uncapped,
            )
        )
    return outcomes


def proposed(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """What a reward round proposes: awarded honours and bonuses that come to money."""
    return [
        o for o in outcomes if o.awarded and (o.rule.kind == RuleKind.HONOUR or o.amount_minor > 0)
    ]


# The rules a new installation starts with (SPEC §4); admins may change them.
DEFAULT_RULES = (
    Rule("practice-cert", "Practice Certificate", RuleKind.HONOUR, Audience.TEACHER, 40 * 60,
         group="practice", name_zh="实践证书"),
    Rule("practice-star", "Practice Star", RuleKind.HONOUR, Audience.TEACHER, 160 * 60,
         group="practice", name_zh="实践之星"),
    Rule("practice-allowance", "Practice Allowance", RuleKind.BONUS, Audience.TEACHER, 40 * 60,
         rate_per_hour_minor=5000, cap_minor=800000, name_zh="实践津贴"),
    Rule("mentor-cert", "Mentor Certificate", RuleKind.HONOUR, Audience.EXPERT, 16 * 60,
         group="mentor", scope=Scope.COLLEGE, name_zh="导师证书"),
    Rule("mentor-distinguished", "Distinguished Mentor", RuleKind.HONOUR, Audience.EXPERT,
         64 * 60, group="mentor", scope=Scope.COLLEGE, name_zh="优秀导师"),
    Rule("teaching-fee", "Teaching Fee", RuleKind.BONUS, Audience.EXPERT, 0,
         rate_per_hour_minor=20000, cap_minor=2000000, name_zh="授课费"),
)  # fmt: skip
