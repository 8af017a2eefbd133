"""Reads of the reports (SPEC §6): the department, college and enterprise reports and
the export of every log of a period.

Every figure is an aggregation in SQL over the live logs of the chosen filters;
each report sends a fixed number of statements whatever the number of logs: the
hours by month, department, enterprise and category come from one GROUP BY (the
tables are sums of its rows), the people from a second, the pending work from two
more, and who meets the entry rule of each reward from the rewards domain's own
eligibility. Hours that count are approved; pending means submitted or verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, distinct, extract, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from exchange import units
from exchange.accounts.models import Role, User
from exchange.db import MAX_ID
from exchange.errors import NotFound, PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.logs.models import ExchangeLog, LogKind
from exchange.logs.queries import log_flags
from exchange.logs.workflow import PENDING, Status
from exchange.org import queries as org_queries
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.rewards import services as rewards
from exchange.rewards.rules import Rule
from exchange.timeutil import college_today, college_zone

# The statuses whose hours a report counts: approved, and pending (submitted, verified).
COUNTED = (Status.APPROVED.value, *sorted(s.value for s in PENDING))
PENDING_VALUES = tuple(sorted(s.value for s in PENDING))
# The oldest pending logs a page lists; the export has them all.
PENDING_SHOWN = 20
# Rows fetched at a time by the exports that stream every log.
STREAM_ROWS = 2000


# --- filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a report covers: a period, optionally one department and a date range."""

    period: Period
    department: Department | None = None
    date_from: date | None = None
    date_to: date | None = None

    def query_args(self) -> dict[str, object]:
        """The filters as query parameters (the links to exports and other reports)."""
        args: dict[str, object] = {"period": self.period.id}
        if self.department is not None:
            args["department"] = self.department.id
        if self.date_from is not None:
            args["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            args["to"] = self.date_to.isoformat()
        return args

    @property
    def first_day(self) -> date:
        return max(self.period.starts_on, self.date_from or self.period.starts_on)

    @property
    def last_day(self) -> date:
        return min(self.period.ends_on, self.date_to or self.period.ends_on)


def _id(name: str, value: str, label: Any) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
        message = _l("%(field)s: choose one of the offered values.", field=label)
        raise ValidationError(message, fields={name: message})
    return int(value)


def _day(name: str, value: str, label: Any) -> date | None:
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        message = _l("%(field)s: enter a date as YYYY-MM-DD.", field=label)
        raise ValidationError(message, fields={name: message}) from None


def filters(actor: User, args: Mapping[str, str], *, department: str = "optional") -> Filters:
    """The filters ``args`` name (``period``, ``department``, ``from``, ``to``), checked.

    ``department``: "required" (the department report: a head's own by default, an
    admin's first by name), "optional" (a head is always held to their own), or
    "ignored" (the college report). A malformed value is a ValidationError naming the
    field; an id of nothing is NotFound; another department than a head's own is
    PermissionDenied.
    """
    if actor.role not in (Role.HEAD, Role.ADMIN):
        raise PermissionDenied()
    period_arg = (args.get("period") or "").strip()
    if period_arg:
        period = db.session.get(Period, _id("period", period_arg, _l("Period")))
        if period is None:
            raise NotFound()
    else:
        period = org_queries.default_period()
        if period is None:
            raise NotFound(_l("There is no period yet."))
    date_from = _day("from", (args.get("from") or "").strip(), _l("From"))
    date_to = _day("to", (args.get("to") or "").strip(), _l("To"))
    if date_from and date_to and date_from > date_to:
        message = _l("To: the end date is before the start date.")
        raise ValidationError(message, fields={"to": message})
    chosen: Department | None = None
    department_arg = (args.get("department") or "").strip()
    if department != "ignored":
        if department_arg:
            chosen = db.session.get(Department, _id("department", department_arg, _l("Department")))
            if chosen is None:
                raise NotFound()
            if actor.role == Role.HEAD and chosen.id != actor.department_id:
                raise PermissionDenied()
        elif actor.role == Role.HEAD:
            chosen = actor.department
        elif department == "required":
            every = org_queries.departments_by_name()
            if not every:
                raise NotFound(_l("There is no department yet."))
            chosen = every[0]
    return Filters(period, chosen, date_from, date_to)


def _in_filters(f: Filters) -> list[Any]:
    """The live logs the filters cover, in every status: the period, the department
    when one is chosen, the dates."""
    where: list[Any] = [ExchangeLog.period_id == f.period.id]
    if f.department is not None:
        where.append(ExchangeLog.department_id == f.department.id)
    if f.date_from is not None:
        where.append(ExchangeLog.work_date >= f.date_from)
    if f.date_to is not None:
        where.append(ExchangeLog.work_date <= f.date_to)
    return where


def _where(f: Filters, *statuses: str) -> list[Any]:
    """The live logs the filters cover, of ``statuses`` (approved and pending by default)."""
    return [*_in_filters(f), ExchangeLog.status.in_(statuses or COUNTED)]


def _named(*columns: Any) -> Select[Any]:
    """``columns`` of logs with their owner's, enterprise's, department's and verifier's
    names (``columns`` name them through ``OWNER`` and ``VERIFIER``)."""
    return (
        select(*columns)
        .join(OWNER, OWNER.id == ExchangeLog.owner_id)
        .join(Enterprise, Enterprise.id == ExchangeLog.enterprise_id)
        .join(Department, Department.id == ExchangeLog.department_id)
        .outerjoin(VERIFIER, VERIFIER.id == ExchangeLog.verifier_id)
    )


OWNER = aliased(User, name="owner")
VERIFIER = aliased(User, name="verifier")


def _approved() -> Any:
    return func.coalesce(
        func.sum(case((ExchangeLog.status == Status.APPROVED.value, ExchangeLog.minutes))), 0
    )


def _pending() -> Any:
    return func.coalesce(
        func.sum(case((ExchangeLog.status.in_(PENDING_VALUES), ExchangeLog.minutes))), 0
    )


# --- figures ---------------------------------------------------------------------------


@dataclass
class Hours:
    """Approved and pending minutes, and the number of logs behind them."""

    approved: int = 0
    pending: int = 0
    logs: int = 0

    def add(self, approved: int, pending: int, logs: int) -> None:
        self.approved += approved
        self.pending += pending
        self.logs += logs

    @property
    def approved_hours(self) -> Decimal:
        return units.hours_value(self.approved)

    @property
    def pending_hours(self) -> Decimal:
        return units.hours_value(self.pending)


@dataclass(frozen=True)
class Line:
    """One row of a table of hours: what it is about, and its hours."""

    key: Any  # a month (date of its first day), an id, or a (kind, category) pair
    label: str
    hours: Hours


@dataclass(frozen=True)
class PendingSummary:
    status: str
    logs: int
    minutes: int
    oldest_days: int


@dataclass
class Breakdown:
    """The hours of the filters by month, department, enterprise and category."""

    months: list[Line] = field(default_factory=list)
    departments: list[Line] = field(default_factory=list)
    enterprises: list[Line] = field(default_factory=list)
    categories: list[Line] = field(default_factory=list)
    total: Hours = field(default_factory=Hours)
    # Waiting for verification (submitted), then for approval (verified).
    waiting: list[PendingSummary] = field(default_factory=list)


def _months(first: date, last: date) -> list[date]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


APPROVED = Status.APPROVED.value


def _figures(status: str, minutes: int, logs: int) -> tuple[int, int, int]:
    """(approved, pending, logs) of one status's minutes and logs."""
    return (minutes, 0, logs) if status == APPROVED else (0, minutes, logs)


def breakdown(f: Filters) -> Breakdown:
    """The hours by month (every month of the range, empty ones too), department,
    enterprise and category, and the work waiting: one GROUP BY per status, department
    and day (read in the order of the report index, so nothing is sorted) gives the
    months, the departments and how much waits; one GROUP BY per enterprise, kind and
    category gives the enterprises and the categories; one more since when the oldest
    waits; one query each names the departments and enterprises found."""
    by_month: dict[date, Hours] = {day: Hours() for day in _months(f.first_day, f.last_day)}
    by_department: dict[int, Hours] = {}
    waiting: dict[str, list[Any]] = {s: [0, 0, None] for s in PENDING_VALUES}
    total = Hours()
    # Year and month of the grouped day, as numbers: nothing to parse per row.
    year = extract("year", ExchangeLog.work_date)
    month = extract("month", ExchangeLog.work_date)
    days = db.session.execute(
        select(ExchangeLog.status, ExchangeLog.department_id, year, month,
               func.sum(ExchangeLog.minutes), func.count())
        .where(*_where(f))
        .group_by(ExchangeLog.status, ExchangeLog.department_id, ExchangeLog.work_date)
    )  # fmt: skip
    # Plain sums per (year, month, status) and (department, status) first: a college's
    # period has thousands of such rows, and this loop is the report's hottest.
    month_sums: dict[tuple[int, int, str], list[int]] = {}
    department_sums: dict[tuple[int, str], list[int]] = {}
    for status, department_id, y, m, minutes, logs in days:
        key = (y, m, status)
        found = month_sums.get(key)
        if found is None:
            month_sums[key] = [minutes, logs]
        else:
            found[0] += minutes
            found[1] += logs
        place = (department_id, status)
        found = department_sums.get(place)
        if found is None:
            department_sums[place] = [minutes, logs]
        else:
            found[0] += minutes
            found[1] += logs
    for (y, m, status), (minutes, logs) in month_sums.items():
        figures = _figures(status, int(minutes), int(logs))
        by_month.setdefault(date(int(y), int(m), 1), Hours()).add(*figures)
        total.add(*figures)
        if status in waiting:
            waiting[status][0] += int(logs)
            waiting[status][1] += int(minutes)
    for (department_id, status), (minutes, logs) in department_sums.items():
        by_department.setdefault(department_id, Hours()).add(
            *_figures(status, int(minutes), int(logs))
        )
    oldest = db.session.execute(
        select(ExchangeLog.status, func.min(ExchangeLog.status_since))
        .where(*_where(f, *PENDING_VALUES))
        .group_by(ExchangeLog.status)
    )
    for status, moment in oldest:
        waiting[status][2] = moment

    by_enterprise, by_category = _by_enterprise_and_category(f)
    departments = (
        {f.department.id: f.department.name}
        if f.department is not None
        else _names(Department, by_department)
    )
    enterprises = _names(Enterprise, by_enterprise)
    today = college_today()
    return Breakdown(
        months=[Line(day, f"{day:%Y-%m}", by_month[day]) for day in sorted(by_month)],
        departments=_by_hours(by_department, departments),
        enterprises=_by_hours(by_enterprise, enterprises),
        categories=[
            Line(key, key[1], hours)
            for key, hours in sorted(
                by_category.items(), key=lambda item: (item[0][0], -item[1].approved, item[0][1])
            )
        ],
        total=total,
        waiting=[
            PendingSummary(status, logs, minutes, _age(oldest, today) if logs else 0)
            for status, (logs, minutes, oldest) in sorted(waiting.items())
        ],
    )


def _by_enterprise_and_category(
    f: Filters,
) -> tuple[dict[int, Hours], dict[tuple[str, str], Hours]]:
    """Hours per enterprise and per (kind, category), from one GROUP BY of the three: a
    period's logs fall into a few thousand such groups, summed up both ways here."""
    rows = db.session.execute(
        select(ExchangeLog.enterprise_id, ExchangeLog.kind, ExchangeLog.category,
               _approved(), _pending(), func.count())
        .where(*_where(f))
        .group_by(ExchangeLog.enterprise_id, ExchangeLog.kind, ExchangeLog.category)
    )  # fmt: skip
    by_enterprise: dict[int, Hours] = {}
    by_category: dict[tuple[str, str], Hours] = {}
    for enterprise_id, kind, category, approved, pending, logs in rows:
        figures = (int(approved), int(pending), int(logs))
        found = by_enterprise.get(enterprise_id)
        if found is None:
            found = by_enterprise[enterprise_id] = Hours()
        found.add(*figures)
        found = by_category.get((kind, category))
        if found is None:
            found = by_category[(kind, category)] = Hours()
        found.add(*figures)
    return by_enterprise, by_category


def _names(model: Any, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(wanted))).all())


def _by_hours(hours: dict[int, Hours], names: dict[int, str]) -> list[Line]:
    """Most approved hours first, then by name."""

    def order(item: tuple[int, Hours]) -> tuple[int, int, str]:
        return (-item[1].approved, -item[1].pending, names.get(item[0], ""))

    return [Line(key, names.get(key, ""), value) for key, value in sorted(hours.items(), key=order)]


# --- people ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLine:
    person_id: int
    name: str
    role: str
    kind: str
    hours: Hours
    rules_met: list[Rule]


def _person_sums(f: Filters, *where: Any) -> Select[Any]:
    """Approved and pending minutes and logs per person and kind, with their names."""
    return (
        select(
            ExchangeLog.owner_id,
            User.name,
            User.role,
            ExchangeLog.kind,
            _approved(),
            _pending(),
            func.count(),
        )
        .join(User, User.id == ExchangeLog.owner_id)
        .where(*_where(f), *where)
        .group_by(ExchangeLog.owner_id, User.name, User.role, ExchangeLog.kind)
    )


def people(f: Filters, standings: list[rewards.Standing]) -> list[PersonLine]:
    """The hours of each person in the filters (one query), with the rules each meets
    in the period (from ``standings``, the rewards domain's eligibility)."""
    rows = db.session.execute(_person_sums(f)).all()
    met: dict[tuple[int, str], list[Rule]] = {}
    for standing in standings:
        for outcome in standing.outcomes:
            if outcome.met:
                met.setdefault((standing.person.id, standing.audience.value), []).append(
                    outcome.rule
                )
    found = []
    for owner_id, name, role, kind, approved, pending, logs in rows:
        audience = rewards.AUDIENCE_OF_KIND[kind].value
        found.append(
            PersonLine(
                owner_id,
                name,
                role,
                kind,
                Hours(int(approved), int(pending), int(logs)),
                met.get((owner_id, audience), []),
            )
        )
    return sorted(found, key=lambda p: (p.kind, p.name, p.person_id))


def department_people(actor: User, f: Filters) -> list[PersonLine]:
    """The people of the department report, with the rules each meets."""
    assert f.department is not None  # noqa: S101 - filters(department="required")
    return people(f, rewards.eligibility(actor, f.department, f.period))


@dataclass(frozen=True)
class RuleLine:
    """How many people meet a reward's entry rule, and how many not yet."""

    rule: Rule
    meeting: int
    not_yet: int


def rule_counts(standings: list[rewards.Standing]) -> dict[str, tuple[int, int]]:
    """Per rule code: people of ``standings`` who meet it, and who do not yet."""
    met: dict[str, set[int]] = {}
    seen: dict[str, set[int]] = {}
    for standing in standings:
        for outcome in standing.outcomes:
            seen.setdefault(outcome.rule.code, set()).add(standing.person.id)
            if outcome.met:
                met.setdefault(outcome.rule.code, set()).add(standing.person.id)
    return {
        code: (len(met.get(code, ())), len(people - met.get(code, set())))
        for code, people in seen.items()
    }


def rule_lines(period: Period, counts: dict[str, tuple[int, int]]) -> list[RuleLine]:
    """Every rule of the period in the rules' order, with its counts (none without
    people of its audience)."""
    return [
        RuleLine(rule, *counts.get(rule.code, (0, 0)))
        for rule in (r.spec() for r in rewards.period_rules(period.id))
    ]


# --- pending work ------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingLog:
    log_id: int
    owner: str
    status: str
    work_date: date
    minutes: int
    place: str
    verifier: str
    age_days: int


def _age(moment: Any, today: date) -> int:
    """Days since ``moment`` (UTC) in the college's calendar."""
    if moment is None:
        return 0
    if moment.tzinfo is None:  # SQLite hands back naive UTC from a bare MIN()
        moment = moment.replace(tzinfo=UTC)
    return max((today - moment.astimezone(college_zone()).date()).days, 0)


def _pending_logs_query(f: Filters) -> Any:
    return (
        _named(
            ExchangeLog.id,
            OWNER.name,
            ExchangeLog.status,
            ExchangeLog.work_date,
            ExchangeLog.minutes,
            ExchangeLog.kind,
            Enterprise.name,
            Department.name,
            VERIFIER.name,
            ExchangeLog.status_since,
        )
        .where(*_where(f, *PENDING_VALUES))
        .order_by(ExchangeLog.status_since, ExchangeLog.id)
    )


def _pending_log(row: Any, today: date) -> PendingLog:
    log_id, owner, status, work_date, minutes, kind, enterprise, department, verifier, at = row
    place = enterprise if kind == LogKind.PRACTICE else department
    return PendingLog(
        log_id, owner, status, work_date, minutes, place, verifier or "", _age(at, today)
    )


def oldest_pending(f: Filters, limit: int = PENDING_SHOWN) -> list[PendingLog]:
    """The logs waiting longest, oldest first (a page shows the first few)."""
    today = college_today()
    # The few ids first, from the report index alone; then only those are joined.
    oldest = (
        select(ExchangeLog.id)
        .where(*_where(f, *PENDING_VALUES))
        .order_by(ExchangeLog.status_since, ExchangeLog.id)
        .limit(limit)
    )
    stmt = _pending_logs_query(f).where(ExchangeLog.id.in_(oldest.scalar_subquery()))
    return [_pending_log(row, today) for row in db.session.execute(stmt).all()]


def every_pending(f: Filters) -> Iterator[PendingLog]:
    """Every pending log, oldest first, streamed (the export)."""
    today = college_today()
    result = db.session.execute(_pending_logs_query(f).execution_options(yield_per=STREAM_ROWS))
    for row in result:
        yield _pending_log(row, today)


# --- agreements ----------------------------------------------------------------------------


def agreements_ending(f: Filters) -> list[Agreement]:
    """Agreements in force today that end within 60 days (SPEC §2), with their enterprise
    and department: of the department (or every department) when one is chosen."""
    stmt = org_queries.expiring_agreements(college_today()).options(
        joinedload(Agreement.enterprise), joinedload(Agreement.department)
    )
    if f.department is not None:
        stmt = stmt.where(
            or_(Agreement.department_id == f.department.id, Agreement.department_id.is_(None))
        )
    return list(db.session.execute(stmt).scalars())


# --- the department and college reports ------------------------------------------------------


@dataclass
class Report:
    filters: Filters
    breakdown: Breakdown
    rules: list[RuleLine]
    oldest: list[PendingLog]
    agreements: list[Agreement]
    people: list[PersonLine] = field(default_factory=list)


def department_report(actor: User, f: Filters) -> Report:
    """The department report: hours by month, enterprise, category and person, who meets
    each reward's entry rule, the pending work and the agreements ending soon."""
    assert f.department is not None  # noqa: S101 - filters(department="required")
    standings = rewards.eligibility(actor, f.department, f.period)
    return Report(
        filters=f,
        breakdown=breakdown(f),
        rules=rule_lines(f.period, rule_counts(standings)),
        oldest=oldest_pending(f),
        agreements=agreements_ending(f),
        people=people(f, standings),
    )


def college_report(actor: User, f: Filters) -> Report:
    """The college report: the same over every department, by department instead of
    by person."""
    return Report(
        filters=f,
        breakdown=breakdown(f),
        rules=rule_lines(f.period, rewards.college_rule_counts(actor, f.period)),
        oldest=oldest_pending(f),
        agreements=agreements_ending(f),
    )


# --- the enterprise partnership report -------------------------------------------------------


@dataclass
class Partnership:
    """One enterprise's part in the exchange under the filters."""

    enterprise: Enterprise
    teachers: int = 0  # teachers hosted (practice)
    practice: Hours = field(default_factory=Hours)
    experts: int = 0  # its experts who taught
    teaching: Hours = field(default_factory=Hours)
    agreement_state: str = "none"  # in_force, ended, not_started, none
    ends_on: date | None = None


def _agreement_state(agreements: list[Agreement], today: date) -> tuple[str, date | None]:
    """In force today (and until when), else ended (when), else not started yet."""
    in_force = [a for a in agreements if a.starts_on <= today <= a.ends_on]
    if in_force:
        return "in_force", max(a.ends_on for a in in_force)
    ended = [a for a in agreements if a.ends_on < today]
    if ended:
        return "ended", max(a.ends_on for a in ended)
    if agreements:
        return "not_started", max(a.ends_on for a in agreements)
    return "none", None


def _partnership_sums(f: Filters, *where: Any) -> list[Any]:
    return list(
        db.session.execute(
            select(
                ExchangeLog.enterprise_id,
                ExchangeLog.kind,
                func.count(distinct(ExchangeLog.owner_id)),
                _approved(),
                _pending(),
                func.count(),
            )
            .where(*_where(f), *where)
            .group_by(ExchangeLog.enterprise_id, ExchangeLog.kind)
        ).all()
    )


def _agreements_by_enterprise(f: Filters, *where: Any) -> dict[int, list[Agreement]]:
    stmt = select(Agreement).where(*where)
    if f.department is not None:
        stmt = stmt.where(
            or_(Agreement.department_id == f.department.id, Agreement.department_id.is_(None))
        )
    found: dict[int, list[Agreement]] = {}
    for agreement in db.session.execute(stmt).scalars():
        found.setdefault(agreement.enterprise_id, []).append(agreement)
    return found


def partnerships(f: Filters) -> list[Partnership]:
    """Every enterprise with hours or an agreement (with the department, when one is
    chosen), by name: three queries whatever the number of logs."""
    sums = _partnership_sums(f)
    agreements = _agreements_by_enterprise(f)
    ids = {row[0] for row in sums} | set(agreements)
    if not ids:
        return []
    enterprises = db.session.execute(
        select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.name, Enterprise.id)
    ).scalars()
    found = {e.id: Partnership(e) for e in enterprises}
    _fill(found, sums, agreements)
    return list(found.values())


def _fill(
    found: dict[int, Partnership], sums: list[Any], agreements: dict[int, list[Agreement]]
) -> None:
    today = college_today()
    for enterprise_id, kind, people_count, approved, pending, logs in sums:
        entry = found[enterprise_id]
        if kind == LogKind.PRACTICE:
            entry.teachers = int(people_count)
            entry.practice.add(int(approved), int(pending), int(logs))
        else:
            entry.experts = int(people_count)
            entry.teaching.add(int(approved), int(pending), int(logs))
    for enterprise_id, entry in found.items():
        entry.agreement_state, entry.ends_on = _agreement_state(
            agreements.get(enterprise_id, []), today
        )


@dataclass
class EnterpriseDetail:
    partnership: Partnership
    agreements: list[Agreement]
    people: list[PersonLine]
    months: list[Line]


def enterprise_detail(f: Filters, enterprise_id: int) -> EnterpriseDetail:
    """One enterprise: its figures, its agreements, its people and months (NotFound for
    an id of nothing)."""
    enterprise = db.session.get(Enterprise, enterprise_id) if 0 < enterprise_id <= MAX_ID else None
    if enterprise is None:
        raise NotFound()
    here = ExchangeLog.enterprise_id == enterprise.id
    entry = Partnership(enterprise)
    agreements = _agreements_by_enterprise(f, Agreement.enterprise_id == enterprise.id)
    _fill({enterprise.id: entry}, _partnership_sums(f, here), agreements)
    person_rows = db.session.execute(
        _person_sums(f, here).order_by(ExchangeLog.kind, User.name, ExchangeLog.owner_id)
    ).all()
    year = extract("year", ExchangeLog.work_date)
    month = extract("month", ExchangeLog.work_date)
    month_rows = db.session.execute(
        select(year, month, _approved(), _pending(), func.count())
        .where(*_where(f), here)
        .group_by(year, month)
    ).all()
    by_month = {day: Hours() for day in _months(f.first_day, f.last_day)}
    for y, m, approved, pending, logs in month_rows:
        by_month.setdefault(date(int(y), int(m), 1), Hours()).add(
            int(approved), int(pending), int(logs)
        )
    return EnterpriseDetail(
        partnership=entry,
        agreements=sorted(
            agreements.get(enterprise.id, []), key=lambda a: (a.ends_on, a.id), reverse=True
        ),
        people=[
            PersonLine(
                owner_id, name, role, kind, Hours(int(approved), int(pending), int(logs)), []
            )
            for owner_id, name, role, kind, approved, pending, logs in person_rows
        ],
        months=[Line(day, f"{day:%Y-%m}", by_month[day]) for day in sorted(by_month)],
    )


# --- every log of a period ----------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    log_id: int
    owner: str
    kind: str
    work_date: date
    minutes: int
    enterprise: str
    department: str
    category: str
    status: str
    verifier: str
    flags: list[str]


def every_log(f: Filters) -> Iterator[LogLine]:
    """Every live log of the filters, in every status, by id: one statement whose rows
    are fetched ``STREAM_ROWS`` at a time (a period may hold 300,000 logs), with the
    flags of each batch asked for at once."""
    stmt = (
        _named(
            ExchangeLog.id,
            OWNER.name,
            ExchangeLog.kind,
            ExchangeLog.work_date,
            ExchangeLog.minutes,
            Enterprise.name,
            Department.name,
            ExchangeLog.category,
            ExchangeLog.status,
            VERIFIER.name,
        )
        .where(*_in_filters(f))
        .order_by(ExchangeLog.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for batch in db.session.execute(stmt).partitions():
        flags = log_flags([row[0] for row in batch])
        for row in batch:
            (log_id, owner, kind, work_date, minutes, enterprise, department, category,
             status, verifier) = row  # fmt: skip
            yield LogLine(log_id, owner, kind, work_date, minutes, enterprise, department,
                          category, status, verifier or "", flags.get(log_id, []))  # fmt: skip
