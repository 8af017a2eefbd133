"""API endpoints for exchange logs (SPEC §3, §7): create, list, read, edit, delete,
the workflow transitions, bulk approval and on-site confirmation links.

Thin, like the pages: JSON → LogInput → the same services → one commit → JSON.
Who may see or do what is decided in exchange.logs.services and .workflow only;
a log the caller may not see answers 404 whatever the method, so nothing leaks.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.api import bp, serialise
from exchange.api.helpers import (
    Fields,
    created,
    json_body,
    optional_json_body,
    paginated,
    patch_body,
    query_choice,
    query_int,
    query_text,
)
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.links import external_url
from exchange.logs import queries, services
from exchange.logs.models import ExchangeLog, LogKind
from exchange.logs.workflow import Action, Status
from exchange.permissions import allow
from exchange.timeutil import iso_utc

# The lists logs_query knows; anything else is a malformed query (400), like
# every other filter of the API.
STATUSES = tuple(s.value for s in Status)
BULK_MAX = 200


def _log_input(fields: Fields, kind: str | None) -> services.LogInput:
    """The log fields of a request body. ``kind`` is the one the log has (or will
    have): a body naming another is refused on ``kind``."""
    given_kind = fields.str("kind")
    if "kind" not in fields.errors and given_kind != kind:
        if not given_kind:
            fields.errors["kind"] = _l("This field is required.")
        elif given_kind not in tuple(LogKind):
            fields.errors["kind"] = _l("Choose one of the offered values.")
        else:
            fields.errors["kind"] = _l("Teachers and heads log practice; experts log teaching.")
    return services.LogInput(
        work_date=fields.date("date"),
        hours=fields.number("hours"),
        category=fields.str("category"),
        description=fields.str("description"),
        enterprise_id=fields.int("enterprise_id"),
        department_id=fields.int("department_id"),
        course=fields.str("course"),
        cohort=fields.str("cohort"),
        students=fields.int("students"),
        verifier_id=fields.int("verifier_id"),
        client_id=fields.str("client_id") or None,
    )


def _answer(log: ExchangeLog) -> Any:
    """One log with its audit trail: the answer of every single-log endpoint."""
    return jsonify(serialise.log(log, history=True))


# --- create, list, read, edit, delete ---------------------------------------


@bp.post("/logs")
@allow(Role.TEACHER, Role.HEAD, Role.EXPERT)
def create_log():
    """A new draft (or, with ``submit``, a submitted log); 200 with the first log
    when the caller already sent this ``client_id``."""
    fields = Fields(json_body())
    data = _log_input(fields, services.log_kind_for(current_user.role))
    submit = fields.bool("submit")
    fields.check()
    log, is_new = services.create_log(current_user, data, submit=submit)
    db.session.commit()
    if not is_new:
        return _answer(log)
    return created(serialise.log(log, history=True), "api.get_log", log_id=log.id)


@bp.get("/logs")
@allow()
def list_logs():
    stmt = queries.logs_query(
        current_user,
        query_choice("scope", queries.LIST_SCOPES) or "mine",
        status=query_choice("status", STATUSES),
        kind=query_choice("kind", LogKind),
        period_id=query_int("period"),
    )
    return jsonify(paginated(stmt, serialise.log))


@bp.get("/logs/<id:log_id>")
@allow()
def get_log(log_id: int):
    return _answer(services.get_log(current_user, log_id))


@bp.patch("/logs/<id:log_id>")
@allow()
def update_log(log_id: int):
    """Only the fields given change. A ``version`` other than the log's answers 409,
    so a client cannot overwrite a change it has not seen."""
    log = services.get_log(current_user, log_id)
    given, merged = patch_body(serialise.log(log))
    fields = Fields(merged)
    data = _log_input(fields, log.kind)
    version = fields.int("version")
    fields.check()
    if "version" in given and version != log.version:
        raise Conflict()
    services.update_log(current_user, log, data)
    db.session.commit()
    return _answer(log)


@bp.delete("/logs/<id:log_id>")
@allow()
def delete_log(log_id: int):
    services.delete_log(current_user, services.get_log(current_user, log_id))
    db.session.commit()
    return "", 204


@bp.put("/logs/<id:log_id>/evidence")
@allow()
def put_log_evidence(log_id: int):
    """The body is the file itself (a photo or a PDF, at most 5 MB, judged by its
    content whatever its Content-Type); ``?name=`` is the name it is shown with."""
    log = services.get_log(current_user, log_id)
    name = query_text("name") or "evidence"
    # MAX_CONTENT_LENGTH refuses a much larger body (413) before it is read.
    upload = services.EvidenceUpload(filename=name, data=request.get_data(cache=False))
    services.replace_evidence(current_user, log, upload)
    db.session.commit()
    return _answer(log)


@bp.delete("/logs/<id:log_id>/evidence")
@allow()
def delete_log_evidence(log_id: int):
    log = services.get_log(current_user, log_id)
    services.replace_evidence(current_user, log, None)
    db.session.commit()
    return _answer(log)


# --- workflow -----------------------------------------------------------------


def _transition(log_id: int, action: Action, reason: str | None = None) -> Any:
    log = services.get_log(current_user, log_id)
    services.transition(current_user, log, action, reason)
    db.session.commit()
    return _answer(log)


def _reason() -> str:
    fields = Fields(optional_json_body())
    reason = fields.str("reason")
    fields.check()
    return reason


@bp.post("/logs/<id:log_id>/submit")
@allow()
def submit_log(log_id: int):
    return _transition(log_id, Action.SUBMIT)


@bp.post("/logs/<id:log_id>/withdraw")
@allow()
def withdraw_log(log_id: int):
    return _transition(log_id, Action.WITHDRAW)


@bp.post("/logs/<id:log_id>/verify")
@allow()
def verify_log(log_id: int):
    return _transition(log_id, Action.VERIFY)


@bp.post("/logs/<id:log_id>/reject")
@allow()
def reject_log(log_id: int):
    return _transition(log_id, Action.REJECT, _reason())


@bp.post("/logs/<id:log_id>/approve")
@allow()
def approve_log(log_id: int):
    return _transition(log_id, Action.APPROVE)


@bp.post("/logs/<id:log_id>/revoke")
@allow()
def revoke_log(log_id: int):
    return _transition(log_id, Action.REVOKE, _reason())


@bp.post("/logs/<id:log_id>/verifier")
@allow()
def change_log_verifier(log_id: int):
    """Name another verifier for a submitted log (``null``: on-site confirmation),
    e.g. when the one named has moved to another enterprise or department."""
    log = services.get_log(current_user, log_id)
    fields = Fields(json_body())
    if not fields.has("verifier_id"):
        fields.errors["verifier_id"] = _l("This field is required.")
    verifier_id = fields.int("verifier_id")
    fields.check()
    services.change_verifier(current_user, log, verifier_id)
    db.session.commit()
    return _answer(log)


@bp.post("/logs/approve")
@allow(Role.HEAD, Role.ADMIN)
def approve_logs():
    """Approve many at once; each id is answered on its own, in the order given
    (an id given twice is answered once)."""
    fields = Fields(json_body())
    ids = fields.ids("ids", BULK_MAX)
    fields.check()
    outcomes = services.bulk_approve(current_user, ids)
    db.session.commit()
    # One query reloads every approved log (the commit expired them).
    approved = queries.logs_by_id(outcome.log_id for outcome in outcomes if outcome.ok)
    results = [
        {"id": outcome.log_id, "ok": True, "log": serialise.log(approved[outcome.log_id])}
        if outcome.ok
        else {
            "id": outcome.log_id,
            "ok": False,
            "error": {"code": outcome.code, "message": outcome.message},
        }
        for outcome in outcomes
    ]
    return jsonify(results=results)


# --- on-site confirmation ------------------------------------------------------


@bp.post("/logs/<id:log_id>/confirmation-link")
@allow()
def create_confirmation_link(log_id: int):
    """A fresh single-use link for the confirmer's phone; it replaces any earlier one."""
    log = services.get_log(current_user, log_id)
    token, expires_at = services.issue_confirmation_link(current_user, log)
    db.session.commit()
    body = {
        "url": external_url("confirm.page", token=token),
        "expires_at": iso_utc(expires_at),
    }
    return created(body, "confirm.page", token=token)
