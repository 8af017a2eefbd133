"""The staff import page, ``/admin/users/import`` (SPEC §8): upload, preview, confirm.

Thin: the rules are in ``import_services``. Between the preview and the
confirmation the rows travel in the page itself, signed (``exchange.signing``) and
compressed, so that any app server can take the confirmation and nothing is
left on one server's disk. The confirmation checks them again against the
database; if the outcome is no longer what the preview showed, it shows the new
preview instead of writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from itsdangerous import BadSignature, SignatureExpired
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import HiddenField

from exchange import signing
from exchange.accounts import import_services, importing
from exchange.accounts.import_services import ImportPlan, RowStatus
from exchange.accounts.models import Role
from exchange.accounts.views import admin_bp
from exchange.errors import ValidationError
from exchange.exports import to_csv
from exchange.extensions import db
from exchange.i18n import _, _l, ngettext
from exchange.permissions import allow

SALT = "exchange.staff-import"
PREVIEW_SECONDS = 3600  # a preview is confirmed within the hour, or the file uploaded again
# The signed rows come back as one form field, and a form field may be at most
# MAX_FORM_MEMORY_SIZE (Flask's default 500 000 bytes) long (werkzeug before 3.1.9
# holds url-encoded forms to it too). Two thousand rows take about 30 000 bytes.
PAYLOAD_MARGIN = 10_000

ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COLUMN_LABELS = {
    "email": _l("E-mail"),
    "name": _l("Name"),
    "role": _l("Role"),
    "department": _l("Department code"),
    "enterprise": _l("Enterprise code"),
    "staff_number": _l("Staff number"),
    "language": _l("Language"),
}


class UploadForm(FlaskForm):
    file = FileField(_l("Staff list (CSV or XLSX)"), validators=[FileRequired()])


class ConfirmForm(FlaskForm):
    payload = HiddenField()


@dataclass(frozen=True)
class Carried:
    sheet: importing.Sheet
    digest: str
    filename: str


def _dump(plan: ImportPlan, filename: str) -> str:
    sheet = plan.sheet
    return signing.serializer(SALT).dumps(
        {
            "by": current_user.id,
            "plan": plan.digest(),
            "file": filename,
            "columns": sheet.columns,
            "ignored": sheet.ignored,
            "rows": [[row.number, [row.cells[f] for f in importing.FIELDS]] for row in sheet.rows],
        }
    )


def _load(payload: str) -> Carried:
    """The rows a preview carried, if this app signed them for this administrator."""
    claims = signing.serializer(SALT).loads(payload, max_age=PREVIEW_SECONDS)
    if not isinstance(claims, dict) or claims.get("by") != current_user.id:
        raise BadSignature("signed for another administrator")
    rows = [
        importing.SheetRow(int(number), dict(zip(importing.FIELDS, cells, strict=True)))
        for number, cells in claims["rows"]
    ]
    sheet = importing.Sheet(dict(claims["columns"]), rows, list(claims["ignored"]))
    return Carried(sheet, str(claims["plan"]), str(claims["file"]))


def _payload_limit() -> int:
    return int(current_app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000) - PAYLOAD_MARGIN


def _upload_page(form: UploadForm, status: int = 200, error: Any = None) -> tuple[str, int]:
    if error is not None:
        form.file.errors = [*form.file.errors, error]
    return (
        render_template(
            "admin/users_import.html",
            form=form,
            headers=importing.HEADERS,
            labels=COLUMN_LABELS,
            roles=importing.ROLE_NAMES,
            accept=ACCEPT,
            max_rows=importing.MAX_ROWS,
        ),
        status,
    )


def _preview_page(plan: ImportPlan, filename: str) -> str | tuple[str, int]:
    payload = _dump(plan, filename)
    if len(payload) > _payload_limit():
        return _upload_page(
            UploadForm(formdata=None),
            422,
            _("This file is too large to preview at once. Split it into smaller files."),
        )
    form = ConfirmForm(formdata=None, payload=payload)
    return render_template(
        "admin/users_import_preview.html",
        plan=plan,
        form=form,
        filename=filename,
        labels=COLUMN_LABELS,
        RowStatus=RowStatus,
    )


@admin_bp.errorhandler(RequestEntityTooLarge)
def file_too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    # Beyond MAX_CONTENT_LENGTH the upload is refused before any view sees it; on this
    # page, say so where the file was chosen rather than on a bare error page.
    if request.endpoint not in ("users.import_users", "users.import_confirm"):
        return render_template("errors/error.html", status=413, message=error.description), 413
    too_large = importing.SheetError(importing.FileProblem.TOO_LARGE)
    return _upload_page(UploadForm(formdata=None), 413, import_services.file_message(too_large))


@admin_bp.route("/import", methods=["GET", "POST"])
@allow(Role.ADMIN)
def import_users():
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 422 if form.is_submitted() else 200)
    upload = form.file.data
    try:
        sheet = importing.read_sheet(upload.read(importing.MAX_FILE_BYTES + 1))
    except importing.SheetError as error:
        return _upload_page(form, 422, import_services.file_message(error))
    filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
    return _preview_page(import_services.plan_import(current_user, sheet), filename)


@admin_bp.route("/import/confirm", methods=["POST"])
@allow(Role.ADMIN)
def import_confirm():
    form = ConfirmForm()
    try:
        if not form.validate_on_submit():
            raise BadSignature("no payload")
        carried = _load(form.payload.data or "")
    except SignatureExpired:
        return _upload_page(
            UploadForm(formdata=None), 400, _("The preview has expired. Upload the file again.")
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return _upload_page(
            UploadForm(formdata=None),
            400,
            _("The preview could not be verified. Upload the file again."),
        )
    plan = import_services.plan_import(current_user, carried.sheet)
    if plan.digest() == carried.digest:
        try:
            result = import_services.run_import(current_user, plan)
        except ValidationError:
            db.session.rollback()  # taken in between by another administrator: check again
            plan = import_services.plan_import(current_user, carried.sheet)
        else:
            db.session.commit()
            invitations = import_services.send_invitations(
                result.created, wait_seconds=import_services.MAIL_WAIT_SECONDS
            )
            _flash_result(plan, invitations)
            return redirect(url_for("users.index"))
    flash(_("Something changed since the preview. Check the rows again before you confirm."),
          "warning")  # fmt: skip
    return _preview_page(plan, carried.filename)


def _flash_result(plan: ImportPlan, invitations: import_services.Invitations) -> None:
    counts = plan.counts
    flash(
        _(
            "Import done: %(new)d new, %(changed)d changed, %(unchanged)d unchanged.",
            new=counts[RowStatus.NEW],
            changed=counts[RowStatus.CHANGED],
            unchanged=counts[RowStatus.UNCHANGED],
        ),
        "success",
    )
    if counts[RowStatus.ERROR]:
        flash(
            ngettext(
                "%(num)d row with errors was not imported.",
                "%(num)d rows with errors were not imported.",
                counts[RowStatus.ERROR],
            ),
            "warning",
        )
    if invitations.later:
        flash(
            ngettext(
                "%(num)d more set-password e-mail is being sent in the background.",
                "%(num)d more set-password e-mails are being sent in the background.",
                invitations.later,
            ),
            "info",
        )
    if invitations.failed:
        flash(
            _(
                "The set-password e-mail could not be sent to %(emails)s. They can use "
                "“Forgot password?” on the sign-in page.",
                emails=", ".join(invitations.failed),
            ),
            "error",
        )


@admin_bp.route("/import/template.csv")
@allow(Role.ADMIN)
def import_template() -> Response:
    """An empty staff list with the English headers, and one example row."""
    body = to_csv(
        list(importing.FIELDS),
        [["li.na@example.edu", "Li Na", "teacher", "CM", None, "T2019034", "zh_Hans"]],
    )
    return Response(
        body,
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="staff-import.csv"'},
    )
