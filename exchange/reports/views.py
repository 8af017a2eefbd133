"""The reports of SPEC §6: department (heads, admins), college (admins) and enterprise
partnership (heads, admins) pages, their CSV and XLSX exports, and every log of a
period as a file.

Thin: the figures are read in ``reports.queries``, the charts drawn by the pure
``reports.charts``; this module chooses the words and turns tables into files with
``exchange.exports``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from exchange import exports, units
from exchange.accounts.models import Role
from exchange.errors import ValidationError
from exchange.i18n import _
from exchange.org import queries as org_queries
from exchange.permissions import allow
from exchange.presentation import local_name
from exchange.presentation.accounts import role_label
from exchange.presentation.logs import category_label, kind_label, status_label
from exchange.presentation.org import agreement_state_label
from exchange.reports import charts, queries

bp = Blueprint("reports", __name__, url_prefix="/reports")

MANAGERS = (Role.HEAD, Role.ADMIN)

DEPARTMENT_TABLES = ("months", "enterprises", "categories", "people", "pending", "agreements")
COLLEGE_TABLES = ("months", "departments", "enterprises", "categories", "pending", "agreements")


@bp.after_request
def keep_it_private(response: Response) -> Response:
    # People's hours: neither shared caches nor the browser's keep a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.context_processor
def formatters() -> dict[str, Any]:
    """Hours as "12.5 h" in the reader's language, translated once per page rather than
    once per cell (a table of a college has hundreds of rows)."""
    pattern = _("%(hours)s h", hours="\x00")
    return {"h": lambda minutes: pattern.replace("\x00", units.hours_number(minutes))}


@bp.errorhandler(ValidationError)
def bad_filter(error: ValidationError):  # type: ignore[no-untyped-def]
    """A filter that is not one: the filters again, as typed, with the field named."""
    return (
        render_template(
            "reports/invalid.html",
            error=error,
            typed=request.args,
            **_choices(),
        ),
        400,
    )


def _choices() -> dict[str, Any]:
    return {
        "periods": org_queries.periods(),
        "departments": (
            org_queries.departments_by_name() if current_user.role == Role.ADMIN else []
        ),
    }


def _filters(department: str = "optional") -> queries.Filters:
    return queries.filters(current_user, request.args, department=department)


def _name(*parts: str) -> str:
    return exports.file_name(*parts)


def _file_parts(f: queries.Filters) -> list[str]:
    parts = [f.period.name]
    if f.department is not None:
        parts.append(f.department.code)
    if f.date_from or f.date_to:
        first = f.date_from.isoformat() if f.date_from else ""
        last = f.date_to.isoformat() if f.date_to else ""
        parts.append(f"{first}_{last}")
    return parts


# --- charts ----------------------------------------------------------------------------


def _chart(lines: list[queries.Line], title: str, chart_id: str) -> str:
    bars = [
        charts.Bar(line.label, line.hours.approved_hours, line.hours.pending_hours)
        for line in lines
    ]
    words = charts.Words(
        title=title,
        approved=_("Approved"),
        pending=_("Pending"),
        empty=_("No hours in these filters."),
        unit=_("h"),
    )
    return charts.bar_chart(bars, words, chart_id)


# --- pages -------------------------------------------------------------------------------


@bp.route("/department")
@allow(*MANAGERS)
def department():
    f = _filters("required")
    report = queries.department_report(current_user, f)
    return render_template(
        "reports/department.html",
        report=report,
        f=f,
        month_chart=_chart(report.breakdown.months, _("Hours by month"), "chart-months"),
        **_choices(),
    )


@bp.route("/college")
@allow(Role.ADMIN)
def college():
    f = _filters("ignored")
    report = queries.college_report(current_user, f)
    return render_template(
        "reports/college.html",
        report=report,
        f=f,
        month_chart=_chart(report.breakdown.months, _("Hours by month"), "chart-months"),
        department_chart=_chart(
            report.breakdown.departments, _("Hours by department"), "chart-departments"
        ),
        **_choices(),
    )


@bp.route("/enterprises")
@allow(*MANAGERS)
def enterprises():
    f = _filters()
    return render_template(
        "reports/enterprises.html", rows=queries.partnerships(f), f=f, **_choices()
    )


@bp.route("/enterprises/<id:enterprise_id>")
@allow(*MANAGERS)
def enterprise(enterprise_id: int):
    f = _filters()
    detail = queries.enterprise_detail(f, enterprise_id)
    return render_template(
        "reports/enterprise.html",
        detail=detail,
        f=f,
        month_chart=_chart(detail.months, _("Hours by month"), "chart-months"),
        **_choices(),
    )


# --- tables to take away ------------------------------------------------------------------


def _hours_headers(what: str) -> list[object]:
    return [what, _("Approved hours"), _("Pending hours"), _("Logs")]


def _hours_rows(lines: Iterable[queries.Line], label: Callable[[queries.Line], str]) -> list[Any]:
    return [
        [label(line), line.hours.approved_hours, line.hours.pending_hours, line.hours.logs]
        for line in lines
    ]


def _category_text(line: queries.Line) -> str:
    kind, category = line.key
    return f"{kind_label(kind)} · {category_label(category)}"


def _breakdown_sheets(breakdown: queries.Breakdown) -> dict[str, exports.Sheet]:
    return {
        "months": exports.Sheet(
            _("Months"), _hours_headers(_("Month")), _hours_rows(breakdown.months, _label)
        ),
        "departments": exports.Sheet(
            _("Departments"),
            _hours_headers(_("Department")),
            _hours_rows(breakdown.departments, _label),
        ),
        "enterprises": exports.Sheet(
            _("Enterprises"),
            _hours_headers(_("Enterprise")),
            _hours_rows(breakdown.enterprises, _label),
        ),
        "categories": exports.Sheet(
            _("Categories"),
            _hours_headers(_("Category")),
            _hours_rows(breakdown.categories, _category_text),
        ),
    }


def _label(line: queries.Line) -> str:
    return line.label


def _people_sheet(people: list[queries.PersonLine]) -> exports.Sheet:
    headers: list[object] = [
        _("Name"),
        _("Role"),
        _("Kind"),
        _("Approved hours"),
        _("Pending hours"),
        _("Logs"),
        _("Rules met"),
    ]
    rows: list[list[exports.Cell]] = [
        [
            p.name,
            str(role_label(p.role)),
            str(kind_label(p.kind)),
            p.hours.approved_hours,
            p.hours.pending_hours,
            p.hours.logs,
            ", ".join(local_name(r) for r in p.rules_met),
        ]
        for p in people
    ]
    return exports.Sheet(_("People"), headers, rows)


def _pending_sheet(pending: Iterable[queries.PendingLog]) -> exports.Sheet:
    rows: Iterable[list[exports.Cell]]
    headers: list[object] = [
        _("Log"),
        _("Owner"),
        _("Status"),
        _("Date"),
        _("Hours"),
        _("Place"),
        _("Verifier"),
        _("Days waiting"),
    ]
    rows = (
        [
            p.log_id,
            p.owner,
            str(status_label(p.status)),
            p.work_date.isoformat(),
            units.hours_value(p.minutes),
            p.place,
            p.verifier,
            p.age_days,
        ]
        for p in pending
    )
    return exports.Sheet(_("Pending"), headers, rows)


def _agreements_sheet(agreements: list[Any]) -> exports.Sheet:
    rows: list[list[exports.Cell]]
    headers: list[object] = [
        _("Enterprise"),
        _("Department"),
        _("Reference"),
        _("Starts on"),
        _("Ends on"),
    ]
    rows = [
        [
            a.enterprise.name,
            a.department.name if a.department else _("All departments"),
            a.reference,
            a.starts_on.isoformat(),
            a.ends_on.isoformat(),
        ]
        for a in agreements
    ]
    return exports.Sheet(_("Agreements ending"), headers, rows)


def _report_sheet(table: str, f: queries.Filters) -> exports.Sheet:
    """One table of a report, reading only what that table needs."""
    if table == "pending":
        return _pending_sheet(queries.every_pending(f))
    if table == "agreements":
        return _agreements_sheet(queries.agreements_ending(f))
    if table == "people":
        return _people_sheet(queries.department_people(current_user, f))
    return _breakdown_sheets(queries.breakdown(f))[table]


def _table_arg(allowed: tuple[str, ...]) -> str:
    table = request.args.get("table", "")
    if table not in allowed:
        message = _("Table: choose one of %(tables)s.", tables=", ".join(allowed))
        raise ValidationError(message, fields={"table": message})
    return table


def _csv(sheet: exports.Sheet, name: str) -> Response:
    """One table as CSV. Its rows may come from one statement fetched in batches (every
    log of a period): they are written as they are read, only the file is held."""
    return exports.download("csv", sheet.headers, sheet.rows, sheet.title, name)


@bp.route("/department.csv")
@allow(*MANAGERS)
def department_csv():
    table = _table_arg(DEPARTMENT_TABLES)
    f = _filters("required")
    sheet = _report_sheet(table, f)
    return _csv(sheet, _name("department", *_file_parts(f), table))


@bp.route("/department.xlsx")
@allow(*MANAGERS)
def department_xlsx():
    f = _filters("required")
    report = queries.department_report(current_user, f)
    by_table = _breakdown_sheets(report.breakdown)
    sheets = [
        by_table["months"],
        by_table["enterprises"],
        by_table["categories"],
        _people_sheet(report.people),
        _pending_sheet(queries.every_pending(f)),
        _agreements_sheet(report.agreements),
    ]
    return exports.download_sheets(sheets, _name("department", *_file_parts(f)))


@bp.route("/college.csv")
@allow(Role.ADMIN)
def college_csv():
    table = _table_arg(COLLEGE_TABLES)
    f = _filters("ignored")
    sheet = _report_sheet(table, f)
    return _csv(sheet, _name("college", *_file_parts(f), table))


@bp.route("/college.xlsx")
@allow(Role.ADMIN)
def college_xlsx():
    f = _filters("ignored")
    by_table = _breakdown_sheets(queries.breakdown(f))
    sheets = [
        by_table["months"],
        by_table["departments"],
        by_table["enterprises"],
        by_table["categories"],
        _pending_sheet(queries.every_pending(f)),
        _agreements_sheet(queries.agreements_ending(f)),
    ]
    return exports.download_sheets(sheets, _name("college", *_file_parts(f)), large=True)


def _partnership_sheet(rows: list[queries.Partnership]) -> exports.Sheet:
    headers: list[object] = [
        _("Enterprise"),
        _("Teachers hosted"),
        _("Practice hours"),
        _("Experts"),
        _("Teaching hours"),
        _("Agreement"),
        _("Ends on"),
    ]
    values = [
        [
            p.enterprise.name,
            p.teachers,
            p.practice.approved_hours,
            p.experts,
            p.teaching.approved_hours,
            str(agreement_state_label(p.agreement_state)),
            p.ends_on.isoformat() if p.ends_on else None,
        ]
        for p in rows
    ]
    return exports.Sheet(_("Enterprises"), headers, values)


@bp.route("/enterprises.csv")
@allow(*MANAGERS)
def enterprises_csv():
    f = _filters()
    sheet = _partnership_sheet(queries.partnerships(f))
    return exports.download(
        "csv", sheet.headers, sheet.rows, sheet.title, _name("enterprises", *_file_parts(f))
    )


@bp.route("/enterprises.xlsx")
@allow(*MANAGERS)
def enterprises_xlsx():
    f = _filters()
    sheet = _partnership_sheet(queries.partnerships(f))
    return exports.download_sheets([sheet], _name("enterprises", *_file_parts(f)))


# --- every log of a period --------------------------------------------------------------------

LOG_HEADERS = (
    "id",
    "owner",
    "kind",
    "date",
    "hours",
    "enterprise",
    "department",
    "category",
    "status",
    "verifier",
    "flags",
)


def _log_rows(f: queries.Filters) -> Iterator[list[exports.Cell]]:
    for line in queries.every_log(f):
        yield [
            line.log_id,
            line.owner,
            line.kind,
            line.work_date.isoformat(),
            units.hours_value(line.minutes),
            line.enterprise,
            line.department,
            line.category,
            line.status,
            line.verifier,
            " ".join(line.flags),
        ]


@bp.route("/logs.csv")
@allow(*MANAGERS)
def logs_csv():
    f = _filters()
    return _csv(exports.Sheet("logs", LOG_HEADERS, _log_rows(f)), _name("logs", *_file_parts(f)))


@bp.route("/logs.xlsx")
@allow(*MANAGERS)
def logs_xlsx():
    f = _filters()
    sheet = exports.Sheet(_("Logs"), LOG_HEADERS, _log_rows(f))
    return exports.download_sheets([sheet], _name("logs", *_file_parts(f)), large=True)
