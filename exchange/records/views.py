"""The personal record: one's own approved hours and awards, as a printable page and
as XLSX (SPEC §5 "Everybody can download their own record", §6 ``/me/record``).

Only one's own: the address carries no person, so there is nobody else to ask for.
Thin: the reads are in ``records.queries``; this module turns them into a page or
a workbook in the reader's language.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from exchange import exports, units
from exchange.i18n import _
from exchange.permissions import allow
from exchange.presentation import local_name
from exchange.presentation.logs import category_label
from exchange.presentation.rewards import award_status_label, rule_kind_label
from exchange.records import queries
from exchange.rewards.rules import RuleKind
from exchange.timeutil import college_today

bp = Blueprint("records", __name__)


@bp.after_request
def keep_it_private(response: Response) -> Response:
    # Personal data: neither shared caches nor the browser's keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _record() -> queries.PersonalRecord:
    period = queries.chosen_period(request.args.get("period"))
    return queries.personal_record(current_user, period)


@bp.route("/me/record")
@allow()
def record():
    return render_template(
        "records/record.html",
        record=_record(),
        periods=queries.periods(),
        institution=current_app.config["EXCHANGE_INSTITUTION"],
        produced_on=college_today(),
        is_admin=current_user.is_admin,
    )


@bp.route("/me/record.xlsx")
@allow()
def record_xlsx():
    found = _record()
    name = exports.file_name(
        "record",
        current_user.staff_number or current_user.name,
        found.period.name if found.period else "all-periods",
    )
    return exports.download_sheets([_log_sheet(found), _award_sheet(found)], name)


# --- the workbook ----------------------------------------------------------------------


def verifier_text(entry: queries.RecordedLog) -> str:
    """Who verified the log, in one line; an on-site confirmer is said to be one."""
    if entry.verifier is None:
        return ""
    if entry.onsite:
        return f"{entry.verifier} · {_('On-site confirmation')}"
    return entry.verifier


def _log_sheet(found: queries.PersonalRecord) -> exports.Sheet:
    headers: list[object] = [
        _("Period"),
        _("Date"),
        _("Place"),
        _("Category"),
        _("Hours"),
        _("Verifier"),
    ]
    rows: list[list[exports.Cell]] = []
    for group in found.periods:
        for entry in group.logs:
            log = entry.log
            rows.append(
                [
                    group.period.name,
                    log.work_date.isoformat(),
                    entry.place,
                    str(category_label(log.category)),
                    units.hours_value(log.minutes),
                    verifier_text(entry),
                ]
            )
        rows.append(
            [group.period.name, None, None, _("Total"), units.hours_value(group.minutes), None]
        )
    if len(found.periods) > 1:
        rows.append(
            [_("All periods"), None, None, _("Total"), units.hours_value(found.minutes), None]
        )
    return exports.Sheet(_("Approved hours"), headers, rows)


def _award_sheet(found: queries.PersonalRecord) -> exports.Sheet:
    headers: list[object] = [
        _("Period"),
        _("Award"),
        _("Kind"),
        _("Hours"),
        _("Amount"),
        _("Currency"),
        _("Certificate number"),
        _("Issued on"),
        _("Issued by"),
        _("Status"),
    ]
    rows: list[list[exports.Cell]] = []
    for entry in found.awards:
        award = entry.award
        bonus = award.rule.kind == RuleKind.BONUS
        rows.append(
            [
                award.round.period.name,
                local_name(award.rule),
                str(rule_kind_label(award.rule.kind)),
                units.hours_value(award.minutes),
                units.minor_to_major(award.amount_minor) if bonus else None,
                award.currency if bonus else None,
                award.certificate_number,
                entry.issued_on.isoformat() if entry.issued_on else None,
                award.round.department.name if award.round.department else _("College"),
                str(award_status_label(award.status)),
            ]
        )
    return exports.Sheet(_("Awards"), headers, rows)
