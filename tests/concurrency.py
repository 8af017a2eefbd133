"""Running service calls in parallel threads, each in its own app context, for the
concurrency tests: every thread's outcome is kept, and a deadlock fails the test."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from exchange.accounts.models import User
from exchange.errors import DomainError
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import ExchangeLog
from exchange.logs.workflow import Action

JOIN_TIMEOUT = 60  # seconds for all threads together
BARRIER_TIMEOUT = 30


@dataclass
class Outcome:
    """What one thread saw: a value, a DomainError, or any other exception (a failure)."""

    value: Any = None
    domain_error: DomainError | None = None
    crash: str | None = None

    @property
    def ok(self) -> bool:
        return self.domain_error is None and self.crash is None

    def describe(self) -> str:
        if self.crash:
            return f"crash: {self.crash}"
        if self.domain_error is not None:
            error = self.domain_error
            return f"{type(error).__name__} {error.status} {error.fields or error.message}"
        return f"ok: {self.value!r}"


Work = Callable[[Callable[[], None]], Any]


def in_thread_context(app, outcome: Outcome, work: Callable[[], Any], on_crash=None) -> None:
    with app.app_context():
        try:
            if db.engine.dialect.name == "postgresql":
                # A lock wait that never ends fails this thread instead of hanging the run.
                db.session.execute(text("SET LOCAL lock_timeout = '20s'"))
            outcome.value = work()
        except DomainError as error:
            outcome.domain_error = error
        except BaseException:
            outcome.crash = traceback.format_exc(limit=-6)
            if on_crash:
                on_crash()
        finally:
            try:
                db.session.rollback()
                db.session.remove()
            except BaseException:
                outcome.crash = (outcome.crash or "") + traceback.format_exc()


def join_all(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {JOIN_TIMEOUT}s (deadlock?): {alive}"


def race(app, work: list[Work]) -> list[Outcome]:
    """Run each callable in its own thread and app context, all released at once.

    A callable receives ``start``: it does its reading, calls ``start()`` (the
    barrier), then writes and commits.
    """
    barrier = threading.Barrier(len(work), timeout=BARRIER_TIMEOUT)
    outcomes = [Outcome() for _ in work]

    def run(index: int) -> None:
        in_thread_context(
            app,
            outcomes[index],
            lambda: work[index](barrier.wait),
            on_crash=barrier.abort,  # release the others rather than let them wait in vain
        )

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(work))]
    for thread in threads:
        thread.start()
    join_all(threads)
    return outcomes


def past_the_check(model: type, action: Callable[[], Any]) -> Work:
    """Work for ``race`` whose threads all pass the service's own "does it exist yet?"
    check before any of them adds a ``model`` row: what is left is the database's
    unique constraint, and the service must turn it into a Conflict."""

    def work(start):
        session = db.session()
        add = session.add

        def add_after_everyone_checked(instance, *args, **kwargs):
            if isinstance(instance, model):
                start()
            return add(instance, *args, **kwargs)

        session.add = add_after_everyone_checked
        value = action()
        db.session.commit()
        return value

    return work


def in_thread(app, work: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    outcome = Outcome()
    thread = threading.Thread(target=in_thread_context, args=(app, outcome, work), daemon=True)
    thread.start()
    return thread, outcome


def report(outcomes: list[Outcome]) -> str:
    return "\n".join(f"[{i}] {o.describe()}" for i, o in enumerate(outcomes))


def no_crashes(outcomes: list[Outcome]) -> None:
    crashes = [o for o in outcomes if o.crash]
    assert not crashes, "a thread failed with something other than a DomainError:\n" + report(
        outcomes
    )


# --- approvals, as a request makes them -------------------------------------------------


def approve_once(actor_id: int, log_id: int) -> Work:
    """Work for ``race``: ``actor_id`` approves the log (read before the start)."""

    def work(start):
        actor = db.session.get(User, actor_id)
        log = db.session.get(ExchangeLog, log_id)
        assert log.period.is_open  # read everything before the race starts
        start()
        services.transition(actor, log, Action.APPROVE)
        db.session.commit()
        return actor_id

    return work


def bulk_once(actor_id: int, log_ids: list[int]) -> Work:
    """Work for ``race``: ``actor_id`` approves ``log_ids`` together; its value is
    ``[(log_id, ok, status, code)]`` in the order asked."""

    def work(start):
        actor = db.session.get(User, actor_id)
        start()
        outcomes = services.bulk_approve(actor, log_ids)
        db.session.commit()
        return [(o.log_id, o.ok, o.status, o.code) for o in outcomes]

    return work
