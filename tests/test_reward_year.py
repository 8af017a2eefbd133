"""A reward year as a college lives it (SPEC §4, §5): rounds are previews until the
period is over, college rules count a person's hours across departments, bonuses
without a threshold show money rather than a bar, and rules freeze per scope."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange.accounts.models import User
from exchange.errors import Conflict, PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.logs import services as log_services
from exchange.logs.models import ExchangeLog
from exchange.logs.workflow import Action
from exchange.org.services import lock_period
from exchange.rewards import services
from exchange.rewards.models import Award, AwardStatus, RewardRound, RewardRule
from exchange.timeutil import college_today
from tests.concurrency import no_crashes, past_the_check, race, report
from tests.conftest import period_end
from tests.helpers import API, assert_error


@pytest.fixture
def log_hours(college, make_log):
    """Approved logs of ``total`` hours for ``owner``, 12 h a day at most, each on a day
    of its own counted back from the day before today (so a log made today later
    still fits in the day's 12 h)."""
    next_day: dict[int, int] = defaultdict(lambda: 1)

    def log(owner, total, **fields):
        today = fields.pop("today", None) or college_today()
        quarters = int(Decimal(str(total)) * 4)
        while quarters > 0:
            chunk = min(quarters, 48)
            work_date = today - timedelta(days=next_day[owner.id])
            next_day[owner.id] += 1
            make_log(owner, status="approved", hours=str(Decimal(chunk) / 4),
                     work_date=work_date, **fields)  # fmt: skip
            quarters -= chunk

    return log


def _rule(period, code: str) -> RewardRule:
    return db.session.execute(
        select(RewardRule).where(RewardRule.period_id == period.id, RewardRule.code == code)
    ).scalar_one()


def _decide_all(actor, reward_round: RewardRound) -> None:
    for award in reward_round.awards:
        services.decide_award(actor, award, True)
    db.session.commit()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- a whole year on the clock -------------------------------------------------------------


def test_a_head_previews_the_round_all_year_and_finalizes_after_it_ends(
    college, log_hours, travel, login_as, client
):
    period = college.period
    travel(period.starts_on + timedelta(days=40))  # autumn term
    log_hours(college.teacher, 45)
    reward_round = services.open_round(college.head, college.department.id, period.id)
    db.session.commit()
    assert {a.rule.code for a in reward_round.awards} == {"practice-cert", "practice-allowance"}
    _decide_all(college.head, reward_round)

    # In the autumn the round is a preview: finalize is refused with the first possible day.
    login_as(college.head)
    page = client.get(f"/rewards/rounds/{reward_round.id}").get_data(as_text=True)
    opens = (period.ends_on + timedelta(days=1)).isoformat()
    assert f"It can be finalized from {opens}" in _text(page)
    assert "Finalize and issue" not in page
    assert "Finalize early" not in page  # only admins may
    response = client.post(f"/rewards/rounds/{reward_round.id}/finalize", follow_redirects=True)
    assert f"can be finalized from {opens}" in _text(response.get_data(as_text=True))
    db.session.refresh(reward_round)
    assert reward_round.is_draft

    # In the spring more hours are approved; the preview picks them up.
    travel(period.ends_on - timedelta(days=3))
    log_hours(college.teacher, 10, today=period.ends_on - timedelta(days=3))
    services.refresh_round(college.head, reward_round)
    db.session.commit()
    allowance = next(a for a in reward_round.awards if a.rule.code == "practice-allowance")
    assert allowance.minutes == 55 * 60
    assert allowance.status == AwardStatus.PROPOSED  # its amount changed: decided again
    _decide_all(college.head, reward_round)

    # On the period's last day it is still too early ...
    travel(period.ends_on)
    with pytest.raises(Conflict) as refused:
        services.finalize_round(college.head, reward_round)
    assert refused.value.details == {"finalize_from": opens}
    db.session.rollback()

    # ... and the day after, the head finalizes.
    travel(period_end(period))
    login_as(college.head)
    page = client.get(f"/rewards/rounds/{reward_round.id}").get_data(as_text=True)
    assert "Finalize and issue" in page
    assert "department rules of 2026-2027 become final for every department" in _text(page)
    response = client.post(f"/rewards/rounds/{reward_round.id}/finalize", follow_redirects=True)
    assert "Round finalized: 2 awards issued." in response.get_data(as_text=True)
    db.session.refresh(reward_round)
    assert not reward_round.is_draft
    assert not reward_round.finalized_early
    assert sorted(a.certificate_number for a in reward_round.awards) == [
        "2026-2027-CM-0001",
        "2026-2027-CM-0002",
    ]
    allowance = next(a for a in reward_round.awards if a.rule.code == "practice-allowance")
    assert allowance.amount_minor == 15 * 5000  # 55 h: 15 h over 40 h at ¥50.00


def test_the_api_refuses_an_early_finalize_with_the_date_and_lets_an_admin_confirm_it(
    college, log_hours, api_token, client
):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.admin, reward_round)
    url = f"{API}/rounds/{reward_round.id}/finalize"
    head, admin = api_token(college.head), api_token(college.admin)

    error = assert_error(client.post(url, headers=head), 409, "too_early")
    opens = (college.period.ends_on + timedelta(days=1)).isoformat()
    assert error["details"] == {"finalize_from": opens}
    assert opens in error["message"]
    assert_error(client.post(url, headers=head, json={"early": True}), 403, "forbidden")
    assert_error(client.post(url, headers=admin, json={"early": "yes"}), 422, "validation_error")
    assert_error(client.post(url, headers=admin, json={}), 409, "too_early")

    response = client.post(url, headers=admin, json={"early": True})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["state"] == "finalized"
    assert answer["finalized_early"] is True
    assert answer["scope"] == "department"
    db.session.refresh(reward_round)
    assert reward_round.finalized_by_id == college.admin.id  # who decided it, and when
    assert reward_round.finalized_at is not None


def test_an_admin_finalizes_early_only_by_confirming_what_it_closes(
    college, log_hours, login_as, client
):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.admin, reward_round)
    login_as(college.admin)
    page = _text(client.get(f"/rewards/rounds/{reward_round.id}").get_data(as_text=True))
    assert "Finalize early" in page
    assert (
        "Finalizing now closes the rewards of Clinical Medicine for 2026-2027: hours approved "
        "later will not count" in page
    )
    assert "I understand: finalize this round before the period ends." in page

    # Without the confirmation nothing happens.
    response = client.post(f"/rewards/rounds/{reward_round.id}/finalize", follow_redirects=True)
    assert "can be finalized from" in response.get_data(as_text=True)
    db.session.refresh(reward_round)
    assert reward_round.is_draft

    response = client.post(
        f"/rewards/rounds/{reward_round.id}/finalize", data={"early": "1"}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "Round finalized" in html
    assert "Finalized early, before the period ended" in html
    db.session.refresh(reward_round)
    assert reward_round.finalized_early


def test_a_head_who_forges_the_early_confirmation_is_refused(college, log_hours, login_as, client):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.admin, reward_round)
    login_as(college.head)
    response = client.post(
        f"/rewards/rounds/{reward_round.id}/finalize", data={"early": "1"}, follow_redirects=True
    )
    assert "Only an administrator can finalize a round early." in response.get_data(as_text=True)
    db.session.refresh(reward_round)
    assert reward_round.is_draft


def test_a_locked_period_can_be_finalized_before_its_end(college, log_hours):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.head, reward_round)
    lock_period(college.admin, college.period)
    db.session.commit()
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    assert not reward_round.is_draft
    assert not reward_round.finalized_early


# --- college rules ---------------------------------------------------------------------------


@pytest.fixture
def three_departments(college, make_department, make_user):
    """Clinical Medicine and Nursing of the college, and Pharmacy; a teacher of each
    confirms the expert's teaching there."""
    pharmacy = make_department(code="PH", name="Pharmacy")
    return [
        (college.department, college.other_teacher),
        (college.other_department, make_user("teacher", department=college.other_department)),
        (pharmacy, make_user("teacher", department=pharmacy)),
    ]


def test_an_expert_teaching_30_h_in_three_departments_earns_the_college_mentor_certificate(
    college, log_hours, three_departments, travel, login_as, client
):
    for department, teacher in three_departments:
        log_hours(college.expert, 10, department_id=department.id, verifier=teacher)

    # The home page measures the mentor honours against the college total.
    login_as(college.expert)
    page = _text(client.get("/").get_data(as_text=True))
    assert "College-wide" in page
    assert "Mentor Certificate · reached" in page
    assert "h to go" in page  # Distinguished Mentor: 34 h to go, once
    assert page.count("34 h to go") == 1
    assert "6 h to go" not in page

    # Department rounds propose only department rules: the teaching fee, 10 h each.
    for department, _teacher in three_departments:
        dept_round = services.open_round(college.admin, department.id, college.period.id)
        assert [(a.rule.code, a.amount_minor) for a in dept_round.awards] == [
            ("teaching-fee", 10 * 20000)
        ]
    # The college round proposes the Mentor Certificate on 30 h.
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    db.session.commit()
    assert college_round.department_id is None
    assert college_round.is_college
    assert [(a.holder_id, a.rule.code, a.minutes) for a in college_round.awards] == [
        (college.expert.id, "mentor-cert", 30 * 60)
    ]
    _decide_all(college.admin, college_round)
    travel(period_end(college.period))
    services.finalize_round(college.admin, college_round)
    db.session.commit()
    award = college_round.awards[0]
    assert award.status == AwardStatus.ISSUED
    assert award.certificate_number == "2026-2027-COL-0001"

    # The expert sees it among their awards, and an admin sees the college round.
    login_as(college.expert)
    assert "Mentor Certificate" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login_as(college.admin)
    rounds = _text(client.get("/rewards/rounds").get_data(as_text=True))
    assert "College · 2026-2027" in rounds


def test_the_api_opens_the_college_round_for_admins_only(college, log_hours, api_token, client):
    log_hours(college.expert, 20, department_id=college.department.id)
    body = {"period_id": college.period.id, "scope": "college"}
    assert_error(
        client.post(f"{API}/rounds", json=body, headers=api_token(college.head)), 403, "forbidden"
    )
    admin = api_token(college.admin)
    response = client.post(f"{API}/rounds", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["scope"] == "college"
    assert answer["department_id"] is None
    assert [a["rule_code"] for a in answer["awards"]] == ["mentor-cert"]
    assert answer["awards"][0]["rule_name_zh"] == "导师证书"
    # One college round per period.
    assert_error(client.post(f"{API}/rounds", json=body, headers=admin), 409, "conflict")
    # Heads neither see nor run it.
    round_id = answer["id"]
    head = api_token(college.head)
    assert_error(client.get(f"{API}/rounds/{round_id}", headers=head), 404, "not_found")
    assert_error(client.post(f"{API}/rounds/{round_id}/refresh", headers=head), 404, "not_found")
    award_id = answer["awards"][0]["id"]
    assert_error(client.post(f"{API}/awards/{award_id}/approve", headers=head), 404, "not_found")
    listed = client.get(f"{API}/rounds", headers=head).get_json()
    assert round_id not in [r["id"] for r in listed["items"]]
    # A bad scope is named.
    bad = client.post(f"{API}/rounds", json={**body, "scope": "world"}, headers=admin)
    assert_error(bad, 422, "validation_error", ("scope",))


def test_a_head_cannot_open_or_see_the_college_round_on_the_pages(
    college, log_hours, login_as, client
):
    log_hours(college.expert, 20, department_id=college.department.id)
    login_as(college.head)
    assert "Open the college round" not in client.get("/rewards/rounds").get_data(as_text=True)
    response = client.post(
        "/rewards/rounds", data={"scope": "college", "period_id": college.period.id}
    )
    assert response.status_code == 403
    assert db.session.execute(select(RewardRound)).first() is None
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    db.session.commit()
    assert client.get(f"/rewards/rounds/{college_round.id}").status_code == 404
    award = college_round.awards[0]
    assert client.post(f"/rewards/awards/{award.id}/approve").status_code == 404


def test_an_admin_opens_the_college_round_from_the_rounds_page(
    college, log_hours, login_as, client
):
    log_hours(college.expert, 20, department_id=college.department.id)
    login_as(college.admin)
    page = client.get("/rewards/rounds").get_data(as_text=True)
    assert "Open the college round" in page
    response = client.post(
        "/rewards/rounds", data={"scope": "college", "period_id": college.period.id}
    )
    assert response.status_code == 302
    college_round = db.session.execute(select(RewardRound)).scalar_one()
    assert college_round.is_college
    page = _text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "College · 2026-2027" in page
    assert "across all departments" in page
    assert "Mentor Certificate" in page


def test_opening_the_college_round_twice_at_once_makes_one(app, college, log_hours, make_user):
    log_hours(college.expert, 20, department_id=college.department.id)
    admins = [college.admin.id, *(make_user("admin").id for _ in range(3))]
    period_id = college.period.id
    db.session.close()

    def open_past_the_check(actor_id: int):
        return past_the_check(
            RewardRound,
            lambda: (
                services.open_round(
                    db.session.get(User, actor_id), None, period_id, scope="college"
                ).id
            ),
        )

    outcomes = race(app, [open_past_the_check(a) for a in admins])

    no_crashes(outcomes)
    rounds = db.session.execute(select(RewardRound)).scalars().all()
    assert len(rounds) == 1, report(outcomes)
    assert sum(o.ok for o in outcomes) == 1, report(outcomes)
    assert all(isinstance(o.domain_error, Conflict) for o in outcomes if not o.ok)


def test_a_log_counted_by_an_issued_college_award_cannot_be_revoked(college, log_hours, travel):
    log_hours(college.expert, 16, department_id=college.department.id)
    counted = (
        db.session.execute(select(ExchangeLog).where(ExchangeLog.owner_id == college.expert.id))
        .scalars()
        .first()
    )
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    _decide_all(college.admin, college_round)
    travel(period_end(college.period))
    services.finalize_round(college.admin, college_round)
    db.session.commit()
    with pytest.raises(Conflict):
        log_services.transition(college.admin, counted, Action.REVOKE, "Counted twice")


# --- showing progress ------------------------------------------------------------------------


def test_a_bonus_without_threshold_shows_the_money_and_its_cap_not_a_bar(
    college, log_hours, login_as, client
):
    login_as(college.expert)
    page = client.get("/").get_data(as_text=True)
    text = _text(page)
    assert "Teaching Fee · ¥0.00 so far · cap ¥20,000.00" in text
    assert 'id="rule-0-teaching-fee"' not in page  # no bar
    assert "rule-college-mentor-cert" in page  # the mentor honours keep theirs

    log_hours(college.expert, 101, department_id=college.department.id)
    text = _text(client.get("/").get_data(as_text=True))
    assert "Teaching Fee · ¥20,000.00 so far · the cap is reached" in text


def test_a_capped_allowance_says_so(college, log_hours, login_as, client):
    log_hours(college.teacher, 200)
    login_as(college.teacher)
    text = _text(client.get("/").get_data(as_text=True))
    assert "Practice Allowance · ¥8,000.00 so far · the cap is reached" in text
    assert "CNY" not in text


def test_chinese_readers_see_chinese_reward_names_and_the_same_money(
    college, log_hours, login_as, client, make_user
):
    teacher = make_user("teacher", department=college.department, locale="zh_Hans")
    log_hours(teacher, 50)
    login_as(teacher)
    text = _text(client.get("/").get_data(as_text=True))
    assert "实践证书" in text
    assert "实践津贴" in text
    assert "Practice Certificate" not in text
    assert "¥500.00" in text


def test_progress_in_the_api_carries_scope_and_both_names(
    college, log_hours, three_departments, api_token, client
):
    for department, teacher in three_departments:
        log_hours(college.expert, 10, department_id=department.id, verifier=teacher)
    answer = client.get(f"{API}/me/progress", headers=api_token(college.expert)).get_json()
    assert answer["approved_hours"] == 30
    rules = {r["code"]: r for r in answer["rules"]}
    assert rules["mentor-cert"]["scope"] == "college"
    assert rules["mentor-cert"]["met"] is True
    assert rules["mentor-cert"]["name_zh"] == "导师证书"
    assert rules["mentor-distinguished"]["hours_missing"] == 34
    assert rules["teaching-fee"]["scope"] == "department"
    assert rules["teaching-fee"]["amount_minor"] == 30 * 20000
    assert len(answer["departments"]) == 3
    for part in answer["departments"]:
        assert [r["code"] for r in part["rules"]] == ["teaching-fee"]


def test_eligibility_measures_college_rules_on_the_college_total(
    college, log_hours, three_departments, api_token, client, login_as
):
    for department, teacher in three_departments:
        log_hours(college.expert, 10, department_id=department.id, verifier=teacher)
    answer = client.get(
        f"{API}/eligibility?department={college.department.id}", headers=api_token(college.head)
    ).get_json()
    (expert,) = [p for p in answer["items"] if p["person_id"] == college.expert.id]
    assert expert["approved_hours"] == 10  # in Clinical Medicine
    rules = {r["code"]: r for r in expert["rules"]}
    assert rules["mentor-cert"]["met"] is True  # 30 h across the college
    assert rules["teaching-fee"]["amount_minor"] == 10 * 20000
    login_as(college.head)
    page = _text(client.get("/rewards/eligibility").get_data(as_text=True))
    assert "college rule: 30 h across all departments" in page


# --- rounds that already exist -----------------------------------------------------------------


def test_opening_an_existing_round_links_to_it_with_its_true_state(
    college, log_hours, travel, login_as, client
):
    log_hours(college.teacher, 41)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.head, reward_round)
    login_as(college.head)
    data = {"department_id": college.department.id, "period_id": college.period.id}
    response = client.post("/rewards/rounds", data=data)
    assert response.status_code == 409
    text = _text(response.get_data(as_text=True))
    assert "Clinical Medicine already has a round for 2026-2027." in text
    assert "still a draft" in text
    assert f'/rewards/rounds/{reward_round.id}"' in response.get_data(as_text=True)

    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    login_as(college.head)
    text = _text(client.post("/rewards/rounds", data=data).get_data(as_text=True))
    assert "already finalized: its awards are issued" in text
    assert "already open" not in text
    assert "Clinical Medicine · 2026-2027 · Finalized" in text


# --- rules per scope ---------------------------------------------------------------------------


def _rule_input(rule: RewardRule, **changes) -> services.RuleInput:
    values = {
        "code": rule.code,
        "name": rule.name,
        "name_zh": rule.name_zh,
        "scope": rule.scope,
        "kind": rule.kind,
        "audience": rule.audience,
        "threshold_hours": rule.threshold_minutes / 60,
        "group": rule.group,
        "fixed_amount_minor": rule.fixed_amount_minor,
        "rate_per_hour_minor": rule.rate_per_hour_minor,
        "cap_minor": rule.cap_minor,
        "currency": rule.currency,
    }
    return services.RuleInput(**{**values, **changes})


def test_rules_freeze_per_scope(college, log_hours, travel, login_as, client):
    period = college.period
    log_hours(college.teacher, 41)
    log_hours(college.expert, 20, department_id=college.department.id)
    dept_round = services.open_round(college.head, college.department.id, period.id)
    _decide_all(college.head, dept_round)
    travel(period_end(period))
    services.finalize_round(college.head, dept_round)
    db.session.commit()

    # Department rules of every department are final; college rules still change.
    cert = _rule(period, "practice-cert")
    with pytest.raises(Conflict):
        services.save_rule(college.admin, period, _rule_input(cert, threshold_hours=30), cert)
    db.session.rollback()
    mentor = _rule(period, "mentor-cert")
    services.save_rule(college.admin, period, _rule_input(mentor, threshold_hours=12), mentor)
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        services.save_rule(college.admin, period, _rule_input(mentor, scope="department"), mentor)
    assert "scope" in refused.value.fields
    db.session.rollback()

    login_as(college.admin)
    page = _text(client.get(f"/admin/rules?period={period.id}").get_data(as_text=True))
    assert "its department rules are final" in page
    assert "New rule" in page
    assert client.get(f"/admin/rules/{cert.id}").status_code == 200

    college_round = services.open_round(college.admin, None, period.id, scope="college")
    _decide_all(college.admin, college_round)
    services.finalize_round(college.admin, college_round)
    db.session.commit()
    assert services.rules_are_frozen(period)
    with pytest.raises(Conflict):
        services.save_rule(college.admin, period, _rule_input(mentor, threshold_hours=10), mentor)


def test_tiers_of_one_group_share_a_scope(college):
    period = college.period
    star = _rule(period, "practice-star")
    with pytest.raises(ValidationError) as refused:
        services.save_rule(college.admin, period, _rule_input(star, scope="college"), star)
    assert "group" in refused.value.fields


def test_a_head_finalizing_does_not_freeze_the_college_rules_page(
    college, log_hours, travel, login_as, client
):
    """The admin's rules page lets college rules be edited after department rounds close."""
    log_hours(college.teacher, 41)
    dept_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.head, dept_round)
    travel(period_end(college.period))
    services.finalize_round(college.head, dept_round)
    db.session.commit()
    mentor = _rule(college.period, "mentor-cert")
    login_as(college.admin)
    form = {
        "code": "mentor-cert",
        "name": "Mentor Certificate",
        "name_zh": "导师证书（新）",
        "scope": "college",
        "kind": "honour",
        "audience": "expert",
        "threshold_hours": "16",
        "group": "mentor",
        "currency": "CNY",
    }
    response = client.post(f"/admin/rules/{mentor.id}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(mentor)
    assert mentor.name_zh == "导师证书（新）"


def test_the_rules_api_carries_both_names_and_the_scope(college, api_token, client):
    admin = api_token(college.admin)
    listed = client.get(f"{API}/rules?period={college.period.id}", headers=admin).get_json()
    by_code = {r["code"]: r for r in listed["items"]}
    assert by_code["practice-star"]["name_zh"] == "实践之星"
    assert by_code["mentor-distinguished"]["scope"] == "college"
    assert by_code["teaching-fee"]["scope"] == "department"
    response = client.post(
        f"{API}/rules",
        headers=admin,
        json={
            "period_id": college.period.id,
            "code": "clinic-star",
            "name": "Clinic Star",
            "name_zh": "临床之星",
            "scope": "college",
            "kind": "honour",
            "audience": "teacher",
            "threshold_hours": 100,
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["scope"] == "college"
    assert response.get_json()["name_zh"] == "临床之星"
    oversize = client.patch(
        f"{API}/rules/{response.get_json()['id']}", headers=admin, json={"name_zh": "星" * 121}
    )
    assert_error(oversize, 422, "validation_error", ("name_zh",))
    bad_scope = client.patch(
        f"{API}/rules/{response.get_json()['id']}", headers=admin, json={"scope": "galaxy"}
    )
    assert_error(bad_scope, 422, "validation_error", ("scope",))


def test_a_new_period_copies_scope_and_chinese_names(college, make_period):
    later = make_period(
        name="2027-2028",
        starts_on=college.period.ends_on + timedelta(days=1),
        ends_on=college.period.ends_on + timedelta(days=366),
    )
    services.seed_rules(later)
    db.session.commit()
    assert _rule(later, "mentor-cert").scope == "college"
    assert _rule(later, "teaching-fee").name_zh == "授课费"


def test_money_reads_the_same_on_every_page(college, log_hours, travel, login_as, client):
    log_hours(college.teacher, 200)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    login_as(college.admin)
    pages = [
        "/admin/rules",
        f"/rewards/rounds/{reward_round.id}",
        f"/rewards/eligibility?department={college.department.id}",
    ]
    for url in pages:
        text = _text(client.get(url).get_data(as_text=True))
        assert "¥8,000.00" in text, url
        assert "8,000.00 CNY" not in text, url


def test_awards_of_a_department_round_are_only_department_rules(college, log_hours):
    log_hours(college.expert, 70, department_id=college.department.id)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    codes = {a.rule.code for a in reward_round.awards}
    assert codes == {"teaching-fee"}
    assert not db.session.execute(
        select(Award).where(Award.rule.has(RewardRule.scope == "college"))
    ).first()


def test_only_admins_open_the_college_round_in_the_service(college, log_hours):
    log_hours(college.expert, 20, department_id=college.department.id)
    with pytest.raises(PermissionDenied):
        services.open_round(college.head, None, college.period.id, scope="college")


def test_eligibility_links_the_round_with_its_true_state(
    college, log_hours, travel, login_as, client
):
    log_hours(college.teacher, 41)
    login_as(college.head)
    assert "Reward round of" not in client.get("/rewards/eligibility").get_data(as_text=True)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.head, reward_round)
    text = _text(client.get("/rewards/eligibility").get_data(as_text=True))
    assert "Reward round of Clinical Medicine · 2026-2027 Draft" in text
    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    text = _text(client.get("/rewards/eligibility").get_data(as_text=True))
    assert "Reward round of Clinical Medicine · 2026-2027 Finalized" in text


def test_admins_find_the_period_payout_sheet_on_the_rounds_page(
    college, log_hours, travel, login_as, client
):
    log_hours(college.teacher, 50)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    _decide_all(college.head, reward_round)
    login_as(college.admin)
    assert "Finance exports for a whole period" not in client.get("/rewards/rounds").get_data(
        as_text=True
    )
    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    page = client.get("/rewards/rounds").get_data(as_text=True)
    link = f"/rewards/periods/{college.period.id}/payout.xlsx"
    assert link in page
    assert client.get(link).status_code == 200
    client.post("/logout")
    login_as(college.head)
    assert link not in client.get("/rewards/rounds").get_data(as_text=True)
