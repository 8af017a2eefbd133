"""Every figure of a round traces to approved logs: heads open the logs behind it."""

from __future__ import annotations

from datetime import timedelta

from exchange.extensions import db
from exchange.rewards import services as rewards
from exchange.timeutil import college_today


def _approved(make_log, owner, total_days: int, **fields):
    return [
        make_log(owner, status="approved", hours="8",
                 work_date=college_today() - timedelta(days=n), **fields)
        for n in range(total_days)
    ]  # fmt: skip


def test_the_hours_of_a_round_link_to_the_approved_logs_behind_them(
    client, college, make_log, login_as
):
    logs = _approved(make_log, college.teacher, 5)
    make_log(college.teacher, status="submitted", hours="2",
             work_date=college_today() - timedelta(days=6))  # fmt: skip
    reward_round = rewards.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    login_as(college.head)
    page = client.get(f"/rewards/rounds/{reward_round.id}").get_data(as_text=True)
    link = (
        f"/logs/department?owner={college.teacher.id}&amp;period={college.period.id}"
        f"&amp;department={college.department.id}&amp;status=approved"
    )
    assert link in page
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f"Logs of {college.teacher.name}" in listed
    assert "5 logs" in listed
    for log in logs:
        assert f"/logs/{log.id}?" in listed or f'/logs/{log.id}"' in listed


def test_eligibility_links_to_the_same_logs(client, college, make_log, login_as):
    _approved(make_log, college.teacher, 2)
    login_as(college.head)
    page = client.get("/rewards/eligibility").get_data(as_text=True)
    assert f"/logs/department?owner={college.teacher.id}" in page


def test_department_logs_are_only_for_heads_and_admins_and_only_their_own(
    client, college, make_log, login_as
):
    make_log(college.teacher, status="approved")
    login_as(college.teacher)
    assert client.get("/logs/department").status_code == 403
    client.post("/logout")
    login_as(college.foreign_head)
    page = client.get(f"/logs/department?owner={college.teacher.id}")
    assert page.status_code == 404  # not even the name of someone of another department
    assert college.teacher.name not in page.get_data(as_text=True)
