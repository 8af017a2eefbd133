"""The work queues: logs waiting for my verification, and for my approval.

What a verifier or a head notices: the right logs and only those, buttons that
do what they say and bring them back to the list, a bulk approval that tells
what became of every ticked log, and pages that stay as fast with thirty logs
as with three.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask import current_app
from sqlalchemy import func, select

from exchange.extensions import db
from exchange.logs import queries, services
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.logs.workflow import Action
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.helpers import sql_statements


def verify_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'action="/logs/(\d+)/verify"', html)}


def approve_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'name="ids" value="(\d+)"', html)}


def flashes(html: str) -> str:
    return " ".join(
        unescape(text) for text in re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', html)
    )


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action``, as the browser sends them."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert form is not None, action
    return {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)
        )
    }


def signed_in(user):
    """A browser of its own, signed in as ``user`` (the ``client`` fixture is someone else)."""
    browser = current_app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def status_of(log: ExchangeLog) -> str:
    db.session.expire_all()
    return db.session.get(ExchangeLog, log.id).status


@pytest.fixture
def foreign_log(college, make_user, make_log):
    """A verified practice log of the other department."""
    teacher = make_user("teacher", name="Guo Jing", department=college.other_department)
    return make_log(
        teacher,
        status="verified",
        enterprise_id=college.other_enterprise.id,
        verifier=college.foreign_expert,
    )


# --- the verification queue ------------------------------------------------------------


def test_the_verify_queue_lists_only_submitted_logs_naming_me(client, college, make_log, login_as):
    mine = make_log(status="submitted", description="Night shift <b>ICU</b>")
    teaching = make_log(college.expert, status="submitted")  # names other_teacher
    make_log(status="submitted", verifier=college.other_expert)
    make_log(status="draft")
    make_log(status="verified")
    make_log(status="rejected")

    login_as(college.expert)
    response = client.get("/logs/verify")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert verify_ids(html) == {mine.id}
    assert "Li Na" in html
    assert "City People&#39;s Hospital" in html
    assert "2 h" in html
    assert "Night shift &lt;b&gt;ICU&lt;/b&gt;" in html
    assert f'action="/logs/{mine.id}/reject"' in html
    assert f'href="/logs/{mine.id}?next=/logs/verify"' in html

    html = signed_in(college.other_teacher).get("/logs/verify").get_data(as_text=True)
    assert verify_ids(html) == {teaching.id}
    assert "Pharmacology" in html


def test_an_empty_verify_queue_says_so(client, college, login_as):
    login_as(college.teacher)
    html = client.get("/logs/verify").get_data(as_text=True)
    assert verify_ids(html) == set()
    assert "Nothing to verify" in html


def test_verifying_from_the_queue_comes_back_to_it(client, college, make_log, login_as):
    log = make_log(status="submitted")
    login_as(college.expert)
    html = client.get("/logs/verify").get_data(as_text=True)
    action = f"/logs/{log.id}/verify"
    fields = form_fields(html, action)
    assert fields["next"] == "/logs/verify"

    response = client.post(action, data=fields)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/logs/verify"
    assert status_of(log) == "verified"
    html = client.get("/logs/verify").get_data(as_text=True)
    assert verify_ids(html) == set()
    assert "Log verified." in flashes(html)


def test_rejecting_from_the_queue_needs_a_reason(client, college, make_log, login_as):
    log = make_log(status="submitted")
    login_as(college.expert)
    html = client.get("/logs/verify").get_data(as_text=True)
    action = f"/logs/{log.id}/reject"
    fields = form_fields(html, action)
    assert f'<label for="reason-reject-{log.id}">' in html

    client.post(action, data={**fields, "reason": "   "})
    assert status_of(log) == "submitted"

    response = client.post(action, data={**fields, "reason": "I was not there that day"})
    assert urlsplit(response.headers["Location"]).path == "/logs/verify"
    assert status_of(log) == "rejected"
    last = db.session.get(ExchangeLog, log.id).events[-1]
    assert (last.action, last.reason, last.actor_id) == (
        "reject",
        "I was not there that day",
        college.expert.id,
    )


def test_the_verify_queue_keeps_its_page_in_the_return_address(
    app, client, college, make_log, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    today = college_today()
    for days in range(3):
        make_log(status="submitted", work_date=today - timedelta(days=days))
    login_as(college.expert)
    html = client.get("/logs/verify?page=2").get_data(as_text=True)
    (only,) = verify_ids(html)
    assert form_fields(html, f"/logs/{only}/verify")["next"] == "/logs/verify?page=2"
    assert "Page 2 of 2" in html


# --- the approval queue ----------------------------------------------------------------


def test_the_approve_queue_shows_my_departments_verified_logs_never_my_own(
    client, app, college, make_log, login_as, foreign_log
):
    practice = make_log(status="verified")
    teaching = make_log(college.expert, status="verified")  # taught in the department
    heads_own = make_log(college.head, status="verified")
    make_log(status="submitted")
    make_log(status="approved")

    def queue(user) -> set[int]:
        response = signed_in(user).get("/logs/approve")
        assert response.status_code == 200
        return approve_ids(response.get_data(as_text=True))

    assert queue(college.head) == {practice.id, teaching.id}
    assert queue(college.other_head) == {practice.id, teaching.id, heads_own.id}
    assert queue(college.foreign_head) == {foreign_log.id}
    assert queue(college.admin) == {practice.id, teaching.id, heads_own.id, foreign_log.id}


def test_the_approve_queue_page_has_labels_and_a_select_all_for_scripts(
    client, college, make_log, login_as
):
    log = make_log(status="verified")
    login_as(college.head)
    html = client.get("/logs/approve").get_data(as_text=True)
    assert f'<label for="pick-{log.id}">' in html
    assert 'form="bulk-approve"' in html
    # Without scripts the "select all" box stays invisible (its place kept, so that the
    # script showing it shifts nothing); the script is a file of this site.
    assert re.search(r"<div data-enhance data-select-all-box>", html)
    assert re.search(r'<script src="/static/queues\.js\?v=[0-9a-f]{12}" defer></script>', html)
    assert "onclick" not in html
    assert "<script>" not in html


def test_an_empty_approve_queue_says_so(client, college, login_as):
    login_as(college.head)
    html = client.get("/logs/approve").get_data(as_text=True)
    assert "Nothing to approve" in html
    assert "bulk-approve" not in html


@pytest.mark.parametrize("role", ["teacher", "other_teacher", "expert"])
def test_only_heads_and_admins_open_the_approve_queue(client, college, make_log, login_as, role):
    log = make_log(status="verified")
    login_as(getattr(college, role))
    assert client.get("/logs/approve").status_code == 403
    assert client.post("/logs/approve", data={"ids": [str(log.id)]}).status_code == 403
    assert status_of(log) == "verified"


def test_bulk_approval_approves_the_ticked_logs_and_reports_what_changed(
    client, college, make_log, login_as
):
    first, second, third = (make_log(status="verified") for _ in range(3))
    login_as(college.head)
    html = client.get("/logs/approve").get_data(as_text=True)
    assert approve_ids(html) == {first.id, second.id, third.id}

    # Meanwhile the other head approves one of them.
    services.transition(college.other_head, third, Action.APPROVE)
    db.session.commit()

    ids = [str(first.id), str(second.id), str(third.id)]
    response = client.post("/logs/approve", data={"ids": ids})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/logs/approve"
    assert [status_of(log) for log in (first, second, third)] == ["approved"] * 3

    approvals = db.session.execute(
        select(LogEvent.log_id, LogEvent.actor_id).where(LogEvent.action == "approve")
    ).all()
    assert sorted(approvals) == sorted(
        [
            (first.id, college.head.id),
            (second.id, college.head.id),
            (third.id, college.other_head.id),
        ]
    )
    summary = flashes(client.get("/logs/approve").get_data(as_text=True))
    assert "2 logs approved." in summary
    assert "1 had changed in the meantime and was not approved." in summary


def test_bulk_approval_of_everything_says_so_plainly(client, college, make_log, login_as):
    logs = [make_log(status="verified") for _ in range(2)]
    login_as(college.head)
    response = client.post(
        "/logs/approve", data={"ids": [str(log.id) for log in logs]}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert '<div class="flash flash--success" role="status">2 logs approved.</div>' in html
    assert approve_ids(html) == set()


def test_tampered_ids_come_back_as_not_approved(client, college, make_log, login_as, foreign_log):
    good = make_log(status="verified")
    own = make_log(college.head, status="verified")
    draft = make_log(status="draft")
    login_as(college.head)
    tampered = ["abc", "-1", "1.5", "", "99999999999999999999", "2147483648", "٣", "0x10"]
    ids = [str(good.id), str(good.id), str(foreign_log.id), str(own.id), str(draft.id), "999999"]
    response = client.post("/logs/approve", data={"ids": ids + tampered})
    assert response.status_code == 302

    assert status_of(good) == "approved"
    assert status_of(foreign_log) == "verified"
    assert status_of(own) == "verified"
    assert status_of(draft) == "draft"
    summary = flashes(client.get("/logs/approve").get_data(as_text=True))
    assert "1 log approved." in summary
    assert "1 had changed in the meantime and was not approved." in summary  # the draft
    assert "1 log not approved: Nobody verifies or approves their own record." in summary
    # The other department's log, an unknown id and the eight that are no id at all.
    assert "10 logs could not be found." in summary


def test_bulk_approval_without_a_selection_asks_for_one(client, college, login_as):
    login_as(college.head)
    response = client.post("/logs/approve", data={}, follow_redirects=True)
    assert response.status_code == 200
    assert "Select at least one log to approve." in flashes(response.get_data(as_text=True))


def test_more_ids_than_a_page_holds_are_refused_whole(client, college, make_log, login_as):
    log = make_log(status="verified")
    login_as(college.head)
    ids = [str(log.id)] + [str(n) for n in range(10_000, 10_100)]
    response = client.post("/logs/approve", data={"ids": ids}, follow_redirects=True)
    assert "Select at most 100 logs at a time." in flashes(response.get_data(as_text=True))
    assert status_of(log) == "verified"


def test_a_head_rejects_from_the_approve_queue(client, college, make_log, login_as):
    log = make_log(status="verified")
    login_as(college.head)
    html = client.get("/logs/approve").get_data(as_text=True)
    action = f"/logs/{log.id}/reject"
    fields = form_fields(html, action)
    response = client.post(action, data={**fields, "reason": "Hours do not match the rota"})
    assert urlsplit(response.headers["Location"]).path == "/logs/approve"
    assert status_of(log) == "rejected"


# --- both stay fast ----------------------------------------------------------------------


def _spread_logs(make_log, college, status: str, count: int, start: int) -> None:
    """``count`` logs on different days, by two owners, so no day is over its 12 hours."""
    today = college_today()
    owners = (college.teacher, college.other_teacher)
    for n in range(start, start + count):
        make_log(owners[n % 2], status=status, work_date=today - timedelta(days=n))


def _queries_for(client, path: str) -> int:
    with sql_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize(
    ("path", "status", "who", "ids"),
    [
        ("/logs/verify", "submitted", "expert", verify_ids),
        ("/logs/approve", "verified", "head", approve_ids),
    ],
)
def test_queue_pages_run_a_bounded_number_of_queries(
    client, college, make_log, login_as, path, status, who, ids
):
    login_as(getattr(college, who))
    _spread_logs(make_log, college, status, 3, 0)
    few = _queries_for(client, path)
    _spread_logs(make_log, college, status, 27, 3)
    many = _queries_for(client, path)
    html = client.get(path).get_data(as_text=True)
    assert len(ids(html)) == 25  # one full page
    assert db.session.scalar(select(func.count(ExchangeLog.id))) == 30
    assert many == few
    assert many <= 12


def test_work_in_a_locked_period_leaves_the_queues(client, college, make_log, login_as):
    make_log(status="verified")
    make_log(status="submitted")
    assert queries.queue_counts(college.head).to_approve == 1
    assert queries.queue_counts(college.expert).to_verify == 1
    college.period.state = "locked"
    db.session.commit()
    assert queries.queue_counts(college.head) == queries.QueueCounts(0, 0)
    assert queries.queue_counts(college.expert) == queries.QueueCounts(0, 0)
    login_as(college.head)
    assert "Ward rounds" not in client.get("/logs/approve").get_data(as_text=True)


def test_an_admin_narrows_the_college_queue_to_one_department(client, college, make_log, login_as):
    here = make_log(status="verified")
    there = make_log(
        college.foreign_head,
        status="verified",
        enterprise_id=college.other_enterprise.id,
        verifier=college.foreign_expert,
    )
    login_as(college.admin)
    everything = client.get("/logs/approve").get_data(as_text=True)
    assert "Verified logs of all departments." in everything
    assert f'id="pick-{here.id}"' in everything
    assert f'id="pick-{there.id}"' in everything
    assert '<label for="department">Department</label>' in everything

    nursing = client.get(f"/logs/approve?department={college.other_department.id}")
    html = nursing.get_data(as_text=True)
    assert "Verified logs of this department." in html
    assert f'id="pick-{there.id}"' in html
    assert f'id="pick-{here.id}"' not in html
    # "Flagged only" keeps the department.
    assert f"flagged=1&amp;department={college.other_department.id}" in html
    # A department that does not exist shows the whole college, not an error.
    assert client.get("/logs/approve?department=999999").status_code == 200
    assert client.get("/logs/approve?department=abc").status_code == 200


def test_a_head_is_offered_no_department_choice(client, college, make_log, login_as):
    make_log(status="verified")
    login_as(college.head)
    html = client.get("/logs/approve").get_data(as_text=True)
    assert '<label for="department">' not in html
    assert "Verified logs of your department." in html
