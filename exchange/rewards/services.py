"""Operations on rewards: rules per period, hours and progress, eligibility,
reward rounds, certificates.

Hours come from one SQL aggregation per department and period (approved logs
only for rewards; submitted + verified as "pending" for progress). The pure
engine (rules.py) turns them into outcomes; this module stores and guards them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Select, and_, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from exchange import signals, units
from exchange.accounts.models import Role, User
from exchange.db import utcnow
from exchange.errors import Conflict, NotFound, PermissionDenied, flush_or_conflict
from exchange.extensions import db
from exchange.i18n import _l
from exchange.logs.models import ExchangeLog, LogEvent, LogKind, LogTotal
from exchange.logs.workflow import PENDING, Action, Status
from exchange.org.models import Department, Period
from exchange.rewards import rules as engine
from exchange.rewards.models import (
    Award,
    AwardAction,
    AwardEvent,
    AwardStatus,
    RewardRound,
    RewardRule,
    RoundState,
)
from exchange.rewards.queries import period_rules, round_of
from exchange.timeutil import college_today, college_zone
from exchange.validation import FieldErrors, check_reason

AUDIENCE_OF_KIND = {
    LogKind.PRACTICE: engine.Audience.TEACHER,
    LogKind.TEACHING: engine.Audience.EXPERT,
}
KIND_OF_AUDIENCE = {audience: kind for kind, audience in AUDIENCE_OF_KIND.items()}

# --- permissions -----------------------------------------------------------------


def may_manage_department(actor: User, department_id: int) -> bool:
    """Heads of the department and admins run its rounds and see its eligibility."""
    return actor.role == Role.ADMIN or (
        actor.role == Role.HEAD and actor.department_id == department_id
    )


def _require_department(actor: User, department_id: int) -> None:
    if not may_manage_department(actor, department_id):
        raise PermissionDenied()


def may_run(actor: User, reward_round: RewardRound) -> bool:
    """A department's round: its heads and admins. The college round: admins."""
    if reward_round.department_id is None:
        return actor.role == Role.ADMIN
    return may_manage_department(actor, reward_round.department_id)


def _require_run(actor: User, reward_round: RewardRound) -> None:
    if not may_run(actor, reward_round):
        raise PermissionDenied()


# --- rules ---------------------------------------------------------------------------


def seed_rules(period: Period) -> None:
    """A new period starts with a copy of the previous period's rules, or the defaults."""
    previous = db.session.execute(
        select(Period)
        .where(Period.ends_on < period.starts_on, Period.id != period.id)
        .where(exists().where(RewardRule.period_id == Period.id))
        .order_by(Period.ends_on.desc())
        .limit(1)
    ).scalar_one_or_none()
    specs = [r.spec() for r in period_rules(previous.id)] if previous else engine.DEFAULT_RULES
    for spec in specs:
        db.session.add(_rule_from_spec(period, spec))
    db.session.flush()


@signals.period_created.connect
def _seed_rules_of_new_period(period: Period, **_: Any) -> None:
    seed_rules(period)


def _rule_from_spec(period: Period, spec: engine.Rule) -> RewardRule:
    return RewardRule(
        period=period,
        code=spec.code,
        name=spec.name,
        name_zh=spec.name_zh,
        scope=spec.scope.value,
        kind=spec.kind.value,
        audience=spec.audience.value,
        threshold_minutes=spec.threshold_minutes,
        group=spec.group,
        fixed_amount_minor=spec.fixed_amount_minor,
        rate_per_hour_minor=spec.rate_per_hour_minor,
        cap_minor=spec.cap_minor,
        currency=spec.currency,
    )


def frozen_scopes(period: Period) -> set[engine.Scope]:
    """The scopes whose rules of the period can no longer change: every scope once the
    period is locked; else each scope of which a round of the period is finalized."""
    if not period.is_open:
        return set(engine.Scope)
    found = db.session.execute(
        select(RewardRound.scope)
        .where(RewardRound.period_id == period.id, RewardRound.state == RoundState.FINALIZED)
        .distinct()
    ).scalars()
    return {engine.Scope(scope) for scope in found}


def rules_are_frozen(period: Period, scope: str | None = None) -> bool:
    """Whether the rules of ``scope`` (of every scope, when None) can no longer change."""
    frozen = frozen_scopes(period)
    if scope is None:
        return frozen == set(engine.Scope)
    return engine.Scope(scope) in frozen


@dataclass(frozen=True)
class RuleInput:
    code: str
    name: str
    kind: str
    audience: str
    threshold_hours: object
    scope: str = engine.Scope.DEPARTMENT.value
    name_zh: str = ""
    group: str | None = None
    fixed_amount_minor: int | None = 0
    rate_per_hour_minor: int | None = 0
    cap_minor: int | None = None
    currency: str = "CNY"


MONEY_MAX = 10**12  # minor units; far above any allowance, well inside a 64-bit integer


def _money(errors: FieldErrors, field: str, value: int | None, required: bool = True) -> int | None:
    if value is None:
        if required:
            errors.add(field, _l("This field is required."))
        return None
    if not 0 <= value <= MONEY_MAX:
        errors.add(field, _l("Between 0 and %(max)s.", max=f"{MONEY_MAX / 100:,.2f}"))
    return value


def _threshold_minutes(errors: FieldErrors, value: object) -> int:
    try:
        minutes = units.typed_minutes(value)
    except ValueError:
        minutes = None
    whole = None if minutes is None else units.whole_minutes(minutes)
    if whole is None:
        errors.add("threshold_hours", _l("Enter the hours as a number, e.g. 40."))
        return 0
    if not 0 <= whole <= 10_000 * 60:
        errors.add("threshold_hours", _l("Between 0 and 10000 hours."))
    return whole


def save_rule(
    actor: User, period: Period, data: RuleInput, rule: RewardRule | None = None
) -> RewardRule:
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    frozen = frozen_scopes(period)
    if (rule is not None and engine.Scope(rule.scope) in frozen) or frozen == set(engine.Scope):
        raise Conflict(
            _l("The rules of %(name)s are final: the period is locked or its rewards are issued.",
               name=period.name)
        )  # fmt: skip
    errors = FieldErrors()
    code = errors.text("code", data.code, max_length=40).lower()
    if code and not all(c.isalnum() or c in "-_" for c in code):
        errors.add("code", _l("Use letters, digits, - and _ only."))
    name = errors.text("name", data.name, max_length=120)
    name_zh = errors.text("name_zh", data.name_zh, max_length=120, required=False)
    scope = errors.choice("scope", data.scope, [s.value for s in engine.Scope])
    if "scope" not in errors and engine.Scope(scope) in frozen:
        errors.add(
            "scope",
            _l("The rewards of this scope are already issued for %(name)s.", name=period.name),
        )
    kind = errors.choice("kind", data.kind, [k.value for k in engine.RuleKind])
    audience = errors.choice("audience", data.audience, [a.value for a in engine.Audience])
    threshold = _threshold_minutes(errors, data.threshold_hours)
    group = errors.text("group", data.group, max_length=40, required=False) or None
    currency = errors.text("currency", data.currency or "CNY", max_length=3).upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        errors.add("currency", _l("A three-letter currency code, e.g. CNY."))
    is_bonus = kind == engine.RuleKind.BONUS
    fixed = _money(errors, "fixed_amount_minor", data.fixed_amount_minor, required=False) or 0
    rate = _money(errors, "rate_per_hour_minor", data.rate_per_hour_minor, required=is_bonus) or 0
    cap = _money(errors, "cap_minor", data.cap_minor, required=False)
    if kind == engine.RuleKind.HONOUR and (fixed or rate or cap):
        errors.add("kind", _l("Honours carry no money; make it a bonus or clear the amounts."))
    if is_bonus and group:
        errors.add("group", _l("Only honours form tiers."))
    elif group and "scope" not in errors:
        tiers = select(RewardRule.scope).where(
            RewardRule.period_id == period.id, RewardRule.group == group
        )
        if rule is not None:
            tiers = tiers.where(RewardRule.id != rule.id)
        if any(other != scope for other in db.session.execute(tiers).scalars()):
            errors.add("group", _l("The tiers of one group count the same hours: use one scope."))
    if code and "code" not in errors:
        taken = db.session.execute(
            select(RewardRule.id).where(RewardRule.period_id == period.id, RewardRule.code == code)
        ).scalar_one_or_none()
        if taken is not None and (rule is None or taken != rule.id):
            errors.add("code", _l("Another rule of this period already uses this code."))
    errors.raise_if_any()
    rule = rule or RewardRule(period=period)
    rule.code, rule.name, rule.name_zh, rule.kind = code, name, name_zh, kind
    rule.audience, rule.scope = audience, scope
    rule.threshold_minutes, rule.group, rule.currency = threshold, group, currency
    rule.fixed_amount_minor = fixed if is_bonus else 0
    rule.rate_per_hour_minor = rate if is_bonus else 0
    rule.cap_minor = cap if is_bonus else None
    db.session.add(rule)
    db.session.flush()
    return rule


# --- hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Who a standing is about, as eligibility lists and exports name them: read as
    plain rows (a department has hundreds of people with hours; nothing here changes them)."""

    id: int
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.id, user.name, user.role)


@dataclass(frozen=True)
class PersonHours:
    """One person's minutes in one department (or, for college rules, the whole
    college) and period; ``college_approved_minutes``: their approved minutes across the
    college, when asked for."""

    person: Person
    audience: engine.Audience
    approved_minutes: int
    pending_minutes: int
    college_approved_minutes: int = 0


def _sums(where: Any, *by: Any) -> Select[Any]:
    """Approved and pending minutes per owner and kind (and ``by``), in one query on
    the kept totals (a few rows per person, whatever the number of their logs)."""
    approved = func.coalesce(
        func.sum(case((LogTotal.status == Status.APPROVED.value, LogTotal.minutes))), 0
    )
    pending = func.coalesce(
        func.sum(case((LogTotal.status.in_([s.value for s in PENDING]), LogTotal.minutes))),
        0,
    )
    return (
        select(LogTotal.owner_id, LogTotal.kind, *by, approved.label("approved"),
               pending.label("pending"))
        .where(where)
        .group_by(LogTotal.owner_id, LogTotal.kind, *by)
    )  # fmt: skip


def _college_approved(period_id: int, owner_id: Any, kind: Any) -> Any:
    """The approved minutes across the college in the period of the person and kind
    that ``owner_id`` and ``kind`` name (columns of the statement it is part of): looked
    up by the person's own key, once per listed person."""
    return (
        select(func.coalesce(func.sum(LogTotal.minutes), 0))
        .where(LogTotal.period_id == period_id, LogTotal.owner_id == owner_id,
               LogTotal.kind == kind, LogTotal.status == Status.APPROVED.value)
        .scalar_subquery()
    )  # fmt: skip


def _person_hours(where: Any, college_of_period: int | None = None) -> list[PersonHours]:
    """Everybody's minutes where ``where`` holds, with their names, in one statement;
    with ``college_of_period``, also each of them's approved minutes across the college
    in that period (what college rules count)."""
    here = _sums(where).cte("here")
    stmt = select(
        here.c.owner_id, User.name, User.role, here.c.kind, here.c.approved, here.c.pending
    ).join(User, User.id == here.c.owner_id)
    if college_of_period is not None:
        stmt = stmt.add_columns(_college_approved(college_of_period, here.c.owner_id, here.c.kind))
    found = [
        PersonHours(
            Person(row[0], row[1], row[2]), AUDIENCE_OF_KIND[row[3]], int(row[4]), int(row[5]),
            int(row[6]) if college_of_period is not None else 0,
        )
        for row in db.session.execute(stmt)
        if row[4] or row[5]
    ]  # fmt: skip
    return sorted(found, key=lambda h: (h.audience, h.person.name, h.person.id))


def department_hours(
    department_id: int, period_id: int, with_college: bool = False
) -> list[PersonHours]:
    """Everybody with approved or pending hours in the department and period, in one
    query: teachers' practice in their department, experts' teaching in the department
    where they taught (``with_college``: and their approved minutes across the college)."""
    where = and_(LogTotal.department_id == department_id, LogTotal.period_id == period_id)
    return _person_hours(where, period_id if with_college else None)


def college_hours(period_id: int) -> list[PersonHours]:
    """Everybody's hours in the period across all departments: what college rules
    count (SPEC §4)."""
    return _person_hours(LogTotal.period_id == period_id)


# --- progress and eligibility ---------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A person's hours where one scope counts them, and the outcome of each rule of
    that scope: one department's hours and its department rules, or (``department``
    None and scope college) the person's college total and the college rules."""

    person: Person
    department: Department | None  # None: the college; or an expert who has not taught yet
    audience: engine.Audience
    approved_minutes: int
    pending_minutes: int
    outcomes: list[engine.Outcome]
    scope: engine.Scope = engine.Scope.DEPARTMENT

    @property
    def approved_hours(self) -> Decimal:
        return units.hours(self.approved_minutes)

    @property
    def pending_hours(self) -> Decimal:
        return units.hours(self.pending_minutes)

    @property
    def is_college(self) -> bool:
        return self.scope == engine.Scope.COLLEGE


def _specs(period_id: int) -> list[engine.Rule]:
    return [rule.spec() for rule in period_rules(period_id)]


def _by_scope(specs: list[engine.Rule]) -> tuple[list[engine.Rule], list[engine.Rule]]:
    """(department rules, college rules)."""
    return (
        [r for r in specs if r.scope == engine.Scope.DEPARTMENT],
        [r for r in specs if r.scope == engine.Scope.COLLEGE],
    )


def eligibility(actor: User, department: Department, period: Period) -> list[Standing]:
    """Every person with hours in the department and period, with the outcome of every
    rule of their audience: department rules on their hours in the department,
    college rules on their hours across the college (in the rules' order)."""
    _require_department(actor, department.id)
    specs = _specs(period.id)
    with_college = any(rule.scope == engine.Scope.COLLEGE for rule in specs)
    return _judged(department, specs, department_hours(department.id, period.id, with_college))


def _judged(
    department: Department, specs: list[engine.Rule], people: list[PersonHours]
) -> list[Standing]:
    """Each person's standing in the department: department rules on their hours there,
    college rules on their hours across the college, in the rules' order. The rules are
    pure, so each scope's outcomes are worked out once per audience and number of
    minutes, and shared (read-only) by everybody with the same."""
    department_specs, college_specs = _by_scope(specs)
    order = {rule.code: index for index, rule in enumerate(specs)}
    evaluated: dict[tuple[engine.Scope, engine.Audience, int], list[engine.Outcome]] = {}

    def outcomes(
        scope: engine.Scope, audience: engine.Audience, minutes: int
    ) -> list[engine.Outcome]:
        key = (scope, audience, minutes)
        found = evaluated.get(key)
        if found is None:
            rules = department_specs if scope == engine.Scope.DEPARTMENT else college_specs
            found = evaluated[key] = engine.evaluate(rules, audience, minutes)
        return found

    # An audience's outcomes always come in the same rules, so the rules' order is one
    # rearrangement per audience (none when the department's come first anyway).
    rearranged: dict[engine.Audience, list[int] | None] = {}
    standings = []
    for h in people:
        judged = outcomes(engine.Scope.DEPARTMENT, h.audience, h.approved_minutes) + outcomes(
            engine.Scope.COLLEGE, h.audience, h.college_approved_minutes
        )
        if h.audience not in rearranged:
            ranks = [order[o.rule.code] for o in judged]
            rearranged[h.audience] = (
                None if ranks == sorted(ranks) else sorted(range(len(ranks)), key=ranks.__getitem__)
            )
        indexes = rearranged[h.audience]
        if indexes is not None:
            judged = [judged[i] for i in indexes]
        standings.append(
            Standing(h.person, department, h.audience, h.approved_minutes, h.pending_minutes,
                     judged)
        )  # fmt: skip
    return standings


# How a department's standings can be listed: most approved hours first, or by name.
ELIGIBILITY_SORTS = ("hours", "name")


def sort_standings(standings: list[Standing], sort: str) -> list[Standing]:
    """``standings`` in the order of ``sort`` (one of ``ELIGIBILITY_SORTS``); ties by
    name, then by person."""
    if sort == "name":
        return sorted(standings, key=lambda s: (s.person.name.casefold(), s.person.id))
    return sorted(
        standings, key=lambda s: (-s.approved_minutes, s.person.name.casefold(), s.person.id)
    )


@dataclass(frozen=True)
class StandingsPage:
    """One page of a department's standings, and how many there are in all."""

    standings: list[Standing]
    total: int
    page: int  # 1-based, within the pages there are
    per_page: int


def eligibility_page(
    actor: User, department: Department, period: Period, *, sort: str, page: int, per_page: int
) -> StandingsPage:
    """One page of ``eligibility`` in the order of ``sort``: the database sums, ranks and
    cuts the department's people (one statement, with the count of all of them), and
    only the page's people get their college totals and are judged against the rules.
    A page beyond the last is the last."""
    _require_department(actor, department.id)
    where = and_(LogTotal.department_id == department.id, LogTotal.period_id == period.id)
    rows, total = _ranked_hours(where, period.id, sort, page, per_page)
    pages = max((total + per_page - 1) // per_page, 1)
    if page > pages:  # nobody on this page: the count came from a count alone
        page = pages
        rows, total = _ranked_hours(where, period.id, sort, page, per_page)
    return StandingsPage(_judged(department, _specs(period.id), rows), total, page, per_page)


def _ranked_hours(
    where: Any, period_id: int, sort: str, page: int, per_page: int
) -> tuple[list[PersonHours], int]:
    """The ``page``-th ``per_page`` people with hours where ``where`` holds, ranked by
    ``sort``, with their approved minutes across the college in the period; and how
    many people have hours there (0 when the page is past the last)."""
    here = _sums(where).cte("here")
    with_hours = or_(here.c.approved != 0, here.c.pending != 0)
    name = func.lower(User.name)
    ranking = (
        [name, here.c.owner_id, here.c.kind]
        if sort == "name"
        else [here.c.approved.desc(), name, here.c.owner_id, here.c.kind]
    )
    listed = (
        select(here.c.owner_id, User.name, User.role, here.c.kind, here.c.approved,
               here.c.pending, func.count().over().label("total"),
               func.row_number().over(order_by=ranking).label("rank"))
        .join(User, User.id == here.c.owner_id)
        .where(with_hours)
        .order_by(*ranking)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .cte("listed")
    )  # fmt: skip
    stmt = select(listed, _college_approved(period_id, listed.c.owner_id, listed.c.kind)).order_by(
        listed.c.rank
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        count = select(func.count()).select_from(here).where(with_hours)
        return [], int(db.session.execute(count).scalar_one())
    found = [
        PersonHours(Person(owner_id, person_name, role), AUDIENCE_OF_KIND[kind], int(approved),
                    int(pending), int(college_minutes))
        for owner_id, person_name, role, kind, approved, pending, _total, _rank, college_minutes
        in rows
    ]  # fmt: skip
    return found, int(rows[0].total)


def college_rule_counts(actor: User, period: Period) -> dict[str, tuple[int, int]]:
    """Per rule of the period, across the college (admins): how many people meet it and
    how many with hours of its audience do not yet. A department rule is met by a
    person who meets it in at least one department (on their hours there); a college
    rule on their hours across the college. One query for the hours, one for the rules;
    people are counted, not loaded, and each rule is evaluated once per distinct number
    of minutes (a college has thousands of people but far fewer distinct totals)."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    department_specs, college_specs = _by_scope(_specs(period.id))
    rows = db.session.execute(_sums(LogTotal.period_id == period.id, LogTotal.department_id)).all()
    # Per scope, audience and minutes: the codes of the rules evaluated, and of those met.
    evaluated: dict[tuple[engine.Scope, engine.Audience, int], tuple[list[str], list[str]]] = {}

    def outcomes(scope: engine.Scope, audience: engine.Audience, minutes: int) -> Any:
        key = (scope, audience, minutes)
        found = evaluated.get(key)
        if found is None:
            specs = department_specs if scope == engine.Scope.DEPARTMENT else college_specs
            result = engine.evaluate(specs, audience, minutes)
            found = evaluated[key] = (
                [o.rule.code for o in result],
                [o.rule.code for o in result if o.met],
            )
        return found

    met: dict[str, set[int]] = {}
    seen: dict[str, set[int]] = {}

    def count(owner_id: int, found: tuple[list[str], list[str]]) -> None:
        for code in found[0]:
            (seen.get(code) or seen.setdefault(code, set())).add(owner_id)
        for code in found[1]:
            (met.get(code) or met.setdefault(code, set())).add(owner_id)

    college: dict[tuple[int, engine.Audience], int] = {}
    in_department, in_college = engine.Scope.DEPARTMENT, engine.Scope.COLLEGE
    audiences = dict(AUDIENCE_OF_KIND)
    for owner_id, kind, _department_id, approved, pending in rows:
        if not (approved or pending):
            continue
        audience = audiences[kind]
        college[(owner_id, audience)] = college.get((owner_id, audience), 0) + int(approved)
        count(owner_id, outcomes(in_department, audience, int(approved)))
    for (owner_id, audience), approved in college.items():
        count(owner_id, outcomes(in_college, audience, approved))
    return {
        code: (len(met.get(code, ())), len(people - met.get(code, set())))
        for code, people in seen.items()
    }


def audience_of(user: User) -> engine.Audience | None:
    if user.role in (Role.TEACHER, Role.HEAD):
        return engine.Audience.TEACHER
    if user.role == Role.EXPERT:
        return engine.Audience.EXPERT
    return None


def progress(user: User, period: Period) -> list[Standing]:
    """The person's own standing in the period: first the college rules against their
    hours across the college (when the period has college rules for them), then one
    standing per department their hours count in (a teacher's own department; each
    department an expert taught in) with its department rules. A person without
    hours yet still sees how far each rule is."""
    audience = audience_of(user)
    if audience is None:
        return []
    department_specs, college_specs = _by_scope(
        [spec for spec in _specs(period.id) if spec.audience == audience]
    )
    rows = db.session.execute(
        _sums(
            and_(
                LogTotal.owner_id == user.id,
                LogTotal.period_id == period.id,
                LogTotal.kind == KIND_OF_AUDIENCE[audience],
            ),
            LogTotal.department_id,
        )
    ).all()
    by_department = {row[2]: (int(row[3]), int(row[4])) for row in rows}
    standings: list[Standing] = []
    if college_specs:
        approved = sum(a for a, _ in by_department.values())
        pending = sum(p for _, p in by_department.values())
        standings.append(
            Standing(Person.of(user), None, audience, approved, pending,
                     engine.evaluate(college_specs, audience, approved), engine.Scope.COLLEGE)
        )  # fmt: skip
    if not department_specs:
        return standings
    if audience == engine.Audience.TEACHER and user.department_id not in by_department:
        by_department[user.department_id] = (0, 0)  # type: ignore[index]
    if not by_department:  # an expert who has not taught yet: the rules from zero
        outcomes = engine.evaluate(department_specs, audience, 0)
        return [*standings, Standing(Person.of(user), None, audience, 0, 0, outcomes)]
    departments = {
        d.id: d
        for d in db.session.execute(
            select(Department).where(Department.id.in_(by_department))
        ).scalars()
    }
    for department_id, (approved, pending) in sorted(
        by_department.items(), key=lambda item: departments[item[0]].name
    ):
        outcomes = engine.evaluate(department_specs, audience, approved)
        standings.append(
            Standing(
                Person.of(user), departments[department_id], audience, approved, pending, outcomes
            )  # fmt: skip
        )
    return standings


# --- reward rounds --------------------------------------------------------------------------


def get_round(actor: User, round_id: int) -> RewardRound:
    found = db.session.get(RewardRound, round_id)
    if found is None or not may_run(actor, found):
        raise NotFound()
    return found


class RoundExists(Conflict):
    """The department (or the college) already has a round for the period: here it is."""

    def __init__(self, existing: RewardRound) -> None:
        where = existing.department.name if existing.department else _l("The college")
        super().__init__(
            _l("%(where)s already has a round for %(period)s.",
               where=where, period=existing.period.name)
        )  # fmt: skip
        self.existing = existing


def open_round(
    actor: User,
    department_id: int | None,
    period_id: int | None,
    scope: str = engine.Scope.DEPARTMENT.value,
) -> RewardRound:
    """Open a department's round (its heads, admins) or the period's college round
    (admins), with the awards the approved hours earn so far."""
    errors = FieldErrors()
    chosen_scope = errors.choice("scope", scope, [s.value for s in engine.Scope])
    college = chosen_scope == engine.Scope.COLLEGE
    department = None if college else errors.record("department_id", Department, department_id)
    period = errors.record("period_id", Period, period_id)
    errors.raise_if_any()
    assert period is not None  # noqa: S101 - raise_if_any otherwise
    if college:
        if actor.role != Role.ADMIN:
            raise PermissionDenied(_l("Only an administrator runs the college round."))
    else:
        assert department is not None  # noqa: S101 - errors above otherwise
        _require_department(actor, department.id)
    existing = round_of(department.id if department else None, period.id)
    if existing is not None:
        raise RoundExists(existing)
    new_round = RewardRound(
        scope=chosen_scope, department=department, period=period, opened_by_id=actor.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(new_round)
    except IntegrityError:  # a twin opened at the same moment
        twin = round_of(department.id if department else None, period.id)
        if twin is None:
            raise Conflict() from None
        raise RoundExists(twin) from None
    _propose(actor, new_round)
    return new_round


def _require_draft(reward_round: RewardRound) -> None:
    """Hold the round as a draft until commit, or refuse: a conditional write on the
    round row, so a finalize running at the same time waits for this change or has
    already made it (then there is nothing left to change)."""
    held = db.session.execute(
        update(RewardRound)
        .where(RewardRound.id == reward_round.id, RewardRound.state == RoundState.DRAFT)
        .values(state=RoundState.DRAFT)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], held).rowcount:
        db.session.expire(reward_round)
        raise Conflict(_l("This round is finalized: it does not change any more."))
    db.session.expire(reward_round, ["awards"])  # read them again, now that we hold it


def _record(
    award: Award,
    action: AwardAction,
    from_status: str | None,
    actor: User,
    *,
    reason: str | None = None,
    withdrawn: bool = False,
) -> None:
    """One entry of the award's trail, written beside every change of its status (the
    award must have its id: flushed already when new)."""
    db.session.add(
        AwardEvent(
            award_id=award.id,
            round_id=award.round_id,
            holder_id=award.holder_id,
            rule_id=award.rule_id,
            actor_id=actor.id,
            action=action.value,
            from_status=from_status,
            to_status=None if withdrawn else award.status,
            minutes=award.minutes,
            amount_minor=award.amount_minor,
            currency=award.currency,
            reason=reason,
        )
    )


def refresh_round(actor: User, reward_round: RewardRound) -> RewardRound:
    """Pick up newly approved hours. Decisions stay where the award is unchanged; an
    award whose hours or amount changed is proposed again."""
    _require_run(actor, reward_round)
    _require_draft(reward_round)
    _propose(actor, reward_round)
    return reward_round


def _propose(actor: User, reward_round: RewardRound) -> bool:
    """Bring the round's awards in line with the approved hours; whether anything changed.
    Every award proposed, proposed again or withdrawn gets its trail entry, by ``actor``."""
    rules = {
        rule.code: rule
        for rule in period_rules(reward_round.period_id)
        if rule.scope == reward_round.scope
    }
    specs = [rule.spec() for rule in rules.values()]
    if reward_round.department_id is None:
        counted = college_hours(reward_round.period_id)
    else:
        counted = department_hours(reward_round.department_id, reward_round.period_id)
    wanted: dict[tuple[int, int], tuple[int, int, str]] = {}
    # What the rules propose for an audience and a number of minutes: worked out once.
    proposals: dict[tuple[engine.Audience, int], list[engine.Outcome]] = {}
    for h in counted:
        if not h.approved_minutes:
            continue
        key = (h.audience, h.approved_minutes)
        if key not in proposals:
            proposals[key] = engine.proposed(engine.evaluate(specs, *key))
        for outcome in proposals[key]:
            rule = rules[outcome.rule.code]
            wanted[(h.person.id, rule.id)] = (
                h.approved_minutes,
                outcome.amount_minor,
                rule.currency,
            )
    # Compared as plain rows: a department's hundreds of awards, of which a refresh
    # usually changes few. Only the changed ones are loaded to be changed.
    current = {
        (row.holder_id, row.rule_id): row
        for row in db.session.execute(
            select(Award.id, Award.holder_id, Award.rule_id, Award.minutes,
                   Award.amount_minor, Award.currency)
            .where(Award.round_id == reward_round.id)
        )
    }  # fmt: skip
    gone = [row.id for key, row in current.items() if key not in wanted]
    again = {
        row.id: wanted[key]
        for key, row in current.items()
        if key in wanted and (row.minutes, row.amount_minor, row.currency) != wanted[key]
    }
    touched = {
        award.id: award
        for award in db.session.scalars(select(Award).where(Award.id.in_([*gone, *again])))
    } if gone or again else {}  # fmt: skip
    for award_id in gone:
        award = touched[award_id]
        _record(award, AwardAction.WITHDRAW, award.status, actor, withdrawn=True)
        db.session.delete(award)
    for award_id, (minutes, amount, currency) in again.items():
        award = touched[award_id]
        before = award.status
        award.minutes, award.amount_minor, award.currency = minutes, amount, currency
        award.status, award.reason = AwardStatus.PROPOSED, None
        award.decided_by_id = award.decided_at = None
        _record(award, AwardAction.REPROPOSE, before, actor)
    new_awards = [
        Award(round_id=reward_round.id, holder_id=holder_id, rule_id=rule_id, minutes=minutes,
              amount_minor=amount, currency=currency, status=AwardStatus.PROPOSED)
        for (holder_id, rule_id), (minutes, amount, currency) in wanted.items()
        if (holder_id, rule_id) not in current
    ]  # fmt: skip
    db.session.add_all(new_awards)
    changed = bool(gone or again or new_awards)
    reward_round.refreshed_at = utcnow()
    flush_or_conflict()
    if new_awards:  # their ids are known now
        for award in new_awards:
            _record(award, AwardAction.PROPOSE, None, actor)
        flush_or_conflict()
    if changed:  # the round's list of awards, if it was read before, is read again
        db.session.expire(reward_round, ["awards"])
    return changed


def get_award(actor: User, award_id: int) -> Award:
    award = db.session.get(Award, award_id)
    if award is None or not may_run(actor, award.round):
        raise NotFound()
    return award


def decide_award(actor: User, award: Award, approve: bool, reason: str | None = None) -> Award:
    """A head of the department (never for their own award) or an admin approves or
    rejects a proposed award; while the round is a draft, a decision can be changed."""
    _require_run(actor, award.round)
    if award.holder_id == actor.id:
        raise PermissionDenied(_l("Nobody approves their own award."))
    _require_draft(award.round)
    cleaned = check_reason(reason, required=not approve)
    before = award.status
    award.status = AwardStatus.APPROVED if approve else AwardStatus.REJECTED
    award.reason = None if approve else cleaned
    award.decided_by_id, award.decided_at = actor.id, utcnow()
    action = AwardAction.APPROVE if approve else AwardAction.REJECT
    _record(award, action, before, actor, reason=award.reason)
    flush_or_conflict()
    return award


def finalize_from(period: Period) -> date:
    """The first day on which the rounds of an open period can be finalized: the day
    after its end, in the college's time zone."""
    return period.ends_on + timedelta(days=1)


def may_finalize_now(period: Period) -> bool:
    """Whether the period's rounds can be finalized without an early confirmation."""
    return not period.is_open or college_today() >= finalize_from(period)


class TooEarly(Conflict):
    """The period is not over yet: its rewards are still being earned."""

    code = "too_early"

    def __init__(self, period: Period) -> None:
        opens = finalize_from(period)
        super().__init__(
            _l("The rewards of %(period)s are still being earned: this round can be "
               "finalized from %(date)s, once the period is over.",
               period=period.name, date=opens.isoformat()),
            details={"finalize_from": opens.isoformat()},
        )  # fmt: skip


def finalize_round(actor: User, reward_round: RewardRound, early: bool = False) -> RewardRound:
    """Freeze the round: approved awards are issued with a certificate number and a
    verification code. Of two finalizes at once, one wins; the other is a Conflict.

    Only once the period is over (or locked): before that the round is a preview. An
    admin may finalize early by saying so (``early``); the round records it."""
    _require_run(actor, reward_round)
    _require_draft(reward_round)
    is_early = not may_finalize_now(reward_round.period)
    if is_early and not early:
        raise TooEarly(reward_round.period)
    if is_early and actor.role != Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can finalize a round early."))
    # What is issued must match the approved hours of now: hours approved or revoked
    # since the last refresh come back as proposals to decide first.
    undecided_before = any(a.status == AwardStatus.PROPOSED for a in reward_round.awards)
    if _propose(actor, reward_round) and not undecided_before:
        raise Conflict(
            _l("Approved hours have changed since the last refresh. Refresh the round "
               "and decide the new proposals.")
        )  # fmt: skip
    undecided = [a for a in reward_round.awards if a.status == AwardStatus.PROPOSED]
    if undecided:
        raise Conflict(
            _l("Decide every proposed award first (%(count)d still open).", count=len(undecided))
        )
    result = db.session.execute(
        update(RewardRound)
        .where(RewardRound.id == reward_round.id, RewardRound.state == RoundState.DRAFT)
        .values(
            state=RoundState.FINALIZED,
            finalized_at=utcnow(),
            finalized_by_id=actor.id,
            finalized_early=is_early,
        )
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], result).rowcount:
        raise Conflict()
    db.session.refresh(reward_round)
    prefix = f"{reward_round.period.name}-{reward_round.number_code}"
    db.session.execute(  # holders and rules for the numbering order, in one query each
        select(Award)
        .where(Award.round_id == reward_round.id)
        .options(selectinload(Award.holder), selectinload(Award.rule))
    ).scalars().all()
    approved = sorted(
        (a for a in reward_round.awards if a.status == AwardStatus.APPROVED),
        key=lambda a: (a.holder.name, a.holder_id, a.rule.threshold_minutes, a.rule_id),
    )
    issued_at = utcnow()
    for number, award in enumerate(approved, start=1):
        award.status = AwardStatus.ISSUED
        award.certificate_number = f"{prefix}-{number:04d}"
        award.verification_code = secrets.token_urlsafe(16)
        award.issued_at = issued_at
        _record(award, AwardAction.ISSUE, AwardStatus.APPROVED, actor)
    flush_or_conflict()
    signals.awards_issued.send(reward_round, awards=approved)
    flush_or_conflict()
    return reward_round


def revoke_award(actor: User, award: Award, reason: str | None) -> Award:
    """Only an admin revokes an issued award, with a reason; the certificate then
    verifies as revoked."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    if award.status != AwardStatus.ISSUED:
        raise Conflict(_l("Only an issued award can be revoked."))
    cleaned = check_reason(reason, required=True)
    award.status, award.reason = AwardStatus.REVOKED, cleaned
    award.decided_by_id, award.decided_at = actor.id, utcnow()
    _record(award, AwardAction.REVOKE, AwardStatus.ISSUED, actor, reason=cleaned)
    flush_or_conflict()
    return award


def award_for_code(code: str) -> Award:
    """The issued or revoked award a certificate's verification code names."""
    if not code or len(code) > 40:
        raise NotFound()
    award = db.session.execute(
        select(Award).where(
            Award.verification_code == code,
            Award.status.in_([AwardStatus.ISSUED, AwardStatus.REVOKED]),
        )
    ).scalar_one_or_none()
    if award is None:
        raise NotFound()
    return award


def counted_by_issued_award(log: ExchangeLog) -> bool:
    """Whether an issued award counts the log: its owner was issued an award in the
    log's department (or by the college round) and period, by a round finalized after
    the log was approved. Such a log can no longer be revoked (SPEC §3)."""
    approved_at = (
        select(func.max(LogEvent.at))
        .where(LogEvent.log_id == log.id, LogEvent.action == Action.APPROVE.value)
        .scalar_subquery()
    )
    return bool(
        db.session.execute(
            select(
                exists()
                .where(Award.round_id == RewardRound.id)
                .where(
                    or_(
                        RewardRound.department_id == log.department_id,
                        RewardRound.scope == engine.Scope.COLLEGE,
                    ),
                    RewardRound.period_id == log.period_id,
                    RewardRound.state == RoundState.FINALIZED,
                    RewardRound.finalized_at >= approved_at,
                    Award.holder_id == log.owner_id,
                    Award.status == AwardStatus.ISSUED,
                )
            )
        ).scalar()
    )


@signals.log_revoking.connect
def _refuse_revoking_counted_log(log: ExchangeLog, **_: Any) -> None:
    if counted_by_issued_award(log):
        raise Conflict(_l("An issued reward counts this log: revoke the award first."))


def certificate_award(actor: User, award_id: int) -> Award:
    """An issued or revoked honour, for its holder, the department's heads and admins."""
    award = db.session.get(Award, award_id)
    if (
        award is None
        or award.status not in (AwardStatus.ISSUED, AwardStatus.REVOKED)
        or award.rule.kind != engine.RuleKind.HONOUR
        or not (award.holder_id == actor.id or may_run(actor, award.round))
    ):
        raise NotFound()
    return award


# --- the certificate check -----------------------------------------------------------


@dataclass(frozen=True)
class CertificateCheck:
    """What a certificate states and its public check shows (SPEC §5, §7 "verify answer"):
    the certificate page, the public page and the API answer all read it from here, and
    nothing else of the holder than the name."""

    certificate_number: str
    issued_on: date  # in the college's time zone, as printed on the certificate
    holder_name: str
    award_name: str
    award_name_zh: str  # "" when the rule has no Chinese name
    period: str
    institution: str
    department: str | None  # the issuing department; None for the college round
    valid: bool

    @property
    def issuer(self) -> str:
        """The department that issued it, or for the college round the college itself,
        by its name: the same in every language and on paper."""
        return self.department or self.institution


def certificate_check(award: Award) -> CertificateCheck:
    """The facts of an issued (or revoked) award's certificate."""
    if award.certificate_number is None or award.issued_at is None:
        raise NotFound()  # never issued: there is no certificate to check
    reward_round = award.round
    return CertificateCheck(
        certificate_number=award.certificate_number,
        issued_on=award.issued_at.astimezone(college_zone()).date(),
        holder_name=award.holder.name,
        award_name=award.rule.name,
        award_name_zh=award.rule.name_zh,
        period=reward_round.period.name,
        institution=str(current_app.config["EXCHANGE_INSTITUTION"]),
        department=reward_round.department.name if reward_round.department else None,
        valid=award.status == AwardStatus.ISSUED,
    )


# --- finance sheets: the payout sheet and the honour list (SPEC §5) -------------------------


class NotFinalized(Conflict):
    """Finance pays from what is issued: a draft round is still a preview."""

    default_message = _l("Exports are made from a finalized round. Finalize this round first.")


def _sheet_awards(where: Any, kind: engine.RuleKind) -> list[Award]:
    """The issued awards of one kind (revoked ones left out) with everything a finance
    sheet shows, in one query: the rule, the round with its department and period, the
    holder with their enterprise. Grouped by person (name, then id), each person's
    awards in certificate order."""
    awards = (
        db.session.execute(
            select(Award)
            .join(Award.rule)
            .join(Award.round)
            .where(where, Award.status == AwardStatus.ISSUED, RewardRule.kind == kind.value)
            .options(
                contains_eager(Award.rule),
                contains_eager(Award.round).joinedload(RewardRound.department),
                contains_eager(Award.round).joinedload(RewardRound.period),
                joinedload(Award.holder).joinedload(User.enterprise),
            )
        )
        .scalars()
        .all()
    )
    # Sorted here rather than in SQL: names compare the same way on every database.
    return sorted(
        awards, key=lambda a: (a.holder.name, a.holder_id, a.certificate_number or "", a.id)
    )


def round_sheet_awards(
    actor: User, reward_round: RewardRound, kind: engine.RuleKind
) -> list[Award]:
    """The awards of one finalized round for its payout sheet (bonuses) or honour list
    (honours): heads of the department and admins; the college round, admins."""
    if not may_run(actor, reward_round):
        raise NotFound()
    if reward_round.is_draft:
        raise NotFinalized()
    return _sheet_awards(Award.round_id == reward_round.id, kind)


def period_sheet_awards(actor: User, period: Period, kind: engine.RuleKind) -> list[Award]:
    """The awards of every finalized round of the period (each department's and the
    college's), for admins: what finance pays for the whole academic year. Rounds still
    in draft are left out, as they are not decided; a period without any finalized
    round has nothing to pay from yet."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    finalized = select(RewardRound.id).where(
        RewardRound.period_id == period.id, RewardRound.state == RoundState.FINALIZED
    )
    if db.session.execute(finalized.limit(1)).first() is None:
        raise NotFinalized(
            _l("Exports are made from finalized rounds, and no round of %(period)s is "
               "finalized yet.", period=period.name)
        )  # fmt: skip
    return _sheet_awards(Award.round_id.in_(finalized), kind)
