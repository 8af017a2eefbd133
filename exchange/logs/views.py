"""Pages for one's own logs: log hours, my logs, a log with its timeline, its actions.

Thin: the form becomes a LogInput, the service decides and changes, the view
commits once and redirects. Who may see or do what is in services/workflow only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from wtforms import SelectChoice

from exchange import offline
from exchange.accounts.models import Role, User
from exchange.db import MAX_ID
from exchange.errors import Conflict, ValidationError
from exchange.extensions import db
from exchange.forms import choices, optional_int
from exchange.i18n import _, _l
from exchange.logs import evidence as evidence_rules
from exchange.logs import queries, services
from exchange.logs.forms import FORMS, QUICK_HOURS, LogForm
from exchange.logs.models import CATEGORIES, ExchangeLog, LogKind
from exchange.logs.workflow import Action, Status
from exchange.org import queries as org_queries
from exchange.permissions import allow
from exchange.presentation.logs import CATEGORY_LABELS
from exchange.timeutil import college_today
from exchange.units import hours_number
from exchange.web import conflict_redirect, is_post, paginate, run_form, safe_next

bp = Blueprint("logs", __name__, url_prefix="/logs")

# Who logs hours: teachers and heads (practice), experts (teaching).
LOGGERS = (Role.TEACHER, Role.HEAD, Role.EXPERT)

# The buttons of the log page, in the order they are shown.
TRANSITIONS = (
    Action.SUBMIT,
    Action.VERIFY,
    Action.APPROVE,
    Action.WITHDRAW,
    Action.REJECT,
    Action.REVOKE,
)


# --- shared with every template ----------------------------------------------------


@dataclass(frozen=True)
class Todo:
    """The navigation's "To do" entry: where the work waits and how much of it."""

    endpoint: str
    count: int


def queue_counts_of_request() -> queries.QueueCounts:
    """The signed-in person's to-do counts, counted once per request (the navigation
    and the home page show the same numbers)."""
    if "exchange_queue_counts" not in g:
        g.exchange_queue_counts = queries.queue_counts(current_user)
    return g.exchange_queue_counts  # type: ignore[no-any-return]


def nav_todo() -> Todo | None:
    """Counted once per request, however many templates a request renders; none
    outside a request (an e-mail rendered by a command)."""
    if not has_request_context():
        return None
    if "exchange_todo" in g:
        return g.exchange_todo  # type: ignore[no-any-return]
    todo = None
    if current_user.is_authenticated:
        counts = queue_counts_of_request()
        if current_user.role in (Role.TEACHER, Role.EXPERT):
            todo = Todo("queues.verify", counts.to_verify)
        else:
            # Heads approve and may also be named verifier of teaching logs:
            # send them to whichever list has work, approvals first.
            only_verify = counts.to_approve == 0 and counts.to_verify > 0
            todo = Todo(
                "queues.verify" if only_verify else "queues.approve",
                counts.to_approve + counts.to_verify,
            )
    g.exchange_todo = todo
    return todo


# What the log templates ask of a log; create_app hands these and ``nav_todo`` to
# exchange.presentation.templates.register, with the labels.
TEMPLATE_HELPERS = {
    "needs_new_verifier": services.needs_new_verifier,
    "waiting": queries.waiting,
}


@bp.teardown_request
def _close_uploads(_error: BaseException | None) -> None:
    # Large uploads are spooled to temporary files: close them now rather than
    # whenever the garbage collector gets to them. Only if the body was parsed.
    if "files" in request.__dict__:
        for upload in request.files.values():
            upload.close()


# --- the form ------------------------------------------------------------------------


def _verifier_choices(kind: str, owner: User, places: list[Any]) -> list[SelectChoice]:
    """On-site confirmation first, then the possible verifiers grouped by place."""
    options = [SelectChoice("", _("On-site confirmation (no account needed)"))]
    options += [
        SelectChoice(user_id, name, optgroup=group)
        for user_id, name, group in queries.verifiers_by_place(kind, owner, [p.id for p in places])
    ]
    return options


def _gone_message(log: ExchangeLog) -> str:
    """What the owner and the heads read when the named verifier has moved away."""
    assert log.verifier is not None  # noqa: S101 - only asked for such logs
    return _(
        "%(name)s can no longer confirm this log: choose another verifier.",
        name=log.verifier.name,
    )


def _log_form(kind: str, owner: User, log: ExchangeLog | None = None) -> LogForm:
    form = FORMS[kind]()
    placeholder = [("", _("Choose…"))]
    form.category.choices = choices(
        placeholder + [(code, CATEGORY_LABELS[code]) for code in CATEGORIES[kind]]
    )
    places = queries.places(kind, owner)
    current_place = None
    if log is not None:
        current_place = log.enterprise if kind == LogKind.PRACTICE else log.department
    if current_place is not None and current_place.id not in {p.id for p in places}:
        places.append(current_place)
    place_field = form.enterprise_id if kind == LogKind.PRACTICE else form.department_id  # type: ignore[attr-defined]
    place_field.choices = choices(placeholder + [(p.id, p.name) for p in places])
    form.verifier_id.choices = _verifier_choices(kind, owner, places)
    if form.is_submitted():
        return form
    if log is None:
        defaults = services.defaults_for(owner)
        form.date.data = defaults.work_date
        if defaults.hours is not None:
            form.hours.data = hours_number(int(defaults.hours * 60))
        form.category.data = defaults.category if defaults.category in CATEGORIES[kind] else ""
        place_field.data = (
            defaults.enterprise_id if kind == LogKind.PRACTICE else defaults.department_id
        )
        form.verifier_id.data = defaults.verifier_id
        # A second tap, or a retried request, returns the first log (services.create_log).
        form.client_id.data = str(uuid.uuid4())
    else:
        form.date.data = log.work_date
        form.hours.data = hours_number(log.minutes)
        form.category.data = log.category
        form.description.data = log.description
        form.verifier_id.data = log.verifier_id
        if log.verifier is not None and not services.may_verify_at(
            log.verifier, log.kind, log.enterprise_id, log.department_id
        ):
            form.verifier_id.data = None
            form.verifier_id.errors = [_gone_message(log)]
        place_field.data = log.enterprise_id if kind == LogKind.PRACTICE else log.department_id
        if kind == LogKind.TEACHING:
            form.course.data = log.course  # type: ignore[attr-defined]
            form.cohort.data = log.cohort  # type: ignore[attr-defined]
            form.students.data = log.students  # type: ignore[attr-defined]
    return form


def _upload(form: LogForm) -> services.EvidenceUpload | None:
    file = form.evidence.data
    if not file or not getattr(file, "filename", ""):
        return None
    # One byte more than allowed is enough for the service to say it is too large.
    return services.EvidenceUpload(
        filename=file.filename, data=file.read(evidence_rules.MAX_BYTES + 1)
    )


def _log_input(form: Any, kind: str) -> services.LogInput:
    practice = kind == LogKind.PRACTICE
    return services.LogInput(
        work_date=form.date.data,
        hours=form.hours.data or "",
        category=form.category.data or "",
        description=form.description.data or "",
        enterprise_id=form.enterprise_id.data if practice else None,
        department_id=None if practice else form.department_id.data,
        course="" if practice else form.course.data or "",
        cohort="" if practice else form.cohort.data or "",
        students=None if practice else form.students.data,
        verifier_id=form.verifier_id.data,
        client_id=form.client_id.data or None,
        evidence=_upload(form),
        remove_evidence=bool(form.remove_evidence.data),
    )


def _wants_submit() -> bool:
    return request.form.get("intent") == "submit"


def _render_form(form: LogForm, kind: str, log: ExchangeLog | None) -> str:
    return render_template(
        "logs/form.html",
        form=form,
        kind=kind,
        log=log,
        quick_hours=QUICK_HOURS,
        today=college_today(),
    )


def _wants_json() -> bool:
    """Whether the form is asked for a machine-readable answer: the phone sending an
    entry saved offline (static/offline.js) does; a browser's page never does."""
    best = request.accept_mimetypes.best_match(("text/html", "application/json"))
    return best == "application/json"


def _form_json() -> Response:
    """What the phone needs before sending entries saved offline: a fresh CSRF token
    (the one in a form kept offline may have expired) and whose entries it may send."""
    return jsonify(
        csrf_token=generate_csrf(), client_id=str(uuid.uuid4()), owner=offline.owner_name()
    )


def _refusal_json(form: LogForm) -> tuple[Response, int]:
    """The form's errors, each with its field and the field's label, as the page shows them."""
    hidden = ("HiddenField", "CSRFTokenField")  # no label a person would recognise
    errors = [
        {
            "field": field.name,
            "label": "" if field.type in hidden else str(field.label.text),
            "message": str(message),
        }
        for field in form
        for message in field.errors
    ]
    errors += [{"field": "", "label": "", "message": str(message)} for message in form.form_errors]
    message = ValidationError.default_message
    return jsonify(message=str(message), errors=errors), 422


def _saved_json(log: ExchangeLog, created: bool) -> tuple[Response, int]:
    body = jsonify(
        id=log.id,
        status=log.status,
        created=created,
        url=url_for("logs.detail", log_id=log.id),
    )
    return body, 201 if created else 200


@bp.route("/new", methods=["GET", "POST"])
@allow(*LOGGERS)
def new():
    kind = services.log_kind_for(current_user.role)
    if kind is None:
        abort(403)
    answer_json = _wants_json()
    if answer_json and not is_post():
        return _form_json()
    form = _log_form(kind, current_user)
    submit = _wants_submit()
    result = run_form(
        form,
        lambda: services.create_log(current_user, _log_input(form, kind), submit=submit),
    )
    if result is None:
        return _refusal_json(form) if answer_json else _render_form(form, kind, None)
    log, created = result
    db.session.commit()
    if answer_json:
        return _saved_json(log, created)
    if not created:
        flash(_("This log had already been saved; here it is."), "info")
    elif submit:
        flash(_("Log submitted for verification."), "success")
    else:
        flash(_("Log saved as a draft."), "success")
    return redirect(url_for("logs.detail", log_id=log.id))


@bp.route("/<id:log_id>/edit", methods=["GET", "POST"])
@allow()
def edit(log_id: int):
    log = services.get_log(current_user, log_id)
    if Action.EDIT not in services.offered_actions(current_user, log):
        if log.owner_id != current_user.id:
            abort(403)
        flash(_("This log can no longer be changed."), "warning")
        return redirect(url_for("logs.detail", log_id=log.id))
    form = _log_form(log.kind, current_user, log)
    submit = _wants_submit()

    def save() -> ExchangeLog:
        services.update_log(current_user, log, _log_input(form, log.kind))
        if submit:
            services.transition(current_user, log, Action.SUBMIT)
        return log

    try:
        saved = run_form(form, save)
    except Conflict as error:
        return _conflict(log_id, error)
    if saved is None:
        return _render_form(form, log.kind, log)
    db.session.commit()
    flash(_("Log submitted for verification.") if submit else _("Log saved as a draft."), "success")
    return redirect(url_for("logs.detail", log_id=log.id))


@bp.route("/<id:log_id>/delete", methods=["POST"])
@allow()
def delete(log_id: int):
    log = services.get_log(current_user, log_id)
    try:
        services.delete_log(current_user, log)
    except Conflict as error:
        return _conflict(log_id, error)
    db.session.commit()
    flash(_("The draft has been deleted."), "success")
    return redirect(url_for("logs.mine"))


# --- my logs ---------------------------------------------------------------------------


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def _render_list(
    template: str,
    scope: str,
    owner_id: int | None = None,
    department_id: int | None = None,
    **extra: Any,
) -> str:
    """A list of logs of ``scope``, filtered by ?status= and ?period=."""
    status = request.args.get("status", "")
    if status not in {s.value for s in Status}:
        status = ""
    period_id = _id_arg("period")
    # The list and its totals are of the same logs.
    chosen: dict[str, Any] = {
        "status": status or None,
        "period_id": period_id,
        "owner_id": owner_id,
        "department_id": department_id,
    }
    stmt = queries.logs_query(current_user, scope, **chosen)
    totals = queries.logs_totals(current_user, scope, **chosen)
    return render_template(
        template,
        page=paginate(stmt),
        totals=totals,
        periods=org_queries.periods(),
        statuses=[s.value for s in Status],
        status=status,
        period_id=period_id,
        department_id=department_id,
        **extra,
    )


@bp.route("/")
@allow(*LOGGERS)
def mine():
    return _render_list("logs/mine.html", "mine")


@bp.route("/department")
@allow(Role.HEAD, Role.ADMIN)
def department():
    """The logs a head (own department) or an admin may see, e.g. the approved logs
    behind one person's hours in a reward round."""
    owner_id = _id_arg("owner")
    owner = services.list_owner(current_user, owner_id) if owner_id else None
    # An administrator looking at one person's logs also sees the drafts they deleted.
    deleted = (
        queries.deleted_drafts(current_user, owner)
        if owner is not None and current_user.role == Role.ADMIN
        else []
    )
    return _render_list(
        "logs/department.html",
        "department",
        owner_id=owner_id,
        department_id=_id_arg("department"),
        owner=owner,
        deleted=deleted,
    )


# --- one log ----------------------------------------------------------------------------


@bp.route("/<id:log_id>")
@allow()
def detail(log_id: int):
    log = services.get_log(current_user, log_id)
    offered = services.offered_actions(current_user, log)
    is_owner = log.owner_id == current_user.id
    can_change_verifier = services.can_change_verifier(current_user, log)
    place = log.enterprise if log.kind == LogKind.PRACTICE else log.department
    return render_template(
        "logs/detail.html",
        log=log,
        verifier_gone=_gone_message(log) if services.needs_new_verifier(log) else None,
        verifier_choices=_verifier_choices(log.kind, log.owner, [place])
        if can_change_verifier
        else None,
        transitions=[action.value for action in TRANSITIONS if action in offered],
        can_edit=Action.EDIT in offered,
        can_delete=Action.DELETE in offered,
        # The QR code is for the owner to show on site while the log waits for confirmation.
        can_show_qr=services.can_issue_confirmation(current_user, log),
        is_owner=is_owner,
        next_url=safe_next(request.args.get("next")),
        flags=queries.log_flags([log.id]).get(log.id, []),
        onsite=queries.onsite_confirmations(log),
    )


def _done_message(action: Action) -> str:
    # Spelled out so the extractor finds each message.
    messages = {
        Action.SUBMIT: _("Log submitted for verification."),
        Action.WITHDRAW: _("Log withdrawn: it is a draft again."),
        Action.VERIFY: _("Log verified."),
        Action.REJECT: _("Log rejected."),
        Action.APPROVE: _("Log approved."),
        Action.REVOKE: _("Approval revoked."),
    }
    return messages[action]


def _conflict(log_id: int, error: Conflict) -> Any:
    """Someone else changed the log first (or its period is locked): say so, show it as it is."""
    return conflict_redirect(
        error,
        url_for("logs.detail", log_id=log_id),
        changed=_l("This log has changed in the meantime. Here it is as it stands now."),
    )


@bp.route("/<id:log_id>/<any(submit, withdraw, verify, reject, approve, revoke):action>",
          methods=["POST"])  # fmt: skip
@allow()
def act(log_id: int, action: str):
    log = services.get_log(current_user, log_id)
    back = safe_next(request.form.get("next")) or url_for("logs.detail", log_id=log.id)
    if action == Action.APPROVE and request.form.get("confirm_flagged") != "1":
        # Flags never block, but approving a flagged log takes one more tap.
        flags = queries.log_flags([log.id]).get(log.id, [])
        if flags and Action.APPROVE in services.offered_actions(current_user, log):
            return render_template(
                "logs/confirm_approve.html",
                logs=[log],
                flags={log.id: flags},
                ids=[],
                action=url_for("logs.act", log_id=log.id, action="approve"),
                back=back,
                next_url=safe_next(request.form.get("next")),
            )
    try:
        services.transition(current_user, log, Action(action), request.form.get("reason"))
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.fields.get("reason") or error.message), "error")
        return redirect(back)
    except Conflict as error:
        return _conflict(log_id, error)
    db.session.commit()
    flash(_done_message(Action(action)), "success")
    return redirect(back)


@bp.route("/<id:log_id>/verifier", methods=["POST"])
@allow()
def change_verifier(log_id: int):
    """Name another verifier for a submitted log (its owner, its heads, an admin)."""
    log = services.get_log(current_user, log_id)
    back = url_for("logs.detail", log_id=log.id)
    try:
        verifier_id = optional_int(request.form.get("verifier_id"))
    except ValueError:
        verifier_id = 0  # names no one: the service says to choose an offered verifier
    try:
        services.change_verifier(current_user, log, verifier_id)
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.fields.get("verifier_id") or error.message), "error")
        return redirect(back)
    except Conflict as error:
        return _conflict(log_id, error)
    db.session.commit()
    flash(_("Verifier changed."), "success")
    return redirect(back)


# PDFs open in the browser's own viewer, which a page policy without plugins blocks;
# the file is served as what its content is (nosniff), never as a page of this site.
EVIDENCE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'"


@bp.route("/<id:log_id>/evidence")
@allow()
def evidence(log_id: int):
    log = services.get_log(current_user, log_id)
    stored = services.evidence_of(log)
    if stored is None:
        abort(404)
    g.no_store = True
    response = send_file(
        BytesIO(stored.content),
        mimetype=log.evidence_type,
        download_name=log.evidence_name,
        as_attachment=False,
        etag=stored.sha256,
        last_modified=stored.stored_at,
    )
    response.headers["Content-Security-Policy"] = EVIDENCE_CSP
    return response
