"""The staff import (SPEC §8 ``import-users``, page ``/admin/users/import``).

A staff list (``importing.read_sheet``) becomes a plan: each row new, changed
(which fields), unchanged or refused with its reasons, by the same checks as the
user form (``services._check_user``). Nothing is written until the plan is
carried out: every row that passed, in the caller's one transaction, new people
through ``create_invited_user`` and changes through ``update_user`` — the user
form's service, so a change of role, department or enterprise ends the person's
sessions as the form's does. The page and the command line are two faces of it.

A person is matched by e-mail address (case-insensitive); the e-mail address is
therefore never changed by an import. An empty staff-number cell keeps the number
a person already has, and an empty language cell the language. Whether an account
is active is the form's business and stays as it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flask import Flask, current_app
from sqlalchemy import false, inspect, select, update

from exchange.accounts import importing, services
from exchange.accounts.importing import FileProblem, RowProblem, Sheet, SheetError, SheetRow
from exchange.accounts.models import Role, User
from exchange.accounts.reset import send_set_password_email
from exchange.extensions import db
from exchange.i18n import _l
from exchange.org.models import Department, Enterprise

log = logging.getLogger(__name__)

# The user service's field names → the import's columns.
COLUMN_FOR_FIELD = {
    "email": "email",
    "name": "name",
    "role": "role",
    "department_id": "department",
    "enterprise_id": "enterprise",
    "staff_number": "staff_number",
    "locale": "language",
}


class RowStatus(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True)
class Change:
    column: str  # a field of ``importing.FIELDS``
    before: str
    after: str


@dataclass(frozen=True)
class RowPlan:
    number: int
    cells: dict[str, str]
    status: RowStatus
    changes: tuple[Change, ...] = ()
    errors: dict[str, Any] = field(default_factory=dict)  # column → message
    user: User | None = None  # the person the e-mail address names
    data: services.UserInput | None = None  # what is written (new and changed rows)


@dataclass(frozen=True)
class ImportPlan:
    sheet: Sheet
    rows: list[RowPlan]

    @property
    def counts(self) -> dict[RowStatus, int]:
        found = Counter(row.status for row in self.rows)
        return {status: found[status] for status in RowStatus}

    @property
    def to_write(self) -> list[RowPlan]:
        return [row for row in self.rows if row.status in (RowStatus.NEW, RowStatus.CHANGED)]

    def digest(self) -> str:
        """What the plan would do, in a few bytes: a confirmation carries it, and the
        import runs only if checking the same rows again still comes to this."""
        outline = [
            [row.number, row.status, [[c.column, c.after] for c in row.changes],
             sorted(row.errors)]
            for row in self.rows
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(outline, ensure_ascii=False).encode()).hexdigest()[:32]


@dataclass
class ImportResult:
    created: list[User] = field(default_factory=list)
    updated: list[User] = field(default_factory=list)


# --- messages ------------------------------------------------------------------------------


def file_message(error: SheetError) -> Any:
    """Why a file cannot be imported, in the reader's language."""
    match error.problem:
        case FileProblem.TOO_LARGE:
            return _l(
                "The file is too large: at most %(size)s and %(rows)d rows.",
                size="2 MB",
                rows=importing.MAX_ROWS,
            )
        case FileProblem.EMPTY:
            return _l("The file has no rows of people below its header row.")
        case FileProblem.OLD_EXCEL:
            return _l(
                "This is an old Excel workbook (.xls). Save it as .xlsx or as CSV and try again."
            )
        case FileProblem.UNREADABLE_XLSX:
            return _l("The file could not be read as an Excel workbook (.xlsx).")
        case FileProblem.NOT_TEXT:
            return _l(
                "The file is neither an Excel workbook (.xlsx) nor a CSV file in UTF-8 or GBK."
            )
        case FileProblem.TOO_MANY_ROWS:
            return _l(
                "The file has more than %(rows)d rows of people. Split it into smaller files.",
                rows=importing.MAX_ROWS,
            )
        case FileProblem.MISSING_COLUMNS:
            return _l("The file has no column for: %(columns)s.", columns=error.detail)
        case FileProblem.REPEATED_COLUMN:
            return _l("Two columns of the file mean the same: “%(header)s”.", header=error.detail)


def _row_message(problem: importing.Problem) -> Any:
    match problem.problem:
        case RowProblem.UNKNOWN_ROLE:
            return _l("Unknown role: use teacher, expert, head or admin.")
        case RowProblem.UNKNOWN_LANGUAGE:
            return _l("Unknown language: use en (English) or zh_Hans (中文).")
        case RowProblem.NO_DEPARTMENT_FOR_ROLE:
            return _l("Only teachers and heads belong to a department: leave this cell empty.")
        case RowProblem.NO_ENTERPRISE_FOR_ROLE:
            return _l("Only experts belong to an enterprise: leave this cell empty.")
        case RowProblem.REPEATED:
            rows = ", ".join(str(n) for n in problem.rows)
            if problem.field == "email":
                return _l("The same e-mail address is also on row %(rows)s.", rows=rows)
            return _l("The same staff number is also on row %(rows)s.", rows=rows)
    return _l("Choose one of the offered values.")  # pragma: no cover


UNKNOWN_DEPARTMENT = _l("No department has this code.")
UNKNOWN_ENTERPRISE = _l("No enterprise has this code.")
OWN_ACCOUNT = _l("Change your own account on its form, not by an import.")


# --- planning ------------------------------------------------------------------------------


def _known(rows: Iterable[SheetRow]) -> services.KnownUsers:
    """The accounts the file's addresses and staff numbers name, in a few queries
    whatever the file's size: the per-person checks then ask no more of the database."""
    rows = list(rows)
    return services.KnownUsers.load(
        (row.cells["email"] for row in rows), (row.cells["staff_number"] for row in rows)
    )


def _departments() -> dict[str, Department]:
    """Departments by code, compared case-insensitively as ``create-user`` does."""
    found = db.session.execute(select(Department)).scalars()
    return {department.code.upper(): department for department in found}


def _enterprises() -> dict[str, Enterprise]:
    found = db.session.execute(select(Enterprise)).scalars()
    return {enterprise.code.upper(): enterprise for enterprise in found}


def _display(record: Department | Enterprise | None) -> str:
    return record.code if record is not None else ""


def plan_import(actor: User | None, sheet: Sheet) -> ImportPlan:
    """Check every row of ``sheet`` against the database and say what importing it would
    do; nothing is written. ``actor`` None is the command line (trusted)."""
    if actor is not None:
        services.require_admin(actor)
    departments = _departments()
    enterprises = _enterprises()
    known = _known(sheet.rows)
    twice = {
        "email": importing.repeated(sheet.rows, "email", str.lower),
        "staff_number": importing.repeated(
            sheet.rows, "staff_number", services.normalise_staff_number
        ),
    }
    rows = [
        _plan_row(actor, sheet, row, departments, enterprises, known, twice) for row in sheet.rows
    ]
    return ImportPlan(sheet, rows)


def _plan_row(
    actor: User | None,
    sheet: Sheet,
    row: SheetRow,
    departments: dict[str, Department],
    enterprises: dict[str, Enterprise],
    known: services.KnownUsers,
    twice: dict[str, dict[int, tuple[int, ...]]],
) -> RowPlan:
    cells = row.cells
    errors: dict[str, Any] = {}
    for problem in importing.row_problems(cells):
        errors.setdefault(problem.field, _row_message(problem))
    for name, found in twice.items():
        if row.number in found:
            problem = importing.Problem(name, RowProblem.REPEATED, found[row.number])
            errors.setdefault(name, _row_message(problem))

    department = departments.get(cells["department"].upper()) if cells["department"] else None
    if cells["department"] and department is None:
        errors.setdefault("department", UNKNOWN_DEPARTMENT)
    enterprise = enterprises.get(cells["enterprise"].upper()) if cells["enterprise"] else None
    if cells["enterprise"] and enterprise is None:
        errors.setdefault("enterprise", UNKNOWN_ENTERPRISE)

    user = known.email(cells["email"])
    role = importing.parse_role(cells["role"]) or cells["role"]
    data = services.UserInput(
        email=cells["email"],
        name=cells["name"],
        role=role,
        department_id=department.id if department else None,
        enterprise_id=enterprise.id if enterprise else None,
        active=user.active if user else True,
        # An empty cell keeps the language a person chose (or the browser's, when new).
        locale=importing.parse_language(cells["language"]) or (user.locale if user else None),
        # An empty cell (or no such column) keeps the number a person already has.
        staff_number=cells["staff_number"] or (user.staff_number if user else None),
    )
    for name, message in check_person(data, user, known).items():
        errors.setdefault(COLUMN_FOR_FIELD.get(name, name), message)

    if errors:
        in_order = {name: errors[name] for name in importing.FIELDS if name in errors}
        in_order.update(errors)  # anything else after the columns
        return RowPlan(row.number, cells, RowStatus.ERROR, errors=in_order, user=user)
    if user is None:
        return RowPlan(row.number, cells, RowStatus.NEW, data=data)
    changes = _changes(user, data, department, enterprise)
    if not changes:
        return RowPlan(row.number, cells, RowStatus.UNCHANGED, user=user)
    if actor is not None and user.id == actor.id:
        # The form guards an administrator's own access; an import does not try to.
        return RowPlan(row.number, cells, RowStatus.ERROR, errors={"email": OWN_ACCOUNT}, user=user)
    return RowPlan(row.number, cells, RowStatus.CHANGED, changes, user=user, data=data)


def check_person(
    data: services.UserInput, user: User | None, known: services.KnownUsers | None = None
) -> dict[str, Any]:
    """The user form's checks of ``data`` (for ``user``, or a new account), but for the
    password, which an imported account does not have yet."""
    errors = services._check_user(data, existing=user, known=known)
    errors.fields.pop("password", None)
    return errors.fields


def _changes(
    user: User,
    data: services.UserInput,
    department: Department | None,
    enterprise: Enterprise | None,
) -> tuple[Change, ...]:
    """What writing ``data`` would change of ``user``, as the user service writes it."""
    role = Role(data.role)
    department = department if role.needs_department else None
    enterprise = enterprise if role.needs_enterprise else None
    pairs: Sequence[tuple[str, str, str]] = (
        ("name", user.name, data.name.strip()),
        ("role", user.role, role.value),
        ("department", _display(user.department), _display(department)),
        ("enterprise", _display(user.enterprise), _display(enterprise)),
        (
            "staff_number",
            user.staff_number or "",
            services.normalise_staff_number(data.staff_number) or "",
        ),
        ("language", user.locale or "", data.locale or ""),
    )
    return tuple(
        Change(column, before, after) for column, before, after in pairs if before != after
    )


# --- carrying it out -----------------------------------------------------------------------


def command_line_actor() -> User:
    """Who the command line acts as when it changes a person: an administrator that is
    nobody's account (never stored), since ``update_user`` asks for one. The command
    line is trusted, as ``create_user(None, …)`` trusts it."""
    return User(role=Role.ADMIN.value, name="command line")


def _begin_writing() -> None:
    """Open the transaction with a write that changes nothing, so that the import is one
    transaction on SQLite too. The user service writes each person in a savepoint;
    Python's sqlite3 begins a transaction before a data-changing statement but not
    before a SAVEPOINT, so without one already open, releasing the first person's
    savepoint would commit that person alone."""
    db.session.execute(update(User).where(false()).values(locale=User.locale))


def run_import(actor: User | None, plan: ImportPlan) -> ImportResult:
    """Write every row of ``plan`` that passed (flushed, for the caller's one commit).

    A row that another administrator has made invalid since the plan was made (the
    same staff number, saved in between) raises the user service's ValidationError;
    the caller rolls everything back, so it is all the valid rows or none.
    """
    if actor is not None:
        services.require_admin(actor)
    result = ImportResult()
    changer = actor or command_line_actor()
    # Held while writing: the session keeps only records someone refers to, and the
    # user service looks each row's department or enterprise up again.
    _held = (_departments(), _enterprises())
    _begin_writing()
    known = _known(plan.sheet.rows)
    for row in plan.to_write:
        assert row.data is not None  # noqa: S101 - new and changed rows carry their data
        if row.status is RowStatus.NEW:
            result.created.append(services.create_invited_user(actor, row.data, known))
        else:
            assert row.user is not None  # noqa: S101
            result.updated.append(services.update_user(changer, row.user, row.data, known))
    db.session.flush()
    return result


# Invitations are sent while the administrator waits for at most this long; the rest
# leave from one background thread, so that a slow mail server cannot hold the page
# past the web server's timeout (the import is committed by then either way).
MAIL_WAIT_SECONDS = 3.0


@dataclass
class Invitations:
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # e-mail addresses
    later: int = 0  # left to the background


def send_invitations(people: Sequence[User], *, wait_seconds: float | None = None) -> Invitations:
    """Send each new person the e-mail with which they set their password: after the
    commit, so that nobody is invited to an account that was not made.

    A message that cannot be sent is logged and its address answered (the person can
    still use "Forgot password?"): a mail server that is down does not undo the import.
    With ``wait_seconds``, what is not sent by then is sent in the background.
    """
    users = _reloaded(people)
    report = Invitations()
    deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
    for index, user in enumerate(users):
        if deadline is not None and time.monotonic() >= deadline:
            report.later = len(users) - index
            _send_later([user.id for user in users[index:]])
            break
        try:
            send_set_password_email(user)
        except Exception:  # noqa: BLE001 - whatever the mail server did, the import stands
            log.exception("Could not send the set-password e-mail to %s", user.email)
            report.failed.append(user.email)
        else:
            report.sent += 1
    return report


def _reloaded(people: Sequence[User]) -> list[User]:
    """The people again after the commit, in one query a hundred rather than one each."""
    ids: list[int] = [inspect(user).identity[0] for user in people]  # read without loading
    return _users(ids)


def _users(ids: Sequence[int]) -> list[User]:
    found: list[User] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += db.session.execute(select(User).where(User.id.in_(chunk))).scalars()
    return sorted(found, key=lambda user: user.id)


_lock = threading.Lock()
_sending: set[threading.Thread] = set()


def _send_later(user_ids: list[int]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # One thread, one message after the other: a mail server is not flooded, and a
    # worker that is asked to stop waits for it (not a daemon).
    thread = threading.Thread(
        target=_send_in_background, args=(app, user_ids), name="staff-import-invitations"
    )
    with _lock:
        _sending.add(thread)
    thread.start()


def _send_in_background(app: Flask, user_ids: list[int]) -> None:
    try:
        with app.app_context():
            send_invitations(_users(user_ids))
    except Exception:  # noqa: BLE001 - a thread has nobody to tell but the log
        log.exception("Could not send the staff import's set-password e-mails")
    finally:
        with _lock:
            _sending.discard(threading.current_thread())


def wait_for_invitations(timeout: float = 30.0) -> None:
    """Wait until the invitations left to the background have been sent (tests, commands)."""
    with _lock:
        pending = list(_sending)
    for thread in pending:
        thread.join(timeout)
