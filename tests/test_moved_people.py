"""Verifier rights follow the person's current enterprise or department (SPEC §1, §3).

A practice log is verified by an expert of its enterprise, a teaching log by a
teacher or head of its department. An expert moved to another enterprise (a
teacher moved to another department) no longer reads or verifies the logs that
name them; those logs wait for someone else, and their owner or a head of their
department names another verifier among the people there now.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from exchange.extensions import db
from exchange.logs import queries
from exchange.logs.models import ExchangeLog
from exchange.logs.workflow import Status


def _move(person, *, enterprise=None, department=None) -> None:
    if enterprise is not None:
        person.enterprise = enterprise
    if department is not None:
        person.department = department
    db.session.commit()


def _status(log_id: int) -> str:
    return db.session.get(ExchangeLog, log_id).status


def _options(html: str, name: str = "verifier_id") -> dict[str, str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select is not None, name
    return {
        value: unescape(label)
        for value, label in re.findall(
            r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)<', select.group(0)
        )
    }


@pytest.fixture
def moved_expert(college, make_log):
    """A submitted practice log naming the expert, who then joins another enterprise."""
    log = make_log(college.teacher, status="submitted", verifier=college.expert)
    _move(college.expert, enterprise=college.other_enterprise)
    return log


@pytest.fixture
def moved_teacher(college, make_log):
    """A submitted teaching log naming a teacher, who then joins another department."""
    log = make_log(college.expert, status="submitted", verifier=college.other_teacher)
    _move(college.other_teacher, department=college.other_department)
    return log


@pytest.mark.parametrize(("case", "who"), [("moved_expert", "expert"),
                                           ("moved_teacher", "other_teacher")])  # fmt: skip
def test_a_moved_verifier_can_no_longer_open_or_verify_the_log(
    request, client, college, login_as, api_token, case, who
):
    log = request.getfixturevalue(case)
    person = getattr(college, who)
    headers = api_token(person)
    login_as(person)

    assert client.get(f"/logs/{log.id}").status_code == 404
    assert client.get(f"/api/v1/logs/{log.id}", headers=headers).status_code == 404
    assert client.post(f"/logs/{log.id}/verify").status_code in (403, 404)
    assert client.post(f"/logs/{log.id}/reject", data={"reason": "No"}).status_code in (403, 404)
    assert client.post(f"/api/v1/logs/{log.id}/verify", headers=headers).status_code in (403, 404)
    assert _status(log.id) == Status.SUBMITTED

    assert f"/logs/{log.id}" not in client.get("/logs/verify").get_data(as_text=True)
    listed = client.get("/api/v1/logs?scope=verify", headers=headers).get_json()
    assert listed["items"] == []
    assert listed["total"] == 0
    assert queries.queue_counts(person).to_verify == 0


def test_a_verifier_moved_back_verifies_again(client, college, moved_expert, login_as):
    _move(college.expert, enterprise=college.enterprise)
    login_as(college.expert)
    assert client.get(f"/logs/{moved_expert.id}").status_code == 200
    assert client.post(f"/logs/{moved_expert.id}/verify").status_code == 302
    assert _status(moved_expert.id) == Status.VERIFIED


def test_a_head_moved_to_another_department_no_longer_approves_its_logs(
    client, college, make_log, login_as
):
    log = make_log(college.teacher, status="verified")
    _move(college.head, department=college.other_department)
    login_as(college.head)
    assert client.get(f"/logs/{log.id}").status_code == 404
    assert client.post(f"/logs/{log.id}/approve").status_code == 404
    assert f"/logs/{log.id}" not in client.get("/logs/approve").get_data(as_text=True)
    assert _status(log.id) == Status.VERIFIED


def test_the_owner_sees_the_verifier_has_left_and_names_another(
    client, college, moved_expert, login_as
):
    login_as(college.teacher)
    mine = client.get("/logs/").get_data(as_text=True)
    assert "Needs another verifier" in mine

    page = client.get(f"/logs/{moved_expert.id}").get_data(as_text=True)
    assert f"{college.expert.name} can no longer confirm this log" in unescape(page)
    offered = _options(page)
    assert offered.get(str(college.other_expert.id)) == college.other_expert.name
    assert str(college.expert.id) not in offered  # only people of the enterprise now
    assert str(college.foreign_expert.id) not in offered

    response = client.post(
        f"/logs/{moved_expert.id}/verifier", data={"verifier_id": college.other_expert.id}
    )
    assert response.status_code == 302
    log = db.session.get(ExchangeLog, moved_expert.id)
    assert log.verifier_id == college.other_expert.id
    assert log.status == Status.SUBMITTED
    last = log.events[-1]
    assert last.actor_id == college.teacher.id
    assert college.other_expert.name in (last.reason or "")
    assert "Needs another verifier" not in client.get("/logs/").get_data(as_text=True)

    client.post("/logout")
    login_as(college.other_expert)
    assert f"/logs/{log.id}" in client.get("/logs/verify").get_data(as_text=True)
    assert client.post(f"/logs/{log.id}/verify").status_code == 302
    assert _status(log.id) == Status.VERIFIED


def test_a_head_of_the_department_reassigns_the_log(client, college, moved_teacher, login_as):
    login_as(college.head)
    department = client.get("/logs/department").get_data(as_text=True)
    assert "Needs another verifier" in department
    page = client.get(f"/logs/{moved_teacher.id}").get_data(as_text=True)
    offered = _options(page)
    assert str(college.teacher.id) in offered
    assert str(college.other_teacher.id) not in offered  # now in another department

    response = client.post(
        f"/logs/{moved_teacher.id}/verifier", data={"verifier_id": college.teacher.id}
    )
    assert response.status_code == 302
    assert db.session.get(ExchangeLog, moved_teacher.id).verifier_id == college.teacher.id


def test_the_api_reassigns_too(client, college, moved_expert, api_token):
    url = f"/api/v1/logs/{moved_expert.id}/verifier"
    owner = api_token(college.teacher)

    refused = client.post(url, json={"verifier_id": college.expert.id}, headers=owner)
    assert refused.status_code == 422
    assert "verifier_id" in refused.get_json()["error"]["fields"]

    answer = client.post(url, json={"verifier_id": college.other_expert.id}, headers=owner)
    assert answer.status_code == 200
    assert answer.get_json()["verifier_id"] == college.other_expert.id

    head = api_token(college.head)
    onsite = client.post(url, json={"verifier_id": None}, headers=head)
    assert onsite.status_code == 200
    assert onsite.get_json()["verifier_id"] is None

    assert client.post(url, json={}, headers=head).status_code == 422
    stranger = api_token(college.foreign_head)
    assert client.post(url, json={"verifier_id": None}, headers=stranger).status_code == 404


@pytest.mark.parametrize("who", ["expert", "foreign_head", "other_teacher", "foreign_expert"])
def test_nobody_else_reassigns(client, college, moved_expert, login_as, who):
    login_as(getattr(college, who))
    response = client.post(
        f"/logs/{moved_expert.id}/verifier", data={"verifier_id": college.other_expert.id}
    )
    assert response.status_code == 404
    assert db.session.get(ExchangeLog, moved_expert.id).verifier_id == college.expert.id


def test_the_named_verifier_does_not_hand_the_log_on(client, college, make_log, login_as):
    log = make_log(college.teacher, status="submitted", verifier=college.expert)
    login_as(college.expert)
    response = client.post(f"/logs/{log.id}/verifier", data={"verifier_id": ""})
    assert response.status_code == 403
    assert db.session.get(ExchangeLog, log.id).verifier_id == college.expert.id


@pytest.mark.parametrize(
    "choice", ["expert", "teacher", "foreign_expert", "other_teacher", "999999"]
)
def test_only_a_present_member_of_the_place_can_be_named(
    client, college, moved_expert, login_as, choice
):
    login_as(college.teacher)
    person = getattr(college, choice, None)
    response = client.post(
        f"/logs/{moved_expert.id}/verifier",
        data={"verifier_id": person.id if person else choice},
        follow_redirects=True,
    )
    assert "Choose one of the offered" in response.get_data(as_text=True)
    assert db.session.get(ExchangeLog, moved_expert.id).verifier_id == college.expert.id


@pytest.mark.parametrize("status", ["draft", "verified", "approved", "rejected"])
def test_only_a_submitted_log_changes_its_verifier_this_way(
    client, college, make_log, login_as, api_token, status
):
    log = make_log(college.teacher, status=status)
    url = f"/api/v1/logs/{log.id}/verifier"
    body = {"verifier_id": college.other_expert.id}
    response = client.post(url, json=body, headers=api_token(college.teacher))
    assert response.status_code == 409
    assert db.session.get(ExchangeLog, log.id).verifier_id == college.expert.id


def test_the_edit_form_offers_only_present_members(client, college, make_log, login_as):
    log = make_log(college.teacher, status="rejected", verifier=college.expert)
    _move(college.expert, enterprise=college.other_enterprise)
    login_as(college.teacher)
    form = client.get(f"/logs/{log.id}/edit").get_data(as_text=True)
    offered = _options(form)
    assert str(college.expert.id) not in offered
    assert str(college.other_expert.id) in offered
    assert f"{college.expert.name} can no longer confirm this log" in unescape(form)

    new = client.get("/logs/new").get_data(as_text=True)
    assert str(college.expert.id) not in _options(new)
