"""The daily digests of waiting work (SPEC §6 "Reminders"), as their recipients get them:
through a real SMTP server, with the clock moved day by day."""

from __future__ import annotations

import email
import email.policy
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from exchange.extensions import db
from exchange.logs import services as log_services
from exchange.reminders import services as reminders
from exchange.reminders.models import DigestSent
from exchange.timeutil import college_today
from tests.helpers import FormPage, sql_statements
from tests.smtp import smtp_server_fixture  # noqa: F401  (provides ``smtp_server``)
from tests.test_query_plans import add_logs, assert_indexed, sent_sql

BASE_URL = "https://exchange.example.edu"


@pytest.fixture
def day0(travel) -> date:
    """Today at 09:00 in the college: the logs of a test are submitted then."""
    today = college_today()
    travel(today, time(9))
    return today


@pytest.fixture
def sending(make_app, smtp_server):
    """An app that sends to the test's SMTP server, with its public address configured."""
    return make_app(**smtp_server.settings, EXCHANGE_BASE_URL=BASE_URL)


@pytest.fixture
def run(sending, travel):
    """Run ``send-reminders`` on the given day (08:00 there); answers the CLI's result."""

    def run(day: date | None = None, at: time = time(8)):
        if day is not None:
            travel(day, at)
        return invoke(sending)

    return run


def invoke(app):
    """``flask send-reminders`` of ``app`` (a command runs in the app context it finds)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["send-reminders"])


def log_url(log) -> str:
    return f"{BASE_URL}/logs/{log.id}"


def test_a_log_ignored_for_a_week_reaches_the_heads_and_after_two_weeks_the_admins(
    college, make_log, day0, run, smtp_server
):
    log = make_log(college.teacher, "submitted")  # college.expert is to verify it

    result = run(day0 + timedelta(days=1))
    assert result.exit_code == 0, result.output
    assert "1 digests sent" in result.output
    [digest] = smtp_server.wait_for(1)
    assert digest.to == [college.expert.email]
    assert digest.subject == "Exchange: 1 log waits for you"
    assert "To verify (1):" in digest.text
    assert "Li Na" in digest.text
    assert "waiting 1 day" in digest.text
    assert log_url(log) in digest.text

    # Seven days: not longer than EXCHANGE_ESCALATE_DAYS yet.
    smtp_server.clear()
    run(day0 + timedelta(days=7))
    assert [m.to for m in smtp_server.wait_for(1)] == [[college.expert.email]]

    # A week and a day: the department's heads hear of it, the other department's not.
    smtp_server.clear()
    result = run(day0 + timedelta(days=8))
    assert result.exit_code == 0, result.output
    received = {m.to[0]: m for m in smtp_server.wait_for(3)}
    assert set(received) == {college.expert.email, college.head.email, college.other_head.email}
    escalation = received[college.head.email]
    assert "Waiting longer than 7 days (1):" in escalation.text
    assert "waits for verification by Chen Hao" in escalation.text
    assert "waiting 8 days" in escalation.text
    assert log_url(log) in escalation.text
    assert "To verify" not in escalation.text

    # Longer than twice that: the administrators too.
    smtp_server.clear()
    run(day0 + timedelta(days=15))
    received = {m.to[0]: m for m in smtp_server.wait_for(4)}
    assert set(received) == {
        college.expert.email,
        college.head.email,
        college.other_head.email,
        college.admin.email,
    }
    assert "Waiting longer than 7 days (1):" in received[college.admin.email].text
    assert not smtp_server.to(college.foreign_head.email)
    assert not smtp_server.to(college.teacher.email)  # the owner is not told of it


def test_heads_get_one_digest_with_what_to_approve_and_what_waits_too_long(
    college, make_log, day0, travel, run, smtp_server
):
    late = make_log(college.teacher, "submitted")
    travel(day0 + timedelta(days=8))
    fresh = make_log(college.other_teacher, "verified")

    result = run(day0 + timedelta(days=9))
    assert result.exit_code == 0, result.output
    received = {m.to[0]: m for m in smtp_server.wait_for(3)}
    assert set(received) == {college.expert.email, college.head.email, college.other_head.email}
    assert len(smtp_server.to(college.head.email)) == 1  # one message with both lists
    digest = received[college.head.email]
    assert digest.subject == "Exchange: 2 logs wait for you"
    text = digest.text
    assert "To approve (1):" in text
    assert log_url(fresh) in text
    assert "Waiting longer than 7 days (1):" in text
    assert log_url(late) in text
    assert f"{BASE_URL}/logs/approve" in text
    assert text.index(log_url(fresh)) < text.index(log_url(late))  # sections in order


def test_running_twice_a_day_sends_nothing_new_and_the_next_day_sends_again(
    college, make_log, day0, run, smtp_server
):
    make_log(college.teacher, "submitted")
    make_log(college.teacher, "verified")

    first = run(day0 + timedelta(days=1), time(6))
    assert first.exit_code == 0, first.output
    assert "3 digests sent, 0 skipped" in first.output  # the expert and both heads
    smtp_server.wait_for(3)

    again = run(day0 + timedelta(days=1), time(18))
    assert again.exit_code == 0, again.output
    assert "0 digests sent, 3 skipped (3 already sent today, 0 turned off), 0 failed." in (
        again.output
    )
    assert len(smtp_server.messages) == 3

    # Just after midnight in the college (not in UTC): another day, another digest.
    smtp_server.clear()
    next_day = run(day0 + timedelta(days=2), time(0, 5))
    assert "3 digests sent" in next_day.output
    assert len(smtp_server.wait_for(3)) == 3
    assert db.session.query(DigestSent).count() == 6


def test_a_chinese_recipient_gets_the_digest_in_chinese(
    college, make_log, make_user, day0, run, smtp_server
):
    college.expert.locale = "zh_Hans"
    db.session.commit()
    log = make_log(college.teacher, "submitted")

    run(day0 + timedelta(days=3))
    [digest] = smtp_server.wait_for(1)
    assert digest.header("Content-Language") == "zh-Hans"
    assert digest.subject == "Exchange：有 1 条记录等待您处理"
    assert "待核实（1）" in digest.text
    assert "已等待 3 天" in digest.text
    assert log_url(log) in digest.text
    assert "To verify" not in digest.text


def test_links_use_the_configured_base_url(college, make_log, make_app, day0, travel, smtp_server):
    other = make_app(
        **smtp_server.settings, EXCHANGE_BASE_URL="https://college.example.org/exchange"
    )
    log = make_log(college.teacher, "submitted")
    travel(day0 + timedelta(days=1))
    invoke(other)
    [digest] = smtp_server.wait_for(1)
    assert f"https://college.example.org/exchange/logs/{log.id}" in digest.text
    assert "https://college.example.org/exchange/logs/verify" in digest.text
    assert "https://college.example.org/exchange/account" in digest.text
    assert "localhost" not in digest.text


def test_people_who_turned_digests_off_and_inactive_people_get_nothing(
    college, make_log, make_user, day0, run, smtp_server
):
    make_log(college.teacher, "submitted")  # for college.expert
    make_log(college.teacher, "submitted", verifier=college.other_expert)
    college.expert.email_digest = False
    college.other_expert.active = False
    db.session.commit()

    result = run(day0 + timedelta(days=2))
    assert result.exit_code == 0, result.output
    assert "0 digests sent, 1 skipped (0 already sent today, 1 turned off), 0 failed." in (
        result.output
    )
    assert smtp_server.messages == []
    assert db.session.query(DigestSent).count() == 0

    # The inactive verifier's log is still escalated to the heads, who can name another.
    result = run(day0 + timedelta(days=8))
    received = {m.to[0]: m for m in smtp_server.wait_for(2)}
    assert set(received) == {college.head.email, college.other_head.email}
    assert "Waiting longer than 7 days (2):" in received[college.head.email].text


def test_old_drafts_remind_their_owner_and_deleted_drafts_never_appear(
    college, make_log, day0, travel, run, smtp_server
):
    old = make_log(college.teacher, "draft", description="An old draft")
    deleted = make_log(college.teacher, "draft", description="A deleted draft")
    log_services.delete_log(college.teacher, deleted)
    db.session.commit()

    result = run(day0 + timedelta(days=14))
    assert "0 digests sent" in result.output  # 14 days: not older than that yet

    newer_day = day0 + timedelta(days=5)
    travel(newer_day)
    newer = make_log(college.teacher, "draft", work_date=newer_day, description="A new draft")

    result = run(day0 + timedelta(days=15))
    assert result.exit_code == 0, result.output
    [digest] = smtp_server.wait_for(1)
    assert digest.to == [college.teacher.email]
    assert "Your drafts not submitted for more than 14 days (1):" in digest.text
    assert log_url(old) in digest.text
    assert log_url(deleted) not in digest.text
    assert log_url(newer) not in digest.text
    assert f"{BASE_URL}/logs/" in digest.text


def test_one_refused_address_does_not_stop_the_others_and_is_retried(
    college, make_log, day0, run, smtp_server
):
    make_log(college.teacher, "submitted")  # for college.expert
    make_log(college.teacher, "submitted", verifier=college.other_expert)
    smtp_server.refused.add(college.expert.email)

    result = run(day0 + timedelta(days=1))
    assert result.exit_code == 1
    assert f"Could not send the digest to {college.expert.email}: SMTPRecipientsRefused" in (
        result.output
    )
    assert "1 digests sent, 0 skipped (0 already sent today, 0 turned off), 1 failed." in (
        result.output
    )
    assert [m.to for m in smtp_server.wait_for(1)] == [[college.other_expert.email]]
    # Not recorded as sent: the next run (the mailbox fixed) sends it, and only it.
    smtp_server.refused.clear()
    retry = run(day0 + timedelta(days=1), time(9))
    assert retry.exit_code == 0, retry.output
    assert "1 digests sent, 1 skipped (1 already sent today, 0 turned off), 0 failed." in (
        retry.output
    )
    assert [m.to for m in smtp_server.wait_for(2)] == [
        [college.other_expert.email],
        [college.expert.email],
    ]


def test_two_runs_started_at_the_same_moment_send_each_digest_once(
    college, make_log, day0, travel, sending, smtp_server
):
    make_log(college.teacher, "submitted")
    travel(day0 + timedelta(days=1))
    with sending.app_context():
        first, second = reminders.plan_reminders(), reminders.plan_reminders()
        assert len(first.outgoing) == len(second.outgoing) == 1  # both would send it
        reminders.claim(first)
        db.session.commit()
        with pytest.raises(IntegrityError):
            reminders.claim(second)
        db.session.rollback()
        assert len(reminders.send_digests(first).sent) == 1
    assert len(smtp_server.wait_for(1)) == 1


def test_a_mail_server_that_is_down_fails_every_digest_and_sends_them_later(
    college, make_log, make_app, day0, travel, smtp_server
):
    make_log(college.teacher, "submitted")
    down = make_app(**{**smtp_server.settings, "MAIL_PORT": 1}, EXCHANGE_BASE_URL=BASE_URL)
    travel(day0 + timedelta(days=1))
    result = invoke(down)
    assert result.exit_code == 1
    assert "0 digests sent, 0 skipped (0 already sent today, 0 turned off), 1 failed." in (
        result.output
    )
    assert db.session.query(DigestSent).count() == 0


def test_without_a_mail_server_digests_are_written_to_the_outbox(
    app, college, make_log, day0, travel
):
    outbox = Path(app.instance_path) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    log = make_log(college.teacher, "submitted")
    travel(day0 + timedelta(days=1))
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    [written] = set(outbox.glob("*.eml")) - before
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert college.expert.email in str(message["To"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"/logs/{log.id}" in body


def test_nothing_waiting_sends_nothing_and_exits_zero(college, run, smtp_server):
    result = run()
    assert result.exit_code == 0, result.output
    assert "0 digests sent, 0 skipped (0 already sent today, 0 turned off), 0 failed." in (
        result.output
    )
    assert smtp_server.messages == []


def test_logs_of_a_locked_period_wait_for_nobody(college, make_log, day0, run, smtp_server):
    make_log(college.teacher, "submitted")
    college.period.state = "locked"
    db.session.commit()
    result = run(day0 + timedelta(days=20))
    assert "0 digests sent" in result.output
    assert smtp_server.messages == []


def _waiting_work(college, make_user, make_log, people: int) -> None:
    """``people`` teachers, each with a submitted log for its own expert, a verified log
    and an old draft."""
    for _ in range(people):
        teacher = make_user("teacher", department=college.department)
        expert = make_user("expert", enterprise=college.enterprise)
        make_log(teacher, "submitted", verifier=expert)
        make_log(teacher, "verified", verifier=expert)
        make_log(teacher, "draft")


def test_the_job_runs_the_same_statements_for_few_or_many_logs_and_people(
    college, make_user, make_log, day0, travel, sending, smtp_server
):
    def statements() -> int:
        with sending.app_context(), sql_statements() as seen:
            result = invoke(sending)
        assert result.exit_code == 0, result.output
        return len(seen)

    _waiting_work(college, make_user, make_log, people=1)
    travel(day0 + timedelta(days=20))
    small = statements()
    sent = len(smtp_server.messages)

    travel(day0)  # the logs are made on a day of the period
    _waiting_work(college, make_user, make_log, people=6)
    travel(day0 + timedelta(days=21))
    smtp_server.clear()
    large = statements()
    assert len(smtp_server.messages) > 2 * sent  # many more digests went out
    assert large == small


def test_the_job_reads_the_waiting_logs_through_the_status_index(college, make_log, app_ctx):
    make_log(college.teacher, "submitted")
    add_logs(college, 3000)
    with sent_sql() as sent:
        reminders.plan_reminders()
    assert_indexed(sent, "the waiting logs")
    # Since when each log waits is a column of the log: the trail is not read.
    assert not [s for s, _p in sent if "log_event" in s]


# --- the choice in the account settings -------------------------------------------------


def test_the_account_page_offers_the_digest_on_by_default_and_turns_it_off_and_on(
    client, college, make_log, day0, login_as, run, smtp_server
):
    login_as(college.expert)
    page = FormPage(client.get("/account").get_data(as_text=True))
    assert page.values["email_digest"] is True
    assert '<label for="email_digest">E-mail me a daily digest</label>' in page.html

    # An unticked box is not sent at all.
    response = client.post("/account", data={}, follow_redirects=True)
    assert "You will get no daily digest any more." in response.get_data(as_text=True)
    assert FormPage(client.get("/account").get_data(as_text=True)).values["email_digest"] is False
    make_log(college.teacher, "submitted")
    result = run(day0 + timedelta(days=1))
    assert "1 turned off" in result.output
    assert smtp_server.messages == []

    client.post("/account", data={"email_digest": "y"})
    result = run(day0 + timedelta(days=1), time(10))
    assert "1 digests sent" in result.output
    assert [m.to for m in smtp_server.wait_for(1)] == [[college.expert.email]]


def test_the_digest_choice_changes_only_the_signed_in_persons_own(
    client, college, login_as, app_ctx
):
    response = client.post("/account", data={})  # signed out
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    db.session.refresh(college.expert)
    assert college.expert.email_digest is True

    login_as(college.teacher)
    client.post("/account", data={"user_id": str(college.expert.id), "id": str(college.expert.id)})
    db.session.refresh(college.expert)
    db.session.refresh(college.teacher)
    assert college.expert.email_digest is True
    assert college.teacher.email_digest is False
