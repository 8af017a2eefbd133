"""The integrity rules (SPEC §6): plain figures in, flag codes out; every threshold
at its edge."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.logs.integrity import (
    CONFIRMER_MANY_OWNERS,
    DAY_MINUTES_LIMIT,
    FLAG_ORDER,
    REPEATED_DESCRIPTIONS,
    Flag,
    LogFacts,
    OnsiteFacts,
    confirmer_key,
    flags_of,
    is_escalated,
    percentile,
    waiting_days,
)


def facts(**changes) -> LogFacts:
    """An unremarkable log: 2 h that day, a description of its own, an ordinary total."""
    values = {
        "day_minutes": 120,
        "same_description": 1,
        "period_minutes": 600,
        "department_p99": 6000,
        "agreement_covers": True,
        "onsite": None,
    }
    values.update(changes)
    return LogFacts(**values)


def onsite(session=False, network=False, owners=1) -> OnsiteFacts:
    return OnsiteFacts(
        with_owner_session=session, from_owner_network=network, owners_confirmed_that_day=owners
    )


def test_an_unremarkable_log_has_no_flag():
    assert flags_of(facts()) == []
    assert flags_of(facts(onsite=onsite())) == []


def test_the_thresholds_are_those_of_the_spec():
    assert DAY_MINUTES_LIMIT == 600  # 10 h
    assert REPEATED_DESCRIPTIONS == 5
    assert CONFIRMER_MANY_OWNERS == 3
    assert [f.value for f in FLAG_ORDER] == [
        "self_confirmed", "confirmer_many", "outside_agreement", "day_over_10h",
        "repeated_description", "unusual_total",
    ]  # fmt: skip


@pytest.mark.parametrize(("minutes", "flagged"), [(600, False), (615, True), (720, True)])
def test_over_ten_hours_on_one_day(minutes, flagged):
    assert (Flag.DAY_OVER_10H in flags_of(facts(day_minutes=minutes))) is flagged


@pytest.mark.parametrize(("same", "flagged"), [(1, False), (4, False), (5, True), (40, True)])
def test_a_description_repeated_on_five_logs(same, flagged):
    assert (Flag.REPEATED_DESCRIPTION in flags_of(facts(same_description=same))) is flagged


@pytest.mark.parametrize(
    ("session", "network", "flagged"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_confirmed_from_the_owners_session_or_network(session, network, flagged):
    got = flags_of(facts(onsite=onsite(session=session, network=network)))
    assert (Flag.SELF_CONFIRMED in got) is flagged


def test_without_an_onsite_confirmation_nothing_is_said_about_one():
    got = flags_of(facts(onsite=None))
    assert Flag.SELF_CONFIRMED not in got
    assert Flag.CONFIRMER_MANY not in got


@pytest.mark.parametrize(("owners", "flagged"), [(1, False), (2, False), (3, True), (9, True)])
def test_one_confirmer_name_for_several_owners_in_a_day(owners, flagged):
    assert (Flag.CONFIRMER_MANY in flags_of(facts(onsite=onsite(owners=owners)))) is flagged


@pytest.mark.parametrize(
    ("total", "p99", "flagged"),
    [(6000, 6000, False), (6015, 6000, True), (100, None, False), (0, 0, False)],
)
def test_a_period_total_above_the_departments_99th_percentile(total, p99, flagged):
    got = flags_of(facts(period_minutes=total, department_p99=p99))
    assert (Flag.UNUSUAL_TOTAL in got) is flagged


def test_hours_no_agreement_covers():
    assert flags_of(facts(agreement_covers=False)) == [Flag.OUTSIDE_AGREEMENT]


def test_several_flags_come_in_one_order():
    got = flags_of(
        facts(
            day_minutes=720,
            same_description=6,
            period_minutes=9000,
            agreement_covers=False,
            onsite=onsite(network=True, owners=4),
        )
    )
    assert got == list(FLAG_ORDER)


def test_the_nearest_rank_percentile():
    assert percentile([]) is None
    assert percentile([42]) == 42
    # Fewer than a hundred totals: the 99th percentile is the largest, nobody is above it.
    assert percentile(range(1, 100)) == 99
    assert percentile(range(1, 101)) == 99  # 100 values: the 99th of them
    # 101 totals: the largest is above the 99th percentile (the 100th value).
    values = [60] * 100 + [6000]
    assert percentile(values) == 60
    assert percentile(reversed(range(1, 201))) == 198  # order of the input does not matter


def test_a_confirmer_name_is_compared_without_case_or_extra_spaces():
    assert confirmer_key("  Zhang   Wei ") == confirmer_key("zhang wei") == "zhang wei"
    assert confirmer_key("张伟") == "张伟"
    assert confirmer_key("Zhang Wei") != confirmer_key("Zhang Wen")
    assert len(confirmer_key("x" * 500)) == 120


def test_waiting_days_and_escalation():
    today = date(2026, 12, 7)
    assert waiting_days(today, today) == 0
    assert waiting_days(date(2026, 11, 30), today) == 7
    assert waiting_days(date(2026, 12, 9), today) == 0  # a clock ahead never gives a negative age
    assert not is_escalated(7, 7)  # "older than" seven days
    assert is_escalated(8, 7)
    assert is_escalated(1, 0)
