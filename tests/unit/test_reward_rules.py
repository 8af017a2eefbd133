"""The pure rules engine (SPEC §4): thresholds, tiers, caps, rounding, and the
properties that must hold for any rules and any hours. No app, no database."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.rewards.rules import (
    DEFAULT_RULES,
    Audience,
    Outcome,
    Rule,
    RuleKind,
    bonus_amount,
    evaluate,
    hours,
    proposed,
)

H = 60  # minutes in an hour


def outcomes_of(audience: Audience, minutes: int, rules=DEFAULT_RULES) -> dict[str, Outcome]:
    return {o.rule.code: o for o in evaluate(rules, audience, minutes)}


def teacher(minutes: int) -> dict[str, Outcome]:
    return outcomes_of(Audience.TEACHER, minutes)


def expert(minutes: int) -> dict[str, Outcome]:
    return outcomes_of(Audience.EXPERT, minutes)


def bonus(
    rate: int = 0,
    threshold: int = 0,
    fixed: int = 0,
    cap: int | None = None,
    audience: Audience = Audience.TEACHER,
    code: str = "bonus",
) -> Rule:
    return Rule(
        code,
        code.title(),
        RuleKind.BONUS,
        audience,
        threshold,
        fixed_amount_minor=fixed,
        rate_per_hour_minor=rate,
        cap_minor=cap,
    )


def honour(code: str, threshold: int, group: str | None = None, audience=Audience.TEACHER) -> Rule:
    return Rule(code, code.title(), RuleKind.HONOUR, audience, threshold, group=group)


def amount(rule: Rule, minutes: int) -> int:
    [outcome] = evaluate([rule], rule.audience, minutes)
    return outcome.amount_minor


# --- the default rules as SPEC §4 lists them ------------------------------------------------


def test_default_rules_are_the_table_of_the_spec():
    table = {
        (r.code, r.kind, r.audience, r.threshold_minutes, r.group, r.fixed_amount_minor,
         r.rate_per_hour_minor, r.cap_minor, r.currency)
        for r in DEFAULT_RULES
    }  # fmt: skip
    T, E, HON, BON = Audience.TEACHER, Audience.EXPERT, RuleKind.HONOUR, RuleKind.BONUS
    assert table == {
        ("practice-cert", HON, T, 40 * H, "practice", 0, 0, None, "CNY"),
        ("practice-star", HON, T, 160 * H, "practice", 0, 0, None, "CNY"),
        ("practice-allowance", BON, T, 40 * H, None, 0, 5000, 800000, "CNY"),
        ("mentor-cert", HON, E, 16 * H, "mentor", 0, 0, None, "CNY"),
        ("mentor-distinguished", HON, E, 64 * H, "mentor", 0, 0, None, "CNY"),
        ("teaching-fee", BON, E, 0, None, 0, 20000, 2000000, "CNY"),
    }
    assert len({r.code for r in DEFAULT_RULES}) == len(DEFAULT_RULES)
    assert DEFAULT_RULES[0].threshold_hours == Decimal(40)


# --- every default threshold: just under, at, just over ------------------------------------


@pytest.mark.parametrize(
    ("audience", "code", "threshold_hours"),
    [
        (Audience.TEACHER, "practice-cert", 40),
        (Audience.TEACHER, "practice-star", 160),
        (Audience.TEACHER, "practice-allowance", 40),
        (Audience.EXPERT, "mentor-cert", 16),
        (Audience.EXPERT, "mentor-distinguished", 64),
    ],
)
def test_each_default_rule_is_met_from_its_threshold_on(audience, code, threshold_hours):
    at = threshold_hours * H
    under, over = outcomes_of(audience, at - 15)[code], outcomes_of(audience, at + 15)[code]
    exactly = outcomes_of(audience, at)[code]
    assert (under.met, exactly.met, over.met) == (False, True, True)
    assert not under.awarded
    assert under.hours_missing == Decimal("0.25")
    assert under.minutes_missing == 15
    assert exactly.hours_missing == over.hours_missing == 0
    assert under.amount_minor == under.uncapped_minor == 0


@pytest.mark.parametrize(
    ("minutes", "cert", "star", "allowance"),
    [
        (2385, False, False, 0),  # 39.75 h
        (2400, True, False, 0),  # 40 h: met, but 0 h over comes to nothing
        (2415, True, False, 1250),  # 40.25 h: 0.25 h × 50.00 = 12.50
        (9585, True, False, 598750),  # 159.75 h
        (9600, False, True, 600000),  # 160 h: the star outranks the certificate
        (9615, False, True, 601250),  # 160.25 h
    ],
)
def test_practice_rules_around_their_thresholds(minutes, cert, star, allowance):
    got = teacher(minutes)
    assert got["practice-cert"].awarded is cert
    assert got["practice-star"].awarded is star
    assert got["practice-allowance"].amount_minor == allowance
    assert got["practice-allowance"].met is (minutes >= 2400)


@pytest.mark.parametrize(
    ("minutes", "cert", "distinguished", "fee"),
    [
        (945, False, False, 315000),  # 15.75 h × 200.00
        (960, True, False, 320000),  # 16 h
        (975, True, False, 325000),  # 16.25 h
        (3825, True, False, 1275000),  # 63.75 h
        (3840, False, True, 1280000),  # 64 h
        (3855, False, True, 1285000),  # 64.25 h
    ],
)
def test_mentor_rules_and_teaching_fee_around_their_thresholds(minutes, cert, distinguished, fee):
    got = expert(minutes)
    assert got["mentor-cert"].awarded is cert
    assert got["mentor-distinguished"].awarded is distinguished
    assert got["teaching-fee"].amount_minor == fee


# --- tiers -----------------------------------------------------------------------------------


def test_at_160_hours_only_the_star_is_awarded_and_it_outranks_the_certificate():
    got = teacher(160 * H)
    cert, star = got["practice-cert"], got["practice-star"]
    assert cert.met
    assert not cert.awarded
    assert cert.outranked_by == "practice-star"
    assert star.met
    assert star.awarded
    assert star.outranked_by is None
    codes = [o.rule.code for o in proposed(list(got.values()))]
    assert codes == ["practice-star", "practice-allowance"]


def test_below_the_top_tier_the_certificate_is_awarded_and_not_outranked():
    got = teacher(159 * H)
    assert got["practice-cert"].awarded
    assert got["practice-cert"].outranked_by is None
    assert not got["practice-star"].met
    assert got["practice-star"].outranked_by is None


def test_at_64_hours_the_distinguished_mentor_outranks_the_mentor_certificate():
    got = expert(64 * H)
    assert got["mentor-cert"].outranked_by == "mentor-distinguished"
    assert [o.rule.code for o in proposed(list(got.values()))] == [
        "mentor-distinguished",
        "teaching-fee",
    ]


def test_three_tiers_given_in_any_order_award_only_the_highest_met():
    rules = [
        honour("gold", 30 * H, "g"),
        honour("bronze", 10 * H, "g"),
        honour("silver", 20 * H, "g"),
    ]
    got = outcomes_of(Audience.TEACHER, 25 * H, rules)
    assert [c for c, o in got.items() if o.awarded] == ["silver"]
    assert got["bronze"].outranked_by == "silver"
    assert got["gold"].outranked_by is None
    assert not got["gold"].met
    assert [o.rule.code for o in evaluate(rules, Audience.TEACHER, 0)] == [
        "gold",
        "bronze",
        "silver",
    ]


def test_honours_of_different_groups_and_without_group_are_awarded_side_by_side():
    rules = [
        honour("a1", 10 * H, "a"),
        honour("a2", 20 * H, "a"),
        honour("b1", 5 * H, "b"),
        honour("loose1", 1 * H),
        honour("loose2", 2 * H),
    ]
    got = outcomes_of(Audience.TEACHER, 30 * H, rules)
    assert sorted(c for c, o in got.items() if o.awarded) == ["a2", "b1", "loose1", "loose2"]


def test_tiers_of_the_same_group_name_do_not_mix_audiences():
    rules = [
        honour("t-low", 10 * H, "same", Audience.TEACHER),
        honour("e-high", 20 * H, "same", Audience.EXPERT),
    ]
    got = outcomes_of(Audience.TEACHER, 30 * H, rules)
    assert list(got) == ["t-low"]
    assert got["t-low"].awarded


def test_two_tiers_with_the_same_threshold_award_only_one():
    rules = [honour("first", 10 * H, "g"), honour("second", 10 * H, "g")]
    got = outcomes_of(Audience.TEACHER, 10 * H, rules)
    assert sum(o.awarded for o in got.values()) == 1


# --- caps ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected", "uncapped", "capped"),
    [
        (19975 * H // 100, 798750, 798750, False),  # 199.75 h
        (200 * H, 800000, 800000, False),  # 200 h: exactly the cap
        (20025 * H // 100, 800000, 801250, True),  # 200.25 h
        (1000 * H, 800000, 4800000, True),
    ],
)
def test_practice_allowance_reaches_its_cap_at_200_hours(minutes, expected, uncapped, capped):
    got = teacher(minutes)["practice-allowance"]
    assert (got.amount_minor, got.uncapped_minor, got.capped) == (expected, uncapped, capped)


@pytest.mark.parametrize(
    ("minutes", "expected", "uncapped", "capped"),
    [
        (9975 * H // 100, 1995000, 1995000, False),  # 99.75 h
        (100 * H, 2000000, 2000000, False),  # 100 h: exactly the cap
        (10025 * H // 100, 2000000, 2005000, True),  # 100.25 h
        (720 * H, 2000000, 14400000, True),
    ],
)
def test_teaching_fee_reaches_its_cap_at_100_hours(minutes, expected, uncapped, capped):
    got = expert(minutes)["teaching-fee"]
    assert (got.amount_minor, got.uncapped_minor, got.capped) == (expected, uncapped, capped)


def test_a_fixed_amount_above_the_cap_is_cut_to_the_cap():
    rule = bonus(fixed=10000, cap=5000, threshold=10 * H)
    assert amount(rule, 10 * H) == 5000
    assert bonus_amount(rule, 10 * H) == (5000, 10000)


def test_a_cap_of_zero_makes_a_met_bonus_worth_nothing_and_it_is_not_proposed():
    rule = bonus(rate=5000, cap=0)
    [outcome] = evaluate([rule], Audience.TEACHER, 100 * H)
    assert outcome.met
    assert outcome.awarded
    assert outcome.amount_minor == 0
    assert outcome.capped
    assert proposed([outcome]) == []


def test_no_cap_means_no_limit():
    rule = bonus(rate=5000, cap=None, threshold=40 * H)
    [outcome] = evaluate([rule], Audience.TEACHER, 10000 * H)
    assert outcome.amount_minor == outcome.uncapped_minor == 9960 * 5000
    assert not outcome.capped


# --- zero hours, fractional hours, rounding -------------------------------------------------


def test_zero_hours_meets_nothing_for_a_teacher():
    got = teacher(0)
    assert not any(o.met for o in got.values())
    assert got["practice-cert"].hours_missing == 40
    assert got["practice-star"].hours_missing == 160
    assert got["practice-cert"].progress == 0
    assert proposed(list(got.values())) == []


def test_zero_hours_meets_the_zero_threshold_fee_but_it_comes_to_nothing():
    got = expert(0)
    fee = got["teaching-fee"]
    assert fee.met
    assert fee.awarded
    assert fee.amount_minor == 0
    assert fee.progress == 1
    assert proposed(list(got.values())) == []


def test_a_quarter_hour_of_teaching_is_paid():
    fee = expert(15)["teaching-fee"]
    assert fee.amount_minor == 5000
    assert [o.rule.code for o in proposed([fee])] == ["teaching-fee"]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(2415, 1250), (2430, 2500), (2445, 3750), (2460, 5000), (2475, 6250), (2490, 7500)],
)
def test_fractional_hours_over_the_threshold_are_paid_exactly(minutes, expected):
    assert teacher(minutes)["practice-allowance"].amount_minor == expected


@pytest.mark.parametrize(
    ("rate", "minutes", "expected"),
    [
        (1, 30, 1),  # 0.5 → 1
        (3, 15, 1),  # 0.75 → 1
        (2, 15, 1),  # 0.5 → 1: half up, not to even
        (1, 15, 0),  # 0.25 → 0
        (1, 90, 2),  # 1.5 → 2
        (1, 150, 3),  # 2.5 → 3 (banker's rounding would give 2)
        (5, 30, 3),  # 2.5 → 3
        (3, 30, 2),  # 1.5 → 2
        (7, 45, 5),  # 5.25 → 5
        (9, 45, 7),  # 6.75 → 7
        (30, 1, 1),  # a single minute: 0.5 → 1
        (90, 1, 2),  # 1.5 → 2
        (29, 1, 0),  # 0.48 → 0
    ],
)
def test_cents_are_rounded_half_up(rate, minutes, expected):
    assert amount(bonus(rate=rate), minutes) == expected


def test_rounding_applies_to_the_hours_over_the_threshold_only():
    rule = bonus(rate=1, threshold=40 * H, fixed=100)
    assert amount(rule, 40 * H + 30) == 101  # 100 + round(0.5)
    assert amount(rule, 40 * H + 15) == 100  # 100 + round(0.25)
    assert amount(rule, 40 * H - 15) == 0  # not met: nothing, not even the fixed part


def test_fixed_amount_plus_rate():
    rule = bonus(fixed=10000, rate=100, threshold=10 * H)
    assert amount(rule, 10 * H) == 10000
    assert amount(rule, 12 * H + 30) == 10250
    assert amount(rule, 10 * H - 15) == 0


def test_a_fixed_amount_alone_is_paid_at_the_threshold_and_does_not_grow():
    rule = bonus(fixed=30000, threshold=20 * H)
    assert [amount(rule, m) for m in (20 * H - 15, 20 * H, 100 * H)] == [0, 30000, 30000]


# --- what a round proposes -------------------------------------------------------------------


def test_a_bonus_of_zero_is_not_proposed_and_honours_always_are_when_awarded():
    rules = [bonus(code="nothing", threshold=10 * H), honour("title", 10 * H, "g")]
    got = evaluate(rules, Audience.TEACHER, 50 * H)
    assert all(o.met and o.awarded for o in got)
    assert [o.rule.code for o in proposed(got)] == ["title"]


def test_proposed_keeps_outranked_honours_and_unmet_rules_out():
    got = evaluate(DEFAULT_RULES, Audience.TEACHER, 39 * H)
    assert proposed(got) == []
    got = evaluate(DEFAULT_RULES, Audience.TEACHER, 41 * H)
    assert [(o.rule.code, o.amount_minor) for o in proposed(got)] == [
        ("practice-cert", 0),
        ("practice-allowance", 5000),
    ]


def test_rules_of_the_other_audience_are_ignored():
    assert list(teacher(1000 * H)) == ["practice-cert", "practice-star", "practice-allowance"]
    assert list(expert(1000 * H)) == ["mentor-cert", "mentor-distinguished", "teaching-fee"]
    assert evaluate([bonus(rate=100, audience=Audience.EXPERT)], Audience.TEACHER, 100 * H) == []


def test_hours_missing_and_progress():
    got = teacher(20 * H)
    assert got["practice-cert"].hours_missing == 20
    assert got["practice-cert"].progress == Decimal("0.5")
    assert got["practice-star"].hours_missing == 140
    assert got["practice-star"].progress == Decimal("0.125")
    got = teacher(int(27.5 * H))
    assert got["practice-cert"].hours_missing == Decimal("12.5")
    assert got["practice-cert"].hours == Decimal("27.5")
    assert teacher(50 * H)["practice-cert"].progress == 1
    assert teacher(50 * H)["practice-cert"].hours_missing == 0


def test_hours_of_minutes_are_exact():
    assert hours(15) == Decimal("0.25")
    assert hours(2415) == Decimal("40.25")
    assert hours(0) == 0


# --- properties for any rules and any hours ------------------------------------------------

GROUPS = st.sampled_from([None, "a", "b"])
AUDIENCES = st.sampled_from(list(Audience))
QUARTERS = st.integers(min_value=0, max_value=400 * 4).map(lambda q: q * 15)
MONEY = st.integers(min_value=0, max_value=10**9)


@st.composite
def rule_sets(draw) -> list[Rule]:
    count = draw(st.integers(min_value=0, max_value=8))
    rules = []
    for n in range(count):
        kind = draw(st.sampled_from(list(RuleKind)))
        common = {
            "code": f"r{n}",
            "name": f"Rule {n}",
            "kind": kind,
            "audience": draw(AUDIENCES),
            "threshold_minutes": draw(QUARTERS),
        }
        if kind is RuleKind.HONOUR:
            rules.append(Rule(**common, group=draw(GROUPS)))
        else:
            rules.append(
                Rule(
                    **common,
                    fixed_amount_minor=draw(MONEY),
                    rate_per_hour_minor=draw(st.integers(min_value=0, max_value=10**7)),
                    cap_minor=draw(st.none() | MONEY),
                )
            )
    return rules


MINUTES = st.integers(min_value=0, max_value=10_000 * H)


def formula(rule: Rule, minutes: int) -> int:
    """SPEC §4 worked out with exact fractions: the oracle for the engine's integer arithmetic."""
    if minutes < rule.threshold_minutes:
        return 0
    variable = Fraction(rule.rate_per_hour_minor * (minutes - rule.threshold_minutes), 60)
    rounded = int((variable + Fraction(1, 2)).__floor__())  # half up, for amounts ≥ 0
    total = rule.fixed_amount_minor + rounded
    return total if rule.cap_minor is None else min(total, rule.cap_minor)


def awarded_tiers(outcomes: list[Outcome]) -> dict[str, Outcome]:
    tiers: dict[str, Outcome] = {}
    for o in outcomes:
        if o.rule.kind is RuleKind.HONOUR and o.rule.group and o.awarded:
            assert o.rule.group not in tiers, "two honours of one group awarded"
            tiers[o.rule.group] = o
    return tiers


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), audience=AUDIENCES, a=MINUTES, b=MINUTES)
def test_more_hours_never_make_an_outcome_worse(rules, audience, a, b):
    a, b = min(a, b), max(a, b)
    before = {o.rule.code: o for o in evaluate(rules, audience, a)}
    after = {o.rule.code: o for o in evaluate(rules, audience, b)}
    assert before.keys() == after.keys()
    for code, old in before.items():
        new = after[code]
        assert new.met or not old.met, code
        assert new.amount_minor >= old.amount_minor, code
        assert new.uncapped_minor >= old.uncapped_minor, code
        assert new.minutes_missing <= old.minutes_missing, code
        assert new.progress >= old.progress, code
    tiers_before, tiers_after = (
        awarded_tiers(list(before.values())),
        awarded_tiers(list(after.values())),
    )
    for group, old in tiers_before.items():
        assert group in tiers_after, f"group {group} lost its award"
        assert tiers_after[group].rule.threshold_minutes >= old.rule.threshold_minutes


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), audience=AUDIENCES, minutes=MINUTES)
def test_every_outcome_keeps_the_rules_of_the_engine(rules, audience, minutes):
    outcomes = evaluate(rules, audience, minutes)
    assert [o.rule for o in outcomes] == [r for r in rules if r.audience == audience]
    tiers = awarded_tiers(outcomes)  # at most one honour per group
    for o in outcomes:
        rule = o.rule
        assert o.met is (minutes >= rule.threshold_minutes)
        assert o.approved_minutes == minutes
        assert o.amount_minor >= 0
        if rule.cap_minor is not None:
            assert o.amount_minor <= rule.cap_minor
        assert o.amount_minor <= o.uncapped_minor
        if rule.kind is RuleKind.HONOUR:
            assert o.amount_minor == 0
        else:
            assert o.amount_minor == formula(rule, minutes)
            assert o.awarded is o.met
            assert o.outranked_by is None
        if o.awarded:
            assert o.met
        if rule.kind is RuleKind.HONOUR and rule.group and o.met:
            top = tiers[rule.group]
            highest = max(
                r.threshold_minutes
                for r in rules
                if r.audience == audience
                and r.kind is RuleKind.HONOUR
                and r.group == rule.group
                and minutes >= r.threshold_minutes
            )
            assert top.rule.threshold_minutes == highest
            assert o.outranked_by == (None if o is top else top.rule.code)
        if rule.kind is RuleKind.HONOUR and not rule.group:
            assert o.awarded is o.met
        assert Decimal(0) <= o.progress <= 1
    for o in proposed(outcomes):
        assert o.awarded
        assert o.rule.kind is RuleKind.HONOUR or o.amount_minor > 0
    missing = [
        o for o in outcomes if o.awarded and o not in proposed(outcomes)
    ]  # only bonuses worth nothing are left out
    assert all(o.rule.kind is RuleKind.BONUS and o.amount_minor == 0 for o in missing)
