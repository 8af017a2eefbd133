"""Domains react to each other through exchange.signals: each reaction still happens.

Covered elsewhere, through the senders' public operations:
new period gets rules — test_reward_services::test_a_period_created_by_an_admin_starts_with_the_previous_rules;
revoke of a counted log is refused — test_reward_services::test_a_log_counted_by_an_issued_award_cannot_be_revoked,
test_reward_year::test_a_log_counted_by_an_issued_college_award_cannot_be_revoked;
lock fails a step in flight — test_log_concurrency::test_locking_the_period_while_a_step_is_in_flight.
"""  # noqa: E501

from __future__ import annotations

import pytest
from sqlalchemy import select

from exchange import signals
from exchange.errors import Conflict
from exchange.extensions import db
from exchange.logs import services as log_services
from exchange.logs.models import ExchangeLog
from exchange.logs.workflow import Action
from exchange.org.services import PeriodInput, lock_period, save_period
from exchange.rewards.models import RewardRule


@pytest.mark.parametrize(
    "signal", [signals.period_created, signals.period_locked, signals.log_revoking]
)
def test_the_app_connects_a_receiver_to_every_signal(app, signal):
    assert signal.receivers


def test_locking_a_period_changes_the_version_of_its_logs(college, make_log):
    log = make_log(status="verified")
    seen = log.version
    lock_period(college.admin, college.period)
    db.session.commit()
    version = db.session.execute(
        select(ExchangeLog.version).where(ExchangeLog.id == log.id)
    ).scalar_one()
    assert version == seen + 1


def test_a_new_period_gets_reward_rules(college):
    period = save_period(
        college.admin,
        PeriodInput("2040-2041", college.period.starts_on.replace(year=2040),
                    college.period.ends_on.replace(year=2041)),
    )  # fmt: skip
    db.session.commit()
    rules = db.session.execute(select(RewardRule).where(RewardRule.period_id == period.id))
    assert rules.scalars().all()


def test_a_receiver_that_refuses_stops_the_revoke(college, make_log):
    log = make_log(status="approved")

    def refuse(sender: ExchangeLog, **_: object) -> None:
        raise Conflict("refused by a receiver")

    signals.log_revoking.connect(refuse)
    try:
        with pytest.raises(Conflict, match="refused by a receiver"):
            log_services.transition(college.admin, log, Action.REVOKE, "Counted twice")
    finally:
        signals.log_revoking.disconnect(refuse)
    db.session.rollback()
    assert db.session.get(ExchangeLog, log.id).status == "approved"
