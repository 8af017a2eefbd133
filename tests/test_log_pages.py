"""The log pages: log hours, my logs, the log page with its timeline and its buttons."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from io import BytesIO
from itertools import chain
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import CATEGORIES, ExchangeLog
from exchange.logs.workflow import Action, Status
from exchange.presentation.logs import ACTION_LABELS, CATEGORY_LABELS, STATUS_LABELS
from exchange.timeutil import college_today
from tests.helpers import practice_form, sql_statements

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _teaching(college, **overrides):
    data = {
        "date": college_today().isoformat(),
        "hours": "2",
        "category": "lecture",
        "department_id": str(college.department.id),
        "course": "Pharmacology",
        "cohort": "2024 Class 2",
        "students": "32",
        "verifier_id": str(college.other_teacher.id),
        "description": "Lecture on drug interactions",
        "client_id": str(uuid.uuid4()),
        "intent": "draft",
    }
    data.update(overrides)
    return data


def _logs_of(user) -> list[ExchangeLog]:
    return list(
        db.session.execute(
            select(ExchangeLog).where(ExchangeLog.owner_id == user.id).order_by(ExchangeLog.id)
        ).scalars()
    )


def _text(response) -> str:
    return response.get_data(as_text=True)


def _field_error(html: str, field_id: str) -> str:
    """The error message shown under one field."""
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    assert found, f"no error on {field_id}"
    return found.group(1)


# --- log hours ---------------------------------------------------------------------------


def test_the_form_starts_with_today_a_fresh_client_id_and_the_verifiers(client, college, sign_in):
    sign_in(college.teacher)
    html = _text(client.get("/logs/new"))
    assert f'value="{college_today().isoformat()}"' in html
    assert 'type="date"' in html
    assert 'inputmode="decimal"' in html
    client_id = re.search(r'name="client_id" type="hidden" value="([^"]+)"', html)
    assert client_id
    assert uuid.UUID(client_id.group(1))
    assert "On-site confirmation (no account needed)" in html
    # The experts of the partner enterprises, grouped by enterprise; not the pharma
    # company, whose agreement is with another department.
    assert '<optgroup label="City People&#39;s Hospital">' in html
    assert "Chen Hao" in html
    assert "Liu Yang" in html
    assert "Huang Bo" not in html
    # Every category of the kind, by its label.
    assert len(re.findall(r'<option value="(?:' + "|".join(CATEGORIES["practice"]) + ')"', html))
    assert "Clinical rotation" in html
    # Quick choices for the hours, filled in by static/app.js.
    assert 'data-value="8"' in html


def test_the_form_remembers_the_last_place_category_duration_and_verifier(
    client, college, sign_in, make_log
):
    make_log(hours="2.5", category="joint_research")
    sign_in(college.teacher)
    html = _text(client.get("/logs/new"))
    assert 'value="2.5"' in html
    assert '<option selected value="joint_research">' in html
    assert f'<option selected value="{college.enterprise.id}">' in html
    assert f'<option selected value="{college.expert.id}">' in html


def test_a_teacher_logs_practice_hours(client, college, sign_in):
    sign_in(college.teacher)
    response = client.post("/logs/new", data=practice_form(college))
    [log] = _logs_of(college.teacher)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/logs/{log.id}"
    assert (log.kind, log.minutes, log.status) == ("practice", 90, "draft")
    assert log.enterprise_id == college.enterprise.id
    assert log.department_id == college.department.id
    assert log.verifier_id == college.expert.id
    page = _text(client.get(f"/logs/{log.id}"))
    assert "1.5 h" in page
    assert "Log saved as a draft." in page


def test_submit_for_verification_creates_and_submits_at_once(client, college, sign_in):
    sign_in(college.teacher)
    client.post("/logs/new", data=practice_form(college, intent="submit", verifier_id=""))
    [log] = _logs_of(college.teacher)
    assert log.status == "submitted"
    assert log.verifier_id is None  # on-site confirmation


def test_an_expert_logs_teaching_hours(client, college, sign_in):
    sign_in(college.expert)
    html = _text(client.get("/logs/new"))
    assert 'name="course"' in html
    assert 'inputmode="numeric"' in html
    assert "Zhao Lei" in html  # a teacher of the department, as verifier
    response = client.post("/logs/new", data=_teaching(college))
    assert response.status_code == 302
    [log] = _logs_of(college.expert)
    assert (log.kind, log.minutes, log.students) == ("teaching", 120, 32)
    assert (log.course, log.cohort) == ("Pharmacology", "2024 Class 2")
    assert log.enterprise_id == college.enterprise.id
    assert log.department_id == college.department.id


def test_an_expert_picks_a_verifier_among_the_teachers_of_each_department(client, college, sign_in):
    sign_in(college.expert)
    html = _text(client.get("/logs/new"))
    verifiers = html[
        html.index('id="verifier_id"') : html.index("</select>", html.index('id="verifier_id"'))
    ]
    # Both departments have an agreement with the expert's enterprise (all departments).
    assert '<optgroup label="Clinical Medicine">' in verifiers
    assert '<optgroup label="Nursing">' in verifiers
    assert "Li Na" in verifiers
    assert "Wang Fang" in verifiers
    assert "Zhou Min" in verifiers
    assert "Chen Hao" not in verifiers  # never the owner, never an expert


def test_every_code_has_a_label():
    assert set(CATEGORY_LABELS) == set(chain(*CATEGORIES.values()))
    assert set(STATUS_LABELS) == set(Status)
    assert set(ACTION_LABELS) == set(Action)


def test_enterprise_kinds_keep_their_labels_on_the_admin_pages(client, college, sign_in):
    sign_in(college.admin)
    html = _text(client.get("/admin/enterprises"))
    assert "Pharmaceutical company" in html


def test_admins_do_not_log_hours(client, college, sign_in):
    sign_in(college.admin)
    assert client.get("/logs/new").status_code == 403
    assert client.post("/logs/new", data=practice_form(college)).status_code == 403


def test_errors_are_named_on_their_fields_and_the_typed_values_come_back(client, college, sign_in):
    sign_in(college.teacher)
    future = (college_today() + timedelta(days=1)).isoformat()
    long_text = "Long & <careful> " + "x" * 1984
    assert len(long_text) == 2001
    data = practice_form(college, hours="13", date=future, description=long_text)
    response = client.post("/logs/new", data=data)
    assert response.status_code == 200
    html = _text(response)
    assert "quarter hour" in _field_error(html, "hours")
    assert "future" in _field_error(html, "date")
    assert "2000" in _field_error(html, "description")
    assert 'value="13"' in html
    assert f'value="{future}"' in html
    assert "Long &amp; &lt;careful&gt; xxx" in html
    assert f'value="{data["client_id"]}"' in html  # the same client id on the next try
    assert _logs_of(college.teacher) == []


def test_an_enterprise_without_an_agreement_is_refused_on_its_field(client, college, sign_in):
    sign_in(college.teacher)
    data = practice_form(college, enterprise_id=str(college.other_enterprise.id), verifier_id="")
    html = _text(client.post("/logs/new", data=data))
    assert "agreement" in _field_error(html, "enterprise_id")


def test_a_verifier_of_another_enterprise_is_refused_on_its_field(client, college, sign_in):
    sign_in(college.teacher)
    data = practice_form(college, verifier_id=str(college.foreign_expert.id))
    html = _text(client.post("/logs/new", data=data))
    assert _field_error(html, "verifier_id")


def test_the_same_form_sent_twice_makes_one_log(client, college, sign_in):
    sign_in(college.teacher)
    data = practice_form(college)
    first = client.post("/logs/new", data=data)
    second = client.post("/logs/new", data=data)
    [log] = _logs_of(college.teacher)
    assert first.headers["Location"] == second.headers["Location"] == f"/logs/{log.id}"
    assert "already been saved" in _text(client.get(f"/logs/{log.id}"))


def test_a_retry_after_an_error_still_makes_the_log(client, college, sign_in):
    sign_in(college.teacher)
    data = practice_form(college, hours="0")
    assert client.post("/logs/new", data=data).status_code == 200
    assert client.post("/logs/new", data={**data, "hours": "1"}).status_code == 302
    assert len(_logs_of(college.teacher)) == 1


# --- evidence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [(PNG, "ward.png", "image/png"), (PDF, "sheet.pdf", "application/pdf")],
)
def test_evidence_is_kept_and_served_with_its_type(
    client, college, sign_in, content, name, media_type
):
    sign_in(college.teacher)
    data = practice_form(college, evidence=(BytesIO(content), name))
    response = client.post("/logs/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    [log] = _logs_of(college.teacher)
    assert (log.evidence_name, log.evidence_type) == (name, media_type)
    assert f"/logs/{log.id}/evidence" in _text(client.get(f"/logs/{log.id}"))
    served = client.get(f"/logs/{log.id}/evidence")
    assert served.status_code == 200
    assert served.mimetype == media_type
    assert served.data == content
    assert "inline" in served.headers["Content-Disposition"]
    assert name in served.headers["Content-Disposition"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src" not in served.headers["Content-Security-Policy"]  # nothing runs
    served.close()
    # The verifier may see it too; another teacher may not.
    sign_in(college.expert)
    response = client.get(f"/logs/{log.id}/evidence")
    assert response.status_code == 200
    response.close()
    sign_in(college.other_teacher)
    assert client.get(f"/logs/{log.id}/evidence").status_code == 404


def test_a_text_file_named_png_is_refused_on_the_field(client, college, sign_in):
    sign_in(college.teacher)
    data = practice_form(college, evidence=(BytesIO(b"just some text, honest"), "photo.png"))
    response = client.post("/logs/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "PDF" in _field_error(_text(response), "evidence")
    assert _logs_of(college.teacher) == []


def test_evidence_over_5_mb_is_refused_on_the_field(client, college, sign_in):
    sign_in(college.teacher)
    big = PNG + b"\x00" * (5 * 1024 * 1024)
    data = practice_form(college, evidence=(BytesIO(big), "huge.png"))
    response = client.post("/logs/new", data=data, content_type="multipart/form-data")
    # The test client spools a large body to a temporary file and leaves it open.
    response.request.environ["wsgi.input"].close()
    assert "5 MB" in _field_error(_text(response), "evidence")
    assert _logs_of(college.teacher) == []


def test_a_log_without_evidence_has_none_to_serve(client, college, sign_in, make_log):
    log = make_log()
    sign_in(college.teacher)
    assert client.get(f"/logs/{log.id}/evidence").status_code == 404


def test_evidence_can_be_removed_when_editing(client, college, sign_in, make_log):
    log = make_log(evidence=services.EvidenceUpload("ward.png", PNG))
    sign_in(college.teacher)
    assert "Remove the attached evidence" in _text(client.get(f"/logs/{log.id}/edit"))
    data = practice_form(college, remove_evidence="y", client_id="")
    assert client.post(f"/logs/{log.id}/edit", data=data).status_code == 302
    db.session.refresh(log)
    assert not log.has_evidence
    assert client.get(f"/logs/{log.id}/evidence").status_code == 404


# --- editing and deleting ------------------------------------------------------------------


def test_the_owner_edits_a_draft_with_the_form_filled_in(client, college, sign_in, make_log):
    log = make_log(hours="2", description="First words")
    sign_in(college.teacher)
    html = _text(client.get(f"/logs/{log.id}/edit"))
    assert "First words" in html
    assert 'value="2"' in html
    data = practice_form(college, hours="3", description="Better words", client_id="")
    response = client.post(f"/logs/{log.id}/edit", data=data)
    assert response.headers["Location"] == f"/logs/{log.id}"
    db.session.refresh(log)
    assert (log.minutes, log.description, log.status) == (180, "Better words", "draft")


def test_editing_a_rejected_log_and_submitting_it_again(client, college, sign_in, make_log):
    log = make_log(status="rejected")
    sign_in(college.teacher)
    data = practice_form(college, intent="submit", client_id="")
    client.post(f"/logs/{log.id}/edit", data=data)
    db.session.refresh(log)
    assert log.status == "submitted"
    assert [e.action for e in log.events][-2:] == ["edit", "submit"]


def test_edit_errors_are_shown_on_the_fields(client, college, sign_in, make_log):
    log = make_log()
    sign_in(college.teacher)
    response = client.post(f"/logs/{log.id}/edit", data=practice_form(college, hours="abc"))
    assert response.status_code == 200
    assert "number" in _field_error(_text(response), "hours")


def test_a_submitted_log_is_no_longer_edited(client, college, sign_in, make_log):
    log = make_log(status="submitted")
    sign_in(college.teacher)
    response = client.get(f"/logs/{log.id}/edit")
    assert response.headers["Location"] == f"/logs/{log.id}"
    assert client.post(f"/logs/{log.id}/edit", data=practice_form(college)).status_code == 302
    db.session.refresh(log)
    assert log.status == "submitted"


def test_only_the_owner_edits(client, college, sign_in, make_log):
    log = make_log()
    sign_in(college.other_teacher)
    assert client.get(f"/logs/{log.id}/edit").status_code == 404
    sign_in(college.head)  # sees the log, may not change it
    assert client.get(f"/logs/{log.id}/edit").status_code == 403


def test_the_owner_deletes_a_draft(client, college, sign_in, make_log):
    log = make_log()
    log_id = log.id
    sign_in(college.teacher)
    assert "Delete draft" in _text(client.get(f"/logs/{log_id}"))
    response = client.post(f"/logs/{log_id}/delete")
    assert response.headers["Location"] == "/logs/"
    db.session.expunge(log)
    assert db.session.get(ExchangeLog, log_id) is None
    assert client.get(f"/logs/{log_id}").status_code == 404
    # Deleting it again answers as for a log that is not there.
    assert client.post(f"/logs/{log_id}/delete").status_code == 404


def test_a_submitted_log_is_not_deleted(client, college, sign_in, make_log):
    log = make_log(status="submitted")
    sign_in(college.teacher)
    response = client.post(f"/logs/{log.id}/delete")
    assert response.headers["Location"] == f"/logs/{log.id}"
    assert db.session.get(ExchangeLog, log.id) is not None
    sign_in(college.other_teacher)
    assert client.post(f"/logs/{log.id}/delete").status_code == 404


# --- the workflow through the buttons --------------------------------------------------


def _status(log) -> str:
    db.session.refresh(log)
    return log.status


def test_the_whole_way_from_draft_to_revoked(client, college, sign_in, make_log):
    log = make_log()
    url = f"/logs/{log.id}"
    sign_in(college.teacher)
    assert "Submit for verification" in _text(client.get(url))
    assert client.post(f"{url}/submit").headers["Location"] == url
    assert _status(log) == "submitted"
    assert "Show QR code for on-site confirmation" in _text(client.get(url))
    client.post(f"{url}/withdraw")
    assert _status(log) == "draft"
    client.post(f"{url}/submit")

    sign_in(college.expert)
    page = _text(client.get(url))
    assert ">Verify</button>" in page
    assert "Reject" in page
    assert "Show QR code" not in page
    client.post(f"{url}/verify")
    assert _status(log) == "verified"

    sign_in(college.head)
    assert ">Approve</button>" in _text(client.get(url))
    client.post(f"{url}/approve")
    assert _status(log) == "approved"

    sign_in(college.admin)
    response = client.post(f"{url}/revoke", data={"reason": ""})
    assert response.headers["Location"] == url
    assert "Give a reason." in _text(client.get(url))
    assert _status(log) == "approved"
    client.post(f"{url}/revoke", data={"reason": "Counted twice"})
    assert _status(log) == "revoked"


def test_the_verifier_rejects_only_with_a_reason(client, college, sign_in, make_log):
    log = make_log(status="submitted")
    sign_in(college.expert)
    client.post(f"/logs/{log.id}/reject")
    assert _status(log) == "submitted"
    assert "Give a reason." in _text(client.get(f"/logs/{log.id}"))
    client.post(f"/logs/{log.id}/reject", data={"reason": "Not on the ward that day"})
    assert _status(log) == "rejected"
    sign_in(college.teacher)
    page = _text(client.get(f"/logs/{log.id}"))
    assert "Not on the ward that day" in page
    assert "Edit" in page
    # Why it came back is the first thing the owner reads, before the log's facts.
    assert page.index(f"Rejected by {college.expert.name}") < page.index("<dt>Kind</dt>")
    assert page.index("Not on the ward that day") < page.index("<dt>Kind</dt>")


def test_a_head_rejects_a_verified_log(client, college, sign_in, make_log):
    log = make_log(status="verified")
    sign_in(college.other_head)
    client.post(f"/logs/{log.id}/reject", data={"reason": "Wrong category"})
    assert _status(log) == "rejected"


def test_next_takes_the_person_back_to_a_local_page_only(client, college, sign_in, make_log):
    log = make_log(status="verified")
    sign_in(college.head)
    response = client.post(f"/logs/{log.id}/approve", data={"next": "/logs/approve"})
    assert response.headers["Location"] == "/logs/approve"
    other = make_log(status="verified")
    response = client.post(f"/logs/{other.id}/approve", data={"next": "//evil.example/x"})
    assert response.headers["Location"] == f"/logs/{other.id}"


def test_a_log_changed_in_the_meantime_is_not_changed_twice(client, college, sign_in, make_log):
    log = make_log(status="approved")
    sign_in(college.head)
    response = client.post(f"/logs/{log.id}/approve")
    assert response.headers["Location"] == f"/logs/{log.id}"
    assert "changed in the meantime" in _text(client.get(f"/logs/{log.id}"))
    assert [e.action for e in log.events].count("approve") == 1


def test_a_log_changed_between_reading_and_writing_is_a_conflict_not_a_crash(
    client, college, sign_in, make_log, monkeypatch
):
    log = make_log(status="verified")
    sign_in(college.head)
    read = services.get_log

    def read_then_someone_else_approves(actor, log_id):
        found = read(actor, log_id)
        with db.engine.begin() as other:
            other.execute(
                update(ExchangeLog)
                .where(ExchangeLog.id == log_id)
                .values(status="approved", version=ExchangeLog.version + 1)
            )
        return found

    monkeypatch.setattr(services, "get_log", read_then_someone_else_approves)
    response = client.post(f"/logs/{log.id}/approve")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/logs/{log.id}"
    monkeypatch.undo()
    assert "changed in the meantime" in _text(client.get(f"/logs/{log.id}"))
    # The head who lost wrote nothing: no second approval in the trail.
    assert [e.action for e in log.events] == ["create", "submit", "verify"]


@pytest.mark.parametrize(
    ("who", "status", "action", "expected"),
    [
        ("teacher", "verified", "approve", 403),  # the owner approving
        ("teacher", "submitted", "verify", 403),  # the owner verifying
        ("other_expert", "submitted", "verify", 404),  # not the named verifier
        ("other_teacher", "draft", "submit", 404),  # another teacher's log
        ("foreign_head", "verified", "approve", 404),  # head of another department
        ("expert", "verified", "approve", 403),  # the verifier may not approve
        ("head", "submitted", "verify", 403),  # a head may not verify for the expert
        ("head", "approved", "revoke", 403),  # only an admin revokes
        ("head", "draft", "submit", 403),  # only the owner submits
    ],
)
def test_the_wrong_person_is_refused(
    client, college, sign_in, make_log, who, status, action, expected
):
    log = make_log(status=status)
    sign_in(getattr(college, who))
    assert client.post(f"/logs/{log.id}/{action}", data={"reason": "x"}).status_code == expected
    assert _status(log) == status


def test_a_head_approving_their_own_log_is_refused(client, college, sign_in, make_log):
    log = make_log(college.head, status="verified")
    sign_in(college.head)
    assert ">Approve</button>" not in _text(client.get(f"/logs/{log.id}"))
    assert client.post(f"/logs/{log.id}/approve").status_code == 403
    sign_in(college.other_head)
    client.post(f"/logs/{log.id}/approve")
    assert _status(log) == "approved"


def test_who_may_open_a_log_page(client, college, sign_in, make_log):
    log = make_log(status="submitted")
    for person, expected in [
        (college.teacher, 200),
        (college.expert, 200),  # the named verifier
        (college.head, 200),
        (college.admin, 200),
        (college.other_teacher, 404),
        (college.other_expert, 404),
        (college.foreign_head, 404),
    ]:
        sign_in(person)
        assert client.get(f"/logs/{log.id}").status_code == expected, person.name
    assert client.get("/logs/99999999").status_code == 404


# --- what the log page shows ----------------------------------------------------------------


def test_text_is_shown_escaped_everywhere(client, college, sign_in, make_log):
    log = make_log(description="<script>alert(1)</script>\nsecond line")
    sign_in(college.teacher)
    for url in (f"/logs/{log.id}", "/logs/"):
        html = _text(client.get(url))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="prewrap"' in _text(client.get(f"/logs/{log.id}"))


def test_the_timeline_lists_every_transition_with_its_actor(client, college, sign_in, make_log):
    log = make_log(status="revoked")
    sign_in(college.teacher)
    html = _text(client.get(f"/logs/{log.id}"))
    timeline = html[html.index('class="timeline"') :]
    steps = re.findall(r"<strong>([^<]+)</strong>\s*<span>by ([^<]+)</span>", timeline)
    assert steps == [
        ("Created", "Li Na"),
        ("Submitted", "Li Na"),
        ("Verified", "Chen Hao"),
        ("Approved", "Ma Guo"),
        ("Revoked", "Ma Guo"),
    ]
    assert "Approved → Revoked" in timeline
    assert "Not as described" in timeline  # the reason


def test_times_are_shown_in_the_college_time_zone(app, client, college, sign_in, make_log):
    log = make_log()
    event_at = log.events[0].at
    sign_in(college.teacher)
    html = _text(client.get(f"/logs/{log.id}"))
    local = event_at.astimezone(ZoneInfo(app.config["EXCHANGE_TIMEZONE"]))
    assert local.strftime("%Y-%m-%d %H:%M") in html


def test_a_teaching_log_page_names_course_and_students(client, college, sign_in, make_log):
    log = make_log(college.expert, cohort="Class 3")
    sign_in(college.expert)
    html = _text(client.get(f"/logs/{log.id}"))
    assert "Pharmacology" in html
    assert "Class 3" in html
    assert "30" in html
    assert "Teaching in the college" in html


# --- my logs -------------------------------------------------------------------------------


def test_my_logs_lists_only_mine_with_their_details(client, college, sign_in, make_log):
    make_log(hours="1.5", category="technical_training")
    make_log(college.other_teacher, description="Someone else's day")
    sign_in(college.teacher)
    html = _text(client.get("/logs/"))
    assert "1.5 h" in html
    assert "Technical training" in html
    assert "City People&#39;s Hospital" in html
    assert "Draft" in html
    assert "Someone else" not in html


def test_my_logs_filters_by_status_and_period(client, college, sign_in, make_log, make_period):
    today = college_today()
    older = make_period(
        name="2024-2025",
        starts_on=college.period.starts_on - timedelta(days=200),
        ends_on=college.period.starts_on - timedelta(days=1),
    )
    make_log(description="draft today")
    make_log(status="submitted", description="submitted today")
    make_log(work_date=today - timedelta(days=150), description="draft long ago")
    sign_in(college.teacher)

    html = _text(client.get("/logs/?status=submitted"))
    assert "submitted today" in html
    assert "draft today" not in html

    html = _text(client.get(f"/logs/?period={older.id}"))
    assert "draft long ago" in html
    assert "today" not in html

    html = _text(client.get(f"/logs/?status=draft&period={college.period.id}"))
    assert "draft today" in html
    assert "long ago" not in html
    assert "submitted today" not in html

    # Nonsense in the filters is ignored, never an error.
    for query in ("status=nonsense", "period=abc", "period=99999999999999999999", "page=-1"):
        assert client.get(f"/logs/?{query}").status_code == 200, query


def _make_many(make_log, count: int) -> list[ExchangeLog]:
    # A quarter hour each stays under the 12 hours a day allowed.
    return [make_log(hours="0.25", status="submitted") for _ in range(count)]


def test_my_logs_runs_the_same_queries_for_3_or_30_logs(client, college, sign_in, make_log):
    sign_in(college.teacher)
    _make_many(make_log, 3)
    client.get("/logs/")
    with sql_statements() as few:
        assert client.get("/logs/").status_code == 200
    _make_many(make_log, 27)
    with sql_statements() as many:
        html = _text(client.get("/logs/"))
    assert html.count('class="row logrow"') == 25  # one page
    assert len(few) == len(many)


def test_the_log_page_runs_the_same_queries_for_few_or_many_events(
    client, college, sign_in, make_log
):
    quiet, busy = make_log(), make_log()
    for _ in range(10):
        services.transition(college.teacher, busy, Action.SUBMIT)
        services.transition(college.teacher, busy, Action.WITHDRAW)
    db.session.commit()
    sign_in(college.teacher)
    client.get(f"/logs/{quiet.id}")
    with sql_statements() as few:
        client.get(f"/logs/{quiet.id}")
    with sql_statements() as many:
        html = _text(client.get(f"/logs/{busy.id}"))
    assert html.count("Withdrawn") == 10
    assert len(few) == len(many)


# --- navigation ------------------------------------------------------------------------------


def _badge(html: str) -> str | None:
    found = re.search(r'<span class="tab-count">(\d+)', html)
    return found.group(1) if found else None


def test_the_navigation_counts_what_waits(client, college, sign_in, make_log):
    make_log(status="submitted")
    make_log(status="submitted")
    make_log(status="verified")
    sign_in(college.expert)
    html = _text(client.get("/"))
    assert _badge(html) == "2"
    assert 'href="/logs/verify"' in html
    sign_in(college.head)
    html = _text(client.get("/"))
    assert _badge(html) == "1"
    assert 'href="/logs/approve"' in html
    sign_in(college.foreign_head)
    assert _badge(_text(client.get("/"))) is None
    sign_in(college.admin)
    assert _badge(_text(client.get("/"))) == "1"


def test_the_navigation_offers_log_hours_to_those_who_log(client, college, sign_in):
    for person, offered in [
        (college.teacher, True),
        (college.head, True),
        (college.expert, True),
        (college.admin, False),
    ]:
        sign_in(person)
        html = _text(client.get("/account"))
        nav = html[html.index('<nav class="tabbar"') : html.index("</nav>")]
        assert ('href="/logs/new"' in nav) is offered
        assert ('href="/logs/"' in nav) is offered
        # Six at most (a head's, with Reports): 60 px each on a 360 px phone.
        assert nav.count("<a ") <= 6
        assert ("/reports/" in nav) is (person.role in ("head", "admin"))


def test_the_queue_count_is_asked_once_per_page(client, college, sign_in, make_log):
    make_log(status="submitted")
    sign_in(college.expert)
    with sql_statements() as statements:
        client.get("/logs/")
    # The navigation's counts: one statement of counts of the person's own queues.
    assert sum(s.lstrip().startswith("SELECT (SELECT count(") for s in statements) == 1


def test_the_pages_render_in_chinese(client, college, sign_in, make_log):
    log = make_log(status="submitted")
    college.teacher.locale = "zh_Hans"
    db.session.commit()
    sign_in(college.teacher)
    for url in ("/logs/", "/logs/new", f"/logs/{log.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-Hans"' in _text(response)


def test_my_logs_add_up_the_hours_of_the_filter(client, college, sign_in, make_log):
    make_log(status="approved", hours="2")
    make_log(status="approved", hours="1.5")
    make_log(status="submitted", hours="3")
    make_log(college.other_teacher, status="approved", hours="8")  # someone else's
    sign_in(college.teacher)
    page = _text(client.get("/logs/"))
    assert "3 logs · <strong>Approved: 3.5 h</strong> · Pending: 3 h" in page
    approved = _text(client.get("/logs/?status=approved"))
    assert "2 logs · <strong>Approved: 3.5 h</strong> · Pending: 0 h" in approved
    # The filters fold into one line that says what is chosen.
    assert re.search(r"<summary>Filter: Approved · All periods</summary>", approved)
