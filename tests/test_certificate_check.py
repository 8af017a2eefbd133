"""A paper certificate matched to its public check (SPEC §5, §7 "verify answer").

The printed certificate, the public page ``/verify/<code>`` and the API's verify answer
state the same facts: certificate number, issue date, issuer (a department, or the
college for the college round), holder, the award in English and Chinese, period,
institution and whether it is valid — and nothing else about the holder.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from exchange.errors import NotFound
from exchange.extensions import db, limiter
from exchange.rewards import queries, services
from exchange.rewards.models import Award, AwardStatus, RewardRound
from exchange.timeutil import college_today
from tests.conftest import period_end

API = "/api/v1"
ANSWER_FIELDS = {
    "valid",
    "status",
    "holder_name",
    "award_name",
    "award_name_zh",
    "period",
    "certificate_number",
    "issued_on",
    "issuer",
    "institution",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The limiter counts per process: each test starts with a clean slate.
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def approved_hours(make_log):
    """``total`` approved hours for ``owner``, 8 h a day backwards from today."""

    def log(owner, total: int) -> None:
        for n in range(total // 8):
            make_log(owner, status="approved", hours="8", work_date=college_today() - timedelta(n))

    return log


def _issue(reward_round: RewardRound, decider) -> RewardRound:
    for award in reward_round.awards:
        services.decide_award(decider, award, True)
    services.finalize_round(decider, reward_round)
    db.session.commit()
    return reward_round


def award_of(reward_round: RewardRound, code: str) -> Award:
    db.session.expire_all()
    return next(a for a in reward_round.awards if a.rule.code == code)


@pytest.fixture
def issue(college, approved_hours, travel):
    """Li Na (teacher) 40 h and Chen Hao (expert) 16 h approved; then, after the period's
    end, the department's round (by its head) or the college round (by an admin) is
    finalized with every proposed award issued."""
    approved_hours(college.teacher, 40)
    approved_hours(college.expert, 16)

    def finalize(scope: str = "department", at: time = time(9)) -> RewardRound:
        travel(period_end(college.period), at)
        if scope == "college":
            reward_round = services.open_round(college.admin, None, college.period.id, "college")
            return _issue(reward_round, college.admin)
        reward_round = services.open_round(college.head, college.department.id, college.period.id)
        return _issue(reward_round, college.head)

    return finalize


@pytest.fixture
def practice_cert(issue) -> Award:
    """Li Na's Practice Certificate from the Clinical Medicine round."""
    award = award_of(issue(), "practice-cert")
    assert award.status == AwardStatus.ISSUED
    return award


@pytest.fixture
def mentor_cert(issue) -> Award:
    """Chen Hao's Mentor Certificate from the college round."""
    award = award_of(issue("college"), "mentor-cert")
    assert award.status == AwardStatus.ISSUED
    return award


def page_of(client, award: Award, **headers) -> str:
    response = client.get(f"/verify/{award.verification_code}", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return response.get_data(as_text=True)


def answer_of(client, award: Award) -> dict:
    response = client.get(f"{API}/verify/{award.verification_code}")  # no token
    assert response.status_code == 200
    return response.get_json()


def facts_of(page: str) -> dict[str, str]:
    """The public page's facts, label → text without tags."""
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, flags=re.S)
    return {label: " ".join(re.sub(r"<[^>]+>", " ", value).split()) for label, value in pairs}


# --- a department's certificate ------------------------------------------------------------


def test_the_public_page_matches_the_paper_certificate(app, client, college, practice_cert):
    page = page_of(client, practice_cert)
    assert "VALID" in page
    assert "REVOKED" not in page
    institution = app.config["EXCHANGE_INSTITUTION"]
    assert facts_of(page) == {
        "Certificate No.": practice_cert.certificate_number,
        "Date of issue": period_end(college.period).isoformat(),
        "Holder": "Li Na",
        "Award": "Practice Certificate 实践证书",
        "Period": "2026-2027",
        "Issued by": f"{institution} · Clinical Medicine",
    }
    assert '<span lang="en">Practice Certificate</span>' in page
    assert '<span lang="zh-Hans">实践证书</span>' in page
    assert re.fullmatch(r"2026-2027-CM-\d{4}", practice_cert.certificate_number)


def test_the_api_answer_carries_the_same_facts(app, client, college, practice_cert):
    assert answer_of(client, practice_cert) == {
        "valid": True,
        "status": "valid",
        "holder_name": "Li Na",
        "award_name": "Practice Certificate",
        "award_name_zh": "实践证书",
        "period": "2026-2027",
        "certificate_number": practice_cert.certificate_number,
        "issued_on": period_end(college.period).isoformat(),
        "issuer": "Clinical Medicine",
        "institution": app.config["EXCHANGE_INSTITUTION"],
    }


def test_the_issue_date_is_the_colleges_day_not_utcs(client, college, issue):
    # 07:30 in Shanghai is still the day before in UTC.
    award = award_of(issue(at=time(7, 30)), "practice-cert")
    day = period_end(college.period).isoformat()
    assert answer_of(client, award)["issued_on"] == day
    assert facts_of(page_of(client, award))["Date of issue"] == day


def test_a_revoked_certificate_checks_as_revoked_on_the_page_and_in_the_api(
    client, college, practice_cert
):
    before = answer_of(client, practice_cert)
    services.revoke_award(college.admin, practice_cert, "Hours were not worked")
    db.session.commit()

    page = page_of(client, practice_cert)
    assert "REVOKED" in page
    assert "VALID" not in page
    assert "Hours were not worked" not in page
    assert facts_of(page)["Certificate No."] == practice_cert.certificate_number
    assert answer_of(client, practice_cert) == {**before, "valid": False, "status": "revoked"}


def test_nothing_else_of_the_holder_is_shown(client, college, issue):
    college.teacher.staff_number = "T-20931"
    college.expert.staff_number = "E-55817"
    db.session.commit()
    reward_round = issue()
    certificate = award_of(reward_round, "practice-cert")
    fee = award_of(reward_round, "teaching-fee")  # a bonus has a check too, not its amount
    assert fee.amount_minor == 320000

    for award, holder in ((certificate, college.teacher), (fee, college.expert)):
        page = page_of(client, award)
        answer = answer_of(client, award)
        assert set(answer) == ANSWER_FIELDS
        assert all(isinstance(value, str | bool) for value in answer.values())  # no numbers
        text = page + repr(answer)
        private = (holder.email, holder.staff_number, "Hospital", "¥", "3,200", "320000")
        for secret in private:
            assert secret not in text, secret
        for hours in ("40 h", "16 h", "Hours", "小时"):
            assert hours not in page, hours


@pytest.mark.parametrize(
    ("headers", "cookie"),
    [({"Accept-Language": "zh-CN,zh;q=0.9"}, None), ({}, "zh_Hans")],
    ids=["browser", "cookie"],
)
def test_a_chinese_reader_sees_both_names(client, practice_cert, headers, cookie):
    if cookie:
        client.set_cookie("lang", cookie)
    page = page_of(client, practice_cert, **headers)
    assert '<html lang="zh-Hans">' in page
    assert '<span lang="en">Practice Certificate</span>' in page
    assert '<span lang="zh-Hans">实践证书</span>' in page


def test_without_a_chinese_name_only_the_english_one_shows(client, college, issue):
    rule = next(r for r in queries.period_rules(college.period.id) if r.code == "practice-cert")
    rule.name_zh = ""
    db.session.commit()
    award = award_of(issue(), "practice-cert")
    page = page_of(client, award)
    assert facts_of(page)["Award"] == "Practice Certificate"
    assert '<span lang="zh-Hans">' not in page
    assert answer_of(client, award)["award_name_zh"] == ""


@pytest.mark.parametrize("code", ["not-a-real-code", "x" * 200])
def test_an_unknown_code_is_not_found(client, practice_cert, code):
    page = client.get(f"/verify/{code}")
    assert page.status_code == 404
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Certificate not found" in page.get_data(as_text=True)
    answer = client.get(f"{API}/verify/{code}")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_a_proposed_award_has_no_check(client, college, approved_hours):
    approved_hours(college.teacher, 40)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    proposed = award_of(reward_round, "practice-cert")
    assert proposed.verification_code is None
    with pytest.raises(NotFound):
        services.certificate_check(proposed)


def test_the_openapi_document_describes_the_answer(client):
    schema = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    verification = schema["Verification"]
    assert set(verification["properties"]) == ANSWER_FIELDS
    assert set(verification["required"]) == ANSWER_FIELDS
    assert verification["properties"]["issued_on"]["format"] == "date"


# --- the college's certificate -------------------------------------------------------------


def test_the_college_round_is_issued_by_the_college(app, client, college, mentor_cert):
    institution = app.config["EXCHANGE_INSTITUTION"]
    assert mentor_cert.certificate_number == "2026-2027-COL-0001"
    facts = facts_of(page_of(client, mentor_cert))
    assert facts["Issued by"] == institution
    assert facts["Award"] == "Mentor Certificate 导师证书"
    assert facts["Certificate No."] == "2026-2027-COL-0001"
    answer = answer_of(client, mentor_cert)
    assert answer["issuer"] == institution
    assert answer["award_name"] == "Mentor Certificate"
    assert answer["award_name_zh"] == "导师证书"
    assert answer["certificate_number"] == "2026-2027-COL-0001"
    assert answer["issued_on"] == period_end(college.period).isoformat()
    for department in ("Clinical Medicine", "Nursing"):
        assert department not in repr(answer)


# --- the printed certificate ---------------------------------------------------------------


def certificate_page(client, award: Award) -> str:
    response = client.get(f"/rewards/awards/{award.id}/certificate")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def issued_by(page: str) -> str:
    match = re.search(r"颁发单位</span></dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert match, "no Issued by line"
    return " ".join(match.group(1).split())


def test_the_certificate_shows_both_names_and_its_department(
    app, client, college, login_as, practice_cert
):
    login_as(college.teacher)
    page = certificate_page(client, practice_cert)
    assert '<span lang="en">Practice Certificate</span>' in page
    assert '<span lang="zh-Hans">实践证书</span>' in page
    assert issued_by(page) == f"{app.config['EXCHANGE_INSTITUTION']} · Clinical Medicine"
    assert practice_cert.certificate_number in page
    assert period_end(college.period).isoformat() in page


def test_the_college_certificate_is_bilingual_and_issued_by_the_college(
    app, client, college, login_as, mentor_cert
):
    login_as(college.expert)
    client.set_cookie("lang", "zh_Hans")  # the expert's own language does not matter
    page = certificate_page(client, mentor_cert)
    assert '<span lang="en">Mentor Certificate</span>' in page
    assert '<span lang="zh-Hans">导师证书</span>' in page
    assert issued_by(page) == app.config["EXCHANGE_INSTITUTION"]
    assert "Clinical Medicine" not in page
    assert "2026-2027-COL-0001" in page


def test_a_chinese_reader_gets_the_same_bilingual_certificate(
    client, college, login_as, practice_cert
):
    college.teacher.locale = "zh_Hans"
    db.session.commit()
    login_as(college.teacher)
    page = certificate_page(client, practice_cert)
    assert '<html lang="zh-Hans">' in page
    assert '<span lang="en">Practice Certificate</span>' in page
    assert '<span lang="zh-Hans">实践证书</span>' in page


@pytest.mark.parametrize(("who", "status"), [("expert", 200), ("admin", 200)])
def test_the_college_certificate_is_for_its_holder_and_admins(
    client, college, login_as, mentor_cert, who, status
):
    login_as(getattr(college, who))
    assert client.get(f"/rewards/awards/{mentor_cert.id}/certificate").status_code == status


@pytest.mark.parametrize("who", ["head", "foreign_head", "other_expert", "teacher"])
def test_nobody_else_sees_the_college_certificate(client, college, login_as, mentor_cert, who):
    login_as(getattr(college, who))
    assert client.get(f"/rewards/awards/{mentor_cert.id}/certificate").status_code == 404
