"""Work waiting for someone: logs to verify, logs to approve (with bulk approval).

Thin: the lists are the domain's queries, one page at a time, the longest waiting
first, each log with its age and integrity flags (``?flagged=1``: flagged only); a
single verify or reject goes to ``logs.act``; bulk approval hands the ticked ids to
``services.bulk_approve`` and tells the head what became of them. Flags never
block, but ticking flagged logs asks for one more tap: a page lists them with
their flags, and its button sends the same ids again with ``confirm_flagged=1``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from exchange.accounts.models import Role
from exchange.db import MAX_ID
from exchange.errors import Conflict, NotFound
from exchange.extensions import db
from exchange.i18n import _, ngettext
from exchange.logs import queries, services
from exchange.org import queries as org_queries
from exchange.permissions import allow
from exchange.web import is_post, paginate

bp = Blueprint("queues", __name__, url_prefix="/logs")

# More ids than a page can show (100 at most) did not come from the page.
BULK_MAX = 100


def _here() -> str:
    """This page with its query string: where the buttons of a card come back to."""
    return request.full_path if request.query_string else request.path


def _queue(scope: str, template: str) -> str:
    flagged = request.args.get("flagged") == "1"
    # An administrator's approval queue is the whole college's: it narrows to one
    # department on request (a head's is their own department already).
    departments = []
    department_id = None
    if scope == "approve" and current_user.role == Role.ADMIN:
        departments = org_queries.departments_by_name()
        chosen = request.args.get("department", type=int)
        department_id = chosen if chosen in {d.id for d in departments} else None
    stmt = queries.logs_query(current_user, scope, flagged=flagged, department_id=department_id)
    page = paginate(stmt)
    return render_template(
        template,
        page=page,
        here=_here(),
        flags=queries.log_flags([log.id for log in page.items]),
        flagged=flagged,
        departments=departments,
        department_id=department_id,
    )


@bp.route("/verify")
@allow()
def verify():
    return _queue("verify", "logs/queue_verify.html")


@bp.route("/approve", methods=["GET", "POST"])
@allow(Role.HEAD, Role.ADMIN)
def approve():
    if is_post():
        return _bulk_approve(request.form.getlist("ids"))
    return _queue("approve", "logs/queue_approve.html")


def _parse_ids(values: Iterable[str]) -> tuple[list[int], int]:
    """The ids as numbers, and how many values were no id at all (typed by hand, tampered)."""
    ids: list[int] = []
    unreadable = 0
    for value in values:
        text = value.strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
        if 0 < number <= MAX_ID:
            ids.append(number)
        else:
            unreadable += 1
    return ids, unreadable


def _bulk_approve(values: list[str]) -> Response | str:
    back = redirect(url_for("queues.approve"))
    if not values:
        flash(_("Select at least one log to approve."), "warning")
        return back
    if len(set(values)) > BULK_MAX:
        flash(_("Select at most %(max)d logs at a time.", max=BULK_MAX), "error")
        return back
    ids, unreadable = _parse_ids(dict.fromkeys(values))
    seen = _parse_ids(request.form.getlist("seen"))[0]
    to_confirm = _flagged_unconfirmed(ids, seen)
    if to_confirm is not None:
        return to_confirm
    outcomes = services.bulk_approve(current_user, ids)
    db.session.commit()
    message, category = _summary(outcomes, unreadable)
    flash(message, category)
    return back


def _flagged_unconfirmed(ids: list[int], seen: list[int]) -> str | None:
    """The page asking to confirm approving flagged logs, unless every flagged log the
    person may approve among ``ids`` was on that page already (``seen``) and they
    confirmed (``confirm_flagged=1``). Logs the person may not approve are not shown
    here: the service refuses them one by one."""
    flags = {log_id: codes for log_id, codes in queries.log_flags(ids).items() if codes}
    if not flags:
        return None
    flagged = queries.logs_of_list(current_user, "approve", flags)
    confirmed = request.form.get("confirm_flagged") == "1"
    if not flagged or (confirmed and {log.id for log in flagged} <= set(seen)):
        return None
    return render_template(
        "logs/confirm_approve.html",
        logs=flagged,
        flags=flags,
        ids=ids,
        action=url_for("queues.approve"),
        back=url_for("queues.approve"),
    )


def _summary(outcomes: list[services.BulkOutcome], unreadable: int) -> tuple[str, str]:
    """One sentence per kind of outcome: "3 logs approved. 1 had changed in the meantime …"."""
    approved = sum(1 for outcome in outcomes if outcome.ok)
    errors = [o.error for o in outcomes if o.error is not None]
    # A Conflict that says nothing more than its kind: the log changed in the meantime.
    stale = [e for e in errors if isinstance(e, Conflict) and e.generic]
    changed = len(stale)
    not_found = unreadable + sum(1 for e in errors if isinstance(e, NotFound))
    refused = Counter(
        str(e.message) for e in errors if not isinstance(e, NotFound) and e not in stale
    )

    parts = []
    if approved:
        parts.append(ngettext("%(num)d log approved.", "%(num)d logs approved.", approved))
    if changed:
        parts.append(
            ngettext(
                "%(num)d had changed in the meantime and was not approved.",
                "%(num)d had changed in the meantime and were not approved.",
                changed,
            )
        )
    for reason, count in refused.items():
        parts.append(
            ngettext(
                "%(num)d log not approved: %(reason)s",
                "%(num)d logs not approved: %(reason)s",
                count,
                reason=reason,
            )
        )
    if not_found:
        parts.append(
            ngettext(
                "%(num)d log could not be found.", "%(num)d logs could not be found.", not_found
            )
        )
    failed = len(outcomes) + unreadable - approved
    if not failed:
        category = "success"
    elif approved:
        category = "warning"
    else:
        category = "error"
    return " ".join(parts), category
