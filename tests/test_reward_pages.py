"""Reward rounds, award decisions, certificates and the public check, as people use them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange.extensions import db, limiter
from exchange.presentation import money
from exchange.rewards import services
from exchange.rewards.models import Award, AwardStatus, RewardRound, RoundState
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import sql_statements


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The limiter counts per process: each test starts with a clean slate.
    limiter.reset()
    yield
    limiter.reset()


def approved_hours(make_log, owner, total: int, per_day: int = 8, last_day=None) -> None:
    """``total`` approved hours for ``owner``, one log a day (at most 12 h a day count),
    counting back from ``last_day`` (today unless given)."""
    last_day = last_day or college_today()
    for n in range(total // per_day):
        make_log(owner, status="approved", hours=str(per_day), work_date=last_day - timedelta(n))


def open_round(client, college, department=None) -> int:
    response = client.post(
        "/rewards/rounds",
        data={
            "department_id": (department or college.department).id,
            "period_id": college.period.id,
        },
    )
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r"/rewards/rounds/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def award_of(round_id: int, holder, code: str) -> Award:
    db.session.expire_all()
    return next(
        a
        for a in db.session.get(RewardRound, round_id).awards
        if a.holder_id == holder.id and a.rule.code == code
    )


def issue_all(round_id: int, college, travel) -> RewardRound:
    """Approve every award (by a head who holds none of them) and finalize the round,
    once the period is over (the clock moves past its end)."""
    reward_round = db.session.get(RewardRound, round_id)
    for award in reward_round.awards:
        decider = college.other_head if award.holder_id == college.head.id else college.head
        services.decide_award(decider, award, True)
    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    return reward_round


@pytest.fixture
def busy(college, make_log):
    """Li Na: 48 approved practice hours; Chen Hao: 16 approved teaching hours."""
    approved_hours(make_log, college.teacher, 48)
    approved_hours(make_log, college.expert, 16)
    return college


# --- the list of rounds and opening one ----------------------------------------------------


def test_a_head_opens_a_round_and_sees_every_proposed_award(client, busy, login_as, travel):
    login_as(busy.head)
    page = client.get("/rewards/rounds").get_data(as_text=True)
    assert "Open a round" in page
    assert 'name="department_id"' in page
    assert "Nursing" not in page  # a head opens rounds for their own department only

    round_id = open_round(client, busy)
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Clinical Medicine · 2026-2027" in page
    # Before the period is over the round is a preview: no finalize yet.
    finalize_from = period_end(busy.period).isoformat()
    assert f"It can be finalized from {finalize_from}." in page
    assert "Finalize and issue" not in page
    assert "Finalize early" not in page  # only an admin may
    for text in ("Li Na", "Practice Certificate", "Practice Allowance", "48 h", "¥400.00"):
        assert text in page
    # The mentor honours are college rules: the college round proposes them, not this one.
    for text in ("Chen Hao", "Teaching Fee", "16 h", "¥3,200.00"):
        assert text in page
    assert page.count('action="/rewards/awards/') >= 6  # approve and reject, three awards
    assert "Refresh with newly approved hours" in page
    travel(period_end(busy.period))
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Finalize and issue" in page
    assert "can be finalized from" not in page

    listing = client.get("/rewards/rounds").get_data(as_text=True)
    assert f'href="/rewards/rounds/{round_id}"' in listing
    assert "2 people" in listing
    assert "3 awards" in listing
    assert "3 to decide" in listing


def test_opening_a_round_twice_links_to_the_one_that_exists(client, busy, login_as):
    login_as(busy.head)
    round_id = open_round(client, busy)
    again = client.post(
        "/rewards/rounds",
        data={"department_id": busy.department.id, "period_id": busy.period.id},
    )
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "Clinical Medicine already has a round for 2026-2027." in page
    assert f'href="/rewards/rounds/{round_id}"' in page
    assert len(db.session.scalars(select(RewardRound)).all()) == 1


def test_a_missing_period_is_named_on_its_field(client, busy, login_as):
    login_as(busy.admin)
    response = client.post("/rewards/rounds", data={"department_id": busy.department.id})
    assert response.status_code == 422
    assert "field--error" in response.get_data(as_text=True)
    assert db.session.scalars(select(RewardRound)).all() == []


def test_an_admin_opens_rounds_for_any_department(client, busy, login_as):
    login_as(busy.admin)
    page = client.get("/rewards/rounds").get_data(as_text=True)
    assert "Clinical Medicine" in page
    assert "Nursing" in page
    round_id = open_round(client, busy, busy.other_department)
    assert client.get(f"/rewards/rounds/{round_id}").status_code == 200


def test_a_head_of_another_department_neither_sees_nor_opens_the_round(client, busy, login_as):
    login_as(busy.head)
    round_id = open_round(client, busy)
    award = award_of(round_id, busy.teacher, "practice-cert")
    client.post("/logout")

    login_as(busy.foreign_head)
    assert client.get(f"/rewards/rounds/{round_id}").status_code == 404
    assert client.post(f"/rewards/rounds/{round_id}/refresh").status_code == 404
    assert client.post(f"/rewards/rounds/{round_id}/finalize").status_code == 404
    assert client.post(f"/rewards/awards/{award.id}/approve").status_code == 404
    assert f"/rewards/rounds/{round_id}" not in client.get("/rewards/rounds").get_data(as_text=True)
    refused = client.post(
        "/rewards/rounds",
        data={"department_id": busy.department.id, "period_id": busy.period.id},
    )
    assert refused.status_code == 403
    assert award_of(round_id, busy.teacher, "practice-cert").status == AwardStatus.PROPOSED


@pytest.mark.parametrize("who", ["teacher", "expert"])
def test_teachers_and_experts_have_no_rounds(client, busy, login_as, who):
    rnd = services.open_round(busy.head, busy.department.id, busy.period.id)
    db.session.commit()
    login_as(getattr(busy, who))
    assert client.get("/rewards/rounds").status_code == 403
    assert client.get(f"/rewards/rounds/{rnd.id}").status_code == 403
    assert client.post(f"/rewards/rounds/{rnd.id}/finalize").status_code == 403


def test_the_admin_menu_links_to_the_rounds(client, college, login_as):
    login_as(college.admin)
    assert 'href="/rewards/rounds"' in client.get("/admin/").get_data(as_text=True)


# --- deciding awards -----------------------------------------------------------------------


def test_a_head_approves_and_rejects_awards_a_reason_is_required(client, busy, login_as):
    login_as(busy.head)
    round_id = open_round(client, busy)
    cert = award_of(round_id, busy.teacher, "practice-cert")
    allowance = award_of(round_id, busy.teacher, "practice-allowance")

    approved = client.post(f"/rewards/awards/{cert.id}/approve")
    assert approved.status_code == 302
    assert approved.headers["Location"] == f"/rewards/rounds/{round_id}#award-{cert.id}"
    assert award_of(round_id, busy.teacher, "practice-cert").status == AwardStatus.APPROVED

    no_reason = client.post(f"/rewards/awards/{allowance.id}/reject", data={"reason": "  "})
    assert no_reason.status_code == 302
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Give a reason." in page
    assert award_of(round_id, busy.teacher, "practice-allowance").status == AwardStatus.PROPOSED

    client.post(f"/rewards/awards/{allowance.id}/reject", data={"reason": "Paid by the hospital"})
    rejected = award_of(round_id, busy.teacher, "practice-allowance")
    assert (rejected.status, rejected.reason) == (AwardStatus.REJECTED, "Paid by the hospital")
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Rejected: Practice Allowance for Li Na." in page
    assert "Paid by the hospital" in page

    # A decision can be changed while the round is a draft.
    client.post(f"/rewards/awards/{allowance.id}/approve")
    assert award_of(round_id, busy.teacher, "practice-allowance").status == AwardStatus.APPROVED


def test_nobody_is_offered_a_decision_on_their_own_award(client, busy, make_log, login_as):
    approved_hours(make_log, busy.head, 40)
    login_as(busy.head)
    round_id = open_round(client, busy)
    own = award_of(round_id, busy.head, "practice-cert")
    theirs = award_of(round_id, busy.teacher, "practice-cert")

    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Wang Fang" in page
    assert f"/rewards/awards/{own.id}/approve" not in page
    assert f"/rewards/awards/{own.id}/reject" not in page
    assert f"/rewards/awards/{theirs.id}/approve" in page
    assert "Your own award" in page

    assert client.post(f"/rewards/awards/{own.id}/approve").status_code == 403
    assert award_of(round_id, busy.head, "practice-cert").status == AwardStatus.PROPOSED
    client.post("/logout")

    login_as(busy.other_head)
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert f"/rewards/awards/{own.id}/approve" in page
    client.post(f"/rewards/awards/{own.id}/approve")
    assert award_of(round_id, busy.head, "practice-cert").status == AwardStatus.APPROVED


# --- finalizing ----------------------------------------------------------------------------


def test_finalize_needs_every_award_decided_then_issues_numbers_and_exports(
    client, busy, login_as, travel
):
    login_as(busy.head)
    round_id = open_round(client, busy)
    travel(period_end(busy.period))
    client.post(f"/rewards/rounds/{round_id}/finalize")
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Decide every proposed award first (3 still open)." in page
    assert db.session.get(RewardRound, round_id).state == RoundState.DRAFT

    for award in db.session.get(RewardRound, round_id).awards:
        decision = "reject" if award.rule.code == "teaching-fee" else "approve"
        client.post(f"/rewards/awards/{award.id}/{decision}", data={"reason": "Paid elsewhere"})
    response = client.post(f"/rewards/rounds/{round_id}/finalize")
    assert response.status_code == 302
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "Round finalized: 2 awards issued." in page
    for number in ("2026-2027-CM-0001", "2026-2027-CM-0002"):
        assert f"Certificate No. {number}" in page
    assert "2026-2027-CM-0003" not in page  # the rejected fee has no number
    for sheet in ("payout", "honours"):
        for fmt in ("csv", "xlsx"):
            assert f'href="/rewards/rounds/{round_id}/{sheet}.{fmt}"' in page
    honours = [a for a in db.session.get(RewardRound, round_id).awards if a.rule.kind == "honour"]
    for award in honours:
        assert f'href="/rewards/awards/{award.id}/certificate"' in page
    assert re.search(r"/rewards/awards/\d+/(approve|reject)", page) is None
    assert "Finalize and issue" not in page
    assert "Refresh with newly approved hours" not in page
    assert "/revoke" not in page  # only admins revoke


def test_a_finalized_round_refuses_refresh_and_decisions(client, busy, make_log, login_as, travel):
    round_id = services.open_round(busy.head, busy.department.id, busy.period.id).id
    db.session.commit()
    reward_round = issue_all(round_id, busy, travel)
    before = sorted((a.id, a.status, a.minutes, a.version) for a in reward_round.awards)
    approved_hours(make_log, busy.other_teacher, 40, last_day=busy.period.ends_on)

    login_as(busy.head)
    refresh = client.post(f"/rewards/rounds/{round_id}/refresh")
    assert refresh.status_code == 302
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "This round is finalized: it does not change any more." in page
    assert "Zhao Lei" not in page

    award = award_of(round_id, busy.teacher, "practice-cert")
    client.post(f"/rewards/awards/{award.id}/reject", data={"reason": "Too late"})
    page = client.get(f"/rewards/rounds/{round_id}").get_data(as_text=True)
    assert "This round is finalized: it does not change any more." in page
    client.post(f"/rewards/rounds/{round_id}/finalize")

    db.session.expire_all()
    after = db.session.get(RewardRound, round_id)
    assert sorted((a.id, a.status, a.minutes, a.version) for a in after.awards) == before
    assert after.state == RoundState.FINALIZED


# --- certificates --------------------------------------------------------------------------


@pytest.fixture
def issued(busy, travel):
    round_id = services.open_round(busy.head, busy.department.id, busy.period.id).id
    db.session.commit()
    issue_all(round_id, busy, travel)
    return award_of(round_id, busy.teacher, "practice-cert")


def test_the_certificate_is_bilingual_printable_and_has_a_qr_code(
    app, client, busy, issued, login_as
):
    login_as(issued.holder)
    response = client.get(f"/rewards/awards/{issued.id}/certificate")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for text in (
        "Li Na",
        "Practice Certificate",
        "2026-2027",
        issued.certificate_number,
        app.config["EXCHANGE_INSTITUTION"],
        "Certificate of Honour",
        "荣誉证书",
        period_end(busy.period).isoformat(),  # issued on the day it was finalized
        f"/verify/{issued.verification_code}",
    ):
        assert text in page, text
    assert "<svg" in page
    assert re.search(r'href="/static/print\.css\?v=[0-9a-f]{12}" media="print"', page)
    assert "REVOKED" not in page


@pytest.mark.parametrize("who", ["head", "other_head", "admin"])
def test_heads_of_the_department_and_admins_open_the_certificate(
    client, busy, issued, login_as, who
):
    login_as(getattr(busy, who))
    assert client.get(f"/rewards/awards/{issued.id}/certificate").status_code == 200


@pytest.mark.parametrize("who", ["other_teacher", "foreign_head", "expert"])
def test_nobody_else_learns_the_certificate_exists(client, busy, issued, login_as, who):
    login_as(getattr(busy, who))
    assert client.get(f"/rewards/awards/{issued.id}/certificate").status_code == 404


def test_bonuses_and_undecided_awards_have_no_certificate(client, busy, login_as, travel):
    round_id = services.open_round(busy.head, busy.department.id, busy.period.id).id
    db.session.commit()
    login_as(busy.head)
    proposed = award_of(round_id, busy.teacher, "practice-cert")
    assert client.get(f"/rewards/awards/{proposed.id}/certificate").status_code == 404
    issue_all(round_id, busy, travel)
    bonus = award_of(round_id, busy.teacher, "practice-allowance")
    assert bonus.status == AwardStatus.ISSUED
    assert client.get(f"/rewards/awards/{bonus.id}/certificate").status_code == 404


# --- the public check ----------------------------------------------------------------------


def test_the_public_check_shows_valid_and_nothing_private(app, client, busy, issued):
    response = client.get(f"/verify/{issued.verification_code}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    # What SPEC §5 lists: holder, award, period, number, issue date, issuer, validity.
    for text in ("VALID", "Li Na", "Practice Certificate", "2026-2027",
                 issued.certificate_number, period_end(busy.period).isoformat(),
                 "Clinical Medicine"):  # fmt: skip
        assert text in page, text
    assert app.config["EXCHANGE_INSTITUTION"] in page
    for private in (busy.teacher.email, "¥", "Allowance", "Chen Hao"):
        assert private not in page, private
    assert "REVOKED" not in page


def test_a_revoked_certificate_checks_as_revoked(client, busy, issued, login_as):
    login_as(busy.head)
    assert (
        client.post(f"/rewards/awards/{issued.id}/revoke", data={"reason": "x"}).status_code == 403
    )
    client.post("/logout")

    login_as(busy.admin)
    page = client.get(f"/rewards/rounds/{issued.round_id}").get_data(as_text=True)
    assert f"/rewards/awards/{issued.id}/revoke" in page
    client.post(f"/rewards/awards/{issued.id}/revoke", data={"reason": ""})
    assert award_of(issued.round_id, busy.teacher, "practice-cert").status == AwardStatus.ISSUED
    client.post(f"/rewards/awards/{issued.id}/revoke", data={"reason": "Hours were not worked"})
    assert award_of(issued.round_id, busy.teacher, "practice-cert").status == AwardStatus.REVOKED
    page = client.get(f"/rewards/rounds/{issued.round_id}").get_data(as_text=True)
    assert f"Certificate {issued.certificate_number} revoked." in page
    client.post("/logout")

    check = client.get(f"/verify/{issued.verification_code}").get_data(as_text=True)
    assert "REVOKED" in check
    assert "VALID" not in check
    assert "Hours were not worked" not in check

    login_as(busy.teacher)
    certificate = client.get(f"/rewards/awards/{issued.id}/certificate")
    assert certificate.status_code == 200
    assert "REVOKED" in certificate.get_data(as_text=True)


def test_an_unknown_code_is_not_found(client, college):
    response = client.get("/verify/not-a-real-code")
    assert response.status_code == 404
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Certificate not found" in response.get_data(as_text=True)
    assert client.get("/verify/" + "x" * 200).status_code == 404


def test_the_public_check_is_rate_limited(client, college):
    statuses = [client.get(f"/verify/guess-{n}").status_code for n in range(30)]
    assert set(statuses) == {404}
    refused = client.get("/verify/guess")
    assert refused.status_code == 429
    assert refused.headers["Referrer-Policy"] == "no-referrer"


# --- labels --------------------------------------------------------------------------------


def test_money_is_written_as_people_read_it(app_ctx):
    for locale in ("en", "zh_Hans"):
        assert money(123450, "CNY", locale) == "¥1,234.50"
        assert money(5, "CNY", locale) == "¥0.05"
        assert money(800000000, "CNY", locale) == "¥8,000,000.00"
    assert money(123450, "USD", "en") == "$1,234.50"
    assert money(123450, "USD", "zh_Hans") == "US$1,234.50"
    assert money(None, "CNY") == "—"


# --- bounded queries -----------------------------------------------------------------------


def _queries_of_round_page(app, client, round_id: int) -> int:
    with sql_statements() as statements:
        response = client.get(f"/rewards/rounds/{round_id}")
    assert response.status_code == 200
    return len(statements)


def test_the_round_page_runs_the_same_queries_for_few_and_many_awards(
    app, client, college, make_log, make_user, login_as
):
    approved_hours(make_log, college.expert, 16)
    reward_round = services.open_round(college.admin, college.department.id, college.period.id)
    db.session.commit()
    assert len(reward_round.awards) == 1  # the fee; the mentor certificate is the college's
    login_as(college.admin)
    few = _queries_of_round_page(app, client, reward_round.id)

    for n in range(8):
        expert = make_user("expert", name=f"Expert {n}", enterprise=college.enterprise)
        approved_hours(make_log, expert, 16)
    approved_hours(make_log, college.teacher, 48)
    services.refresh_round(college.admin, reward_round)
    db.session.commit()
    assert len(reward_round.awards) == 1 + 8 + 2
    many = _queries_of_round_page(app, client, reward_round.id)
    assert many == few, (few, many)
