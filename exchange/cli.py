"""Command line: ``flask --app exchange create-user | seed-demo | backup | import-users |
send-reminders | keys rotate | check-totals``.

Commands are thin: they parse options, call a service, commit once and print.
Every expected failure ends in a one-line ``Error: …`` and a non-zero exit
code, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from exchange.accounts import import_services, importing
from exchange.accounts.import_services import RowStatus
from exchange.accounts.models import Role
from exchange.accounts.services import UserInput, create_user
from exchange.errors import DomainError
from exchange.extensions import db
from exchange.org.models import Department, Enterprise
from exchange.reminders import services as reminders

# Service field names → the option a user of the command typed.
OPTION_FOR_FIELD = {
    "email": "--email",
    "name": "--name",
    "role": "--role",
    "password": "--password",
    "department_id": "--department",
    "enterprise_id": "--enterprise",
    "staff_number": "--staff-number",
}


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(import_users_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(keys_group)
    app.cli.add_command(check_totals_command)


@contextlib.contextmanager
def command_errors() -> Iterator[None]:
    """Turn the expected failures into ``Error: …`` and roll back whatever was written."""
    try:
        yield  # messages come out in English: there is no request to choose a language
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(describe(error)) from None
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise click.ClickException(f"The database refused the change: {reason}") from None


def describe(error: DomainError) -> str:
    if not error.fields:
        return str(error.message)
    lines = [
        f"{OPTION_FOR_FIELD.get(field, field)}: {message}"
        for field, message in error.fields.items()
    ]
    return "\n".join(lines)


def require_schema() -> None:
    """A friendly stop when the database is unreachable or not migrated yet."""
    try:
        ready = inspect(db.engine).has_table("user_account")
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise click.ClickException(f"Cannot reach the database: {reason}") from None
    if not ready:
        raise click.ClickException(
            "The database has no tables yet: run `flask --app exchange db upgrade` first."
        )


# --- create-user --------------------------------------------------------------------


def _lookup(model: type[Department] | type[Enterprise], code: str | None, option: str) -> Any:
    if code is None:
        return None
    found = db.session.execute(
        select(model).where(func.upper(model.code) == code.strip().upper())
    ).scalar_one_or_none()
    if found is None:
        known = db.session.execute(select(model.code).order_by(model.code)).scalars().all()
        hint = f" Known codes: {', '.join(known)}." if known else " There are none yet."
        raise click.ClickException(
            f"{option}: no {model.__tablename__} has the code {code!r}.{hint}"
        )
    return found


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True, help="Sign-in e-mail address (stored lower-cased).")
@click.option("--name", required=True, help="Full name as shown in the app.")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="teacher and head need --department, expert needs --enterprise.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 8 characters. Asked for (hidden, twice) when left out.",
)
@click.option("--department", metavar="CODE", help="Department code, e.g. CM (teacher, head).")
@click.option("--enterprise", metavar="CODE", help="Enterprise code (expert).")
@click.option(
    "--staff-number",
    metavar="NUMBER",
    help="The college's staff number (工号), e.g. T2019034: letters, digits, - and /; unique.",
)
def create_user_command(
    email: str,
    name: str,
    role: str,
    password: str,
    department: str | None,
    enterprise: str | None,
    staff_number: str | None,
) -> None:
    """Create an account, e.g. the first administrator.

    \b
    flask --app exchange create-user --email admin@example.com \\
        --name "Zhou Jing" --role admin
    """
    require_schema()
    role_enum = Role(role)
    if department is not None and not role_enum.needs_department:
        raise click.ClickException(f"--department: a user with role {role} has no department.")
    if enterprise is not None and not role_enum.needs_enterprise:
        raise click.ClickException(f"--enterprise: a user with role {role} has no enterprise.")
    found_department = _lookup(Department, department, "--department")
    found_enterprise = _lookup(Enterprise, enterprise, "--enterprise")
    with command_errors():
        user = create_user(
            None,
            UserInput(
                email=email,
                name=name,
                role=role,
                department_id=found_department.id if found_department else None,
                enterprise_id=found_enterprise.id if found_enterprise else None,
                password=password,
                staff_number=staff_number,
            ),
        )
        db.session.commit()
    place = found_department or found_enterprise
    where = f", {place.__tablename__} {place.code}" if place else ""
    where += f", staff number {user.staff_number}" if user.staff_number else ""
    click.echo(f"Created {user.role} {user.email} ({user.name}{where}).")


# --- seed-demo -------------------------------------------------------------------------


@click.command("seed-demo")
@with_appcontext
@click.option(
    "--allow-production",
    is_flag=True,
    help="Seed even when EXCHANGE_ENV=production (the demo password is public).",
)
@click.option(
    "--address",
    default=None,
    help="Where the app is opened, printed with the logins "
    "(default: EXCHANGE_BASE_URL, else http://127.0.0.1:5000; `make run` gives its own).",
)
def seed_demo_command(allow_production: bool, address: str | None) -> None:
    """Fill an empty database with a demo medical college.

    Departments, partner enterprises, agreements, two academic years and about
    fifty people who all share one password. Running it again changes nothing
    and prints the logins again.
    """
    from exchange.demo import APP_ADDRESS, DemoConflict, seed_demo

    if current_app.config["EXCHANGE_ENV"] == "production" and not allow_production:
        raise click.ClickException(
            "Refusing to load demo accounts with a public password into a production "
            "database (EXCHANGE_ENV=production). Add --allow-production if you mean it."
        )
    require_schema()
    address = address or current_app.config["EXCHANGE_BASE_URL"] or APP_ADDRESS
    # The demo's finalized round issues Open Badges credentials: without a configured
    # EXCHANGE_BASE_URL they name the address the demo is opened at (their did:web).
    opened_at: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if not current_app.config["EXCHANGE_BASE_URL"]:
        opened_at = current_app.test_request_context(base_url=address)
    with command_errors(), opened_at:
        try:
            result = seed_demo()
        except DemoConflict as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    counts = ", ".join(f"{number} {what}" for what, number in result.counts.items())
    if result.created:
        click.echo(f"Created the demo college: {counts}.")
    else:
        click.echo(f"The demo college is already there ({counts}); nothing was changed.")
    click.echo(f"\nOpen {address} and sign in with password {result.password!r} as:")
    for login in result.logins:
        where = f" [{login.affiliation}]" if login.affiliation else ""
        click.echo(f"  {login.role:<8} {login.email:<22} {login.name}{where}")


# --- backup ------------------------------------------------------------------------------


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _pg_dump_hint(url: URL, target: str) -> str:
    parts = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.database or "DBNAME")
    return " ".join(parts)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database, via SQLite's online backup API.

    The copy is written next to the target and renamed into place, so a failed
    backup never leaves a half-written file where a good one was.
    """
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            live.backup(copy)  # one step: a single snapshot, never a torn copy
            # A single self-contained file, not one that expects a -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            status = copy.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise sqlite3.DatabaseError(f"the copy fails its integrity check: {status}")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def backup_command(path: Path, force: bool) -> None:
    """Copy the live SQLite database to PATH (safe while running).

    The copy is the whole backup: everything, evidence files included, is in the
    database. PostgreSQL databases are backed up with pg_dump instead, which is
    likewise the whole backup.
    """
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        raise click.ClickException(
            "backup copies SQLite databases only; this database is PostgreSQL. "
            "Back it up with pg_dump (the dump is the whole backup, evidence files "
            "included), for example:\n  " + _pg_dump_hint(url, str(path))
        )
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"backup copies SQLite databases only; this database is {url.get_backend_name()}."
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise click.ClickException("backup needs a SQLite database file, not an in-memory one.")
    source = Path(url.database).resolve()
    if not source.is_file():
        raise click.ClickException(f"The database file {source} does not exist.")
    target = path.resolve()
    if target == source:
        raise click.ClickException("PATH is the live database itself; choose another file.")
    if target.is_dir():
        raise click.ClickException(f"{path} is a directory; give the name of the backup file.")
    if target.exists() and not force:
        raise click.ClickException(f"{path} already exists; add --force to overwrite it.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite(source, target)
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"The backup failed: {error}") from None
    click.echo(
        f"Backed up {source} to {path} ({_size(target.stat().st_size)}): "
        "the whole backup, evidence files included."
    )


# --- import-users ------------------------------------------------------------------------


@click.command("import-users")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Check the file and print what would change; write nothing."
)
def import_users_command(file: Path, dry_run: bool) -> None:
    """Create and update accounts from a staff list FILE (CSV or XLSX).

    Columns: email, name, role, department (code), enterprise (code) and the optional
    staff_number and language (en, zh_Hans), in English or Chinese (邮箱, 姓名, 角色,
    部门, 企业, 工号, 语言). The same
    rules as the page /admin/users/import: people are matched by e-mail address, every
    valid row is written in one transaction, every invalid row is listed with its
    reason, and new people are e-mailed a link to set their password. Running it again
    changes nothing. Exits with 1 when a row was refused.
    """
    require_schema()
    with file.open("rb") as handle:
        data = handle.read(importing.MAX_FILE_BYTES + 1)
    try:
        sheet = importing.read_sheet(data)
    except importing.SheetError as error:
        raise click.ClickException(str(import_services.file_message(error))) from None
    with command_errors():
        plan = import_services.plan_import(None, sheet)
        created = []
        if not dry_run:
            created = import_services.run_import(None, plan).created
            db.session.commit()
    for row in plan.rows:
        email = row.cells["email"]
        if row.status is RowStatus.NEW:
            click.echo(f"Row {row.number}: new {email} ({row.cells['name']})")
        elif row.status is RowStatus.CHANGED:
            changes = "; ".join(
                f"{sheet.column(c.column)} {c.before or '-'} -> {c.after or '-'}"
                for c in row.changes
            )
            click.echo(f"Row {row.number}: changed {email}: {changes}")
        for column, message in row.errors.items():
            click.echo(f"Row {row.number}: error in {sheet.column(column)}: {message}")
    counts = plan.counts
    click.echo(
        f"{counts[RowStatus.NEW]} new, {counts[RowStatus.CHANGED]} changed, "
        f"{counts[RowStatus.UNCHANGED]} unchanged, {counts[RowStatus.ERROR]} with errors."
    )
    if dry_run:
        click.echo("Dry run: nothing was written.")
    elif plan.to_write:
        click.echo(f"Wrote {len(plan.to_write)} people in one transaction.")
        invitations = import_services.send_invitations(created)
        if created:
            click.echo(f"Sent {invitations.sent} set-password e-mails.")
        for email in invitations.failed:
            click.echo(f"Could not send the set-password e-mail to {email} (see the log).")
    else:
        click.echo("Nothing to write.")
    if counts[RowStatus.ERROR]:
        raise SystemExit(1)


# --- send-reminders ----------------------------------------------------------------------


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """E-mail each person one digest of the logs that wait for them (run it daily).

    Verifiers hear of the logs they are to verify, heads of those they are to approve;
    logs waiting longer than EXCHANGE_ESCALATE_DAYS also reach the department's heads,
    longer than twice that the administrators; drafts older than 14 days remind their
    owner. Nobody gets more than one digest a (college) day: a second run sends nothing
    new, except the digests whose sending failed before. Exits with 1 when a digest
    could not be sent.
    """
    require_schema()
    with command_errors():
        plan = reminders.plan_reminders()
        try:
            reminders.claim(plan)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise click.ClickException(
                "Another send-reminders run is sending today's digests: nothing was sent."
            ) from None
    outcome = reminders.send_digests(plan)
    with command_errors():
        reminders.release(plan, [outgoing for outgoing, _ in outcome.failed])
        db.session.commit()
    for outgoing, reason in outcome.failed:
        click.echo(f"Could not send the digest to {outgoing.email}: {reason}", err=True)
    click.echo(
        f"{plan.day.isoformat()}: {len(outcome.sent)} digests sent, {plan.skipped} skipped "
        f"({plan.already_sent} already sent today, {plan.turned_off} turned off), "
        f"{len(outcome.failed)} failed."
    )
    if outcome.failed:
        raise SystemExit(1)


# --- keys ----------------------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """The key that signs the Open Badges credentials."""


@keys_group.command("rotate")
@with_appcontext
def keys_rotate_command() -> None:
    """Make a new signing key: credentials are signed with it from now on. The earlier
    keys stay published in /.well-known/did.json, so what they signed keeps verifying.
    With EXCHANGE_SIGNING_KEY set, replace that file instead."""
    from exchange.credentials import keys

    require_schema()
    try:
        made = keys.rotate()
    except keys.KeyUnavailable as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"New signing key {made.kid}; {len(keys.published()) - 1} earlier key(s) stay published."
    )


# --- kept totals ---------------------------------------------------------------------------


@click.command("check-totals")
@click.option("--repair", is_flag=True, help="Sum the logs into the totals afresh.")
@with_appcontext
def check_totals_command(repair: bool) -> None:
    """Check that the totals the database keeps per person (log_total) are the sums of
    the logs; with --repair, sum them afresh. Exits with 1 when they differ and
    nothing was repaired."""
    from exchange.logs import queries as log_queries
    from exchange.logs import services as log_services

    require_schema()
    astray = log_queries.totals_astray()
    db.session.rollback()
    if not astray:
        click.echo("The kept totals are the sums of the logs.")
        return
    click.echo(f"{len(astray)} kept total(s) differ from the sums of their logs.", err=True)
    if not repair:
        click.echo("Run it again with --repair to sum the logs afresh.", err=True)
        raise SystemExit(1)
    with command_errors():
        keys = log_services.rebuild_totals()
        db.session.commit()
    click.echo(f"Summed the logs afresh: {keys} kept total(s).")
