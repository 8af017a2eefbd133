"""The command line of SPEC §8: create-user, seed-demo, backup."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import timedelta

import flask_migrate
import pytest
from sqlalchemy import func, select

from exchange import create_app
from exchange.accounts.models import User
from exchange.accounts.services import authenticate
from exchange.extensions import db
from exchange.logs import queries as log_queries
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.org.queries import expiring_agreements
from exchange.timeutil import college_today

PASSWORD = "s3cret-enough"


def empty_database_config(path) -> dict[str, object]:
    return {
        "TESTING": True,
        "EXCHANGE_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
    }


def user_count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def create_user(runner, *args: str, typed: str | None = None):
    return runner.invoke(args=["create-user", *args], input=typed)


def assert_refused(result, *fragments: str) -> None:
    """A clean failure: non-zero exit, a message, no uncaught exception."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    for fragment in fragments:
        assert fragment in result.output


# --- create-user ------------------------------------------------------------------


def test_create_user_makes_an_account_that_can_sign_in(runner, app_ctx, make_department):
    make_department(code="CM")
    result = create_user(
        runner,
        "--email", "Wang.Li@Example.com", "--name", "王丽", "--role", "teacher",
        "--password", PASSWORD, "--department", "cm",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wang.li@example.com" in result.output
    user = authenticate("wang.li@example.com", PASSWORD)
    assert user is not None
    assert (user.name, user.role, user.department.code) == ("王丽", "teacher", "CM")


def test_create_user_makes_an_admin_and_an_expert(runner, app_ctx, make_enterprise):
    make_enterprise(code="YZ-FPH")
    admin = create_user(
        runner, "--email", "boss@example.com", "--name", "Zhou Jing", "--role", "admin",
        "--password", PASSWORD,
    )  # fmt: skip
    expert = create_user(
        runner, "--email", "doc@example.com", "--name", "Liu Yang", "--role", "expert",
        "--password", PASSWORD, "--enterprise", "YZ-FPH",
    )  # fmt: skip
    assert (admin.exit_code, expert.exit_code) == (0, 0), admin.output + expert.output
    assert authenticate("boss@example.com", PASSWORD).is_admin
    assert authenticate("doc@example.com", PASSWORD).enterprise.code == "YZ-FPH"


def test_create_user_asks_for_the_password_twice_when_left_out(runner, app_ctx):
    result = create_user(
        runner, "--email", "a@example.com", "--name", "A", "--role", "admin",
        typed=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # typed hidden
    assert authenticate("a@example.com", PASSWORD) is not None


def test_create_user_refuses_two_different_passwords_at_the_prompt(runner, app_ctx):
    result = create_user(
        runner, "--email", "a@example.com", "--name", "A", "--role", "admin",
        typed=f"{PASSWORD}\nsomething-else\n",
    )  # fmt: skip
    assert_refused(result)
    assert user_count() == 0


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["--role", "teacher", "--email", "X.Y@EXAMPLE.COM", "--department", "CM"], "--email",
         "already uses"),
        (["--role", "janitor", "--department", "CM"], "--role", "janitor"),
        (["--role", "teacher"], "--department", "belong to a department"),
        (["--role", "head", "--department", "XX"], "--department", "XX"),
        (["--role", "expert", "--enterprise", "NOPE"], "--enterprise", "NOPE"),
        (["--role", "expert"], "--enterprise", "belong to an enterprise"),
        (["--role", "admin", "--department", "CM"], "--department", "admin"),
        (["--role", "teacher", "--department", "CM", "--password", "short"], "--password",
         "At least 8 characters"),
        (["--role", "teacher", "--department", "CM", "--email", "not-an-address"], "--email",
         "valid e-mail"),
        (["--role", "teacher", "--department", "CM", "--name", "  "], "--name", "required"),
    ],
    ids=[
        "duplicate-email-any-case", "bad-role", "teacher-without-department",
        "unknown-department", "unknown-enterprise", "expert-without-enterprise",
        "department-for-admin", "short-password", "bad-email", "blank-name",
    ],
)  # fmt: skip
def test_create_user_refuses_bad_input_naming_the_option(
    runner, app_ctx, make_department, make_enterprise, make_user, args, option, message
):
    make_user("teacher", email="x.y@example.com", department=make_department(code="CM"))
    make_enterprise(code="YZ-FPH")
    defaults = {"--email": "new@example.com", "--name": "New Person", "--password": PASSWORD}
    for name, value in defaults.items():
        if name not in args:
            args = [*args, name, value]
    before = user_count()
    result = create_user(runner, *args)
    assert_refused(result, option, message)
    assert user_count() == before
    assert authenticate("new@example.com", PASSWORD) is None


def test_commands_on_an_unmigrated_database_say_what_to_do(tmp_path):
    empty = create_app(empty_database_config(tmp_path / "empty.db"))
    try:
        runner = empty.test_cli_runner()
        for args in (
            ["create-user", "--email", "a@example.com", "--name", "A", "--role", "admin",
             "--password", PASSWORD],
            ["seed-demo"],
        ):  # fmt: skip
            assert_refused(runner.invoke(args=args), "db upgrade")
    finally:
        with empty.app_context():
            db.engine.dispose()


# --- seed-demo ------------------------------------------------------------------------


def counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Department, Enterprise, Agreement, Period, User)
    }


def role_count(role: str) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == role)
    return db.session.execute(stmt).scalar_one()


def test_seed_demo_builds_a_believable_college(demo_college):
    today = college_today()

    departments = db.session.execute(select(Department)).scalars().all()
    assert len(departments) >= 4
    enterprises = db.session.execute(select(Enterprise)).scalars().all()
    assert len(enterprises) >= 6
    assert len({e.kind for e in enterprises}) >= 4
    assert all(e.contact_person and e.phone and e.address for e in enterprises)

    assert role_count("teacher") >= 30
    assert role_count("expert") >= 10
    assert role_count("admin") >= 1
    for department in departments:
        heads = db.session.execute(
            select(User).where(User.role == "head", User.department_id == department.id)
        ).scalars()
        assert len(heads.all()) in (1, 2), department.code
    experts_at = db.session.execute(
        select(func.count(func.distinct(User.enterprise_id))).where(User.role == "expert")
    ).scalar_one()
    assert experts_at >= 5  # spread over the partners, not all in one

    periods = db.session.execute(select(Period).order_by(Period.starts_on)).scalars().all()
    open_periods = [p for p in periods if p.state == "open"]
    assert len(open_periods) == 1
    current = open_periods[0]
    assert current.starts_on <= today <= current.ends_on
    assert (current.starts_on.month, current.starts_on.day) == (9, 1)
    assert current.name == f"{current.starts_on.year}-{current.starts_on.year + 1}"
    locked = [p for p in periods if p.state == "locked"]
    assert len(locked) == 1
    assert locked[0].ends_on == current.starts_on - timedelta(days=1)

    agreements = db.session.execute(select(Agreement)).scalars().all()
    assert {a.scope for a in agreements} == {"practice", "teaching", "both"}
    assert any(a.department_id is None for a in agreements)
    assert any(a.department_id is not None for a in agreements)
    assert len(db.session.execute(expiring_agreements(today)).scalars().all()) == 1
    assert any(a.ends_on < today for a in agreements)


def test_seed_demo_prints_logins_that_work(demo_college):
    output = demo_college.output
    assert "http://127.0.0.1:5000" in output
    password = re.search(r"password '([^']+)'", output).group(1)
    logins = dict(re.findall(r"^\s+(admin|head|teacher|expert)\s+(\S+@\S+)", output, re.M))
    assert set(logins) == {"admin", "head", "teacher", "expert"}
    for role, email in logins.items():
        user = authenticate(email, password)
        assert user is not None, email
        assert user.role == role


def test_seed_demo_twice_changes_nothing(runner, app_ctx):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    before = counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already there" in second.output
    assert counts() == before
    assert "admin@example.com" in second.output


def test_seed_demo_is_the_same_college_every_time(runner, app_ctx, seeded_demo):
    def people() -> list[tuple[str, str, str]]:
        db.session.expire_all()
        stmt = select(User.email, User.name, User.role).order_by(User.email)
        return [tuple(row) for row in db.session.execute(stmt)]

    with seeded_demo.app.app_context():  # seeded once for the run, in a database of its own
        first = people()
    assert len({name for _, name, _ in first}) == len(first)  # nobody has a namesake
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert people() == first


def test_seed_demo_refuses_to_mix_with_existing_records(runner, app_ctx, make_department):
    make_department(code="CM", name="Our own clinical medicine")
    result = runner.invoke(args=["seed-demo"])
    assert_refused(result, "department CM")
    assert counts()["Department"] == 1
    assert counts()["User"] == 0


def test_seed_demo_refuses_production_unless_asked(runner, app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_ENV", "production")
    result = runner.invoke(args=["seed-demo"])
    assert_refused(result, "--allow-production")
    assert counts()["User"] == 0


# --- backup -------------------------------------------------------------------------------


# Backup runs against its own databases, so both behaviours are checked whichever
# database the suite itself runs on.


@pytest.fixture
def sqlite_app(tmp_path):
    (tmp_path / "live").mkdir()
    app = create_app(empty_database_config(tmp_path / "live" / "exchange.db"))
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def add_user(app, email: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "--email", email, "--name", "Wang Li", "--role", "admin",
              "--password", PASSWORD]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_backup_copies_the_live_sqlite_database(sqlite_app, tmp_path):
    add_user(sqlite_app, "wang.li@example.com")
    target = tmp_path / "backups" / "exchange.db"
    result = sqlite_app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "KB" in result.output or "MB" in result.output
    assert "the whole backup, evidence files included" in result.output
    with contextlib.closing(sqlite3.connect(target)) as copy:
        emails = [row[0] for row in copy.execute("SELECT email FROM user_account")]
        journal = copy.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
    assert emails == ["wang.li@example.com"]
    assert "log_evidence" in tables  # evidence lives in the database
    assert journal == "delete"  # one self-contained file
    assert [p.name for p in target.parent.iterdir()] == ["exchange.db"]  # no leftovers


def test_backup_refuses_to_overwrite_unless_forced(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    target = tmp_path / "exchange.db"
    target.write_bytes(b"precious")
    result = runner.invoke(args=["backup", str(target)])
    assert_refused(result, "--force")
    assert target.read_bytes() == b"precious"

    add_user(sqlite_app, "root@example.com")
    forced = runner.invoke(args=["backup", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    with contextlib.closing(sqlite3.connect(target)) as copy:
        assert copy.execute("SELECT count(*) FROM user_account").fetchone()[0] == 1


def test_backup_refuses_a_directory_and_the_live_file(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["backup", "--force", str(tmp_path)])
    assert_refused(result, "directory")
    live = str(tmp_path / "live" / "exchange.db")
    result = runner.invoke(args=["backup", "--force", live])
    assert_refused(result, "live database")


def test_backup_on_postgresql_points_to_pg_dump(tmp_path):
    app = create_app(
        {**empty_database_config(tmp_path / "unused.db"),
         "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:5432/college"}
    )  # fmt: skip
    target = tmp_path / "exchange.dump"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert_refused(result, "pg_dump", "college")
    assert not target.exists()


def test_seed_demo_has_logs_in_every_state_with_their_history(demo_college):
    open_period = db.session.execute(select(Period).where(Period.state == "open")).scalar_one()
    locked = db.session.execute(select(Period).where(Period.state == "locked")).scalar_one()
    states = set(
        db.session.execute(
            select(ExchangeLog.status).where(ExchangeLog.period_id == open_period.id)
        ).scalars()
    )
    assert states == {"draft", "submitted", "verified", "approved", "rejected", "revoked"}
    locked_logs = (
        db.session.execute(select(ExchangeLog).where(ExchangeLog.period_id == locked.id))
        .scalars()
        .all()
    )
    assert locked_logs
    assert {log.status for log in locked_logs} == {"approved"}
    assert {"practice", "teaching"} <= set(db.session.execute(select(ExchangeLog.kind)).scalars())
    for log in db.session.execute(select(ExchangeLog)).scalars():
        assert log.events[-1].to_status == log.status
        assert log.work_date <= college_today()
        assert [e.at for e in log.events] == sorted(e.at for e in log.events)
        assert log.created_at == log.events[0].at  # the trail's first entry, backdated
    onsite = db.session.execute(select(LogEvent).where(LogEvent.actor_id.is_(None))).scalars()
    assert any(event.action == "verify" for event in onsite)


def test_seed_demo_gives_the_printed_accounts_work_to_do(demo_college):
    expert = db.session.execute(select(User).where(User.email == "expert@example.com")).scalar_one()
    head = db.session.execute(select(User).where(User.email == "head@example.com")).scalar_one()
    teacher = db.session.execute(
        select(User).where(User.email == "teacher@example.com")
    ).scalar_one()
    assert log_queries.queue_counts(head).to_approve > 0
    mine = db.session.execute(log_queries.logs_query(teacher, "mine")).scalars().all()
    assert {log.status for log in mine} >= {"draft", "submitted", "rejected", "approved"}
    assert db.session.execute(log_queries.logs_query(expert, "mine")).scalars().first()


def test_seed_demo_prints_the_address_it_is_told(seeded_demo):
    runner = seeded_demo.app.test_cli_runner()  # the demo is there: nothing is written
    result = runner.invoke(args=["seed-demo", "--address", "http://0.0.0.0:8080"])
    assert result.exit_code == 0, result.output
    assert "Open http://0.0.0.0:8080 and sign in" in result.output
