"""API endpoints for exchange logs (SPEC §3, §7): create, list, read, edit, delete,
the workflow transitions, bulk approval and on-site confirmation links.

Thin, like the pages: JSON → LogInput → the same services → one commit → JSON.
Who may see or do what is decided in exchange.logs.services and .workflow only;
a log the caller may not see answers 404 whatever the method, so nothing leaks.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from exchange.accounts.models import Role
from exchange.api import bp, models, serialise
from exchange.api.helpers import created, paginated
from exchange.api.spec import operation, parse_body
from exchange.errors import Conflict, ValidationError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.links import external_url
from exchange.logs import queries, services
from exchange.logs.models import ExchangeLog, LogKind
from exchange.logs.workflow import Action
from exchange.permissions import allow
from exchange.timeutil import iso_utc

TAG = "logs"
SEEN = "404 when the caller may not see the log."


def _log_input(body: models.LogInput | models.LogChange, kind: str | None) -> services.LogInput:
    """The log fields of a request body. ``kind`` is the one the log has (or will
    have): a body naming another is refused on ``kind``."""
    if body.kind != kind:
        if not body.kind:
            problem = _l("This field is required.")
        elif body.kind not in tuple(LogKind):
            problem = _l("Choose one of the offered values.")
        else:
            problem = _l("Teachers and heads log practice; experts log teaching.")
        raise ValidationError(fields={"kind": problem})
    return services.LogInput(
        work_date=body.date,
        hours=body.hours,
        category=body.category,
        description=body.description,
        enterprise_id=body.enterprise_id,
        department_id=body.department_id,
        course=body.course or "",
        cohort=body.cohort or "",
        students=body.students,
        verifier_id=body.verifier_id,
        client_id=getattr(body, "client_id", None) or None,
    )


def _answer(log: ExchangeLog) -> Any:
    """One log with its audit trail: the answer of every single-log endpoint."""
    return jsonify(serialise.log(log, history=True))


# --- create, list, read, edit, delete ---------------------------------------


@bp.post("/logs")
@allow(Role.TEACHER, Role.HEAD, Role.EXPERT)
@operation(
    "Log hours",
    tag=TAG,
    who="teacher, head, expert",
    description="Creates a draft (or, with `submit`, a submitted log). Every invalid field "
    "is named in `error.fields`: a future date or one outside an open period, hours that are "
    "not quarter hours from 0.25 to 12 or that bring the day over 12 h, an enterprise without "
    "an agreement in force, a verifier who may not verify it. Evidence (photo or PDF) is "
    "attached on the log's web page; the API does not take uploads.",
    body=models.LogInput,
    errors=(409,),
    ok=(201, models.LogDetail, "The new log."),
    also=[(200, models.LogDetail, "This `client_id` was sent before: the first log, unchanged.")],
)
def create_log(body: models.LogInput):
    """A new draft (or, with ``submit``, a submitted log); 200 with the first log
    when the caller already sent this ``client_id``."""
    data = _log_input(body, services.log_kind_for(current_user.role))
    log, is_new = services.create_log(current_user, data, submit=body.submit)
    db.session.commit()
    if not is_new:
        return _answer(log)
    return created(serialise.log(log, history=True), "api.get_log", log_id=log.id)


@bp.get("/logs")
@allow()
@operation(
    "List logs",
    tag=TAG,
    who="any",
    description="`mine` (default): the caller's own logs; `verify`: submitted logs naming the "
    "caller as verifier (while the caller is still of the log's enterprise or department); "
    "`approve`: verified logs the caller may approve; `department`: every log a head or an "
    "admin may see (others: 403). The queues (`verify`, `approve`) come the longest waiting "
    "first (since submitted, since verified), the other lists newest date first. `flagged=1`: "
    "only logs with an integrity flag. Each log carries its `flags`. Without `history`.",
    query=models.LogQuery,
    errors=(422,),
    ok=(200, models.LogPage, "One page."),
)
def list_logs(query: models.LogQuery):
    stmt = queries.logs_query(
        current_user,
        query.scope or "mine",
        status=query.status,
        kind=query.kind,
        period_id=query.period,
        flagged=query.flagged == "1",
    )
    answer = paginated(stmt, lambda log: log, query)
    flags = queries.log_flags(log.id for log in answer["items"])
    answer["items"] = [serialise.log(log, flags=flags.get(log.id, [])) for log in answer["items"]]
    return jsonify(answer)


@bp.get("/logs/<id:log_id>")
@allow()
@operation(
    "One log with its history",
    tag=TAG,
    who="the owner, the named verifier, heads of its department, admin",
    description="Anyone else gets 404, also a verifier who has since moved to another "
    "enterprise or department.",
    ok=(200, models.LogDetail, "The log."),
)
def get_log(log_id: int):
    return _answer(services.get_log(current_user, log_id))


@bp.patch("/logs/<id:log_id>")
@allow()
@operation(
    "Edit a log",
    tag=TAG,
    who="the owner",
    description="Only the fields given change; the whole log is then checked as on create. "
    "Only a draft or a rejected log (which becomes a draft again); otherwise 409. A "
    "`version` other than the log's answers 409, so a client cannot overwrite a change it "
    "has not seen.",
    body=models.LogPatch,
    errors=(409,),
    ok=(200, models.LogDetail, "The log as saved."),
)
def update_log(log_id: int, body: models.LogChange):
    log = services.get_log(current_user, log_id)
    given = body.model_dump(exclude_unset=True)
    merged = parse_body(models.LogPatch, {**serialise.log(log, flags=[]), **given})
    data = _log_input(merged, log.kind)
    if "version" in given and body.version != log.version:
        raise Conflict()
    services.update_log(current_user, log, data)
    db.session.commit()
    return _answer(log)


@bp.delete("/logs/<id:log_id>")
@allow()
@operation(
    "Delete a draft",
    tag=TAG,
    who="the owner",
    description="Only a draft; otherwise 409.",
    errors=(409,),
    ok=(204, None, "Deleted."),
)
def delete_log(log_id: int):
    services.delete_log(current_user, services.get_log(current_user, log_id))
    db.session.commit()
    return "", 204


_EDIT = "Counts as an edit: only a draft or a rejected log (which becomes a draft again)."


@bp.put("/logs/<id:log_id>/evidence")
@allow()
@operation(
    "Attach evidence",
    tag=TAG,
    who="the owner",
    description="The request body is the file itself: a photo (JPEG, PNG, GIF, WebP, HEIC) or "
    "a PDF of at most 5 MB, recognised by its content whatever the Content-Type says. It "
    f"replaces any earlier file. {_EDIT} The log's `evidence.url` serves it to people signed "
    "in to the web pages. 422 names `evidence` for another kind of file or one over 5 MB.",
    query=models.EvidenceName,
    file_body=("application/octet-stream", "image/*", "application/pdf"),
    errors=(409, 413),
    ok=(200, models.LogDetail, "The log as saved."),
)
def put_log_evidence(log_id: int, query: models.EvidenceName):
    log = services.get_log(current_user, log_id)
    # MAX_CONTENT_LENGTH refuses a much larger body (413) before it is read.
    upload = services.EvidenceUpload(
        filename=query.name or "evidence", data=request.get_data(cache=False)
    )
    services.replace_evidence(current_user, log, upload)
    db.session.commit()
    return _answer(log)


@bp.delete("/logs/<id:log_id>/evidence")
@allow()
@operation(
    "Remove evidence",
    tag=TAG,
    who="the owner",
    description=_EDIT,
    errors=(409,),
    ok=(200, models.LogDetail, "The log as saved."),
)
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


def _step(summary: str, who: str, what: str, *, reason: bool = False) -> Any:
    description = (
        f"{what} 409 when the log's state does not allow it (it has changed) or its period "
        f"is locked; {SEEN}"
    )
    if reason:
        description += " 422 names `reason` when it is missing or longer than 500 characters."
    return operation(
        summary,
        tag=TAG,
        who=who,
        description=description,
        body=models.Reason if reason else None,
        body_required=False,
        errors=(409,),
        ok=(200, models.LogDetail, "The log as it is now."),
    )


@bp.post("/logs/<id:log_id>/submit")
@allow()
@_step("Submit a log", "the owner", "From draft to submitted.")
def submit_log(log_id: int):
    return _transition(log_id, Action.SUBMIT)


@bp.post("/logs/<id:log_id>/withdraw")
@allow()
@_step("Withdraw a log", "the owner", "From submitted back to draft.")
def withdraw_log(log_id: int):
    return _transition(log_id, Action.WITHDRAW)


@bp.post("/logs/<id:log_id>/verify")
@allow()
@_step("Verify a log", "the named verifier, never the owner", "From submitted to verified.")
def verify_log(log_id: int):
    return _transition(log_id, Action.VERIFY)


@bp.post("/logs/<id:log_id>/reject")
@allow()
@_step(
    "Reject a log",
    "the named verifier (submitted), a head of its department or an admin (verified); never "
    "the owner",
    "To rejected; the owner can then edit it. Takes a reason.",
    reason=True,
)
def reject_log(log_id: int, body: models.Reason):
    return _transition(log_id, Action.REJECT, body.reason or "")


@bp.post("/logs/<id:log_id>/approve")
@allow()
@_step(
    "Approve a log",
    "a head of its department or an admin; never the owner",
    "From verified to approved.",
)
def approve_log(log_id: int):
    return _transition(log_id, Action.APPROVE)


@bp.post("/logs/<id:log_id>/revoke")
@allow()
@_step(
    "Revoke an approved log",
    "admin",
    "From approved to revoked, while the period is open. Takes a reason.",
    reason=True,
)
def revoke_log(log_id: int, body: models.Reason):
    return _transition(log_id, Action.REVOKE, body.reason or "")


@bp.post("/logs/<id:log_id>/verifier")
@allow()
@operation(
    "Name another verifier",
    tag=TAG,
    who="the owner, heads of its department, admin",
    description="For a submitted log, e.g. when the verifier named has moved to another "
    "enterprise or department (verifier rights follow the person's current one). The history "
    "records it as an `edit` that leaves the status. 409 when the log is not submitted or its "
    "period is locked; 422 names `verifier_id` for someone who may not verify this log. The "
    "named verifier and anyone else get 403 or 404.",
    body=models.VerifierChoice,
    errors=(409,),
    ok=(200, models.LogDetail, "The log as saved."),
)
def change_log_verifier(log_id: int, body: models.VerifierChoice):
    """Name another verifier for a submitted log (``null``: on-site confirmation),
    e.g. when the one named has moved to another enterprise or department."""
    log = services.get_log(current_user, log_id)
    if "verifier_id" not in body.model_fields_set:  # null is a choice; absent is not
        raise ValidationError(fields={"verifier_id": _l("This field is required.")})
    services.change_verifier(current_user, log, body.verifier_id)
    db.session.commit()
    return _answer(log)


@bp.post("/logs/approve")
@allow(Role.HEAD, Role.ADMIN)
@operation(
    "Approve many logs",
    tag=TAG,
    who="head, admin",
    description="Each id is approved on its own: one that cannot be approved (not found, not "
    "verified, the caller's own) leaves the others alone and is answered with its error. At "
    f"most {models.BULK_MAX} ids.",
    body=models.BulkApproval,
    ok=(200, models.BulkApprovalResult, "One answer per id, in the order given."),
)
def approve_logs(body: models.BulkApproval):
    """Approve many at once; each id is answered on its own, in the order given
    (an id given twice is answered once)."""
    outcomes = services.bulk_approve(current_user, body.ids)
    db.session.commit()
    # One query reloads every approved log (the commit expired them).
    approved = queries.logs_by_id(outcome.log_id for outcome in outcomes if outcome.ok)
    flags = queries.log_flags(approved)
    results = [
        {
            "id": outcome.log_id,
            "ok": True,
            "log": serialise.log(approved[outcome.log_id], flags=flags.get(outcome.log_id, [])),
        }
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
@operation(
    "A link for on-site confirmation",
    tag=TAG,
    who="the owner",
    description="For a submitted log: a signed, single-use link valid for 7 days, for a "
    "confirmer without an account. A new link replaces the previous one. 409 when the log "
    "is not submitted or its period is locked.",
    errors=(409,),
    ok=(201, models.ConfirmationLink, "The link."),
)
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
