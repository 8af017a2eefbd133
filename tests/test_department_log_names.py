"""A head sees the names only of people of their own department (SPEC §1).

``/logs/department?owner=<id>`` titles the list with the person's name: for
anyone outside the head's department it answers 404, whoever the id names.
"""

from __future__ import annotations

import pytest


def _owner_list(client, owner_id: int):
    return client.get("/logs/department", query_string={"owner": owner_id})


def test_a_head_cannot_learn_the_name_of_a_teacher_of_another_department(
    client, college, make_log, login_as
):
    make_log(college.teacher, status="approved")
    login_as(college.foreign_head)
    response = _owner_list(client, college.teacher.id)
    assert response.status_code == 404
    assert college.teacher.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["foreign_expert", "admin", "foreign_head"])
def test_a_head_cannot_learn_the_name_of_anyone_without_a_log_in_the_department(
    client, college, login_as, who
):
    login_as(college.head)
    person = getattr(college, who)
    response = _owner_list(client, person.id)
    assert response.status_code == 404
    assert person.name not in response.get_data(as_text=True)


def test_an_unknown_person_is_not_found(client, college, login_as):
    login_as(college.head)
    assert _owner_list(client, 999999).status_code == 404


def test_a_head_lists_the_people_of_the_department_and_the_experts_who_taught_there(
    client, college, make_log, login_as
):
    make_log(college.expert, status="approved")  # taught in the head's department
    login_as(college.head)
    for person in (college.teacher, college.other_head, college.expert):
        response = _owner_list(client, person.id)
        assert response.status_code == 200
        assert f"Logs of {person.name}" in response.get_data(as_text=True)


def test_an_admin_lists_anyone(client, college, login_as):
    login_as(college.admin)
    response = _owner_list(client, college.foreign_expert.id)
    assert response.status_code == 200
    assert f"Logs of {college.foreign_expert.name}" in response.get_data(as_text=True)


def test_the_api_department_list_of_a_head_holds_only_the_department(
    client, college, make_log, api_token
):
    mine = make_log(college.teacher, status="submitted")
    theirs = make_log(college.expert, status="submitted", department_id=college.department.id)
    elsewhere = make_log(college.foreign_head, status="submitted")
    listed = client.get(
        "/api/v1/logs", query_string={"scope": "department"}, headers=api_token(college.head)
    ).get_json()
    assert {item["id"] for item in listed["items"]} == {mine.id, theirs.id}
    assert college.foreign_head.id not in {item["owner_id"] for item in listed["items"]}
    assert elsewhere.id not in {item["id"] for item in listed["items"]}
