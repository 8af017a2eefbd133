"""On-site confirmation: the owner's QR code and the public page a confirmer opens.

What people notice: the owner gets a code to show; a supervisor without an
account sees what they are asked to confirm, confirms or rejects once, and the
link then stops working. Broken, old, used or replaced links get a plain answer
and show nothing of the log; nothing ever ends in a 500.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
import segno
from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from exchange.db import utcnow
from exchange.errors import Conflict
from exchange.extensions import db, limiter
from exchange.logs import services
from exchange.logs.models import ExchangeLog
from exchange.logs.workflow import Action
from exchange.timeutil import college_today, college_zone

CONFIRMER = {"name": "Zhang Wei", "job_title": "Head nurse, cardiology"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The limiter counts per process: each test starts with a clean slate.
    limiter.reset()
    yield
    limiter.reset()


def issue(client, log, new: bool = False) -> str:
    """The owner asks for a code (``new``: a new one); the path of the link it carries."""
    response = client.post(f"/logs/{log.id}/confirmation", data={"new": "1"} if new else {})
    assert response.status_code == 303, (response.status_code, response.headers.get("Location"))
    assert response.headers["Location"] == f"/logs/{log.id}/confirmation"
    return shown_link(client, log)


def shown_link(client, log) -> str:
    """The path of the link the owner's code page shows."""
    html = client.get(f"/logs/{log.id}/confirmation").get_data(as_text=True)
    url = unescape(re.search(r'id="confirm-link" type="text" value="([^"]+)"', html).group(1))
    assert url.startswith("http://localhost/confirm/")
    return urlsplit(url).path


def token_of(path: str) -> str:
    return path.removeprefix("/confirm/")


def fresh(log: ExchangeLog) -> ExchangeLog:
    db.session.expire_all()
    return db.session.get(ExchangeLog, log.id)


def errors_on(html: str) -> dict[str, str]:
    return {
        name: unescape(text)
        for name, text in re.findall(r'<p class="error" id="([^"]+)-error">(.*?)</p>', html)
    }


def value_of(html: str, field: str) -> str | None:
    found = re.search(rf'<input[^>]*id="{field}"[^>]*value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def app_get(path: str) -> str:
    response = current_app.test_client().get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def confirmer(app):
    """Someone on site with their own phone: not signed in, no account."""
    return app.test_client()


@pytest.fixture
def submitted(college, make_log, login_as):
    """A submitted practice log, and the owner signed in on ``client``."""
    log = make_log(status="submitted", description="Ward rounds with the cardiology team")
    login_as(college.teacher)
    return log


# --- the owner's code ---------------------------------------------------------------------


def test_the_owner_gets_a_qr_code_with_the_link(client, submitted):
    assert client.post(f"/logs/{submitted.id}/confirmation").status_code == 303
    response = client.get(f"/logs/{submitted.id}/confirmation")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    # Drawn on the server, with nothing the page policy would block or fetch.
    for outside in ("href", "http", "style=", "<script", "<image", "<foreignObject"):
        assert outside not in svg
    assert "Content-Security-Policy" in response.headers

    assert fresh(submitted).confirmation_nonce is not None
    url = unescape(re.search(r'id="confirm-link" type="text" value="([^"]+)"', html).group(1))
    assert url.startswith("http://localhost/confirm/")
    # The code carries exactly the link shown under it.
    assert svg == segno.make(url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", omitsize=True
    )
    assert "readonly" in html
    expires = (utcnow() + timedelta(days=7)).astimezone(college_zone())
    assert expires.strftime("%Y-%m-%d") in html
    assert "Asia/Shanghai" in html
    assert "stop working at once" in html
    assert 'name="new" value="1"' in html


def test_only_the_owner_gets_a_code(app, college, make_log, login_as, client):
    log = make_log(status="submitted")
    login_as(college.other_teacher)  # cannot see the log at all
    assert client.post(f"/logs/{log.id}/confirmation").status_code == 404
    assert client.get(f"/logs/{log.id}/confirmation").status_code == 404
    client.post("/logout")
    login_as(college.expert)  # the named verifier sees it, but it is not theirs
    assert client.post(f"/logs/{log.id}/confirmation").status_code == 403
    assert client.get(f"/logs/{log.id}/confirmation").status_code == 403
    assert client.post("/logs/999999/confirmation").status_code == 404
    assert fresh(log).confirmation_nonce is None


@pytest.mark.parametrize("status", ["draft", "verified", "rejected", "approved"])
def test_only_a_submitted_log_gets_a_code(client, college, make_log, login_as, status):
    log = make_log(status=status)
    login_as(college.teacher)
    response = client.post(f"/logs/{log.id}/confirmation")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/logs/{log.id}"
    assert fresh(log).confirmation_nonce is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only a submitted log can be confirmed on site." in page


def test_signed_out_owners_are_sent_to_sign_in(app, college, make_log):
    log = make_log(status="submitted")
    response = app.test_client().post(f"/logs/{log.id}/confirmation")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_code_has_its_own_address_and_a_reload_shows_it_again(client, confirmer, submitted):
    first = issue(client, submitted)
    again = shown_link(client, submitted)  # a reload of the page
    # Both work: it is the same code (the same single use), signed again.
    assert confirmer.get(first).status_code == 200
    assert confirmer.get(again).status_code == 200
    # Tapping "Show QR code" again (the log page's button) keeps the code already shown.
    issue(client, submitted)
    assert confirmer.get(first).status_code == 200
    confirmer.post(again, data={**CONFIRMER, "decision": "confirm"})
    assert fresh(submitted).status == "verified"
    assert confirmer.get(first).status_code == 410  # used up, whichever copy


def test_a_code_keeps_its_expiry_however_often_it_is_shown(
    client, college, confirmer, submitted, travel, login_as
):
    issued_on = college_today()
    travel(issued_on)
    # Signed in again at the travelled-to hour: a session cookie signed later than
    # "now" (after 9:00 of the real day) is refused as from the future.
    login_as(college.teacher)
    first = issue(client, submitted)
    expires = (issued_on + timedelta(days=7)).isoformat()
    travel(issued_on + timedelta(days=6))
    html = client.get(f"/logs/{submitted.id}/confirmation").get_data(as_text=True)
    assert expires in html
    late = shown_link(client, submitted)
    travel(issued_on + timedelta(days=7, hours=1))
    for path in (first, late):
        assert confirmer.get(path).status_code == 410
    html = client.get(f"/logs/{submitted.id}/confirmation").get_data(as_text=True)
    assert "There is no code for this log" in html
    assert 'id="confirm-link"' not in html


def test_without_a_live_code_the_page_offers_to_make_one(client, submitted):
    html = client.get(f"/logs/{submitted.id}/confirmation").get_data(as_text=True)
    assert "There is no code for this log" in html
    assert f'action="/logs/{submitted.id}/confirmation"' in html
    assert fresh(submitted).confirmation_nonce is None


def test_the_code_page_of_a_confirmed_log_leads_back_to_the_log(client, confirmer, submitted):
    path = issue(client, submitted)
    confirmer.post(path, data={**CONFIRMER, "decision": "confirm"})
    response = client.get(f"/logs/{submitted.id}/confirmation")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/logs/{submitted.id}"


# --- the confirmer's page -------------------------------------------------------------------


def test_a_confirmer_without_an_account_confirms_once(client, confirmer, college, submitted):
    path = issue(client, submitted)

    page = confirmer.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    shown = ("Li Na", "City People&#39;s Hospital", "2 h", "Clinical rotation",
             submitted.work_date.isoformat(), "Ward rounds with the cardiology team")  # fmt: skip
    for text in shown:
        assert text in html
    assert '<label for="name">' in html
    assert '<label for="job_title">' in html
    assert '<label for="reason">' in html

    done = confirmer.post(path, data={**CONFIRMER, "decision": "confirm"})
    assert done.status_code == 200
    assert "Thank you" in done.get_data(as_text=True)
    assert done.headers["Referrer-Policy"] == "no-referrer"

    log = fresh(submitted)
    assert log.status == "verified"
    assert log.confirmation_nonce is None
    last = log.events[-1]
    assert (last.action, last.from_status, last.to_status) == ("verify", "submitted", "verified")
    assert last.actor_id is None
    assert "Zhang Wei" in last.actor_name
    assert "Head nurse, cardiology" in last.actor_name
    events = len(log.events)
    # The owner's page says who confirmed it, as they typed their name and job title.
    facts = client.get(f"/logs/{submitted.id}").get_data(as_text=True)
    confirmed_by = re.search(r"<dt>Confirmed by</dt>\s*<dd>(.*?)</dd>", facts, re.S).group(1)
    assert "Zhang Wei (Head nurse, cardiology)" in confirmed_by
    assert "on site" in confirmed_by

    again = confirmer.get(path)
    assert again.status_code == 410
    assert "Ward rounds" not in again.get_data(as_text=True)
    twice = confirmer.post(path, data={**CONFIRMER, "decision": "reject", "reason": "Oops"})
    assert twice.status_code == 410
    log = fresh(submitted)
    assert (log.status, len(log.events)) == ("verified", events)


def test_a_teaching_log_shows_course_cohort_and_students(client, college, make_log, login_as):
    log = make_log(college.expert, status="submitted", cohort="Class 2024-1", students=42)
    login_as(college.expert)
    html = app_get(issue(client, log))
    for shown in ("Chen Hao", "Clinical Medicine", "Pharmacology", "Class 2024-1", "42",
                  "Lecture", "Teaching in the college"):  # fmt: skip
        assert shown in html


def test_a_confirmer_rejects_with_a_reason(client, confirmer, submitted):
    path = issue(client, submitted)
    reason = "Was not on the ward that afternoon"
    done = confirmer.post(path, data={**CONFIRMER, "decision": "reject", "reason": reason})
    assert done.status_code == 200
    assert "rejected" in done.get_data(as_text=True)
    log = fresh(submitted)
    assert log.status == "rejected"
    last = log.events[-1]
    assert (last.action, last.reason, last.actor_id) == ("reject", reason, None)
    assert "Zhang Wei" in last.actor_name
    assert confirmer.get(path).status_code == 410


def test_reject_without_a_reason_is_an_error_on_the_field(client, confirmer, submitted):
    path = issue(client, submitted)
    response = confirmer.post(path, data={**CONFIRMER, "decision": "reject", "reason": "  "})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert errors_on(html) == {"reason": "This field is required."}
    assert "Please correct the highlighted fields." in html
    assert value_of(html, "name") == "Zhang Wei"
    assert value_of(html, "job_title") == "Head nurse, cardiology"
    assert '<details class="reason-box" open>' in html
    assert fresh(submitted).status == "submitted"
    assert confirmer.get(path).status_code == 200  # the link still works


def test_name_and_title_are_required_and_long_text_is_refused(client, confirmer, submitted):
    path = issue(client, submitted)
    response = confirmer.post(path, data={"name": "", "job_title": " ", "decision": "confirm"})
    assert errors_on(response.get_data(as_text=True)) == {
        "name": "This field is required.",
        "job_title": "This field is required.",
    }
    typed = {"name": "N" * 121, "job_title": "Ward sister", "reason": "R" * 501}
    response = confirmer.post(path, data={**typed, "decision": "reject"})
    html = response.get_data(as_text=True)
    assert errors_on(html) == {
        "name": "At most 120 characters.",
        "reason": "At most 500 characters.",
    }
    assert value_of(html, "name") == "N" * 121  # kept as typed, not cut
    assert "R" * 501 in html
    log = fresh(submitted)
    assert (log.status, len(log.events)) == ("submitted", 2)


def test_a_post_without_a_decision_changes_nothing(client, confirmer, submitted):
    path = issue(client, submitted)
    response = confirmer.post(path, data={**CONFIRMER, "decision": "approve"})
    assert response.status_code == 200
    assert "Tap “Confirm” or “Reject”." in response.get_data(as_text=True)
    assert fresh(submitted).status == "submitted"


def test_the_page_escapes_what_the_owner_typed(client, confirmer, college, make_log, login_as):
    log = make_log(status="submitted", description='<script>alert("x")</script> & more')
    login_as(college.teacher)
    html = confirmer.get(issue(client, log)).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in html
    assert '<script>alert("x")' not in html


# --- links that do not work ---------------------------------------------------------------


def _change_one_character(token: str, at: int) -> str:
    replacement = "B" if token[at] != "B" else "C"
    return token[:at] + replacement + token[at + 1 :]


def test_a_tampered_or_made_up_link_is_not_found(client, confirmer, submitted):
    token = token_of(issue(client, submitted))
    payload_end = token.index(".")
    broken = [
        _change_one_character(token, 3),  # in the claims
        _change_one_character(token, payload_end + 2),  # in the time stamp
        _change_one_character(token, len(token) - 10),  # in the signature
        "x",
        "a.b.c",
        "A" * 3000,
        "%C3%A9t%C3%A9",
        token[:-5],
    ]
    for candidate in broken:
        assert candidate != token
        response = confirmer.get(f"/confirm/{candidate}")
        assert response.status_code == 404, candidate
        html = response.get_data(as_text=True)
        assert "This link is not valid" in html
        assert "Li Na" not in html
        assert "Ward rounds" not in html
        posted = confirmer.post(f"/confirm/{candidate}", data={**CONFIRMER, "decision": "confirm"})
        assert posted.status_code == 404
    assert fresh(submitted).status == "submitted"
    assert confirmer.get(f"/confirm/{token}").status_code == 200


def test_a_well_signed_link_to_nothing_is_not_found(confirmer, submitted):
    sign = URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=services.CONFIRMATION_SALT
    ).dumps
    for claims in ({"log": 999999, "nonce": "x"}, {"log": "1"}, ["log", 1], "hello"):
        assert confirmer.get(f"/confirm/{sign(claims)}").status_code == 404


def _signed_days_ago(days: float, claims: dict) -> str:
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days * 24 * 3600)

    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=services.CONFIRMATION_SALT, signer=Earlier
    ).dumps(claims)


def test_a_link_older_than_seven_days_has_expired(client, confirmer, submitted):
    issue(client, submitted)
    claims = {"log": submitted.id, "nonce": fresh(submitted).confirmation_nonce}

    assert confirmer.get(f"/confirm/{_signed_days_ago(6.9, claims)}").status_code == 200
    expired = f"/confirm/{_signed_days_ago(8, claims)}"
    response = confirmer.get(expired)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This link has expired" in html
    assert "Ward rounds" not in html
    assert confirmer.post(expired, data={**CONFIRMER, "decision": "confirm"}).status_code == 410
    assert fresh(submitted).status == "submitted"


def test_a_new_code_replaces_the_old_one(client, confirmer, submitted):
    first = issue(client, submitted)
    second = issue(client, submitted, new=True)
    assert first != second
    response = confirmer.get(first)
    assert response.status_code == 410
    assert "This link no longer works" in response.get_data(as_text=True)
    assert confirmer.post(first, data={**CONFIRMER, "decision": "confirm"}).status_code == 410
    assert fresh(submitted).status == "submitted"
    assert confirmer.get(second).status_code == 200


@pytest.mark.parametrize(
    ("who", "action", "reason"),
    [("teacher", Action.WITHDRAW, None), ("expert", Action.VERIFY, None),
     ("expert", Action.REJECT, "Not seen")],
)  # fmt: skip
def test_a_link_dies_when_the_log_moves_on(
    client, confirmer, college, submitted, who, action, reason
):
    path = issue(client, submitted)
    services.transition(getattr(college, who), fresh(submitted), action, reason)
    db.session.commit()
    assert confirmer.get(path).status_code == 410
    assert confirmer.post(path, data={**CONFIRMER, "decision": "confirm"}).status_code == 410


def test_a_locked_period_is_answered_not_crashed(client, confirmer, college, submitted):
    path = issue(client, submitted)
    college.period.state = "locked"
    db.session.commit()
    response = confirmer.post(path, data={**CONFIRMER, "decision": "confirm"})
    assert response.status_code == 409
    assert "locked" in response.get_data(as_text=True)
    assert fresh(submitted).status == "submitted"


def test_the_page_answers_in_the_confirmers_language(client, confirmer, submitted):
    path = issue(client, submitted)
    html = confirmer.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html


# --- abuse and races ---------------------------------------------------------------------------


def test_the_page_is_rate_limited(confirmer):
    statuses = [confirmer.get(f"/confirm/guess-{n}").status_code for n in range(30)]
    assert set(statuses) == {404}
    refused = confirmer.post("/confirm/guess", data={**CONFIRMER, "decision": "confirm"})
    assert refused.status_code == 429
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    assert "Too many attempts" in refused.get_data(as_text=True)


@pytest.fixture
def both_read_first(monkeypatch):
    """Two confirmers who both see a live link before either of them writes."""
    both_have_read = threading.Barrier(2, timeout=10)
    original = services.log_for_confirmation

    def read_then_wait(token: str) -> ExchangeLog:
        log = original(token)
        both_have_read.wait()
        return log

    monkeypatch.setattr(services, "log_for_confirmation", read_then_wait)


def _at_once(*calls) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_two_confirmers_at_once_exactly_one_wins(app, client, submitted, both_read_first):
    token = token_of(issue(client, submitted))
    outcomes: list[str] = []

    def confirm(name: str) -> None:
        with app.app_context():
            try:
                decision = services.OnsiteDecision(name, "Supervisor", confirm=True)
                services.confirm_onsite(token, decision)
                db.session.commit()
                outcomes.append("confirmed")
            except (Conflict, services.LinkUsed) as error:
                db.session.rollback()
                outcomes.append(type(error).__name__)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcomes.append(repr(error))

    _at_once(lambda: confirm("Ann"), lambda: confirm("Bo"))

    assert sorted(outcomes) in (["Conflict", "confirmed"], ["LinkUsed", "confirmed"]), outcomes
    log = fresh(submitted)
    assert log.status == "verified"
    assert [e.action for e in log.events].count("verify") == 1


def test_two_confirmers_on_the_page_at_once_one_is_told_it_changed(
    app, client, submitted, both_read_first
):
    path = issue(client, submitted)
    answers: list[tuple[int, str]] = []

    def confirm(name: str) -> None:
        response = app.test_client().post(
            path, data={"name": name, "job_title": "Supervisor", "decision": "confirm"}
        )
        answers.append((response.status_code, response.get_data(as_text=True)))

    _at_once(lambda: confirm("Ann"), lambda: confirm("Bo"))

    statuses = sorted(status for status, _ in answers)
    assert statuses in ([200, 409], [200, 410]), statuses
    loser = next(html for status, html in answers if status != 200)
    assert "Changed in the meantime" in loser or "This link no longer works" in loser
    log = fresh(submitted)
    assert log.status == "verified"
    assert [e.action for e in log.events].count("verify") == 1


def test_the_owner_cannot_confirm_their_own_log_through_the_link(
    client, college, make_log, login_as
):
    log = make_log(status="submitted")
    token, _ = services.issue_confirmation_link(college.teacher, log)
    db.session.commit()
    login_as(college.teacher)
    response = client.post(
        f"/confirm/{token}",
        data={"name": "Li Na", "job_title": "Teacher", "decision": "confirm"},
    )
    assert response.status_code == 403
    db.session.refresh(log)
    assert log.status == "submitted"


def test_a_link_to_a_log_in_a_locked_period_shows_no_form(client, college, make_log):
    log = make_log(status="submitted")
    token, _ = services.issue_confirmation_link(college.teacher, log)
    college.period.state = "locked"
    db.session.commit()
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 409
    assert log.description not in response.get_data(as_text=True)
