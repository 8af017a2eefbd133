"""Reward services (SPEC §4, §5) on a real database: which hours count, rules per
period, eligibility and progress, reward rounds from open to finalize, revoking
awards, the public certificate check, and the revoke guard on counted logs."""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from exchange.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.logs import services as log_services
from exchange.logs.workflow import Action
from exchange.org.services import PeriodInput, save_period
from exchange.rewards import queries, services
from exchange.rewards import rules as engine
from exchange.rewards.models import Award, RewardRound, RewardRule
from exchange.rewards.services import RuleInput
from exchange.timeutil import college_today
from tests.conftest import period_end

H = 60


def day(n: int):
    return college_today() - timedelta(days=n)


@pytest.fixture
def log_hours(college, make_log):
    """Logs of ``total`` hours for ``owner``, 12 h a day at most, each on a day of its own
    counted back from today (the day the test began: still in the period after ``travel``)."""
    next_day: dict[int, int] = defaultdict(int)
    today = college_today()

    def log(owner, total, status: str = "approved", **fields):
        quarters = int(Decimal(str(total)) * 4)
        made = []
        while quarters > 0:
            chunk = min(quarters, 48)
            offset = next_day[owner.id]
            next_day[owner.id] += 1
            made.append(
                make_log(owner, status=status, hours=str(Decimal(chunk) / 4),
                         work_date=today - timedelta(days=offset), **fields)
            )  # fmt: skip
            quarters -= chunk
        return made

    return log


@pytest.fixture
def nur_teacher(college, make_user):
    return make_user("teacher", name="Gao Yan", department=college.other_department)


def standing_of(standings, person):
    found = [s for s in standings if s.person.id == person.id]
    assert len(found) <= 1
    return found[0] if found else None


def open_cm(college, actor=None) -> RewardRound:
    return services.open_round(actor or college.head, college.department.id, college.period.id)


def awards_by(reward_round) -> dict[tuple[int, str], Award]:
    return {(a.holder_id, a.rule.code): a for a in reward_round.awards}


def summary(reward_round) -> set[tuple[int, str, int, int, str]]:
    return {
        (a.holder_id, a.rule.code, a.minutes, a.amount_minor, a.status) for a in reward_round.awards
    }


def decide_all(actor, reward_round, approve: bool = True) -> None:
    for award in reward_round.awards:
        services.decide_award(actor, award, approve, None if approve else "Not this year")


def revoke_log(college, log):
    return log_services.transition(college.admin, log, Action.REVOKE, "Entered twice")


def reload_round(round_id: int) -> RewardRound:
    db.session.expire_all()
    return db.session.get(RewardRound, round_id)


def rule_input(**overrides) -> RuleInput:
    values = {
        "code": "safety-badge",
        "name": "Safety Badge",
        "kind": "honour",
        "audience": "teacher",
        "threshold_hours": "10",
        "group": None,
        "fixed_amount_minor": None,
        "rate_per_hour_minor": None,
        "cap_minor": None,
        "currency": "CNY",
    }
    values.update(overrides)
    return RuleInput(**values)


def bonus_input(**overrides) -> RuleInput:
    values = {
        "code": "travel",
        "name": "Travel Allowance",
        "kind": "bonus",
        "fixed_amount_minor": 10000,
        "rate_per_hour_minor": 100,
        "cap_minor": 50000,
    }
    values.update(overrides)
    return rule_input(**values)


def rule_of(period, code: str) -> RewardRule:
    [rule] = [r for r in queries.period_rules(period.id) if r.code == code]
    return rule


def rule_specs(period) -> set[engine.Rule]:
    return {r.spec() for r in queries.period_rules(period.id)}


def field_errors(excinfo) -> set[str]:
    return set(excinfo.value.fields)


# --- which hours count -------------------------------------------------------------------


def test_only_approved_hours_count_and_submitted_plus_verified_are_pending(college, make_log):
    for n, (status, hours) in enumerate(
        [("draft", 1), ("submitted", 2), ("verified", 3), ("approved", 4), ("rejected", 5),
         ("revoked", 6), ("approved", 0.25)]
    ):  # fmt: skip
        make_log(status=status, hours=str(hours), work_date=day(n))
    standing = standing_of(
        services.eligibility(college.head, college.department, college.period), college.teacher
    )
    assert standing.approved_minutes == 4 * H + 15
    assert standing.pending_minutes == 5 * H
    assert standing.approved_hours == Decimal("4.25")
    assert standing.pending_hours == 5
    [mine] = services.progress(college.teacher, college.period)
    assert (mine.approved_minutes, mine.pending_minutes) == (4 * H + 15, 5 * H)
    assert mine.department.id == college.department.id


def test_people_with_only_drafts_or_rejected_logs_are_not_listed(college, make_log):
    make_log(status="draft")
    make_log(college.other_teacher, status="rejected")
    make_log(college.expert, status="draft")
    assert services.eligibility(college.head, college.department, college.period) == []


def test_people_with_only_pending_hours_are_listed_in_eligibility_but_not_in_a_round(
    college, make_log
):
    make_log(status="verified", hours="12")
    standing = standing_of(
        services.eligibility(college.head, college.department, college.period), college.teacher
    )
    assert (standing.approved_minutes, standing.pending_minutes) == (0, 12 * H)
    assert open_cm(college).awards == []


def test_a_revoked_log_drops_out_of_the_hours_and_the_round(college, log_hours):
    logs = log_hours(college.teacher, 41)  # 12 + 12 + 12 + 5
    assert [log.minutes for log in logs] == [720, 720, 720, 300]
    before = standing_of(
        services.eligibility(college.admin, college.department, college.period), college.teacher
    )
    assert before.approved_minutes == 41 * H
    revoke_log(college, logs[-1])
    db.session.commit()
    after = standing_of(
        services.eligibility(college.admin, college.department, college.period), college.teacher
    )
    assert after.approved_minutes == 36 * H
    assert after.pending_minutes == 0
    assert open_cm(college).awards == []


def test_an_expert_counts_in_each_department_with_that_departments_hours_only(
    college, log_hours, nur_teacher
):
    log_hours(college.expert, 10)  # in Clinical Medicine
    log_hours(
        college.expert, 20, department_id=college.other_department.id, verifier=college.foreign_head
    )
    cm = standing_of(
        services.eligibility(college.head, college.department, college.period), college.expert
    )
    nur = standing_of(
        services.eligibility(college.foreign_head, college.other_department, college.period),
        college.expert,
    )
    assert (cm.approved_minutes, cm.department.id) == (10 * H, college.department.id)
    assert (nur.approved_minutes, nur.department.id) == (20 * H, college.other_department.id)
    assert cm.audience == nur.audience == engine.Audience.EXPERT
    mine = services.progress(college.expert, college.period)
    [across] = [s for s in mine if s.is_college]  # the college rules count both departments
    assert (across.department, across.approved_minutes) == (None, 30 * H)
    assert {(s.department.id, s.approved_minutes) for s in mine if not s.is_college} == {
        (college.department.id, 10 * H),
        (college.other_department.id, 20 * H),
    }
    cm_round = open_cm(college)
    nur_round = services.open_round(
        college.foreign_head, college.other_department.id, college.period.id
    )
    assert {(c, a.minutes, a.amount_minor) for (_, c), a in awards_by(cm_round).items()} == {
        ("teaching-fee", 10 * H, 200000),
    }
    assert {(c, a.minutes, a.amount_minor) for (_, c), a in awards_by(nur_round).items()} == {
        ("teaching-fee", 20 * H, 400000),  # mentor honours are college rules: not here
    }
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    assert {(c, a.minutes, a.amount_minor) for (_, c), a in awards_by(college_round).items()} == {
        ("mentor-cert", 30 * H, 0),  # 10 h in Clinical Medicine + 20 h in Nursing
    }


def test_a_teachers_practice_counts_in_the_teachers_department_only(
    college, log_hours, nur_teacher
):
    log_hours(college.teacher, 3)
    log_hours(nur_teacher, 5)
    cm = services.eligibility(college.admin, college.department, college.period)
    nur = services.eligibility(college.admin, college.other_department, college.period)
    assert {(s.person.id, s.approved_minutes) for s in cm} == {(college.teacher.id, 3 * H)}
    assert {(s.person.id, s.approved_minutes) for s in nur} == {(nur_teacher.id, 5 * H)}
    assert all(s.audience == engine.Audience.TEACHER for s in cm + nur)


def test_a_heads_own_practice_counts_as_a_teachers(college, log_hours):
    log_hours(college.head, 40)
    standing = standing_of(
        services.eligibility(college.other_head, college.department, college.period), college.head
    )
    assert standing.audience == engine.Audience.TEACHER
    assert {o.rule.code for o in standing.outcomes if o.awarded} == {
        "practice-cert",
        "practice-allowance",
    }


def test_hours_of_another_period_do_not_count(college, make_period, make_log):
    last_year = make_period(name="2025-2026", starts_on=day(465), ends_on=day(101))
    services.seed_rules(last_year)
    make_log(status="approved", hours="8", work_date=day(150))
    make_log(status="approved", hours="2", work_date=day(1))
    [now] = services.eligibility(college.head, college.department, college.period)
    [then] = services.eligibility(college.head, college.department, last_year)
    assert (now.approved_minutes, then.approved_minutes) == (2 * H, 8 * H)


def test_eligibility_is_for_heads_of_the_department_and_admins(college):
    for outsider in (college.teacher, college.expert, college.foreign_head):
        with pytest.raises(PermissionDenied):
            services.eligibility(outsider, college.department, college.period)
    assert services.eligibility(college.head, college.department, college.period) == []
    assert services.eligibility(college.admin, college.other_department, college.period) == []


def test_progress_of_a_teacher_without_hours_shows_every_teacher_rule(college):
    [standing] = services.progress(college.teacher, college.period)
    assert (standing.approved_minutes, standing.pending_minutes) == (0, 0)
    missing = {o.rule.code: o.hours_missing for o in standing.outcomes}
    assert missing == {"practice-cert": 40, "practice-star": 160, "practice-allowance": 40}


def test_progress_counts_pending_hours_and_shows_how_far_each_rule_is(college, log_hours):
    log_hours(college.teacher, 27.5)
    log_hours(college.teacher, 6, status="submitted")
    [standing] = services.progress(college.teacher, college.period)
    assert standing.approved_hours == Decimal("27.5")
    assert standing.pending_hours == 6
    cert = {o.rule.code: o for o in standing.outcomes}["practice-cert"]
    assert cert.hours_missing == Decimal("12.5")
    assert not cert.met


def test_an_admin_has_no_progress(college):
    assert services.progress(college.admin, college.period) == []


# --- rules per period ----------------------------------------------------------------------


def test_a_period_without_a_predecessor_gets_the_default_rules(college, make_period):
    assert rule_specs(college.period) == set(engine.DEFAULT_RULES)
    earlier = make_period(name="2020-2021", starts_on=day(900), ends_on=day(600))
    services.seed_rules(earlier)
    assert rule_specs(earlier) == set(engine.DEFAULT_RULES)


def test_a_new_period_copies_the_edited_rules_of_the_period_before(college, make_period):
    allowance = rule_of(college.period, "practice-allowance")
    services.save_rule(
        college.admin,
        college.period,
        bonus_input(code="practice-allowance", name="Practice Allowance", threshold_hours="30",
                    fixed_amount_minor=0, rate_per_hour_minor=6000, cap_minor=None),
        allowance,
    )  # fmt: skip
    services.save_rule(college.admin, college.period, rule_input())
    db.session.commit()
    edited = rule_specs(college.period)
    assert len(edited) == len(engine.DEFAULT_RULES) + 1
    next_year = make_period(name="2027-2028", starts_on=day(-101), ends_on=day(-465))
    services.seed_rules(next_year)
    db.session.commit()
    assert rule_specs(next_year) == edited
    # The copies are rows of their own: editing them leaves the old period alone.
    assert {r.period_id for r in queries.period_rules(next_year.id)} == {next_year.id}


def test_seeding_copies_the_latest_earlier_period_not_an_older_one(college, make_period):
    older = make_period(name="2024-2025", starts_on=day(900), ends_on=day(600))
    services.seed_rules(older)
    services.save_rule(college.admin, older, rule_input(code="old-only"))
    services.save_rule(college.admin, college.period, rule_input(code="new-only"))
    db.session.commit()
    next_year = make_period(name="2027-2028", starts_on=day(-101), ends_on=day(-465))
    services.seed_rules(next_year)
    codes = {r.code for r in queries.period_rules(next_year.id)}
    assert "new-only" in codes
    assert "old-only" not in codes


def test_a_period_created_by_an_admin_starts_with_the_previous_rules(college):
    services.save_rule(college.admin, college.period, rule_input(code="carried-over"))
    period = save_period(college.admin, PeriodInput("2027-2028", day(-101), day(-465)))
    db.session.commit()
    assert rule_specs(period) == rule_specs(college.period)
    assert "carried-over" in {r.code for r in queries.period_rules(period.id)}


def test_save_rule_creates_a_rule_with_clean_values(college):
    rule = services.save_rule(
        college.admin,
        college.period,
        bonus_input(code="  Travel-Grant_2 ", name=" Travel ", threshold_hours="12,25",
                    currency="usd", cap_minor=None),
    )  # fmt: skip
    db.session.commit()
    assert (rule.code, rule.name, rule.threshold_minutes, rule.currency) == (
        "travel-grant_2",
        "Travel",
        735,
        "USD",
    )
    assert (rule.fixed_amount_minor, rule.rate_per_hour_minor, rule.cap_minor) == (10000, 100, None)
    honour = services.save_rule(
        college.admin, college.period, rule_input(code="badge", group=" safety ", threshold_hours=0)
    )
    assert (honour.group, honour.threshold_minutes, honour.cap_minor) == ("safety", 0, None)
    assert (honour.fixed_amount_minor, honour.rate_per_hour_minor) == (0, 0)
    rate_only = services.save_rule(
        college.admin, college.period, bonus_input(code="rate-only", fixed_amount_minor=None)
    )
    assert (rate_only.fixed_amount_minor, rate_only.rate_per_hour_minor) == (0, 100)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "   "}, "code"),
        ({"code": "has space"}, "code"),
        ({"code": "x/y"}, "code"),
        ({"code": "c" * 41}, "code"),
        ({"code": "practice-cert"}, "code"),  # taken in this period
        ({"code": "PRACTICE-CERT"}, "code"),  # codes are compared lower-cased
        ({"name": ""}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"kind": "medal"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"audience": "student"}, "audience"),
        ({"threshold_hours": "abc"}, "threshold_hours"),
        ({"threshold_hours": ""}, "threshold_hours"),
        ({"threshold_hours": None}, "threshold_hours"),
        ({"threshold_hours": True}, "threshold_hours"),
        ({"threshold_hours": "-1"}, "threshold_hours"),
        ({"threshold_hours": "10000.25"}, "threshold_hours"),
        ({"threshold_hours": "0.001"}, "threshold_hours"),  # not a whole minute
        ({"threshold_hours": "NaN"}, "threshold_hours"),
        ({"threshold_hours": "sNaN"}, "threshold_hours"),
        ({"threshold_hours": "Infinity"}, "threshold_hours"),
        ({"threshold_hours": "1e999999"}, "threshold_hours"),
        ({"currency": "CN"}, "currency"),
        ({"currency": "CNYY"}, "currency"),
        ({"currency": "C1Y"}, "currency"),
        ({"fixed_amount_minor": 100}, "kind"),  # an honour carries no money
        ({"rate_per_hour_minor": 1}, "kind"),
    ],
)
def test_save_rule_refuses_bad_input_on_the_field(college, overrides, field):
    before = rule_specs(college.period)
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(college.admin, college.period, rule_input(**overrides))
    assert field in field_errors(excinfo)
    assert rule_specs(college.period) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rate_per_hour_minor": None}, "rate_per_hour_minor"),
        ({"fixed_amount_minor": -1}, "fixed_amount_minor"),
        ({"rate_per_hour_minor": -5}, "rate_per_hour_minor"),
        ({"cap_minor": -1}, "cap_minor"),
        ({"cap_minor": 10**12 + 1}, "cap_minor"),
        ({"rate_per_hour_minor": 10**18}, "rate_per_hour_minor"),
        ({"group": "tiers"}, "group"),  # only honours form tiers
    ],
)
def test_save_rule_refuses_bad_money_on_the_field(college, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(college.admin, college.period, bonus_input(**overrides))
    assert field in field_errors(excinfo)


def test_only_an_admin_saves_rules(college):
    for actor in (college.head, college.teacher, college.expert):
        with pytest.raises(PermissionDenied):
            services.save_rule(actor, college.period, rule_input())


def test_editing_a_rule_keeps_its_own_code_but_may_not_take_another(college):
    cert = rule_of(college.period, "practice-cert")
    edited = services.save_rule(
        college.admin,
        college.period,
        rule_input(code="practice-cert", name="Practice Certificate", threshold_hours="35",
                   group="practice"),
        cert,
    )  # fmt: skip
    assert edited.id == cert.id
    assert edited.threshold_minutes == 35 * H
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(
            college.admin, college.period, rule_input(code="practice-star", group="practice"), cert
        )
    assert "code" in field_errors(excinfo)


def test_an_edited_rule_is_what_the_next_round_uses(college, log_hours):
    log_hours(college.teacher, 36)
    services.save_rule(
        college.admin,
        college.period,
        rule_input(code="practice-cert", name="Practice Certificate", threshold_hours="35",
                   group="practice"),
        rule_of(college.period, "practice-cert"),
    )  # fmt: skip
    assert {code for (_, code) in awards_by(open_cm(college))} == {"practice-cert"}


def mentor_cert_input(**overrides) -> RuleInput:
    values = {
        "code": "mentor-cert",
        "name": "Mentor Certificate",
        "audience": "expert",
        "threshold_hours": "16",
        "group": "mentor",
        "scope": "college",
    }
    values.update(overrides)
    return rule_input(**values)


def test_rules_of_a_scope_are_frozen_once_a_round_of_that_scope_is_finalized(
    college, make_period, travel
):
    draft = open_cm(college)
    assert not services.rules_are_frozen(college.period)  # a draft round does not freeze them
    assert not services.rules_are_frozen(college.period, "department")
    services.save_rule(college.admin, college.period, rule_input(code="while-draft"))
    travel(period_end(college.period))
    services.finalize_round(college.admin, draft)
    db.session.commit()
    # A department round freezes the department rules of the period...
    assert services.rules_are_frozen(college.period, "department")
    assert not services.rules_are_frozen(college.period, "college")
    assert not services.rules_are_frozen(college.period)
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(college.admin, college.period, rule_input(code="too-late"))
    assert "scope" in field_errors(excinfo)
    with pytest.raises(Conflict):
        services.save_rule(
            college.admin,
            college.period,
            bonus_input(code="practice-allowance", rate_per_hour_minor=1),
            rule_of(college.period, "practice-allowance"),
        )
    assert rule_of(college.period, "practice-allowance").rate_per_hour_minor == 5000
    # ...while the college rules change until the college round is finalized.
    services.save_rule(
        college.admin, college.period, rule_input(code="college-badge", scope="college")
    )
    services.save_rule(
        college.admin,
        college.period,
        mentor_cert_input(threshold_hours="20"),
        rule_of(college.period, "mentor-cert"),
    )
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    services.finalize_round(college.admin, college_round)
    db.session.commit()
    assert services.rules_are_frozen(college.period, "college")
    assert services.rules_are_frozen(college.period)
    for scope in ("college", "department"):
        with pytest.raises(Conflict):
            services.save_rule(
                college.admin, college.period, rule_input(code="too-late", scope=scope)
            )
    with pytest.raises(Conflict):
        services.save_rule(
            college.admin,
            college.period,
            mentor_cert_input(threshold_hours="10"),
            rule_of(college.period, "mentor-cert"),
        )
    assert rule_of(college.period, "mentor-cert").threshold_minutes == 20 * H
    next_year = make_period(name="2027-2028", starts_on=day(-101), ends_on=day(-465))
    services.seed_rules(next_year)
    assert not services.rules_are_frozen(next_year)
    services.save_rule(college.admin, next_year, rule_input(code="next-year"))


def test_rules_of_a_locked_period_are_frozen(college, make_period):
    locked = make_period(name="2024-2025", starts_on=day(900), ends_on=day(600), state="locked")
    services.seed_rules(locked)
    assert services.rules_are_frozen(locked)
    with pytest.raises(Conflict):
        services.save_rule(college.admin, locked, rule_input())
    with pytest.raises(Conflict):
        services.save_rule(
            college.admin,
            locked,
            bonus_input(code="practice-allowance", rate_per_hour_minor=1),
            rule_of(locked, "practice-allowance"),
        )


# --- opening a round ------------------------------------------------------------------------


def test_a_head_opens_a_round_for_their_department_and_an_admin_for_any(college):
    mine = open_cm(college)
    assert (mine.department_id, mine.period_id, mine.state) == (
        college.department.id,
        college.period.id,
        "draft",
    )
    assert mine.opened_by_id == college.head.id
    other = services.open_round(college.admin, college.other_department.id, college.period.id)
    assert other.department_id == college.other_department.id


@pytest.mark.parametrize("who", ["foreign_head", "teacher", "expert", "other_teacher"])
def test_others_may_not_open_a_round(college, who):
    with pytest.raises(PermissionDenied):
        services.open_round(getattr(college, who), college.department.id, college.period.id)
    db.session.rollback()
    assert db.session.query(RewardRound).count() == 0


def test_a_second_round_for_the_same_department_and_period_is_a_conflict(college):
    open_cm(college)
    db.session.commit()
    with pytest.raises(Conflict):
        open_cm(college, college.admin)
    db.session.rollback()
    assert db.session.query(RewardRound).count() == 1


def test_opening_a_round_for_unknown_records_names_the_fields(college):
    with pytest.raises(ValidationError) as excinfo:
        services.open_round(college.admin, 999_999, None)
    assert field_errors(excinfo) == {"department_id", "period_id"}


def test_a_round_proposes_what_the_rules_award(college, log_hours, make_log):
    log_hours(college.teacher, 48)
    log_hours(college.other_teacher, 40)  # exactly the threshold: the allowance is 0
    log_hours(college.expert, 3)
    log_hours(college.other_expert, 70)  # 70 h: distinguished mentor, 14,000.00 fee
    make_log(college.head, status="submitted")  # pending only: not listed
    rnd = open_cm(college)
    t, o, e, oe = college.teacher, college.other_teacher, college.expert, college.other_expert
    assert summary(rnd) == {
        (t.id, "practice-cert", 48 * H, 0, "proposed"),
        (t.id, "practice-allowance", 48 * H, 40000, "proposed"),
        (o.id, "practice-cert", 40 * H, 0, "proposed"),
        (e.id, "teaching-fee", 3 * H, 60000, "proposed"),
        (oe.id, "teaching-fee", 70 * H, 1400000, "proposed"),
    }
    assert {a.currency for a in rnd.awards} == {"CNY"}
    assert all(a.certificate_number is None and a.verification_code is None for a in rnd.awards)
    # The mentor honours are college rules: the period's college round proposes them.
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    assert summary(college_round) == {(oe.id, "mentor-distinguished", 70 * H, 0, "proposed")}
    assert all(
        a.certificate_number is None and a.verification_code is None for a in college_round.awards
    )


def test_a_round_of_one_department_lists_nobody_of_another(college, log_hours, nur_teacher):
    log_hours(nur_teacher, 50)
    assert open_cm(college).awards == []


# --- refreshing ------------------------------------------------------------------------------


def test_refresh_picks_up_new_approvals_and_reproposes_only_what_changed(college, log_hours):
    log_hours(college.teacher, 40)
    log_hours(college.expert, 3)
    rnd = open_cm(college)
    by = awards_by(rnd)
    services.decide_award(college.head, by[(college.teacher.id, "practice-cert")], True)
    services.decide_award(college.head, by[(college.expert.id, "teaching-fee")], False, "Paid")
    db.session.commit()
    fee_id = by[(college.expert.id, "teaching-fee")].id

    log_hours(college.teacher, 1)
    log_hours(college.other_teacher, 40)
    services.refresh_round(college.head, rnd)
    db.session.commit()
    rnd = reload_round(rnd.id)
    t, o, e = college.teacher, college.other_teacher, college.expert
    assert summary(rnd) == {
        (t.id, "practice-cert", 41 * H, 0, "proposed"),  # hours changed: decided again
        (t.id, "practice-allowance", 41 * H, 5000, "proposed"),
        (o.id, "practice-cert", 40 * H, 0, "proposed"),
        (e.id, "teaching-fee", 3 * H, 60000, "rejected"),  # unchanged: the decision stays
    }
    fee = awards_by(rnd)[(e.id, "teaching-fee")]
    assert (fee.id, fee.reason, fee.decided_by_id) == (fee_id, "Paid", college.head.id)
    cert = awards_by(rnd)[(t.id, "practice-cert")]
    assert (cert.reason, cert.decided_by_id, cert.decided_at) == (None, None, None)
    assert rnd.refreshed_at is not None


def test_refresh_drops_awards_no_longer_met_and_moves_up_a_tier(college, log_hours):
    teacher_logs = log_hours(college.teacher, 40)
    log_hours(college.other_teacher, 150)
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    revoke_log(college, teacher_logs[0])
    log_hours(college.other_teacher, 10)
    services.refresh_round(college.admin, rnd)
    db.session.commit()
    rnd = reload_round(rnd.id)
    o = college.other_teacher
    assert summary(rnd) == {
        (o.id, "practice-star", 160 * H, 0, "proposed"),
        (o.id, "practice-allowance", 160 * H, 600000, "proposed"),
    }


def test_refresh_follows_an_edited_rule(college, log_hours):
    log_hours(college.teacher, 42)
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    services.save_rule(
        college.admin,
        college.period,
        bonus_input(code="practice-allowance", name="Practice Allowance", threshold_hours="40",
                    fixed_amount_minor=0, rate_per_hour_minor=6000, cap_minor=800000),
        rule_of(college.period, "practice-allowance"),
    )  # fmt: skip
    services.refresh_round(college.head, rnd)
    t = college.teacher
    assert summary(rnd) == {
        (t.id, "practice-cert", 42 * H, 0, "approved"),
        (t.id, "practice-allowance", 42 * H, 12000, "proposed"),
    }


def test_refresh_follows_a_changed_currency(college, log_hours):
    """An award carries its rule's currency; a rule that changes only its currency must
    not leave the award showing the old one (the payout sheet would be wrong)."""
    log_hours(college.teacher, 42)
    rnd = open_cm(college)
    services.save_rule(
        college.admin,
        college.period,
        bonus_input(code="practice-allowance", name="Practice Allowance", threshold_hours="40",
                    fixed_amount_minor=0, rate_per_hour_minor=5000, cap_minor=800000,
                    currency="HKD"),
        rule_of(college.period, "practice-allowance"),
    )  # fmt: skip
    services.refresh_round(college.head, rnd)
    allowance = awards_by(rnd)[(college.teacher.id, "practice-allowance")]
    assert (allowance.amount_minor, allowance.currency) == (10000, "HKD")


@pytest.mark.parametrize("who", ["foreign_head", "teacher", "expert"])
def test_only_heads_of_the_department_and_admins_refresh(college, who):
    rnd = open_cm(college)
    with pytest.raises(PermissionDenied):
        services.refresh_round(getattr(college, who), rnd)


# --- deciding ------------------------------------------------------------------------------


def test_nobody_decides_their_own_award(college, log_hours):
    log_hours(college.head, 41)
    rnd = open_cm(college, college.other_head)
    own = awards_by(rnd)[(college.head.id, "practice-cert")]
    with pytest.raises(PermissionDenied):
        services.decide_award(college.head, own, True)
    with pytest.raises(PermissionDenied):
        services.decide_award(college.head, own, False, "Modest")
    assert own.status == "proposed"
    services.decide_award(college.other_head, own, True)
    assert (own.status, own.decided_by_id) == ("approved", college.other_head.id)


@pytest.mark.parametrize("reason", [None, "", "   \n\t"])
def test_rejecting_an_award_needs_a_reason(college, log_hours, reason):
    log_hours(college.teacher, 40)
    [award] = open_cm(college).awards
    with pytest.raises(ValidationError) as excinfo:
        services.decide_award(college.head, award, False, reason)
    assert field_errors(excinfo) == {"reason"}
    assert award.status == "proposed"


def test_a_reason_is_at_most_500_characters_and_is_kept_trimmed(college, log_hours):
    log_hours(college.teacher, 40)
    [award] = open_cm(college).awards
    with pytest.raises(ValidationError):
        services.decide_award(college.head, award, False, "x" * 501)
    services.decide_award(college.head, award, False, "  " + "y" * 500 + "  ")
    assert award.reason == "y" * 500
    services.decide_award(college.admin, award, True, "ignored")  # changed while a draft
    assert (award.status, award.reason, award.decided_by_id) == (
        "approved",
        None,
        college.admin.id,
    )


@pytest.mark.parametrize("who", ["foreign_head", "teacher", "other_teacher", "expert"])
def test_only_heads_of_the_department_and_admins_decide(college, log_hours, who):
    log_hours(college.expert, 2)
    [award] = open_cm(college).awards
    with pytest.raises(PermissionDenied):
        services.decide_award(getattr(college, who), award, True)
    assert award.status == "proposed"


def test_heads_of_other_departments_do_not_find_rounds_or_awards(college, log_hours):
    log_hours(college.expert, 2)
    rnd = open_cm(college)
    db.session.commit()
    with pytest.raises(NotFound):
        services.get_round(college.foreign_head, rnd.id)
    with pytest.raises(NotFound):
        services.get_award(college.foreign_head, rnd.awards[0].id)
    with pytest.raises(NotFound):
        services.get_round(college.teacher, rnd.id)
    assert services.get_round(college.head, rnd.id) is rnd
    assert services.get_award(college.admin, rnd.awards[0].id) is rnd.awards[0]


# --- finalizing -----------------------------------------------------------------------------


def test_finalize_needs_every_award_decided(college, log_hours, travel):
    log_hours(college.teacher, 41)
    rnd = open_cm(college)
    cert, allowance = (awards_by(rnd)[(college.teacher.id, c)] for c in
                       ("practice-cert", "practice-allowance"))  # fmt: skip
    services.decide_award(college.head, cert, True)
    db.session.commit()
    travel(period_end(college.period))
    with pytest.raises(Conflict):
        services.finalize_round(college.head, rnd)
    db.session.rollback()
    rnd = reload_round(rnd.id)
    assert rnd.state == "draft"
    assert all(a.certificate_number is None for a in rnd.awards)


@pytest.mark.parametrize("who", ["foreign_head", "teacher", "expert"])
def test_only_heads_of_the_department_and_admins_finalize(college, who, travel):
    rnd = open_cm(college)
    travel(period_end(college.period))
    with pytest.raises(PermissionDenied):
        services.finalize_round(getattr(college, who), rnd)
    assert rnd.state == "draft"


def test_finalize_issues_numbered_certificates_in_order_of_the_holders_names(
    college, log_hours, make_user, travel
):
    zhang = make_user("teacher", name="Zhang Wei", department=college.department)
    an = make_user("teacher", name="An Qi", department=college.department)
    log_hours(zhang, 160)  # allowance (from 40 h) before star (160 h): by threshold
    log_hours(an, 40)
    log_hours(college.teacher, 12)  # Li Na: nothing met
    log_hours(college.expert, 20)  # Chen Hao: fee here, mentor certificate by the college
    log_hours(college.other_expert, 1)  # Liu Yang: fee, rejected below
    rnd = open_cm(college)
    for award in rnd.awards:
        if award.holder_id == college.other_expert.id:
            services.decide_award(college.head, award, False, "Paid by the enterprise")
        else:
            services.decide_award(college.head, award, True)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    rnd = reload_round(rnd.id)
    assert rnd.state == "finalized"
    assert rnd.finalized_by_id == college.head.id
    assert rnd.finalized_at is not None
    issued = sorted(
        (a.certificate_number, a.holder.name, a.rule.code)
        for a in rnd.awards
        if a.status == "issued"
    )
    assert issued == [
        ("2026-2027-CM-0001", "An Qi", "practice-cert"),
        ("2026-2027-CM-0002", "Chen Hao", "teaching-fee"),
        ("2026-2027-CM-0003", "Zhang Wei", "practice-allowance"),
        ("2026-2027-CM-0004", "Zhang Wei", "practice-star"),
    ]
    [rejected] = [a for a in rnd.awards if a.status != "issued"]
    assert (rejected.holder_id, rejected.status) == (college.other_expert.id, "rejected")
    assert rejected.certificate_number is None
    assert rejected.verification_code is None
    assert all(a.issued_at is not None for a in rnd.awards if a.status == "issued")
    # The college round numbers its own certificates, with COL for the college.
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    decide_all(college.admin, college_round)
    services.finalize_round(college.admin, college_round)
    db.session.commit()
    college_round = reload_round(college_round.id)
    assert (college_round.state, college_round.finalized_by_id) == ("finalized", college.admin.id)
    assert sorted(
        (a.certificate_number, a.holder.name, a.rule.code) for a in college_round.awards
    ) == [("2026-2027-COL-0001", "Chen Hao", "mentor-cert")]


def test_verification_codes_are_unique_url_safe_and_carry_16_random_bytes(
    college, log_hours, make_user, travel
):
    holders = [make_user("teacher", department=college.department) for _ in range(6)]
    for person in holders:
        log_hours(person, 41)
    log_hours(college.expert, 1)
    rnd = open_cm(college)
    decide_all(college.admin, rnd)
    nur = services.open_round(college.admin, college.other_department.id, college.period.id)
    travel(period_end(college.period))
    services.finalize_round(college.admin, rnd)
    services.finalize_round(college.admin, nur)
    db.session.commit()
    codes = [a.verification_code for a in reload_round(rnd.id).awards]
    assert len(codes) == 13
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code), code
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) >= 16
    numbers = [a.certificate_number for a in reload_round(rnd.id).awards]
    assert sorted(numbers) == [f"2026-2027-CM-{n:04d}" for n in range(1, 14)]


def test_an_empty_round_can_be_finalized(college, travel):
    rnd = open_cm(college)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    assert rnd.state == "finalized"
    assert rnd.awards == []


def test_a_finalized_round_never_changes(college, log_hours, travel):
    log_hours(college.teacher, 41)
    rnd = open_cm(college)
    cert, allowance = (awards_by(rnd)[(college.teacher.id, c)] for c in
                       ("practice-cert", "practice-allowance"))  # fmt: skip
    services.decide_award(college.head, cert, True)
    services.decide_award(college.head, allowance, False, "Budget")
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    frozen = summary(reload_round(rnd.id))
    log_hours(college.teacher, 100)
    log_hours(college.expert, 10)
    rnd = reload_round(rnd.id)
    with pytest.raises(Conflict):
        services.refresh_round(college.head, rnd)
    with pytest.raises(Conflict):
        services.finalize_round(college.admin, rnd)
    for award, approve in ((cert, False), (allowance, True)):
        with pytest.raises(Conflict):
            services.decide_award(college.admin, db.session.get(Award, award.id), approve, "Late")
    with pytest.raises(Conflict):
        open_cm(college)
    db.session.rollback()
    assert summary(reload_round(rnd.id)) == frozen


def test_finalize_does_not_issue_an_award_for_hours_revoked_since_the_last_refresh(
    college, log_hours, travel
):
    """An approved award whose hours were revoked before the round was finalized must
    not come out as a certificate for hours the person no longer has (the round would
    list someone who does not meet the rule, SPEC §5)."""
    logs = log_hours(college.teacher, 40)
    rnd = open_cm(college)
    decide_all(college.head, rnd)  # the practice certificate, approved at 40 h
    db.session.commit()
    revoke_log(college, logs[0])  # allowed: no finalized reward counts it yet
    db.session.commit()
    [now] = services.progress(college.teacher, college.period)
    assert now.approved_minutes == 28 * H
    rnd = reload_round(rnd.id)
    travel(period_end(college.period))
    try:
        services.finalize_round(college.head, rnd)
        db.session.commit()
    except Conflict:
        db.session.rollback()  # refusing a stale round is an acceptable answer too
    issued = [a for a in reload_round(rnd.id).awards if a.status == "issued"]
    assert issued == [], [(a.rule.code, a.minutes) for a in issued]


def test_finalize_does_not_issue_past_newly_approved_hours_without_a_decision(
    college, log_hours, travel
):
    """Hours approved after the decisions change what the round must list: finalize
    does not freeze the round until they are decided."""
    log_hours(college.teacher, 40)
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    db.session.commit()
    log_hours(college.other_teacher, 40)  # a new holder, not yet decided
    travel(period_end(college.period))
    rnd = reload_round(rnd.id)
    with pytest.raises(Conflict):
        services.finalize_round(college.head, rnd)
    db.session.rollback()
    rnd = reload_round(rnd.id)
    assert rnd.state == "draft"
    services.refresh_round(college.head, rnd)
    decide_all(college.head, rnd)
    services.finalize_round(college.head, rnd)
    db.session.commit()
    assert issued_holders(reload_round(rnd.id)) == {college.teacher.id, college.other_teacher.id}


def issued_holders(reward_round) -> set[int]:
    return {a.holder_id for a in reward_round.awards if a.status == "issued"}


# --- revoking awards and the public check ----------------------------------------------------


@dataclass
class Issued:
    round: RewardRound
    teacher_logs: list
    expert_logs: list


@pytest.fixture
def issued(college, log_hours, travel) -> Issued:
    """A finalized round of Clinical Medicine: the teacher's certificate and allowance
    issued, the expert's fee rejected."""
    teacher_logs = log_hours(college.teacher, 41)
    expert_logs = log_hours(college.expert, 2)
    rnd = open_cm(college)
    for award in rnd.awards:
        if award.holder_id == college.expert.id:
            services.decide_award(college.head, award, False, "Paid by the enterprise")
        else:
            services.decide_award(college.head, award, True)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    return Issued(reload_round(rnd.id), teacher_logs, expert_logs)


def test_only_an_admin_revokes_an_issued_award_with_a_reason(college, issued):
    cert = awards_by(issued.round)[(college.teacher.id, "practice-cert")]
    for actor in (college.head, college.other_head, college.teacher):
        with pytest.raises(PermissionDenied):
            services.revoke_award(actor, cert, "Fraud")
    for reason in (None, "", "  "):
        with pytest.raises(ValidationError) as excinfo:
            services.revoke_award(college.admin, cert, reason)
        assert field_errors(excinfo) == {"reason"}
    with pytest.raises(ValidationError):
        services.revoke_award(college.admin, cert, "z" * 501)
    assert cert.status == "issued"
    services.revoke_award(college.admin, cert, " Hours were invented ")
    db.session.commit()
    cert = db.session.get(Award, cert.id)
    assert (cert.status, cert.reason, cert.decided_by_id) == (
        "revoked",
        "Hours were invented",
        college.admin.id,
    )
    assert cert.certificate_number == "2026-2027-CM-0001"  # the number stays with it
    with pytest.raises(Conflict):
        services.revoke_award(college.admin, cert, "Again")


def test_only_issued_awards_can_be_revoked(college, issued, log_hours):
    rejected = awards_by(issued.round)[(college.expert.id, "teaching-fee")]
    with pytest.raises(Conflict):
        services.revoke_award(college.admin, rejected, "No")
    log_hours(college.foreign_head, 41)
    draft = services.open_round(college.admin, college.other_department.id, college.period.id)
    proposed, other = draft.awards
    services.decide_award(college.admin, other, True)
    for award in (proposed, other):
        with pytest.raises(Conflict):
            services.revoke_award(college.admin, award, "No")


def test_the_public_check_finds_issued_and_revoked_awards_only(college, issued):
    cert = awards_by(issued.round)[(college.teacher.id, "practice-cert")]
    code = cert.verification_code
    found = services.award_for_code(code)
    assert (found.id, found.status) == (cert.id, "issued")
    services.revoke_award(college.admin, cert, "Hours were invented")
    db.session.commit()
    assert services.award_for_code(code).status == "revoked"
    for wrong in ("", "nope", code[:-1], code + "x", code.swapcase(), "x" * 41, "%", code[:5]):
        with pytest.raises(NotFound):
            services.award_for_code(wrong)


def test_the_public_check_does_not_find_an_award_that_was_not_issued(college, log_hours):
    log_hours(college.teacher, 40)
    [award] = open_cm(college).awards
    award.verification_code = "A" * 22  # as if a code had leaked onto an undecided award
    db.session.commit()
    with pytest.raises(NotFound):
        services.award_for_code("A" * 22)
    services.decide_award(college.head, award, True)
    db.session.commit()
    with pytest.raises(NotFound):
        services.award_for_code("A" * 22)


# --- revoking logs that an issued award counts -----------------------------------------------


def test_a_log_counted_by_an_issued_award_cannot_be_revoked(college, log_hours, make_log, travel):
    logs = log_hours(college.teacher, 41)
    unrelated = make_log(college.other_teacher, status="approved", hours="3")
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    assert services.counted_by_issued_award(logs[0])
    with pytest.raises(Conflict):
        revoke_log(college, logs[0])
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(type(logs[0]), logs[0].id).status == "approved"
    assert not services.counted_by_issued_award(unrelated)
    revoke_log(college, unrelated)
    db.session.commit()
    assert unrelated.status == "revoked"


def test_a_log_whose_award_was_rejected_or_revoked_can_be_revoked(college, issued):
    revoke_log(college, issued.expert_logs[0])  # the expert's only award was rejected
    db.session.commit()
    counted = issued.teacher_logs[0]
    with pytest.raises(Conflict):
        revoke_log(college, counted)
    db.session.rollback()
    for award in reload_round(issued.round.id).awards:
        if award.status == "issued":
            services.revoke_award(college.admin, award, "Withdrawn")
    db.session.commit()
    revoke_log(college, log_services.get_log(college.admin, counted.id))
    db.session.commit()
    assert counted.status == "revoked"


def test_an_award_in_one_department_does_not_guard_the_experts_logs_in_another(
    college, log_hours, travel
):
    cm_logs = log_hours(college.expert, 20)
    nur_log = log_hours(
        college.expert, 2, department_id=college.other_department.id, verifier=college.foreign_head
    )[0]
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    with pytest.raises(Conflict):
        revoke_log(college, cm_logs[0])
    db.session.rollback()
    revoke_log(college, log_services.get_log(college.admin, nur_log.id))
    db.session.commit()


def test_a_log_approved_after_the_round_was_finalized_can_still_be_revoked(
    college, log_hours, make_log, travel
):
    """The issued award counted the hours approved when it was issued (its minutes);
    a log approved later is counted by no finalized reward, so SPEC §3 lets an admin
    revoke it."""
    log_hours(college.teacher, 40)
    rnd = open_cm(college)
    decide_all(college.head, rnd)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    [award] = reload_round(rnd.id).awards
    assert award.minutes == 40 * H
    later = make_log(status="approved", hours="2", work_date=college.period.ends_on)
    revoke_log(college, later)
    db.session.commit()
    assert later.status == "revoked"


def _judged(standings):
    """What a head reads of each standing: who, which audience, the hours, and every
    rule's outcome (with the minutes it was judged on)."""
    return [
        (s.person.id, s.audience, s.approved_minutes, s.pending_minutes,
         [(o.rule.code, o.approved_minutes, o.met, o.awarded, o.amount_minor) for o in s.outcomes])
        for s in standings
    ]  # fmt: skip


@pytest.mark.parametrize("sort", services.ELIGIBILITY_SORTS)
def test_eligibility_a_page_at_a_time_is_the_whole_list_cut_into_pages(
    college, make_user, log_hours, sort
):
    for name, approved, pending in (
        [("anna Xu", 50, 0), ("Bob Yu", 50, 0), ("Chen Li", 12, 3), ("dai Wei", 0, 8),
         ("Eva Ma", 160, 0), ("Fang Hu", 41, 0)]
    ):  # fmt: skip
        person = make_user("teacher", name=name, department=college.department)
        if approved:
            log_hours(person, approved)
        if pending:
            log_hours(person, pending, status="submitted")
    # An expert who taught here and in another department: the college rules judge the
    # hours of both, on whichever page the expert is.
    log_hours(college.expert, 10)
    log_hours(
        college.expert, 20, department_id=college.other_department.id, verifier=college.foreign_head
    )
    whole = services.sort_standings(
        services.eligibility(college.head, college.department, college.period), sort
    )
    assert len(whole) == 7

    def page(number):
        return services.eligibility_page(
            college.head, college.department, college.period, sort=sort, page=number, per_page=3
        )

    pages = [page(n) for n in (1, 2, 3)]
    assert [(p.page, p.total, len(p.standings)) for p in pages] == [(1, 7, 3), (2, 7, 3), (3, 7, 1)]
    assert _judged([s for p in pages for s in p.standings]) == _judged(whole)
    expert = next(s for p in pages for s in p.standings if s.person.id == college.expert.id)
    assert {
        o.rule.code: o.approved_minutes for o in expert.outcomes if o.rule.code.startswith("mentor")
    } == {"mentor-cert": 30 * H, "mentor-distinguished": 30 * H}
    if sort == "hours":  # equal hours: by name, whatever its case
        assert [s.person.name for s in pages[0].standings] == ["Eva Ma", "anna Xu", "Bob Yu"]
    else:
        assert college.expert.name == "Chen Hao"
        assert [s.person.name for s in pages[0].standings] == ["anna Xu", "Bob Yu", "Chen Hao"]
    # A page past the last is the last; another department's head sees none of it.
    beyond = page(9)
    assert (beyond.page, _judged(beyond.standings)) == (3, _judged(pages[2].standings))
    with pytest.raises(PermissionDenied):
        services.eligibility_page(
            college.foreign_head, college.department, college.period, sort=sort, page=1,
            per_page=3,
        )  # fmt: skip


def test_eligibility_of_a_department_without_hours_is_one_empty_page(college):
    found = services.eligibility_page(
        college.head, college.department, college.period, sort="hours", page=4, per_page=25
    )
    assert (found.standings, found.total, found.page) == ([], 0, 1)


def test_each_standing_lists_its_rules_in_the_periods_order(college, log_hours, make_user):
    """Department and college rules judge different hours, but a standing shows its
    audience's rules in the order of the period's rules (the rules page's order)."""
    log_hours(college.expert, 20)
    log_hours(college.teacher, 45)
    order = [rule.code for rule in queries.period_rules(college.period.id)]
    standings = services.eligibility(college.head, college.department, college.period)
    page = services.eligibility_page(
        college.head, college.department, college.period, sort="name", page=1, per_page=25
    )
    for found in (standings, page.standings):
        codes = {s.audience: [o.rule.code for o in s.outcomes] for s in found}
        assert codes[engine.Audience.EXPERT] == [
            code
            for code in order
            if code in {"teaching-fee", "mentor-cert", "mentor-distinguished"}
        ]
        assert codes[engine.Audience.EXPERT] != [
            "teaching-fee",
            "mentor-cert",
            "mentor-distinguished",
        ]
        assert codes[engine.Audience.TEACHER] == [
            code for code in order if code.startswith("practice")
        ]
