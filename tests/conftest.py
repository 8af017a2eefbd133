"""Fixtures: one migrated database per run, emptied after every test.

Set ``TEST_DATABASE_URL`` to run the suite on PostgreSQL; by default it runs on
a SQLite file in a temporary folder. Tables are emptied (not rolled back) after
each test because views commit and concurrency tests need real transactions.
"""

from __future__ import annotations

import contextvars
import itertools
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import flask_migrate
import pytest
import time_machine
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import make_url, text

import exchange.accounts.models as account_models
from exchange import create_app
from exchange.accounts.models import Role, User
from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from exchange.logs.queries import totals_astray
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.rewards.services import seed_rules
from exchange.timeutil import college_today, college_zone
from tests.helpers import check_api_answer

PASSWORD = "correct-horse-9"
account_models.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing in tests


def test_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return {
        "TESTING": True,
        "EXCHANGE_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        # The limiter is one object per process: keep it on, with a limit no test reaches.
        "RATELIMIT_ENABLED": True,
        "EXCHANGE_LOGIN_LIMIT": "100000 per minute",
    }


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    Without this, requests would share the test's app context, and with it
    ``g`` (Flask-Login's cached user) and the database session. Afterwards the
    test's own session is expired, so the test reads what the request wrote.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        with self.application.app_context():
            check_api_answer(self.application, response)
        return response


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory):
    # Files the app writes (evidence) go to a temporary instance folder.
    os.environ["EXCHANGE_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    app = create_app(test_config(tmp_path_factory))
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        # Whatever the test did to logs, through the app or in SQL, the totals the
        # database keeps of them still add up (migration 0013's triggers).
        astray = totals_astray()
        db.session.rollback()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            # The audit trails refuse TRUNCATE (migration 0007's triggers): triggers
            # do not fire for this transaction only.
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # The audit trails refuse DELETE (migration 0007's triggers): the triggers
            # step aside while the tables are emptied and come back as they were.
            triggers = db.session.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _ in triggers:
                db.session.execute(text(f'DROP TRIGGER "{name}"'))
            for name in tables:
                db.session.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata
            for _, sql in triggers:
                db.session.execute(text(sql))
        db.session.commit()
    assert not astray, f"kept log totals differ from the logs: {astray}"


@pytest.fixture
def make_app(app):
    """Another app on the test database with some settings changed (closed afterwards)."""
    made = []

    def make(**overrides):
        other = create_app({**app.config, **overrides})
        other.test_client_class = IsolatedClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app, app_ctx):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_seq = itertools.count(1)


@pytest.fixture
def make_department(app_ctx):
    def make(code: str | None = None, name: str | None = None) -> Department:
        n = next(_seq)
        department = Department(code=code or f"D{n}", name=name or f"Department {n}")
        db.session.add(department)
        db.session.commit()
        return department

    return make


@pytest.fixture
def make_enterprise(app_ctx):
    def make(
        code: str | None = None, kind: str = "hospital", name: str | None = None
    ) -> Enterprise:
        n = next(_seq)
        enterprise = Enterprise(code=code or f"E{n}", name=name or f"Enterprise {n}", kind=kind)
        db.session.add(enterprise)
        db.session.commit()
        return enterprise

    return make


@pytest.fixture
def make_agreement(app_ctx):
    def make(
        enterprise: Enterprise,
        department: Department | None = None,
        scope: str = "both",
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> Agreement:
        today = college_today()
        agreement = Agreement(
            enterprise=enterprise,
            department=department,
            scope=scope,
            reference=f"REF-{next(_seq)}",
            starts_on=starts_on or today - timedelta(days=365),
            ends_on=ends_on or today + timedelta(days=365),
        )
        db.session.add(agreement)
        db.session.commit()
        return agreement

    return make


@pytest.fixture
def make_period(app_ctx):
    def make(
        name: str | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
        state: str = "open",
    ) -> Period:
        today = college_today()
        period = Period(
            name=name or f"P{next(_seq)}",
            starts_on=starts_on or today - timedelta(days=100),
            ends_on=ends_on or today + timedelta(days=100),
            state=state,
        )
        db.session.add(period)
        db.session.commit()
        return period

    return make


@pytest.fixture
def travel(app_ctx):
    """Moves the clock (every thread's) to a day of the college's calendar; call it
    again to move on. ``travel(period_end(period))`` makes a period's rounds
    finalizable, as after the academic year."""
    travellers: list[time_machine.travel] = []

    def go(day: date, at: time = time(9)) -> None:
        if travellers:
            travellers.pop().stop()
        destination = datetime.combine(day, at, tzinfo=college_zone())
        traveller = time_machine.travel(destination, tick=True)
        traveller.start()
        travellers.append(traveller)

    yield go
    for traveller in travellers:
        traveller.stop()


def period_end(period: Period) -> date:
    """The first day after the period: its rounds can be finalized from then on."""
    return period.ends_on + timedelta(days=1)


@pytest.fixture
def make_user(app_ctx, make_department, make_enterprise):
    def make(
        role: str = "teacher",
        *,
        email: str | None = None,
        name: str | None = None,
        department: Department | None = None,
        enterprise: Enterprise | None = None,
        active: bool = True,
        password: str = PASSWORD,
        locale: str | None = None,
    ) -> User:
        n = next(_seq)
        role_enum = Role(role)
        if role_enum.needs_department and department is None:
            department = make_department()
        if role_enum.needs_enterprise and enterprise is None:
            enterprise = make_enterprise()
        user = User(
            email=email or f"{role}{n}@example.com",
            name=name or f"{role.title()} {n}",
            role=role,
            department=department if role_enum.needs_department else None,
            enterprise=enterprise if role_enum.needs_enterprise else None,
            active=active,
            locale=locale,
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login_as(client):
    def login(user: User, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, "login failed"
        return client

    return login


@pytest.fixture
def api_token(client):
    def token_for(user: User, password: str = PASSWORD) -> dict[str, str]:
        response = client.post("/api/v1/tokens", json={"email": user.email, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for


# --- exchange logs ---------------------------------------------------------------


@dataclass
class College:
    """A small college with one open period around today and an agreement in force."""

    department: Department
    other_department: Department
    enterprise: Enterprise
    other_enterprise: Enterprise
    period: Period
    teacher: User
    other_teacher: User
    head: User
    other_head: User  # a second head of the same department
    foreign_head: User  # head of the other department
    expert: User
    other_expert: User  # an expert of the same enterprise
    foreign_expert: User  # an expert of the other enterprise
    admin: User


@pytest.fixture
def college(make_department, make_enterprise, make_agreement, make_period, make_user) -> College:
    department = make_department(code="CM", name="Clinical Medicine")
    other_department = make_department(code="NUR", name="Nursing")
    enterprise = make_enterprise(code="RMH", name="City People's Hospital")
    other_enterprise = make_enterprise(code="PHX", name="Phoenix Pharma", kind="pharma")
    make_agreement(enterprise, None, scope="both")
    make_agreement(other_enterprise, other_department, scope="practice")
    # Ends ten days from today: a test moves the clock past it (``travel``) to
    # finalize reward rounds, within the life of its sessions (14 days) and tokens.
    today = college_today()
    period = make_period(
        name="2026-2027", starts_on=today - timedelta(days=100), ends_on=today + timedelta(days=10)
    )
    seed_rules(period)  # the default reward rules, as a new period gets them
    db.session.commit()
    return College(
        department=department,
        other_department=other_department,
        enterprise=enterprise,
        other_enterprise=other_enterprise,
        period=period,
        teacher=make_user("teacher", name="Li Na", department=department),
        other_teacher=make_user("teacher", name="Zhao Lei", department=department),
        head=make_user("head", name="Wang Fang", department=department),
        other_head=make_user("head", name="Sun Jie", department=department),
        foreign_head=make_user("head", name="Zhou Min", department=other_department),
        expert=make_user("expert", name="Chen Hao", enterprise=enterprise),
        other_expert=make_user("expert", name="Liu Yang", enterprise=enterprise),
        foreign_expert=make_user("expert", name="Huang Bo", enterprise=other_enterprise),
        admin=make_user("admin", name="Ma Guo"),
    )


@pytest.fixture
def approvers(college, make_user) -> list[User]:
    """Eight people who may all approve a verified log of the department."""
    extra = [make_user("head", department=college.department) for _ in range(5)]
    return [college.head, college.other_head, college.admin, *extra]


# The actions that bring a new draft to each status, and who performs them.
_PATH_TO = {
    "draft": [],
    "submitted": [("submit", "owner")],
    "verified": [("submit", "owner"), ("verify", "verifier")],
    "approved": [("submit", "owner"), ("verify", "verifier"), ("approve", "admin")],
    "rejected": [("submit", "owner"), ("reject", "verifier")],
    "revoked": [("submit", "owner"), ("verify", "verifier"), ("approve", "admin"),
                ("revoke", "admin")],
}  # fmt: skip


@pytest.fixture
def make_log(app_ctx, college):
    """A log made through the services and walked to ``status`` by the right people."""
    from exchange.logs import services as log_services
    from exchange.logs.workflow import Action

    def make(owner: User | None = None, status: str = "draft", **fields) -> ExchangeLog:
        owner = owner or college.teacher
        practice = owner.role in ("teacher", "head")
        verifier = fields.pop("verifier", None) or (
            college.expert if practice else college.other_teacher
        )
        values = {
            "work_date": college_today(),
            "hours": "2",
            "category": "clinical" if practice else "lecture",
            "description": "Ward rounds with the cardiology team",
            "verifier_id": verifier.id,
        }
        if practice:
            values["enterprise_id"] = college.enterprise.id
        else:
            values.update(department_id=college.department.id, course="Pharmacology", students=30)
        values.update(fields)
        log, _ = log_services.create_log(owner, log_services.LogInput(**values))
        actors = {"owner": owner, "verifier": verifier, "admin": college.admin}
        for action, who in _PATH_TO[status]:
            reason = "Not as described" if action in ("reject", "revoke") else None
            log_services.transition(actors[who], log, Action(action), reason)
        db.session.commit()
        return log

    return make


# --- the demo college, seeded once ---------------------------------------------------


@dataclass
class DemoCollege:
    """The college `flask seed-demo` builds, in a database of its own."""

    app: Flask
    output: str  # what the command printed


@pytest.fixture(scope="session")
def seeded_demo(app, tmp_path_factory: pytest.TempPathFactory):
    """One database seeded with the demo college for the tests that only read it.

    Seeding takes seconds, so it happens once per run, in a database beside the
    test database (another SQLite file, or another PostgreSQL database) that the
    per-test emptying does not touch.
    """
    config = test_config(tmp_path_factory)
    url = make_url(str(config["SQLALCHEMY_DATABASE_URI"]))
    if url.get_backend_name() == "postgresql":
        name = f"{url.database}_demo"
        with app.app_context(), db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = url.set(database=name)
    else:
        url = url.set(database=str(tmp_path_factory.mktemp("demo") / "demo.db"))
    demo = create_app({**config, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False)})
    with demo.app_context():
        flask_migrate.upgrade()
    result = demo.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield DemoCollege(demo, result.output)
    with demo.app_context():
        db.engine.dispose()
    if url.get_backend_name() == "postgresql":
        with app.app_context(), db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))


@pytest.fixture
def demo_college(seeded_demo):
    """The seeded demo college's app context, for reading it (never change it)."""
    with seeded_demo.app.app_context():
        yield seeded_demo
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def sign_in(client, login_as):
    """Sign in as ``user``, signing out whoever was signed in before (the sign-in page
    sends a signed-in visitor on without changing who they are)."""

    def sign_in(user: User):
        client.post("/logout")
        return login_as(user)

    return sign_in
