"""Exchange logs through the JSON API (SPEC §3, §7): create, validate, list, the workflow,
permissions, conflicts, bulk approval, history and on-site confirmation links."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import ExchangeLog
from exchange.org import services as org_services
from exchange.timeutil import college_today
from tests.helpers import API, assert_error, required_fields, sql_statements

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def practice(college, **changes):
    body = {
        "kind": "practice",
        "date": college_today().isoformat(),
        "hours": 1.5,
        "category": "clinical",
        "description": "Ward rounds with the cardiology team",
        "enterprise_id": college.enterprise.id,
        "verifier_id": college.expert.id,
    }
    return {**body, **changes}


def teaching(college, **changes):
    body = {
        "kind": "teaching",
        "date": college_today().isoformat(),
        "hours": 2,
        "category": "lecture",
        "description": "Drug interactions in elderly patients",
        "department_id": college.department.id,
        "course": "Pharmacology",
        "cohort": "Nursing 2024-1",
        "students": 42,
        "verifier_id": college.other_teacher.id,
    }
    return {**body, **changes}


def log_count() -> int:
    return db.session.execute(select(func.count()).select_from(ExchangeLog)).scalar_one()


@pytest.fixture
def as_user(api_token):
    """Bearer headers per user, each token fetched once."""
    tokens = {}

    def headers_for(user):
        if user.id not in tokens:
            tokens[user.id] = api_token(user)
        return tokens[user.id]

    return headers_for


# --- create -------------------------------------------------------------------------


def test_a_teacher_logs_practice_hours(client, college, as_user):
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=practice(college))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    log_id = body["id"]
    assert response.headers["Location"].endswith(f"{API}/logs/{log_id}")
    assert body == {
        "id": log_id,
        "kind": "practice",
        "owner_id": college.teacher.id,
        "date": college_today().isoformat(),
        "hours": 1.5,
        "category": "clinical",
        "description": "Ward rounds with the cardiology team",
        "enterprise_id": college.enterprise.id,
        "department_id": college.department.id,
        "course": None,
        "cohort": None,
        "students": None,
        "verifier_id": college.expert.id,
        "status": "draft",
        "client_id": None,
        "period_id": college.period.id,
        "url": f"http://localhost/logs/{log_id}",
        "version": body["version"],
        "evidence": None,
        "flags": [],
        "history": [
            {
                "action": "create",
                "from_status": None,
                "to_status": "draft",
                "actor_id": college.teacher.id,
                "actor_name": "Li Na",
                "at": body["history"][0]["at"],
                "reason": None,
            }
        ],
    }
    assert isinstance(body["hours"], float)
    log = db.session.get(ExchangeLog, log_id)
    assert log.minutes == 90


def test_an_expert_logs_teaching_hours(client, college, as_user):
    response = client.post(f"{API}/logs", headers=as_user(college.expert), json=teaching(college))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "teaching"
    assert body["owner_id"] == college.expert.id
    assert body["hours"] == 2
    assert body["enterprise_id"] == college.enterprise.id  # the expert's own, implicit
    assert body["department_id"] == college.department.id
    assert (body["course"], body["cohort"], body["students"]) == (
        "Pharmacology",
        "Nursing 2024-1",
        42,
    )
    assert body["verifier_id"] == college.other_teacher.id


def test_hours_may_be_a_numeric_string(client, college, as_user):
    body = practice(college, hours="2.75")
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert response.status_code == 201
    assert response.get_json()["hours"] == 2.75


def test_create_and_submit_at_once(client, college, as_user):
    body = practice(college, submit=True)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["status"] == "submitted"
    assert [h["action"] for h in answer["history"]] == ["create", "submit"]


def test_the_verifier_is_optional(client, college, as_user):
    body = practice(college)
    del body["verifier_id"]
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert response.status_code == 201
    assert response.get_json()["verifier_id"] is None


def test_an_admin_does_not_log_hours(client, college, as_user):
    response = client.post(f"{API}/logs", headers=as_user(college.admin), json=practice(college))
    assert_error(response, 403, "forbidden")
    assert log_count() == 0


def test_creating_needs_a_token(client, college):
    assert_error(client.post(f"{API}/logs", json=practice(college)), 401, "unauthorized")


def test_a_repeated_client_id_answers_the_first_log(client, college, as_user):
    headers = as_user(college.teacher)
    client_id = str(uuid.uuid4())
    first = client.post(f"{API}/logs", headers=headers, json=practice(college, client_id=client_id))
    assert first.status_code == 201
    again = client.post(
        f"{API}/logs",
        headers=headers,
        json=practice(college, client_id=client_id, hours=3, description="Sent twice"),
    )
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["hours"] == 1.5
    assert again.get_json()["client_id"] == client_id
    assert log_count() == 1


def test_the_same_client_id_of_another_owner_is_another_log(client, college, as_user):
    client_id = str(uuid.uuid4())
    for teacher in (college.teacher, college.other_teacher):
        body = practice(college, client_id=client_id, verifier_id=college.other_expert.id)
        response = client.post(f"{API}/logs", headers=as_user(teacher), json=body)
        assert response.status_code == 201
    assert log_count() == 2


# --- validation: every rule answered 422 on the JSON field, nothing stored ------------

PRACTICE_INVALID = [
    ("future date", {"date": "FUTURE"}, "date"),
    ("missing date", {"date": None}, "date"),
    ("date not ISO", {"date": "01/09/2026"}, "date"),
    ("impossible date", {"date": "2026-02-30"}, "date"),
    ("a fifth of an hour", {"hours": 0.2}, "hours"),
    ("over twelve hours", {"hours": 12.25}, "hours"),
    ("not a quarter hour", {"hours": 0.3}, "hours"),
    ("hours as words", {"hours": "abc"}, "hours"),
    ("hours as a boolean", {"hours": True}, "hours"),
    ("hours as a list", {"hours": [1]}, "hours"),
    ("missing hours", {"hours": None}, "hours"),
    ("no hours at all", {"hours": 0}, "hours"),
    ("description too long", {"description": "x" * 2001}, "description"),
    ("empty description", {"description": "  "}, "description"),
    ("category of the other kind", {"category": "lecture"}, "category"),
    ("unknown enterprise", {"enterprise_id": 999_999}, "enterprise_id"),
    ("enterprise id too large", {"enterprise_id": 2**40}, "enterprise_id"),
    ("enterprise id as text", {"enterprise_id": "RMH"}, "enterprise_id"),
    ("unknown verifier", {"verifier_id": 999_999}, "verifier_id"),
    ("client id not a UUID", {"client_id": "not-a-uuid"}, "client_id"),
    ("submit not a boolean", {"submit": "yes"}, "submit"),
    ("kind of the other role", {"kind": "teaching"}, "kind"),
    ("unknown kind", {"kind": "research"}, "kind"),
    ("missing kind", {"kind": None}, "kind"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [pytest.param(changes, field, id=name) for name, changes, field in PRACTICE_INVALID],
)
def test_invalid_practice_fields_are_named(client, college, as_user, changes, field):
    if changes.get("date") == "FUTURE":
        changes = {"date": (college_today() + timedelta(days=1)).isoformat()}
    body = practice(college, **changes)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    error = assert_error(response, 422, "validation_error", (field,))
    assert error["message"]
    assert log_count() == 0


TEACHING_INVALID = [
    ("no students", {"students": 0}, "students"),
    ("too many students", {"students": 1001}, "students"),
    ("students missing", {"students": None}, "students"),
    ("students as text", {"students": "thirty"}, "students"),
    ("missing course", {"course": ""}, "course"),
    ("course too long", {"course": "c" * 121}, "course"),
    ("cohort too long", {"cohort": "c" * 61}, "cohort"),
    ("unknown department", {"department_id": 999_999}, "department_id"),
    ("category of the other kind", {"category": "clinical"}, "category"),
    ("kind of the other role", {"kind": "practice"}, "kind"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [pytest.param(changes, field, id=name) for name, changes, field in TEACHING_INVALID],
)
def test_invalid_teaching_fields_are_named(client, college, as_user, changes, field):
    body = teaching(college, **changes)
    response = client.post(f"{API}/logs", headers=as_user(college.expert), json=body)
    assert_error(response, 422, "validation_error", (field,))
    assert log_count() == 0


def test_an_enterprise_without_an_agreement_in_force_is_refused(client, college, as_user):
    # The other enterprise has an agreement with the other department only.
    body = practice(college, enterprise_id=college.other_enterprise.id, verifier_id=None)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert_error(response, 422, "validation_error", ("enterprise_id",))


def test_an_agreement_that_has_ended_does_not_count(client, college, as_user, make_agreement):
    make_agreement(
        college.other_enterprise,
        college.department,
        scope="practice",
        starts_on=college_today() - timedelta(days=90),
        ends_on=college_today() - timedelta(days=10),
    )
    body = practice(college, enterprise_id=college.other_enterprise.id, verifier_id=None)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert_error(response, 422, "validation_error", ("enterprise_id",))


def test_a_verifier_of_another_enterprise_is_refused(client, college, as_user):
    body = practice(college, verifier_id=college.foreign_expert.id)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert_error(response, 422, "validation_error", ("verifier_id",))


def test_nobody_names_themselves_as_verifier(client, college, as_user):
    body = teaching(college, verifier_id=college.expert.id)
    response = client.post(f"{API}/logs", headers=as_user(college.expert), json=body)
    assert_error(response, 422, "validation_error", ("verifier_id",))
    body = practice(college, verifier_id=college.teacher.id)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert_error(response, 422, "validation_error", ("verifier_id",))


def test_a_day_holds_at_most_twelve_hours(client, college, as_user, make_log):
    make_log(hours="11")
    headers = as_user(college.teacher)
    too_much = client.post(f"{API}/logs", headers=headers, json=practice(college, hours=1.25))
    assert_error(too_much, 422, "validation_error", ("hours",))
    just_enough = client.post(f"{API}/logs", headers=headers, json=practice(college, hours=1))
    assert just_enough.status_code == 201
    assert log_count() == 2


def test_rejected_hours_do_not_count_for_the_day(client, college, as_user, make_log):
    make_log(hours="11", status="rejected")
    body = practice(college, hours=2)
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert response.status_code == 201


def test_a_date_in_a_locked_period_is_refused(client, college, as_user):
    org_services.lock_period(college.admin, college.period)
    db.session.commit()
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=practice(college))
    assert_error(response, 422, "validation_error", ("date",))


def test_several_invalid_fields_are_named_together(client, college, as_user):
    body = practice(college, hours=0.3, description="", category="none")
    response = client.post(f"{API}/logs", headers=as_user(college.teacher), json=body)
    assert_error(response, 422, "validation_error", ("hours", "description", "category"))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"hours": NaN', "hours"),
        ('"hours": 1e999', "hours"),
        ('"hours": "1e999"', "hours"),
        ('"hours": "1e1000000"', "hours"),  # overflows the decimal context on the way to minutes
        ('"description": "Ward\\u0000rounds"', "description"),
        ('"course": "\\ud800"', "course"),
    ],
)
def test_numbers_and_text_no_log_can_hold_are_422(client, college, as_user, raw, field):
    # Written by hand: json.dumps cannot produce these. A later key wins over an earlier one.
    body = (
        f'{{"kind": "practice", "date": "{college_today().isoformat()}", "hours": 1, '
        f'"category": "clinical", "description": "Rounds", '
        f'"enterprise_id": {college.enterprise.id}, {raw}}}'
    )
    response = client.post(
        f"{API}/logs",
        headers=as_user(college.teacher),
        data=body,
        content_type="application/json",
    )
    assert_error(response, 422, "validation_error", (field,))
    assert log_count() == 0


@pytest.mark.parametrize("raw", ["{not json", "[]", '"text"', ""])
def test_a_body_that_is_not_a_json_object_is_400(client, college, as_user, raw):
    response = client.post(
        f"{API}/logs",
        headers=as_user(college.teacher),
        data=raw,
        content_type="application/json",
    )
    assert_error(response, 400, "bad_request")


# --- read and list ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher", "expert", "head", "other_head", "admin"])
def test_a_log_is_seen_by_owner_verifier_heads_and_admin(client, college, as_user, make_log, who):
    log = make_log(status="submitted")
    response = client.get(f"{API}/logs/{log.id}", headers=as_user(getattr(college, who)))
    assert response.status_code == 200
    assert response.get_json()["id"] == log.id


@pytest.mark.parametrize("who", ["other_teacher", "other_expert", "foreign_head", "foreign_expert"])
def test_anyone_else_gets_404(client, college, as_user, make_log, who):
    log = make_log(status="submitted")
    headers = as_user(getattr(college, who))
    requests = [
        ("GET", f"/logs/{log.id}", None),
        ("PATCH", f"/logs/{log.id}", {"hours": 3}),
        ("DELETE", f"/logs/{log.id}", None),
        ("POST", f"/logs/{log.id}/submit", None),
        ("POST", f"/logs/{log.id}/withdraw", None),
        ("POST", f"/logs/{log.id}/verify", None),
        ("POST", f"/logs/{log.id}/reject", {"reason": "No"}),
        ("POST", f"/logs/{log.id}/approve", None),
        ("POST", f"/logs/{log.id}/revoke", {"reason": "No"}),
        ("POST", f"/logs/{log.id}/confirmation-link", None),
    ]
    for method, path, body in requests:
        response = client.open(f"{API}{path}", method=method, headers=headers, json=body)
        assert_error(response, 404, "not_found")
    db.session.refresh(log)
    assert log.status == "submitted"
    assert log.minutes == 120


def test_an_unknown_log_is_404(client, college, as_user):
    headers = as_user(college.admin)
    assert_error(client.get(f"{API}/logs/999999", headers=headers), 404, "not_found")
    assert_error(client.get(f"{API}/logs/99999999999", headers=headers), 404, "not_found")


def test_reading_a_log_needs_a_token(client, college, make_log):
    assert_error(client.get(f"{API}/logs/{make_log().id}"), 401, "unauthorized")
    assert_error(client.get(f"{API}/logs"), 401, "unauthorized")


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_my_logs_are_the_default_list(client, college, as_user, make_log):
    mine = [make_log(work_date=college_today() - timedelta(days=n)) for n in range(3)]
    make_log(college.other_teacher)
    body = client.get(f"{API}/logs", headers=as_user(college.teacher)).get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["total"] == 3
    assert [item["id"] for item in body["items"]] == [log.id for log in mine]  # newest first
    assert "history" not in body["items"][0]
    assert body["items"][0]["url"] == f"http://localhost/logs/{mine[0].id}"


def test_the_verification_and_approval_queues(client, college, as_user, make_log):
    submitted = make_log(status="submitted")
    verified = make_log(status="verified", hours="1")
    heads_own = make_log(college.head, status="verified", verifier=college.other_expert)
    make_log(status="draft", hours="1")

    to_verify = client.get(f"{API}/logs?scope=verify", headers=as_user(college.expert))
    assert ids_of(to_verify) == [submitted.id]
    assert ids_of(client.get(f"{API}/logs?scope=verify", headers=as_user(college.teacher))) == []
    to_approve = client.get(f"{API}/logs?scope=approve", headers=as_user(college.head))
    assert ids_of(to_approve) == [verified.id]  # never their own
    for_the_other_head = client.get(
        f"{API}/logs?scope=approve", headers=as_user(college.other_head)
    )
    assert set(ids_of(for_the_other_head)) == {verified.id, heads_own.id}
    for who in (college.foreign_head, college.teacher, college.expert):
        assert ids_of(client.get(f"{API}/logs?scope=approve", headers=as_user(who))) == []


def test_the_department_list_is_for_heads_and_admins(client, college, as_user, make_log):
    log = make_log()
    teaching_log = make_log(college.expert)
    department = client.get(f"{API}/logs?scope=department", headers=as_user(college.head))
    assert set(ids_of(department)) == {log.id, teaching_log.id}
    everything = client.get(f"{API}/logs?scope=department", headers=as_user(college.admin))
    assert set(ids_of(everything)) == {log.id, teaching_log.id}
    foreign = client.get(f"{API}/logs?scope=department", headers=as_user(college.foreign_head))
    assert ids_of(foreign) == []
    for who in (college.teacher, college.expert):
        response = client.get(f"{API}/logs?scope=department", headers=as_user(who))
        assert_error(response, 403, "forbidden")


def test_lists_filter_by_status_kind_and_period(client, college, as_user, make_log, make_period):
    draft = make_log()
    submitted = make_log(status="submitted", hours="1")
    expert_log = make_log(college.expert, status="submitted")
    headers = as_user(college.admin)
    url = f"{API}/logs?scope=department"
    assert ids_of(client.get(f"{url}&status=draft", headers=headers)) == [draft.id]
    assert set(ids_of(client.get(f"{url}&status=submitted", headers=headers))) == {
        submitted.id,
        expert_log.id,
    }
    assert ids_of(client.get(f"{url}&kind=teaching", headers=headers)) == [expert_log.id]
    assert len(ids_of(client.get(f"{url}&period={college.period.id}", headers=headers))) == 3
    other = make_period(
        starts_on=college.period.starts_on - timedelta(days=400),
        ends_on=college.period.starts_on - timedelta(days=1),
    )
    assert ids_of(client.get(f"{url}&period={other.id}", headers=headers)) == []


@pytest.mark.parametrize(
    "query",
    ["scope=all", "scope=", "status=lost", "kind=research", "period=abc", "period=0", "page=0"],
)
def test_bad_list_parameters_are_400(client, college, as_user, query):
    response = client.get(f"{API}/logs?{query}", headers=as_user(college.head))
    assert_error(response, 400, "bad_request")


def test_listing_logs_runs_the_same_queries_for_3_or_30(client, college, as_user, make_log):
    headers = as_user(college.admin)
    owners = [college.teacher, college.other_teacher, college.expert]

    def add_logs(count: int, start: int) -> None:
        for n in range(start, start + count):
            make_log(
                owners[n % 3],
                status=("draft", "submitted", "verified")[n % 3],
                work_date=college_today() - timedelta(days=n // 3),
            )

    def queries_for_the_list(expected: int) -> int:
        with sql_statements() as statements:
            response = client.get(f"{API}/logs?scope=department&per_page=100", headers=headers)
        assert len(response.get_json()["items"]) == expected
        return len(statements)

    add_logs(3, 0)
    few = queries_for_the_list(3)
    add_logs(27, 3)
    many = queries_for_the_list(30)
    assert few == many


# --- edit and delete ----------------------------------------------------------------


def test_the_owner_edits_a_draft_keeping_what_is_not_given(client, college, as_user, make_log):
    log = make_log()
    before = client.get(f"{API}/logs/{log.id}", headers=as_user(college.teacher)).get_json()
    response = client.patch(
        f"{API}/logs/{log.id}",
        headers=as_user(college.teacher),
        json={"hours": 3.25, "description": "Joint ward rounds"},
    )
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["hours"] == 3.25
    assert after["description"] == "Joint ward rounds"
    changed = {"hours", "description", "version", "history"}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert after["version"] > before["version"]
    assert after["history"][-1]["action"] == "edit"
    db.session.refresh(log)
    assert log.minutes == 195


def test_editing_a_rejected_log_makes_it_a_draft_again(client, college, as_user, make_log):
    log = make_log(status="rejected")
    response = client.patch(
        f"{API}/logs/{log.id}", headers=as_user(college.teacher), json={"hours": 1}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "draft"
    assert body["history"][-1]["from_status"] == "rejected"
    assert body["history"][-1]["to_status"] == "draft"


@pytest.mark.parametrize("status", ["submitted", "verified", "approved", "revoked"])
def test_a_log_under_way_cannot_be_edited(client, college, as_user, make_log, status):
    log = make_log(status=status)
    response = client.patch(
        f"{API}/logs/{log.id}", headers=as_user(college.teacher), json={"hours": 1}
    )
    assert_error(response, 409, "conflict")
    db.session.refresh(log)
    assert log.minutes == 120


def test_only_the_owner_edits(client, college, as_user, make_log):
    log = make_log()
    for who in (college.expert, college.head, college.admin):
        response = client.patch(f"{API}/logs/{log.id}", headers=as_user(who), json={"hours": 1})
        assert_error(response, 403, "forbidden")


def test_an_edit_is_validated_like_a_create(client, college, as_user, make_log):
    log = make_log()
    headers = as_user(college.teacher)
    for body, field in [
        ({"hours": 0.3}, "hours"),
        ({"date": (college_today() + timedelta(days=1)).isoformat()}, "date"),
        ({"verifier_id": college.teacher.id}, "verifier_id"),
        ({"enterprise_id": college.other_enterprise.id}, "enterprise_id"),
        ({"kind": "teaching"}, "kind"),
        ({"description": None}, "description"),
    ]:
        response = client.patch(f"{API}/logs/{log.id}", headers=headers, json=body)
        assert_error(response, 422, "validation_error", (field,))
    db.session.refresh(log)
    assert log.minutes == 120
    assert log.version == 1


def test_an_edit_from_an_old_version_is_a_conflict(client, college, as_user, make_log):
    log = make_log()
    headers = as_user(college.teacher)
    seen = client.get(f"{API}/logs/{log.id}", headers=headers).get_json()["version"]
    first = client.patch(
        f"{API}/logs/{log.id}", headers=headers, json={"hours": 1, "version": seen}
    )
    assert first.status_code == 200
    stale = client.patch(
        f"{API}/logs/{log.id}", headers=headers, json={"hours": 4, "version": seen}
    )
    assert_error(stale, 409, "conflict")
    db.session.refresh(log)
    assert log.minutes == 60


def test_the_owner_deletes_a_draft(client, college, as_user, make_log):
    log_id = make_log().id
    headers = as_user(college.teacher)
    response = client.delete(f"{API}/logs/{log_id}", headers=headers)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(client.get(f"{API}/logs/{log_id}", headers=headers), 404, "not_found")
    assert log_count() == 0


def test_only_a_draft_is_deleted_and_only_by_its_owner(client, college, as_user, make_log):
    submitted = make_log(status="submitted")
    assert_error(
        client.delete(f"{API}/logs/{submitted.id}", headers=as_user(college.teacher)),
        409,
        "conflict",
    )
    draft = make_log(hours="1")
    for who in (college.head, college.expert, college.admin):
        response = client.delete(f"{API}/logs/{draft.id}", headers=as_user(who))
        assert_error(response, 403, "forbidden")
    assert log_count() == 2


# --- the workflow -------------------------------------------------------------------


def act(client, headers, log_id, action, **body):
    return client.post(f"{API}/logs/{log_id}/{action}", headers=headers, json=body or None)


def test_a_practice_log_all_the_way(client, college, as_user):
    teacher, expert, head, admin = (
        as_user(college.teacher),
        as_user(college.expert),
        as_user(college.head),
        as_user(college.admin),
    )
    log_id = client.post(f"{API}/logs", headers=teacher, json=practice(college)).get_json()["id"]
    steps = [
        (teacher, "submit", {}, "submitted"),
        (teacher, "withdraw", {}, "draft"),
        (teacher, "submit", {}, "submitted"),
        (expert, "reject", {"reason": "Wrong date"}, "rejected"),
    ]
    for headers, action, body, status in steps:
        response = act(client, headers, log_id, action, **body)
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json()["status"] == status
    edited = client.patch(
        f"{API}/logs/{log_id}", headers=teacher, json={"date": college_today().isoformat()}
    )
    assert edited.get_json()["status"] == "draft"
    for headers, action, body, status in [
        (teacher, "submit", {}, "submitted"),
        (expert, "verify", {}, "verified"),
        (head, "reject", {"reason": "Describe the work"}, "rejected"),
    ]:
        assert act(client, headers, log_id, action, **body).get_json()["status"] == status
    client.patch(f"{API}/logs/{log_id}", headers=teacher, json={"description": "Clearer"})
    for headers, action, body, status in [
        (teacher, "submit", {}, "submitted"),
        (expert, "verify", {}, "verified"),
        (head, "approve", {}, "approved"),
        (admin, "revoke", {"reason": "Counted twice"}, "revoked"),
    ]:
        assert act(client, headers, log_id, action, **body).get_json()["status"] == status
    db.session.expire_all()
    assert db.session.get(ExchangeLog, log_id).status == "revoked"


def test_a_teaching_log_is_verified_by_the_host_teacher(client, college, as_user):
    expert = as_user(college.expert)
    body = teaching(college, submit=True)
    log_id = client.post(f"{API}/logs", headers=expert, json=body).get_json()["id"]
    assert act(client, as_user(college.other_teacher), log_id, "verify").status_code == 200
    approved = act(client, as_user(college.admin), log_id, "approve")
    assert approved.get_json()["status"] == "approved"


def test_transitions_take_no_body_or_an_empty_one(client, college, as_user, make_log):
    log = make_log()
    response = client.post(f"{API}/logs/{log.id}/submit", headers=as_user(college.teacher))
    assert response.status_code == 200
    response = client.post(f"{API}/logs/{log.id}/verify", headers=as_user(college.expert), json={})
    assert response.status_code == 200


def test_nobody_verifies_their_own_log(client, college, as_user, make_log):
    log = make_log(status="submitted")
    assert_error(act(client, as_user(college.teacher), log.id, "verify"), 403, "forbidden")


def test_a_head_does_not_approve_their_own_log(client, college, as_user, make_log):
    log = make_log(college.head, status="verified")
    assert_error(act(client, as_user(college.head), log.id, "approve"), 403, "forbidden")
    assert_error(
        act(client, as_user(college.head), log.id, "reject", reason="Mine"), 403, "forbidden"
    )
    assert act(client, as_user(college.other_head), log.id, "approve").status_code == 200


def test_only_the_named_verifier_verifies(client, college, as_user, make_log):
    log = make_log(status="submitted")
    for who in (college.head, college.admin):
        assert_error(act(client, as_user(who), log.id, "verify"), 403, "forbidden")
    # Another expert of the same enterprise does not even see it.
    assert_error(act(client, as_user(college.other_expert), log.id, "verify"), 404, "not_found")
    db.session.refresh(log)
    assert log.status == "submitted"


def test_verifiers_and_owners_do_not_approve(client, college, as_user, make_log):
    log = make_log(status="verified")
    assert_error(act(client, as_user(college.expert), log.id, "approve"), 403, "forbidden")
    assert_error(act(client, as_user(college.teacher), log.id, "approve"), 403, "forbidden")
    assert_error(act(client, as_user(college.foreign_head), log.id, "approve"), 404, "not_found")


def test_only_an_admin_revokes(client, college, as_user, make_log):
    log = make_log(status="approved")
    response = act(client, as_user(college.head), log.id, "revoke", reason="No")
    assert_error(response, 403, "forbidden")
    assert act(client, as_user(college.admin), log.id, "revoke", reason="No").status_code == 200


def test_only_the_owner_submits_and_withdraws(client, college, as_user, make_log):
    draft = make_log()
    assert_error(act(client, as_user(college.head), draft.id, "submit"), 403, "forbidden")
    submitted = make_log(status="submitted", hours="1")
    assert_error(act(client, as_user(college.expert), submitted.id, "withdraw"), 403, "forbidden")


@pytest.mark.parametrize(
    ("status", "who", "action"),
    [
        ("draft", "expert", "verify"),
        ("draft", "admin", "approve"),
        ("submitted", "teacher", "submit"),
        ("submitted", "head", "approve"),
        ("verified", "teacher", "withdraw"),
        ("approved", "admin", "approve"),
        ("approved", "teacher", "submit"),
        ("revoked", "admin", "revoke"),
    ],
)
def test_a_transition_the_state_does_not_allow_is_409(
    client, college, as_user, make_log, status, who, action
):
    log = make_log(status=status)
    body = {"reason": "Because"} if action in ("reject", "revoke") else {}
    response = act(client, as_user(getattr(college, who)), log.id, action, **body)
    assert_error(response, 409, "conflict")
    db.session.refresh(log)
    assert log.status == status


def test_approving_twice_is_a_conflict(client, college, as_user, make_log):
    log = make_log(status="verified")
    assert act(client, as_user(college.head), log.id, "approve").status_code == 200
    assert_error(act(client, as_user(college.other_head), log.id, "approve"), 409, "conflict")
    db.session.refresh(log)
    assert [e.action for e in log.events].count("approve") == 1


def test_nothing_moves_in_a_locked_period(client, college, as_user, make_log):
    draft = make_log()
    submitted = make_log(status="submitted", hours="1")
    verified = make_log(status="verified", hours="1")
    approved = make_log(status="approved", hours="1")
    org_services.lock_period(college.admin, college.period)
    db.session.commit()
    teacher = as_user(college.teacher)
    refused = [
        act(client, teacher, draft.id, "submit"),
        client.patch(f"{API}/logs/{draft.id}", headers=teacher, json={"hours": 1}),
        client.delete(f"{API}/logs/{draft.id}", headers=teacher),
        act(client, teacher, submitted.id, "withdraw"),
        client.post(f"{API}/logs/{submitted.id}/confirmation-link", headers=teacher),
        act(client, as_user(college.expert), submitted.id, "verify"),
        act(client, as_user(college.head), verified.id, "approve"),
        act(client, as_user(college.admin), approved.id, "revoke", reason="Late"),
    ]
    for response in refused:
        assert_error(response, 409, "conflict")
    bulk = client.post(
        f"{API}/logs/approve", headers=as_user(college.head), json={"ids": [verified.id]}
    )
    assert bulk.get_json()["results"][0]["error"]["code"] == "conflict"
    statuses = db.session.scalars(select(ExchangeLog.status).order_by(ExchangeLog.id)).all()
    assert statuses == ["draft", "submitted", "verified", "approved"]


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "   "}, {"reason": None}])
def test_a_reject_needs_a_reason(client, college, as_user, make_log, body):
    log = make_log(status="submitted")
    response = client.post(
        f"{API}/logs/{log.id}/reject", headers=as_user(college.expert), json=body
    )
    assert_error(response, 422, "validation_error", ("reason",))
    db.session.refresh(log)
    assert log.status == "submitted"


def test_a_revoke_needs_a_reason_of_at_most_500_characters(client, college, as_user, make_log):
    log = make_log(status="approved")
    admin = as_user(college.admin)
    assert_error(act(client, admin, log.id, "revoke"), 422, "validation_error", ("reason",))
    response = act(client, admin, log.id, "revoke", reason="r" * 501)
    assert_error(response, 422, "validation_error", ("reason",))
    response = act(client, admin, log.id, "revoke", reason=5)
    assert_error(response, 422, "validation_error", ("reason",))
    assert act(client, admin, log.id, "revoke", reason="r" * 500).status_code == 200


def test_a_reason_body_that_is_not_an_object_is_400(client, college, as_user, make_log):
    log = make_log(status="submitted")
    response = client.post(
        f"{API}/logs/{log.id}/reject",
        headers=as_user(college.expert),
        data="[]",
        content_type="application/json",
    )
    assert_error(response, 400, "bad_request")


# --- history ------------------------------------------------------------------------


def test_the_history_tells_who_did_what_when_in_order(client, college, as_user, make_log):
    log = make_log()
    teacher, expert = as_user(college.teacher), as_user(college.expert)
    act(client, teacher, log.id, "submit")
    act(client, expert, log.id, "reject", reason="Hours too high")
    client.patch(f"{API}/logs/{log.id}", headers=teacher, json={"hours": 1.5})
    act(client, teacher, log.id, "submit")
    act(client, expert, log.id, "verify")
    body = client.get(f"{API}/logs/{log.id}", headers=as_user(college.head)).get_json()
    history = body["history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("create", None, "draft"),
        ("submit", "draft", "submitted"),
        ("reject", "submitted", "rejected"),
        ("edit", "rejected", "draft"),
        ("submit", "draft", "submitted"),
        ("verify", "submitted", "verified"),
    ]
    teacher_id, expert_id = college.teacher.id, college.expert.id
    assert [h["actor_id"] for h in history] == [
        teacher_id,
        teacher_id,
        expert_id,
        teacher_id,
        teacher_id,
        expert_id,
    ]
    assert history[2]["actor_name"] == "Chen Hao"
    assert history[2]["reason"] == "Hours too high"
    assert all(h["reason"] is None for h in history if h["action"] != "reject")
    moments = []
    for entry in history:
        assert set(entry) == {
            "action",
            "from_status",
            "to_status",
            "actor_id",
            "actor_name",
            "at",
            "reason",
        }
        assert ISO_UTC.fullmatch(entry["at"]), entry["at"]
        moments.append(datetime.fromisoformat(entry["at"]))
    assert moments == sorted(moments)
    assert abs(moments[-1] - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_on_site_confirmation_has_no_actor_id(client, college, as_user, make_log):
    log = make_log(status="submitted", verifier_id=None)
    token, _ = services.issue_confirmation_link(college.teacher, log)
    services.confirm_onsite(
        token, services.OnsiteDecision(name="Dr. Gao", job_title="Ward sister", confirm=True)
    )
    db.session.commit()
    body = client.get(f"{API}/logs/{log.id}", headers=as_user(college.teacher)).get_json()
    assert body["status"] == "verified"
    assert body["history"][-1]["action"] == "verify"
    assert body["history"][-1]["actor_id"] is None
    assert body["history"][-1]["actor_name"] == "Dr. Gao (Ward sister)"


# --- bulk approval ------------------------------------------------------------------


def test_bulk_approval_answers_each_id_in_order(client, college, as_user, make_log):
    first = make_log(status="verified", hours="1")
    draft = make_log(hours="1")
    already = make_log(status="approved", hours="1")
    heads_own = make_log(college.head, status="verified")
    foreign = make_log(college.foreign_head, status="verified", verifier=college.foreign_expert,
                       enterprise_id=college.other_enterprise.id)  # fmt: skip
    second = make_log(college.expert, status="verified")
    ids = [second.id, 999_999, first.id, draft.id, already.id, heads_own.id, foreign.id]
    response = client.post(f"{API}/logs/approve", headers=as_user(college.head), json={"ids": ids})
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == ids
    assert [r["ok"] for r in results] == [True, False, True, False, False, False, False]
    codes = [r["error"]["code"] for r in results if not r["ok"]]
    assert codes == ["not_found", "conflict", "conflict", "forbidden", "not_found"]
    for result in results:
        if result["ok"]:
            assert set(result) == {"id", "ok", "log"}
            assert result["log"]["id"] == result["id"]
            assert result["log"]["status"] == "approved"
        else:
            assert set(result) == {"id", "ok", "error"}
            assert set(result["error"]) == {"code", "message"}
            assert result["error"]["message"]
    statuses = {log.id: log.status for log in db.session.scalars(select(ExchangeLog)).all()}
    assert statuses == {
        first.id: "approved",
        draft.id: "draft",
        already.id: "approved",
        heads_own.id: "verified",
        foreign.id: "verified",
        second.id: "approved",
    }


def test_bulk_approval_answers_a_repeated_id_once(client, college, as_user, make_log):
    log = make_log(status="verified")
    response = client.post(
        f"{API}/logs/approve", headers=as_user(college.admin), json={"ids": [log.id, log.id]}
    )
    assert [r["ok"] for r in response.get_json()["results"]] == [True]


@pytest.mark.parametrize("who", ["teacher", "expert"])
def test_bulk_approval_is_for_heads_and_admins(client, college, as_user, make_log, who):
    log = make_log(status="verified")
    response = client.post(
        f"{API}/logs/approve", headers=as_user(getattr(college, who)), json={"ids": [log.id]}
    )
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    "ids",
    [None, "1,2", [1, "2"], [1.5], [True], [None], [0], [-3], [2**40], {"a": 1}, [[1]]],
)
def test_bulk_approval_wants_a_list_of_ids(client, college, as_user, ids):
    body = {} if ids is None else {"ids": ids}
    response = client.post(f"{API}/logs/approve", headers=as_user(college.head), json=body)
    assert_error(response, 422, "validation_error", ("ids",))


def test_bulk_approval_takes_at_most_200_ids(client, college, as_user, make_log):
    log = make_log(status="verified")
    headers = as_user(college.head)
    too_many = client.post(f"{API}/logs/approve", headers=headers, json={"ids": [log.id] * 201})
    assert_error(too_many, 422, "validation_error", ("ids",))
    db.session.refresh(log)
    assert log.status == "verified"
    ids = [log.id, *range(1_000_000, 1_000_199)]
    assert len(client.post(f"{API}/logs/approve", headers=headers, json={"ids": ids})
               .get_json()["results"]) == 200  # fmt: skip


def test_bulk_approval_of_nothing_is_an_empty_answer(client, college, as_user):
    response = client.post(f"{API}/logs/approve", headers=as_user(college.head), json={"ids": []})
    assert response.status_code == 200
    assert response.get_json() == {"results": []}


# --- on-site confirmation links -----------------------------------------------------


def test_the_owner_gets_a_confirmation_link(client, college, as_user, make_log):
    log = make_log(status="submitted", verifier_id=None)
    response = client.post(
        f"{API}/logs/{log.id}/confirmation-link", headers=as_user(college.teacher)
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith("http://localhost/confirm/")
    assert ISO_UTC.fullmatch(body["expires_at"])
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert response.headers["Location"] == body["url"].removeprefix("http://localhost")


def test_the_confirmation_link_opens_the_public_page(app, client, college, as_user, make_log):
    log = make_log(status="submitted", verifier_id=None)
    response = client.post(
        f"{API}/logs/{log.id}/confirmation-link", headers=as_user(college.teacher)
    )
    stranger = app.test_client()  # no token, no cookie
    page = stranger.get(response.get_json()["url"])
    assert page.status_code == 200
    assert "Ward rounds with the cardiology team" in page.get_data(as_text=True)


def test_a_confirmation_link_is_for_the_owner_of_a_submitted_log(
    client, college, as_user, make_log
):
    log = make_log(status="submitted")
    url = f"{API}/logs/{log.id}/confirmation-link"
    assert_error(client.post(url, headers=as_user(college.expert)), 403, "forbidden")
    assert_error(client.post(url, headers=as_user(college.head)), 403, "forbidden")
    assert_error(client.post(url, headers=as_user(college.other_teacher)), 404, "not_found")
    for status in ("draft", "verified", "approved"):
        other = make_log(status=status, hours="0.5")
        response = client.post(
            f"{API}/logs/{other.id}/confirmation-link", headers=as_user(college.teacher)
        )
        assert_error(response, 409, "conflict")


# --- shape ----------------------------------------------------------------------------


def test_the_described_log_has_exactly_the_fields_answered(client, college, as_user, make_log):
    log = make_log(status="submitted")
    headers = as_user(college.teacher)
    doc = client.get(f"{API}/openapi.json").get_json()
    single = client.get(f"{API}/logs/{log.id}", headers=headers).get_json()
    assert set(single) == required_fields(doc, "LogDetail")
    listed = client.get(f"{API}/logs", headers=headers).get_json()["items"][0]
    assert set(listed) == required_fields(doc, "Log")
    assert set(single["history"][0]) == required_fields(doc, "HistoryEntry")
    link = client.post(f"{API}/logs/{log.id}/confirmation-link", headers=headers).get_json()
    assert set(link) == required_fields(doc, "ConfirmationLink")


def test_evidence_is_described_not_served_inline(client, college, as_user, make_log):
    pdf = b"%PDF-1.4\n% evidence\n" + b"0" * 100
    log = make_log(evidence=services.EvidenceUpload("ticket.pdf", pdf))
    body = client.get(f"{API}/logs/{log.id}", headers=as_user(college.teacher)).get_json()
    assert body["evidence"] == {
        "name": "ticket.pdf",
        "type": "application/pdf",
        "size": len(pdf),
        "url": body["evidence"]["url"],
    }
    assert body["evidence"]["url"].startswith(f"http://localhost/logs/{log.id}/")


# --- evidence through the API -------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_owner_attaches_replaces_and_removes_evidence(
    client, college, as_user, make_log, login_as
):
    log = make_log()
    owner = as_user(college.teacher)
    url = f"{API}/logs/{log.id}/evidence"
    response = client.put(
        f"{url}?name=ward.png", data=PNG, headers={**owner, "Content-Type": "image/png"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["evidence"]["name"] == "ward.png"
    assert body["evidence"]["type"] == "image/png"
    assert body["evidence"]["size"] == len(PNG)
    assert body["history"][-1]["action"] == "edit"
    page = login_as(college.teacher).get(f"/logs/{log.id}/evidence")
    assert (page.status_code, page.data) == (200, PNG)
    page.close()

    pdf = b"%PDF-1.4\n" + b"1" * 10
    body = client.put(url, data=pdf, headers=owner).get_json()  # no name, no Content-Type
    assert (body["evidence"]["name"], body["evidence"]["type"]) == ("evidence", "application/pdf")
    page = client.get(f"/logs/{log.id}/evidence")
    assert page.data == pdf
    page.close()

    response = client.delete(url, headers=owner)
    assert response.status_code == 200
    assert response.get_json()["evidence"] is None
    assert client.get(f"/logs/{log.id}/evidence").status_code == 404


def test_evidence_that_is_no_photo_or_pdf_or_too_large_is_refused_on_the_field(
    client, college, as_user, make_log
):
    from exchange.logs.evidence import MAX_BYTES

    log = make_log()
    owner = as_user(college.teacher)
    url = f"{API}/logs/{log.id}/evidence?name=photo.png"
    for data in (b"<svg><script>alert(1)</script></svg>", b"", PNG + b"\x00" * MAX_BYTES):
        response = client.put(url, data=data, headers=owner)
        assert_error(response, 422, "validation_error", ("evidence",))
    response = client.put(url, data=b"\x00" * (7 * 1024 * 1024), headers=owner)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    db.session.expire_all()
    assert not db.session.get(ExchangeLog, log.id).has_evidence


def test_only_the_owner_of_an_editable_log_attaches_evidence(client, college, as_user, make_log):
    draft = make_log()
    response = client.put(
        f"{API}/logs/{draft.id}/evidence", data=PNG, headers=as_user(college.other_teacher)
    )
    assert response.status_code == 404
    response = client.put(
        f"{API}/logs/{draft.id}/evidence", data=PNG, headers=as_user(college.head)
    )
    assert response.status_code == 403
    submitted = make_log(status="submitted")
    response = client.put(
        f"{API}/logs/{submitted.id}/evidence", data=PNG, headers=as_user(college.teacher)
    )
    assert response.status_code == 409
    response = client.put(f"{API}/logs/{draft.id}/evidence", data=PNG)
    assert response.status_code == 401
