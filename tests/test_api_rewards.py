"""Rewards through the JSON API (SPEC §4, §5, §7): progress, eligibility, reward rounds,
award decisions, the public certificate check and the rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from exchange.extensions import db, limiter
from exchange.rewards import services
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import (
    API,
    assert_error,
    openapi_document,
    required_fields,
    resolve,
    sql_statements,
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The limiter counts per process: each test starts with a clean slate.
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def as_user(api_token):
    """Bearer headers per user, each token fetched once."""
    tokens = {}

    def headers_for(user):
        if user.id not in tokens:
            tokens[user.id] = api_token(user)
        return tokens[user.id]

    return headers_for


@pytest.fixture
def spend(make_log):
    """Logs ``hours`` for ``owner`` in ``status``, at most 12 h a day, one day after
    another backwards from today (the period began 100 days ago; "today" is the day the
    test began, so still in the period after ``travel``)."""
    days_used = defaultdict(int)
    today = college_today()

    def log_hours(owner, hours: str, status: str = "approved", **fields) -> None:
        remaining = Decimal(hours)
        while remaining > 0:
            chunk = min(remaining, Decimal(12))
            day = today - timedelta(days=days_used[owner.id])
            days_used[owner.id] += 1
            make_log(owner, status=status, hours=str(chunk), work_date=day, **fields)
            remaining -= chunk

    return log_hours


def by_code(rules: list[dict]) -> dict[str, dict]:
    return {rule["code"]: rule for rule in rules}


# --- progress -----------------------------------------------------------------------


def test_a_teacher_just_short_of_the_first_rule(client, college, as_user, spend):
    spend(college.teacher, "39.75")
    spend(college.teacher, "2", status="submitted")
    spend(college.teacher, "1.5", status="verified")
    spend(college.teacher, "5", status="draft")  # neither approved nor pending
    spend(college.teacher, "4", status="rejected")
    response = client.get(f"{API}/me/progress", headers=as_user(college.teacher))
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "period_id": college.period.id,
        "approved_hours": 39.75,
        "pending_hours": 3.5,
        "rules": [
            {
                "code": "practice-cert",
                "name": "Practice Certificate",
                "name_zh": "实践证书",
                "scope": "department",
                "kind": "honour",
                "threshold_hours": 40,
                "met": False,
                "hours_missing": 0.25,
                "amount_minor": 0,
            },
            {
                "code": "practice-star",
                "name": "Practice Star",
                "name_zh": "实践之星",
                "scope": "department",
                "kind": "honour",
                "threshold_hours": 160,
                "met": False,
                "hours_missing": 120.25,
                "amount_minor": 0,
            },
            {
                "code": "practice-allowance",
                "name": "Practice Allowance",
                "name_zh": "实践津贴",
                "scope": "department",
                "kind": "bonus",
                "threshold_hours": 40,
                "met": False,
                "hours_missing": 0.25,
                "amount_minor": 0,
            },
        ],
        "departments": [
            {
                "department_id": college.department.id,
                "approved_hours": 39.75,
                "pending_hours": 3.5,
                "rules": body["rules"],
            }
        ],
    }


def test_the_last_quarter_hour_meets_the_rule(client, college, as_user, spend):
    spend(college.teacher, "40")
    spend(college.teacher, "0.5", status="submitted")
    body = client.get(f"{API}/me/progress", headers=as_user(college.teacher)).get_json()
    assert body["approved_hours"] == 40
    assert body["pending_hours"] == 0.5
    rules = by_code(body["rules"])
    assert rules["practice-cert"]["met"] is True
    assert rules["practice-cert"]["hours_missing"] == 0
    assert rules["practice-allowance"]["met"] is True
    assert rules["practice-allowance"]["amount_minor"] == 0  # nothing over the threshold yet
    assert rules["practice-star"]["hours_missing"] == 120


def test_a_teacher_without_hours_sees_the_way_ahead(client, college, as_user):
    body = client.get(f"{API}/me/progress", headers=as_user(college.other_teacher)).get_json()
    assert body["approved_hours"] == 0
    assert body["pending_hours"] == 0
    assert by_code(body["rules"])["practice-cert"]["hours_missing"] == 40
    assert [d["department_id"] for d in body["departments"]] == [college.department.id]


def test_an_expert_s_hours_count_per_department(client, college, as_user, spend):
    spend(college.expert, "10")
    spend(college.expert, "10", department_id=college.other_department.id,
          verifier=college.foreign_head)  # fmt: skip
    spend(college.expert, "2", status="submitted")
    body = client.get(f"{API}/me/progress", headers=as_user(college.expert)).get_json()
    # 10 h in each department: the fee is paid in each; the mentor certificate, a
    # college rule, counts the 20 h of both and is met.
    assert body["approved_hours"] == 20
    assert body["pending_hours"] == 2
    rules = by_code(body["rules"])
    assert list(rules) == ["mentor-cert", "mentor-distinguished", "teaching-fee"]
    assert {code: rule["scope"] for code, rule in rules.items()} == {
        "mentor-cert": "college",
        "mentor-distinguished": "college",
        "teaching-fee": "department",
    }
    assert rules["mentor-cert"]["met"] is True
    assert rules["mentor-cert"]["hours_missing"] == 0
    assert rules["mentor-distinguished"]["hours_missing"] == 44
    assert rules["teaching-fee"]["met"] is True
    assert rules["teaching-fee"]["amount_minor"] == 2 * 10 * 20000  # paid in each department
    departments = {d["department_id"]: d for d in body["departments"]}
    assert list(departments) == [college.department.id, college.other_department.id]
    clinical = departments[college.department.id]
    assert (clinical["approved_hours"], clinical["pending_hours"]) == (10, 2)
    assert [rule["code"] for rule in clinical["rules"]] == ["teaching-fee"]  # department rules
    assert by_code(clinical["rules"])["teaching-fee"]["amount_minor"] == 10 * 20000
    assert departments[college.other_department.id]["pending_hours"] == 0


def test_an_expert_meets_a_department_rule_where_the_hours_are_enough(
    client, college, as_user, spend
):
    services.save_rule(
        college.admin,
        college.period,
        services.RuleInput("guest-lecturer", "Guest Lecturer", "honour", "expert", "12"),
    )  # a department rule: counted in each department on its own
    db.session.commit()
    spend(college.expert, "16")
    spend(college.expert, "4", department_id=college.other_department.id,
          verifier=college.foreign_head)  # fmt: skip
    body = client.get(f"{API}/me/progress", headers=as_user(college.expert)).get_json()
    rules = by_code(body["rules"])
    assert rules["guest-lecturer"]["met"] is True  # met in Clinical Medicine
    assert rules["guest-lecturer"]["hours_missing"] == 0
    # The college rules count the 20 h of both departments.
    assert rules["mentor-cert"]["met"] is True
    assert rules["mentor-distinguished"]["hours_missing"] == 44
    nursing = next(
        d for d in body["departments"] if d["department_id"] == college.other_department.id
    )
    assert by_code(nursing["rules"])["guest-lecturer"] == {
        **rules["guest-lecturer"],
        "met": False,
        "hours_missing": 8,
    }
    assert "mentor-cert" not in by_code(nursing["rules"])


def test_an_expert_without_hours_still_sees_every_rule(client, college, as_user):
    body = client.get(f"{API}/me/progress", headers=as_user(college.expert)).get_json()
    assert body["approved_hours"] == 0
    assert body["departments"] == []
    rules = by_code(body["rules"])
    assert rules["mentor-cert"]["hours_missing"] == 16
    assert rules["teaching-fee"]["amount_minor"] == 0


def test_an_admin_has_no_progress_of_their_own(client, college, as_user):
    body = client.get(f"{API}/me/progress", headers=as_user(college.admin)).get_json()
    assert body == {
        "period_id": college.period.id,
        "approved_hours": 0,
        "pending_hours": 0,
        "rules": [],
        "departments": [],
    }


def test_progress_of_a_named_period(client, college, as_user, make_period, spend):
    spend(college.teacher, "8")
    today = college_today()
    earlier = make_period(
        name="2025-2026", starts_on=today - timedelta(days=500), ends_on=today - timedelta(days=101)
    )
    headers = as_user(college.teacher)
    body = client.get(f"{API}/me/progress?period={earlier.id}", headers=headers).get_json()
    assert body["period_id"] == earlier.id
    assert body["approved_hours"] == 0
    assert body["rules"] == []  # that period has no rules
    current = client.get(f"{API}/me/progress?period={college.period.id}", headers=headers)
    assert current.get_json()["approved_hours"] == 8


def test_progress_of_an_unknown_or_malformed_period(client, college, as_user):
    headers = as_user(college.teacher)
    assert_error(client.get(f"{API}/me/progress?period=999", headers=headers), 404, "not_found")
    assert_error(client.get(f"{API}/me/progress?period=x", headers=headers), 400, "bad_request")


def test_progress_without_a_period_today_is_of_the_latest_period(
    client, make_user, make_period, api_token
):
    # The default the pages choose too (org.queries.default_period).
    today = college_today()
    make_period(starts_on=today - timedelta(days=800), ends_on=today - timedelta(days=401))
    latest = make_period(starts_on=today - timedelta(days=400), ends_on=today - timedelta(days=30))
    body = client.get(f"{API}/me/progress", headers=api_token(make_user("teacher"))).get_json()
    assert body["period_id"] == latest.id


def test_progress_without_any_period_is_a_clear_404(client, make_user, api_token):
    response = client.get(f"{API}/me/progress", headers=api_token(make_user("teacher")))
    error = assert_error(response, 404, "not_found")
    assert "?period=" in error["message"]


def test_progress_needs_a_token(client):
    assert_error(client.get(f"{API}/me/progress"), 401, "unauthorized")


# --- eligibility --------------------------------------------------------------------


def test_a_head_sees_their_department_s_eligibility(client, college, as_user, spend):
    spend(college.teacher, "160")
    spend(college.other_teacher, "6", status="verified")
    spend(college.expert, "3")
    spend(
        college.other_expert,
        "30",
        department_id=college.other_department.id,
        verifier=college.foreign_head,
    )  # fmt: skip  (in Nursing: not listed)
    response = client.get(f"{API}/eligibility", headers=as_user(college.head))
    assert response.status_code == 200
    body = response.get_json()
    assert body["department_id"] == college.department.id
    assert body["period_id"] == college.period.id
    assert body["total"] == 3
    people = {p["person_id"]: p for p in body["items"]}
    assert set(people) == {college.teacher.id, college.other_teacher.id, college.expert.id}

    teacher = people[college.teacher.id]
    assert {k: v for k, v in teacher.items() if k != "rules"} == {
        "person_id": college.teacher.id,
        "name": "Li Na",
        "role": "teacher",
        "audience": "teacher",
        "approved_hours": 160,
        "pending_hours": 0,
    }
    rules = by_code(teacher["rules"])
    assert rules["practice-cert"] == {
        "code": "practice-cert",
        "name": "Practice Certificate",
        "name_zh": "实践证书",
        "scope": "department",
        "kind": "honour",
        "threshold_hours": 40,
        "met": True,
        "hours_missing": 0,
        "amount_minor": 0,
        "awarded": False,
        "outranked_by": "practice-star",
    }
    assert rules["practice-star"]["awarded"] is True
    assert rules["practice-star"]["outranked_by"] is None
    assert rules["practice-allowance"]["amount_minor"] == 600000  # 120 h over × 50.00

    waiting = people[college.other_teacher.id]
    assert (waiting["approved_hours"], waiting["pending_hours"]) == (0, 6)
    assert not any(rule["met"] for rule in waiting["rules"])

    expert = people[college.expert.id]
    assert expert["audience"] == "expert"
    assert by_code(expert["rules"])["teaching-fee"]["amount_minor"] == 60000


def test_eligibility_is_a_page_like_every_list(client, college, as_user, spend):
    spend(college.teacher, "1")
    spend(college.other_teacher, "1")
    headers = as_user(college.admin)
    url = f"{API}/eligibility?department={college.department.id}&per_page=1&page=2"
    body = client.get(url, headers=headers).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 1, 2)
    assert [p["name"] for p in body["items"]] == ["Zhao Lei"]


def test_who_may_see_eligibility(client, college, as_user):
    own = f"{API}/eligibility?department={college.department.id}"
    assert_error(client.get(own, headers=as_user(college.foreign_head)), 403, "forbidden")
    assert_error(client.get(own, headers=as_user(college.teacher)), 403, "forbidden")
    assert_error(client.get(own, headers=as_user(college.expert)), 403, "forbidden")
    assert client.get(own, headers=as_user(college.other_head)).status_code == 200
    assert client.get(own, headers=as_user(college.admin)).status_code == 200
    # An admin has no department of their own to fall back on.
    missing = client.get(f"{API}/eligibility", headers=as_user(college.admin))
    assert_error(missing, 422, "validation_error", ("department",))
    unknown = client.get(f"{API}/eligibility?department=999", headers=as_user(college.admin))
    assert_error(unknown, 404, "not_found")
    assert_error(client.get(f"{API}/eligibility"), 401, "unauthorized")


# --- rounds ---------------------------------------------------------------------------


def _open(client, headers, college, department=None):
    return client.post(
        f"{API}/rounds",
        headers=headers,
        json={
            "department_id": (department or college.department).id,
            "period_id": college.period.id,
        },
    )


def _awards(body) -> dict[tuple[int, str], dict]:
    return {(a["holder_id"], a["rule_code"]): a for a in body["awards"]}


def test_a_round_from_opening_to_certificates(client, college, as_user, spend, travel):
    spend(college.teacher, "48")
    spend(college.other_teacher, "40")
    spend(college.expert, "3")
    spend(college.teacher, "5", status="verified")  # pending: not in the round
    head = as_user(college.head)

    response = _open(client, head, college)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    round_id = body["id"]
    assert response.headers["Location"].endswith(f"{API}/rounds/{round_id}")
    assert body["department_id"] == college.department.id
    assert body["period_id"] == college.period.id
    assert body["state"] == "draft"
    assert body["exports"] is None
    awards = _awards(body)
    # The other teacher's allowance comes to 0 at exactly 40 h: not proposed.
    assert set(awards) == {
        (college.teacher.id, "practice-cert"),
        (college.teacher.id, "practice-allowance"),
        (college.other_teacher.id, "practice-cert"),
        (college.expert.id, "teaching-fee"),
    }
    allowance = awards[(college.teacher.id, "practice-allowance")]
    assert allowance == {
        "id": allowance["id"],
        "round_id": round_id,
        "holder_id": college.teacher.id,
        "holder_name": "Li Na",
        "rule_id": allowance["rule_id"],
        "rule_code": "practice-allowance",
        "rule_name": "Practice Allowance",
        "rule_name_zh": "实践津贴",
        "kind": "bonus",
        "hours": 48,
        "amount_minor": 40000,
        "currency": "CNY",
        "status": "proposed",
        "certificate_number": None,
        "verification_code": None,
        "reason": None,
        "credential_url": None,
    }
    assert client.get(f"{API}/rounds/{round_id}", headers=head).get_json() == body

    # The same department and period again: 409.
    assert_error(_open(client, as_user(college.admin), college), 409, "conflict")

    # Decisions: approve (a reason given is not kept), reject only with a reason.
    cert = awards[(college.teacher.id, "practice-cert")]
    approved = client.post(
        f"{API}/awards/{cert['id']}/approve", headers=head, json={"reason": "Well done"}
    )
    assert approved.status_code == 200
    approved_body = approved.get_json()
    history = approved_body.pop("history")
    assert approved_body == {**cert, "status": "approved", "reason": None}
    # The award's body after a decision carries its trail: proposed by the round's
    # opening, then approved by the head.
    assert [(h["action"], h["from_status"], h["to_status"], h["actor_name"]) for h in history] == [
        ("propose", None, "proposed", "Wang Fang"),
        ("approve", "proposed", "approved", "Wang Fang"),
    ]
    other_cert = awards[(college.other_teacher.id, "practice-cert")]
    url = f"{API}/awards/{other_cert['id']}/reject"
    assert_error(client.post(url, headers=head), 422, "validation_error", ("reason",))
    assert_error(
        client.post(url, headers=head, json={"reason": "  "}), 422, "validation_error", ("reason",)
    )
    assert_error(
        client.post(url, headers=head, json={"reason": "x" * 501}),
        422,
        "validation_error",
        ("reason",),
    )
    # Longer than documented (maxLength 500) is refused even when blanks make it so:
    # what is sent is measured, not what is left once trimmed.
    assert_error(
        client.post(url, headers=head, json={"reason": "Hours" + "\x1f" * 600}),
        422,
        "validation_error",
        ("reason",),
    )
    assert_error(
        client.post(url, headers=head, json={"reason": 5}), 422, "validation_error", ("reason",)
    )
    assert_error(client.post(url, headers=head, json=["no"]), 400, "bad_request")
    rejected = client.post(url, headers=head, json={"reason": "Hours under review"})
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["reason"] == "Hours under review"

    # The period is not over yet: finalizing is refused with the day it becomes possible,
    # and only an admin may finalize early.
    finalize = f"{API}/rounds/{round_id}/finalize"
    too_early = assert_error(client.post(finalize, headers=head), 409, "too_early")
    assert too_early["details"] == {"finalize_from": period_end(college.period).isoformat()}
    assert_error(client.post(finalize, headers=head, json={"early": True}), 403, "forbidden")
    travel(period_end(college.period))

    # Not every award is decided yet: finalizing is refused.
    assert_error(client.post(finalize, headers=head), 409, "conflict")
    for key in [(college.teacher.id, "practice-allowance"), (college.expert.id, "teaching-fee")]:
        client.post(f"{API}/awards/{awards[key]['id']}/approve", headers=head)

    response = client.post(finalize, headers=head)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "finalized"
    assert body["finalized_early"] is False
    issued = _awards(body)
    # Numbered by holder name: Chen Hao (expert), then Li Na's two awards.
    assert issued[(college.expert.id, "teaching-fee")]["certificate_number"] == (
        "2026-2027-CM-0001"
    )
    assert sorted(
        issued[(college.teacher.id, code)]["certificate_number"]
        for code in ("practice-cert", "practice-allowance")
    ) == ["2026-2027-CM-0002", "2026-2027-CM-0003"]
    assert issued[(college.other_teacher.id, "practice-cert")]["status"] == "rejected"
    assert issued[(college.other_teacher.id, "practice-cert")]["certificate_number"] is None
    codes = [a["verification_code"] for a in body["awards"] if a["status"] == "issued"]
    assert len(codes) == 3
    assert len(set(codes)) == 3
    assert all(len(code) >= 20 for code in codes)
    # An issued honour names its Open Badges credential; a bonus has none.
    cert_id = issued[(college.teacher.id, "practice-cert")]["id"]
    assert issued[(college.teacher.id, "practice-cert")]["credential_url"] == (
        f"http://localhost/api/v1/awards/{cert_id}/credential"
    )
    assert issued[(college.expert.id, "teaching-fee")]["credential_url"] is None
    base = f"http://localhost/rewards/rounds/{round_id}"
    assert body["exports"] == {
        "payout_csv": f"{base}/payout.csv",
        "payout_xlsx": f"{base}/payout.xlsx",
        "honours_csv": f"{base}/honours.csv",
        "honours_xlsx": f"{base}/honours.xlsx",
    }

    # A finalized round never changes.
    assert_error(client.post(f"{API}/rounds/{round_id}/refresh", headers=head), 409, "conflict")
    assert_error(client.post(finalize, headers=head), 409, "conflict")
    assert_error(
        client.post(f"{API}/awards/{other_cert['id']}/approve", headers=head), 409, "conflict"
    )
    assert_error(
        client.post(f"{API}/awards/{cert['id']}/reject", headers=head, json={"reason": "No"}),
        409,
        "conflict",
    )
    assert client.get(f"{API}/rounds/{round_id}", headers=head).get_json() == body


def test_refreshing_picks_up_newly_approved_hours(client, college, as_user, spend):
    spend(college.teacher, "40")
    spend(college.other_teacher, "41")
    head = as_user(college.head)
    body = _open(client, head, college).get_json()
    awards = _awards(body)
    assert (college.teacher.id, "practice-allowance") not in awards  # 0.00 at exactly 40 h
    for award in body["awards"]:
        client.post(f"{API}/awards/{award['id']}/approve", headers=head)

    spend(college.teacher, "2")
    response = client.post(f"{API}/rounds/{body['id']}/refresh", headers=head)
    assert response.status_code == 200
    refreshed = _awards(response.get_json())
    allowance = refreshed[(college.teacher.id, "practice-allowance")]
    assert (allowance["hours"], allowance["amount_minor"]) == (42, 10000)
    assert allowance["status"] == "proposed"
    # The teacher's certificate now rests on other hours: proposed again. The other
    # teacher's awards are unchanged and keep their decision.
    assert refreshed[(college.teacher.id, "practice-cert")]["status"] == "proposed"
    assert refreshed[(college.other_teacher.id, "practice-cert")]["status"] == "approved"


def test_a_head_does_not_approve_their_own_award(client, college, as_user, spend):
    spend(college.head, "40")
    body = _open(client, as_user(college.other_head), college).get_json()
    (own,) = [a for a in body["awards"] if a["holder_id"] == college.head.id]
    url = f"{API}/awards/{own['id']}/approve"
    assert_error(client.post(url, headers=as_user(college.head)), 403, "forbidden")
    assert_error(
        client.post(
            f"{API}/awards/{own['id']}/reject", headers=as_user(college.head), json={"reason": "x"}
        ),
        403,
        "forbidden",
    )
    assert client.post(url, headers=as_user(college.other_head)).get_json()["status"] == (
        "approved"
    )


def test_rounds_of_another_department_are_not_there(client, college, as_user, spend):
    spend(college.teacher, "40")
    body = _open(client, as_user(college.head), college).get_json()
    award_id = body["awards"][0]["id"]
    for user in (college.foreign_head, college.teacher, college.expert):
        headers = as_user(user)
        assert_error(client.get(f"{API}/rounds/{body['id']}", headers=headers), 404, "not_found")
        for action in ("refresh", "finalize"):
            response = client.post(f"{API}/rounds/{body['id']}/{action}", headers=headers)
            assert_error(response, 404, "not_found")
        for action in ("approve", "reject"):
            response = client.post(
                f"{API}/awards/{award_id}/{action}", headers=headers, json={"reason": "x"}
            )
            assert_error(response, 404, "not_found")
    assert_error(_open(client, as_user(college.foreign_head), college), 403, "forbidden")
    assert_error(_open(client, as_user(college.teacher), college), 403, "forbidden")
    assert_error(client.get(f"{API}/rounds", headers=as_user(college.expert)), 403, "forbidden")
    assert_error(client.get(f"{API}/rounds/999", headers=as_user(college.admin)), 404, "not_found")


def test_opening_a_round_names_bad_fields(client, college, as_user):
    headers = as_user(college.admin)
    response = client.post(f"{API}/rounds", headers=headers, json={"department_id": "CM"})
    assert_error(response, 422, "validation_error", ("department_id",))
    response = client.post(
        f"{API}/rounds", headers=headers, json={"department_id": 999, "period_id": None}
    )
    assert_error(response, 422, "validation_error", ("department_id", "period_id"))
    assert_error(
        client.post(f"{API}/rounds", headers=headers, data="{", content_type="application/json"),
        400,
        "bad_request",
    )


def test_the_list_of_rounds_shows_what_the_caller_runs(client, college, as_user, spend):
    spend(college.teacher, "40")
    own = _open(client, as_user(college.head), college).get_json()
    other = _open(client, as_user(college.admin), college, college.other_department).get_json()
    listed = client.get(f"{API}/rounds", headers=as_user(college.head)).get_json()
    assert set(listed) == {"items", "page", "per_page", "total"}
    assert [r["id"] for r in listed["items"]] == [own["id"]]
    assert listed["items"][0] == own
    everything = client.get(f"{API}/rounds", headers=as_user(college.admin)).get_json()
    assert [r["id"] for r in everything["items"]] == [other["id"], own["id"]]
    nursing = client.get(
        f"{API}/rounds?department={college.other_department.id}", headers=as_user(college.admin)
    ).get_json()
    assert [r["id"] for r in nursing["items"]] == [other["id"]]
    assert other["awards"] == []


def test_listing_rounds_runs_the_same_queries_for_few_or_many_awards(
    client, college, as_user, spend, make_user
):
    headers = as_user(college.admin)

    def queries() -> int:
        with sql_statements() as statements:
            assert client.get(f"{API}/rounds", headers=headers).status_code == 200
        return len(statements)

    spend(college.teacher, "41")
    body = _open(client, headers, college).get_json()
    few = queries()
    for _ in range(4):
        spend(make_user("teacher", department=college.department), "41")
    client.post(f"{API}/rounds/{body['id']}/refresh", headers=headers)
    assert len(client.get(f"{API}/rounds/{body['id']}", headers=headers).get_json()["awards"]) == 10
    assert queries() == few


# --- revoking and the public certificate check ---------------------------------------------


@pytest.fixture
def issued(client, college, as_user, spend, travel):
    """A finalized round of the department with the teacher's certificate issued."""
    spend(college.teacher, "40")
    head = as_user(college.head)
    body = _open(client, head, college).get_json()
    for award in body["awards"]:
        client.post(f"{API}/awards/{award['id']}/approve", headers=head)
    travel(period_end(college.period))
    body = client.post(f"{API}/rounds/{body['id']}/finalize", headers=head).get_json()
    (cert,) = [a for a in body["awards"] if a["rule_code"] == "practice-cert"]
    return cert


def test_the_certificate_check_shows_only_what_it_should(client, college, issued, app):
    response = client.get(f"{API}/verify/{issued['verification_code']}")  # no token
    assert response.status_code == 200
    assert response.get_json() == {
        "holder_name": "Li Na",
        "award_name": "Practice Certificate",
        "award_name_zh": "实践证书",
        "period": "2026-2027",
        "certificate_number": issued["certificate_number"],
        "issued_on": period_end(college.period).isoformat(),
        "issuer": "Clinical Medicine",
        "institution": app.config["EXCHANGE_INSTITUTION"],
        "valid": True,
        "status": "valid",
    }


@pytest.mark.parametrize("code", ["not-a-code", "x" * 41, "%00", "' OR 1=1 --"])
def test_an_unknown_certificate_is_404(client, issued, code):
    assert_error(client.get(f"{API}/verify/{code}"), 404, "not_found")


def test_the_certificate_check_is_rate_limited(client, issued):
    url = f"{API}/verify/{issued['verification_code']}"
    statuses = [client.get(url).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert_error(client.get(url), 429, "rate_limited")


def test_only_an_admin_revokes_an_issued_award(client, college, as_user, issued):
    url = f"{API}/awards/{issued['id']}/revoke"
    for user in (college.head, college.teacher):
        response = client.post(url, headers=as_user(user), json={"reason": "Hours disputed"})
        assert_error(response, 403, "forbidden")
    admin = as_user(college.admin)
    assert_error(client.post(url, headers=admin), 422, "validation_error", ("reason",))
    response = client.post(url, headers=admin, json={"reason": "Hours disputed"})
    assert response.status_code == 200
    revoked = response.get_json()
    history = revoked.pop("history")
    assert revoked == {**issued, "status": "revoked", "reason": "Hours disputed"}
    assert [(h["action"], h["to_status"]) for h in history][-2:] == [
        ("issue", "issued"),
        ("revoke", "revoked"),
    ]
    assert history[-1]["reason"] == "Hours disputed"
    assert history[-1]["actor_id"] == college.admin.id
    assert_error(client.post(url, headers=admin, json={"reason": "Again"}), 409, "conflict")

    check = client.get(f"{API}/verify/{issued['verification_code']}").get_json()
    assert check["valid"] is False
    assert check["status"] == "revoked"
    assert set(check) == {
        "holder_name",
        "award_name",
        "award_name_zh",
        "period",
        "certificate_number",
        "issued_on",
        "issuer",
        "institution",
        "valid",
        "status",
    }


def test_a_proposed_award_cannot_be_revoked(client, college, as_user, spend):
    spend(college.teacher, "40")
    body = _open(client, as_user(college.head), college).get_json()
    response = client.post(
        f"{API}/awards/{body['awards'][0]['id']}/revoke",
        headers=as_user(college.admin),
        json={"reason": "x"},
    )
    assert_error(response, 409, "conflict")
    assert_error(
        client.post(f"{API}/awards/999/revoke", headers=as_user(college.admin), json={}),
        404,
        "not_found",
    )


# --- rules ------------------------------------------------------------------------------

ALLOWANCE = {
    "code": "night-allowance",
    "name": "Night Shift Allowance",
    "name_zh": "夜班津贴",
    "scope": "department",
    "kind": "bonus",
    "audience": "teacher",
    "threshold_hours": 20.5,
    "group": None,
    "fixed_amount_minor": 10000,
    "rate_per_hour_minor": 2500,
    "cap_minor": 500000,
    "currency": "CNY",
}


def test_an_admin_lists_the_rules_of_a_period(client, college, as_user, make_period):
    make_period(name="2027-2028", starts_on=college.period.ends_on + timedelta(days=1),
                ends_on=college.period.ends_on + timedelta(days=365))  # fmt: skip
    headers = as_user(college.admin)
    body = client.get(f"{API}/rules?period={college.period.id}", headers=headers).get_json()
    assert body["total"] == 6
    # As the pages list them: teachers' rules, then experts'; honours before bonuses.
    assert [r["code"] for r in body["items"]] == [
        "practice-cert",
        "practice-star",
        "practice-allowance",
        "mentor-cert",
        "mentor-distinguished",
        "teaching-fee",
    ]
    star = body["items"][1]
    assert star == {
        "id": star["id"],
        "period_id": college.period.id,
        "code": "practice-star",
        "name": "Practice Star",
        "name_zh": "实践之星",
        "scope": "department",
        "kind": "honour",
        "audience": "teacher",
        "threshold_hours": 160,
        "group": "practice",
        "fixed_amount_minor": 0,
        "rate_per_hour_minor": 0,
        "cap_minor": None,
        "currency": "CNY",
    }
    fee = body["items"][5]
    assert (fee["rate_per_hour_minor"], fee["cap_minor"]) == (20000, 2000000)
    assert client.get(f"{API}/rules", headers=headers).get_json()["total"] == 6


def test_an_admin_creates_reads_and_changes_a_rule(client, college, as_user):
    headers = as_user(college.admin)
    response = client.post(
        f"{API}/rules", headers=headers, json={**ALLOWANCE, "period_id": college.period.id}
    )
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    assert rule == {**ALLOWANCE, "id": rule["id"], "period_id": college.period.id}
    assert response.headers["Location"].endswith(f"{API}/rules/{rule['id']}")
    assert client.get(f"{API}/rules/{rule['id']}", headers=headers).get_json() == rule

    response = client.patch(
        f"{API}/rules/{rule['id']}",
        headers=headers,
        json={"threshold_hours": "30", "cap_minor": None},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {**rule, "threshold_hours": 30, "cap_minor": None}

    # The rule counts at once: a teacher's progress shows it.
    progress = client.get(f"{API}/me/progress", headers=as_user(college.teacher)).get_json()
    assert by_code(progress["rules"])["night-allowance"]["hours_missing"] == 30


def test_a_rule_with_bad_fields_is_422_naming_each(client, college, as_user):
    headers = as_user(college.admin)
    response = client.post(
        f"{API}/rules",
        headers=headers,
        json={
            "period_id": college.period.id,
            "code": "has space",
            "name": "",
            "kind": "cash",
            "audience": "student",
            "threshold_hours": 40.01,  # not whole minutes
        },
    )
    assert_error(
        response,
        422,
        "validation_error",
        ("code", "name", "kind", "audience", "threshold_hours"),
    )
    response = client.post(
        f"{API}/rules",
        headers=headers,
        json={"code": 5, "threshold_hours": [1], "fixed_amount_minor": "a lot", "cap_minor": 1.5},
    )
    assert_error(
        response,
        422,
        "validation_error",
        ("period_id", "code", "threshold_hours", "fixed_amount_minor", "cap_minor"),
    )
    response = client.post(
        f"{API}/rules",
        headers=headers,
        json={**ALLOWANCE, "period_id": college.period.id, "code": "practice-cert"},
    )
    assert_error(response, 422, "validation_error", ("code",))
    response = client.post(
        f"{API}/rules",
        headers=headers,
        json={**ALLOWANCE, "period_id": college.period.id, "kind": "honour"},
    )
    assert_error(response, 422, "validation_error", ("kind",))
    response = client.post(f"{API}/rules", headers=headers, json={**ALLOWANCE, "period_id": 999})
    assert_error(response, 422, "validation_error", ("period_id",))
    response = client.post(
        f"{API}/rules",
        headers=headers,
        json={**ALLOWANCE, "period_id": college.period.id, "rate_per_hour_minor": -1},
    )
    assert_error(response, 422, "validation_error", ("rate_per_hour_minor",))


def test_a_rule_stays_in_its_period(client, college, as_user, make_period):
    other = make_period(name="2027-2028")
    headers = as_user(college.admin)
    rule_id = client.get(f"{API}/rules", headers=headers).get_json()["items"][0]["id"]
    response = client.patch(f"{API}/rules/{rule_id}", headers=headers, json={"period_id": other.id})
    assert_error(response, 422, "validation_error", ("period_id",))
    assert_error(client.get(f"{API}/rules/999", headers=headers), 404, "not_found")
    assert_error(client.patch(f"{API}/rules/999", headers=headers, json={}), 404, "not_found")


def test_rules_of_a_scope_are_final_once_a_round_of_that_scope_is_finalized(
    client, college, as_user, issued
):
    headers = as_user(college.admin)
    rule_id = issued["rule_id"]  # a department rule, of a finalized department round
    response = client.patch(f"{API}/rules/{rule_id}", headers=headers, json={"name": "Renamed"})
    assert_error(response, 409, "conflict")
    response = client.post(
        f"{API}/rules", headers=headers, json={**ALLOWANCE, "period_id": college.period.id}
    )
    assert_error(response, 422, "validation_error", ("scope",))
    assert client.get(f"{API}/rules/{rule_id}", headers=headers).get_json()["name"] == (
        "Practice Certificate"
    )
    # The college rules are not final until the college round is finalized.
    college_rule = {**ALLOWANCE, "period_id": college.period.id, "scope": "college"}
    response = client.post(f"{API}/rules", headers=headers, json=college_rule)
    assert response.status_code == 201, response.get_json()
    created_id = response.get_json()["id"]
    response = client.post(
        f"{API}/rounds", headers=headers, json={"period_id": college.period.id, "scope": "college"}
    )
    assert response.status_code == 201, response.get_json()
    college_round = response.get_json()
    for award in college_round["awards"]:  # the new rule's award to the teacher
        client.post(f"{API}/awards/{award['id']}/approve", headers=headers)
    finalized = client.post(f"{API}/rounds/{college_round['id']}/finalize", headers=headers)
    assert finalized.status_code == 200, finalized.get_json()
    response = client.patch(f"{API}/rules/{created_id}", headers=headers, json={"name": "Renamed"})
    assert_error(response, 409, "conflict")
    response = client.post(
        f"{API}/rules", headers=headers, json={**college_rule, "code": "too-late"}
    )
    assert_error(response, 409, "conflict")


def test_rules_of_a_locked_period_are_final(client, college, as_user):
    headers = as_user(college.admin)
    rule_id = client.get(f"{API}/rules", headers=headers).get_json()["items"][0]["id"]
    client.patch(f"{API}/periods/{college.period.id}", headers=headers, json={"state": "locked"})
    response = client.patch(f"{API}/rules/{rule_id}", headers=headers, json={"name": "Renamed"})
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/rules"), ("POST", "/rules"), ("GET", "/rules/{rule}"), ("PATCH", "/rules/{rule}")],
)
def test_only_admins_manage_rules(client, college, as_user, method, path):
    rule_id = client.get(f"{API}/rules", headers=as_user(college.admin)).get_json()["items"][0]
    url = f"{API}{path.format(rule=rule_id['id'])}"
    for user in (college.head, college.teacher, college.expert):
        response = client.open(url, method=method, headers=as_user(user), json={})
        assert_error(response, 403, "forbidden")
    assert_error(client.open(url, method=method, json={}), 401, "unauthorized")


# --- the description ---------------------------------------------------------------------


def test_described_reward_resources_have_exactly_the_fields_answered(
    client, college, as_user, issued
):
    doc = openapi_document(client)
    head, admin = as_user(college.head), as_user(college.admin)
    round_body = client.get(f"{API}/rounds/{issued['round_id']}", headers=head).get_json()
    # The clock is past the period (to finalize): name it.
    period = f"period={college.period.id}"
    progress = client.get(f"{API}/me/progress?{period}", headers=as_user(college.teacher))
    progress = progress.get_json()
    eligibility = client.get(f"{API}/eligibility?{period}", headers=head).get_json()
    rule = client.get(f"{API}/rules/{issued['rule_id']}", headers=admin).get_json()
    check = client.get(f"{API}/verify/{issued['verification_code']}").get_json()
    answers = {
        "Round": round_body,
        "Award": issued,
        "Progress": progress,
        "DepartmentProgress": progress["departments"][0],
        "RuleProgress": progress["rules"][0],
        "EligibilityPage": eligibility,
        "Eligibility": eligibility["items"][0],
        "EligibilityRule": eligibility["items"][0]["rules"][0],
        "Rule": rule,
        "Verification": check,
    }
    # An award's answer to a decision carries its history.
    revoked = client.post(
        f"{API}/awards/{issued['id']}/revoke", headers=admin, json={"reason": "Paid twice"}
    ).get_json()
    answers["AwardDetail"] = revoked
    answers["AwardHistoryEntry"] = revoked["history"][-1]
    for schema, body in answers.items():
        assert set(body) == required_fields(doc, schema), schema
    history = doc["components"]["schemas"]["AwardHistoryEntry"]["properties"]
    assert {entry["action"] for entry in revoked["history"]} <= set(history["action"]["enum"])
    exports = doc["components"]["schemas"]["Round"]["properties"]["exports"]["anyOf"][0]
    exports = resolve(doc, exports)
    assert set(round_body["exports"]) == set(exports["required"])
