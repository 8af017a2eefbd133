"""Who may do what to an exchange log, through the services (SPEC §1, §3).

The pure table is tested in tests/unit/test_workflow.py; here the services are
held to it with real people: the relation of each person to a log is worked out
from the database, refusals become PermissionDenied (403), NotFound (404),
Conflict (409) or ValidationError (422), and every step leaves its audit entry.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from exchange.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.logs.services import LinkExpired, LinkInvalid, LinkUsed, LogInput, OnsiteDecision
from exchange.logs.workflow import Action
from exchange.timeutil import college_today

SUBMIT, WITHDRAW, VERIFY = Action.SUBMIT, Action.WITHDRAW, Action.VERIFY
REJECT, APPROVE, REVOKE = Action.REJECT, Action.APPROVE, Action.REVOKE


# --- helpers ------------------------------------------------------------------------


def edit_input(college, **fields) -> LogInput:
    values = {
        "work_date": college_today(),
        "hours": "3",
        "category": "technical_training",
        "description": "Edited: trained on the new ultrasound machine",
        "enterprise_id": college.enterprise.id,
        "verifier_id": college.expert.id,
    }
    values.update(fields)
    return LogInput(**values)


def act(actor, log, action, reason=None) -> ExchangeLog:
    log = services.transition(actor, log, action, reason)
    db.session.commit()
    return log


def trail(log_id: int) -> list[LogEvent]:
    return list(
        db.session.execute(
            select(LogEvent).where(LogEvent.log_id == log_id).order_by(LogEvent.id)
        ).scalars()
    )


def snapshot(log: ExchangeLog) -> tuple:
    """What must stay the same when a step is refused."""
    db.session.rollback()
    db.session.expire_all()
    fresh = db.session.get(ExchangeLog, log.id)
    return (
        fresh.status,
        fresh.version,
        fresh.minutes,
        fresh.confirmation_nonce,
        len(trail(log.id)),
    )


def refused(error: type[Exception], log: ExchangeLog, call) -> Exception:
    """``call`` raises ``error`` and leaves the log and its trail as they were."""
    before = snapshot(log)
    with pytest.raises(error) as info:
        call()
    assert snapshot(log) == before
    return info.value


def person(college, who: str):
    return getattr(college, who)


# --- edit -----------------------------------------------------------------------------


def test_the_owner_edits_a_draft(college, make_log):
    log = make_log()
    services.update_log(college.teacher, log, edit_input(college))
    db.session.commit()
    assert (log.status, log.minutes, log.category) == ("draft", 180, "technical_training")
    last = trail(log.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.actor_id) == (
        "edit",
        "draft",
        "draft",
        college.teacher.id,
    )


def test_editing_a_rejected_log_puts_it_back_to_draft(college, make_log):
    log = make_log(status="rejected")
    services.update_log(college.teacher, log, edit_input(college))
    db.session.commit()
    assert log.status == "draft"
    last = trail(log.id)[-1]
    assert (last.action, last.from_status, last.to_status) == ("edit", "rejected", "draft")
    act(college.teacher, log, SUBMIT)
    assert log.status == "submitted"


@pytest.mark.parametrize(
    "who", ["other_teacher", "head", "other_head", "expert", "other_expert", "admin"]
)
@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_only_the_owner_edits(college, make_log, who, status):
    log = make_log(status=status)
    refused(
        PermissionDenied,
        log,
        lambda: services.update_log(person(college, who), log, edit_input(college)),
    )


def test_a_head_of_another_department_does_not_even_see_the_log(college, make_log):
    log = make_log()
    with pytest.raises(NotFound):
        services.get_log(college.foreign_head, log.id)
    refused(
        PermissionDenied,
        log,
        lambda: services.update_log(college.foreign_head, log, edit_input(college)),
    )


@pytest.mark.parametrize("status", ["submitted", "verified", "approved", "revoked"])
def test_the_owner_edits_only_drafts_and_rejected_logs(college, make_log, status):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.update_log(college.teacher, log, edit_input(college)))


# --- submit, withdraw, delete ---------------------------------------------------------


def test_the_owner_submits_and_withdraws(college, make_log):
    log = make_log()
    act(college.teacher, log, SUBMIT)
    assert log.status == "submitted"
    act(college.teacher, log, WITHDRAW)
    assert log.status == "draft"
    assert [e.action for e in trail(log.id)] == ["create", "submit", "withdraw"]


@pytest.mark.parametrize(
    "who",
    ["other_teacher", "head", "other_head", "expert", "other_expert", "admin", "foreign_head"],
)
def test_only_the_owner_submits(college, make_log, who):
    log = make_log()
    refused(PermissionDenied, log, lambda: services.transition(person(college, who), log, SUBMIT))


@pytest.mark.parametrize(
    "who", ["other_teacher", "head", "other_head", "expert", "other_expert", "admin"]
)
def test_only_the_owner_withdraws(college, make_log, who):
    log = make_log(status="submitted")
    refused(PermissionDenied, log, lambda: services.transition(person(college, who), log, WITHDRAW))


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("submitted", SUBMIT),
        ("verified", SUBMIT),
        ("draft", WITHDRAW),
        ("verified", WITHDRAW),
        ("approved", WITHDRAW),
        ("rejected", WITHDRAW),
    ],
)
def test_submit_and_withdraw_only_from_their_state(college, make_log, status, action):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.transition(college.teacher, log, action))


def test_the_owner_deletes_a_draft_and_its_trail_stays(college, make_log):
    log = make_log()
    log_id = log.id
    services.delete_log(college.teacher, log)
    db.session.commit()
    db.session.expunge(log)
    # Gone for everybody, the owner included ...
    assert db.session.get(ExchangeLog, log_id) is None
    with pytest.raises(NotFound):
        services.get_log(college.teacher, log_id)
    # ... but its trail keeps it: created, then deleted by its owner.
    assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in trail(log_id)] == [
        ("create", None, "draft", college.teacher.id),
        ("delete", "draft", "draft", college.teacher.id),
    ]


def test_a_withdrawn_log_can_be_deleted(college, make_log):
    log = make_log(status="submitted")
    act(college.teacher, log, WITHDRAW)
    log_id = log.id
    services.delete_log(college.teacher, log)
    db.session.commit()
    db.session.expunge(log)
    assert db.session.get(ExchangeLog, log_id) is None
    assert [e.action for e in trail(log_id)] == ["create", "submit", "withdraw", "delete"]


@pytest.mark.parametrize(
    "who", ["other_teacher", "head", "other_head", "expert", "admin", "foreign_head"]
)
def test_only_the_owner_deletes(college, make_log, who):
    log = make_log()
    refused(PermissionDenied, log, lambda: services.delete_log(person(college, who), log))


@pytest.mark.parametrize("status", ["submitted", "verified", "approved", "rejected", "revoked"])
def test_only_drafts_are_deleted(college, make_log, status):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.delete_log(college.teacher, log))


# --- verify and reject a submitted log ----------------------------------------------------


def test_the_named_verifier_verifies(college, make_log):
    log = make_log(status="submitted")
    assert services.get_log(college.expert, log.id) is log
    act(college.expert, log, VERIFY)
    assert log.status == "verified"


def test_the_named_verifier_rejects_with_a_reason(college, make_log):
    log = make_log(status="submitted")
    act(college.expert, log, REJECT, "  Was not on the ward that day  ")
    assert log.status == "rejected"
    last = trail(log.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "reject",
        "submitted",
        "rejected",
        "Was not on the ward that day",
    )


@pytest.mark.parametrize("action", [VERIFY, REJECT])
@pytest.mark.parametrize(
    "who", ["other_expert", "foreign_expert", "head", "other_head", "admin", "teacher"]
)
def test_only_the_named_verifier_verifies_or_rejects(college, make_log, action, who):
    log = make_log(status="submitted")
    refused(
        PermissionDenied,
        log,
        lambda: services.transition(person(college, who), log, action, "No"),
    )


def test_another_expert_of_the_same_enterprise_does_not_see_the_log(college, make_log):
    log = make_log(status="submitted")
    with pytest.raises(NotFound):
        services.get_log(college.other_expert, log.id)


def test_the_owner_cannot_verify_their_own_log(college, make_log):
    log = make_log(status="submitted")
    # Even if the owner's id had slipped into verifier_id (the services refuse to
    # store this), the workflow refuses self-verification.
    db.session.execute(
        update(ExchangeLog).where(ExchangeLog.id == log.id).values(verifier_id=college.teacher.id)
    )
    db.session.commit()
    db.session.expire_all()
    log = db.session.get(ExchangeLog, log.id)
    error = refused(
        PermissionDenied, log, lambda: services.transition(college.teacher, log, VERIFY)
    )
    assert "own" in str(error.message)


@pytest.mark.parametrize("status", ["draft", "verified", "approved", "rejected", "revoked"])
def test_the_verifier_verifies_only_submitted_logs(college, make_log, status):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.transition(college.expert, log, VERIFY))


def test_a_teaching_log_is_verified_by_its_host_teacher(college, make_log):
    log = make_log(owner=college.expert, status="submitted")
    assert log.verifier_id == college.other_teacher.id
    refused(PermissionDenied, log, lambda: services.transition(college.teacher, log, VERIFY))
    act(college.other_teacher, log, VERIFY)
    assert log.status == "verified"


# --- approve and reject a verified log -----------------------------------------------------


@pytest.mark.parametrize("who", ["head", "other_head", "admin"])
def test_heads_of_the_department_and_admins_approve(college, make_log, who):
    log = make_log(status="verified")
    act(person(college, who), log, APPROVE)
    assert log.status == "approved"
    last = trail(log.id)[-1]
    assert (last.action, last.actor_id) == ("approve", person(college, who).id)


@pytest.mark.parametrize("who", ["head", "admin"])
def test_heads_and_admins_reject_a_verified_log(college, make_log, who):
    log = make_log(status="verified")
    act(person(college, who), log, REJECT, "Hours do not match the rota")
    assert log.status == "rejected"


@pytest.mark.parametrize("action", [APPROVE, REJECT])
def test_a_head_of_another_department_cannot_approve_or_reject(college, make_log, action):
    log = make_log(status="verified")
    with pytest.raises(NotFound):
        services.get_log(college.foreign_head, log.id)
    refused(
        PermissionDenied,
        log,
        lambda: services.transition(college.foreign_head, log, action, "No"),
    )


@pytest.mark.parametrize("who", ["teacher", "other_teacher", "expert", "other_expert"])
def test_teachers_and_experts_cannot_approve(college, make_log, who):
    log = make_log(status="verified")
    refused(PermissionDenied, log, lambda: services.transition(person(college, who), log, APPROVE))


def test_a_head_cannot_approve_their_own_log_but_the_other_head_can(college, make_log):
    log = make_log(owner=college.head, status="verified")
    error = refused(PermissionDenied, log, lambda: services.transition(college.head, log, APPROVE))
    assert "own" in str(error.message)
    refused(PermissionDenied, log, lambda: services.transition(college.head, log, REJECT, "Oops"))
    act(college.other_head, log, APPROVE)
    assert log.status == "approved"


def test_a_heads_own_log_is_approved_by_an_admin(college, make_log):
    log = make_log(owner=college.head, status="verified")
    act(college.admin, log, APPROVE)
    assert log.status == "approved"


def test_a_teaching_log_is_approved_in_the_department_where_it_was_taught(
    college, make_log, make_user
):
    host = make_user("teacher", department=college.other_department)
    log = make_log(
        owner=college.expert,
        status="verified",
        department_id=college.other_department.id,
        verifier=host,
    )
    refused(PermissionDenied, log, lambda: services.transition(college.head, log, APPROVE))
    act(college.foreign_head, log, APPROVE)
    assert log.status == "approved"


@pytest.mark.parametrize("status", ["draft", "submitted", "approved", "rejected", "revoked"])
def test_approve_only_a_verified_log(college, make_log, status):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.transition(college.head, log, APPROVE))


def test_the_admin_revokes_an_approved_log(college, make_log):
    log = make_log(status="approved")
    act(college.admin, log, REVOKE, "Counted twice")
    assert log.status == "revoked"
    last = trail(log.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason, last.actor_id) == (
        "revoke",
        "approved",
        "revoked",
        "Counted twice",
        college.admin.id,
    )


@pytest.mark.parametrize("who", ["head", "other_head", "teacher", "expert"])
def test_only_an_admin_revokes(college, make_log, who):
    log = make_log(status="approved")
    refused(
        PermissionDenied,
        log,
        lambda: services.transition(person(college, who), log, REVOKE, "Counted twice"),
    )


# --- reasons ----------------------------------------------------------------------------

REASONED = [
    pytest.param("submitted", "expert", REJECT, id="verifier-rejects"),
    pytest.param("verified", "head", REJECT, id="head-rejects"),
    pytest.param("verified", "admin", REJECT, id="admin-rejects"),
    pytest.param("approved", "admin", REVOKE, id="admin-revokes"),
]


@pytest.mark.parametrize(("status", "who", "action"), REASONED)
@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t"])
def test_reject_and_revoke_need_a_reason(college, make_log, status, who, action, reason):
    log = make_log(status=status)
    error = refused(
        ValidationError,
        log,
        lambda: services.transition(person(college, who), log, action, reason),
    )
    assert set(error.fields) == {"reason"}


@pytest.mark.parametrize(("status", "who", "action"), REASONED)
def test_a_reason_of_more_than_500_characters_is_refused_not_cut(
    college, make_log, status, who, action
):
    log = make_log(status=status)
    error = refused(
        ValidationError,
        log,
        lambda: services.transition(person(college, who), log, action, "r" * 501),
    )
    assert set(error.fields) == {"reason"}


@pytest.mark.parametrize(("status", "who", "action"), REASONED)
@pytest.mark.parametrize("reason", ["r", "理" * 500, "r" * 500])
def test_reasons_of_one_to_500_characters(college, make_log, status, who, action, reason):
    log = make_log(status=status)
    act(person(college, who), log, action, reason)
    assert trail(log.id)[-1].reason == reason


# --- approved is final ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "call"),
    [
        ("teacher", lambda c, log: services.update_log(c.teacher, log, edit_input(c))),
        ("teacher", lambda c, log: services.delete_log(c.teacher, log)),
        ("teacher", lambda c, log: services.transition(c.teacher, log, SUBMIT)),
        ("teacher", lambda c, log: services.transition(c.teacher, log, WITHDRAW)),
        ("expert", lambda c, log: services.transition(c.expert, log, VERIFY)),
        ("head", lambda c, log: services.transition(c.head, log, REJECT, "Second thoughts")),
        ("head", lambda c, log: services.transition(c.head, log, APPROVE)),
        ("admin", lambda c, log: services.transition(c.admin, log, APPROVE)),
        ("admin", lambda c, log: services.transition(c.admin, log, REJECT, "Second thoughts")),
        ("teacher", lambda c, log: services.issue_confirmation_link(c.teacher, log)),
    ],
    ids=[
        "edit",
        "delete",
        "submit",
        "withdraw",
        "verify",
        "head-rejects",
        "head-approves-again",
        "admin-approves-again",
        "admin-rejects",
        "confirmation-link",
    ],
)
def test_approved_is_final(college, make_log, who, call):
    log = make_log(status="approved")
    refused(Conflict, log, lambda: call(college, log))


@pytest.mark.parametrize(
    ("who", "action", "error"),
    [
        ("teacher", SUBMIT, Conflict),
        ("teacher", WITHDRAW, Conflict),
        ("expert", VERIFY, Conflict),
        ("head", APPROVE, Conflict),
        ("head", REJECT, Conflict),
        ("admin", APPROVE, Conflict),
        ("admin", REJECT, Conflict),
        ("admin", REVOKE, Conflict),
        ("admin", SUBMIT, PermissionDenied),  # never an admin's step
    ],
)
def test_nothing_follows_a_revocation(college, make_log, who, action, error):
    log = make_log(status="revoked")
    refused(error, log, lambda: services.transition(person(college, who), log, action, "again"))
    refused(Conflict, log, lambda: services.update_log(college.teacher, log, edit_input(college)))


# --- a locked period ----------------------------------------------------------------------

LOCKED_STEPS = [
    ("draft", "teacher", lambda c, log: services.update_log(c.teacher, log, edit_input(c))),
    ("rejected", "teacher", lambda c, log: services.update_log(c.teacher, log, edit_input(c))),
    ("draft", "teacher", lambda c, log: services.delete_log(c.teacher, log)),
    ("draft", "teacher", lambda c, log: services.transition(c.teacher, log, SUBMIT)),
    ("submitted", "teacher", lambda c, log: services.transition(c.teacher, log, WITHDRAW)),
    ("submitted", "expert", lambda c, log: services.transition(c.expert, log, VERIFY)),
    ("submitted", "expert", lambda c, log: services.transition(c.expert, log, REJECT, "No")),
    ("verified", "head", lambda c, log: services.transition(c.head, log, APPROVE)),
    ("verified", "head", lambda c, log: services.transition(c.head, log, REJECT, "No")),
    ("verified", "admin", lambda c, log: services.transition(c.admin, log, APPROVE)),
    ("verified", "admin", lambda c, log: services.transition(c.admin, log, REJECT, "No")),
    ("approved", "admin", lambda c, log: services.transition(c.admin, log, REVOKE, "No")),
    ("submitted", "teacher", lambda c, log: services.issue_confirmation_link(c.teacher, log)),
]
LOCKED_IDS = [
    "edit-draft",
    "edit-rejected",
    "delete",
    "submit",
    "withdraw",
    "verify",
    "verifier-rejects",
    "head-approves",
    "head-rejects",
    "admin-approves",
    "admin-rejects",
    "revoke",
    "confirmation-link",
]


def lock(college) -> None:
    from exchange.org.services import lock_period

    lock_period(college.admin, college.period)
    db.session.commit()


@pytest.mark.parametrize(("status", "who", "call"), LOCKED_STEPS, ids=LOCKED_IDS)
def test_nothing_changes_in_a_locked_period(college, make_log, status, who, call):
    log = make_log(status=status)
    lock(college)
    refused(Conflict, log, lambda: call(college, log))


def test_bulk_approval_in_a_locked_period_approves_nothing(college, make_log):
    log = make_log(status="verified")
    lock(college)
    before = snapshot(log)
    [outcome] = services.bulk_approve(college.head, [log.id])
    db.session.commit()
    assert (outcome.ok, outcome.status) == (False, 409)
    assert snapshot(log) == before


def test_no_new_log_in_a_locked_period(college, make_log):
    lock(college)
    with pytest.raises(ValidationError) as info:
        services.create_log(college.teacher, edit_input(college))
    assert set(info.value.fields) == {"date"}


def test_an_on_site_link_stops_working_when_the_period_is_locked(college, make_log):
    log = make_log(status="submitted")
    token, _ = services.issue_confirmation_link(college.teacher, log)
    db.session.commit()
    lock(college)
    refused(
        Conflict,
        log,
        lambda: services.confirm_onsite(token, OnsiteDecision("Dr. Wu", "Ward head", True)),
    )


# --- the audit trail ------------------------------------------------------------------------

# Paths through the workflow: (action, who, reason) in order.
PATHS = {
    "approve-and-revoke": [
        (SUBMIT, "teacher", None),
        (VERIFY, "expert", None),
        (APPROVE, "head", None),
        (REVOKE, "admin", "Counted twice"),
    ],
    "rejections-and-withdrawal": [
        (SUBMIT, "teacher", None),
        (REJECT, "expert", "Not on the rota"),
        ("edit", "teacher", None),
        (SUBMIT, "teacher", None),
        (WITHDRAW, "teacher", None),
        (SUBMIT, "teacher", None),
        (VERIFY, "expert", None),
        (REJECT, "admin", "Wrong enterprise"),
        ("edit", "teacher", None),
        (SUBMIT, "teacher", None),
        (VERIFY, "expert", None),
        (APPROVE, "admin", None),
    ],
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_step_writes_exactly_one_audit_entry(college, make_log, path):
    log = make_log()
    for action, who, reason in PATHS[path]:
        actor = person(college, who)
        before_status, before = log.status, len(trail(log.id))
        started = datetime.now(UTC)
        if action == "edit":
            services.update_log(actor, log, edit_input(college))
            db.session.commit()
        else:
            act(actor, log, action, reason)
        entries = trail(log.id)
        assert len(entries) == before + 1
        last = entries[-1]
        assert last.action == str(action)
        assert (last.from_status, last.to_status) == (before_status, log.status)
        assert (last.actor_id, last.actor_name) == (actor.id, actor.name)
        assert last.reason == reason
        assert last.at.tzinfo is not None
        assert started - timedelta(seconds=5) <= last.at <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_refused_step_writes_no_audit_entry(college, make_log):
    log = make_log(status="submitted")
    refused(PermissionDenied, log, lambda: services.transition(college.head, log, VERIFY))
    refused(ValidationError, log, lambda: services.transition(college.expert, log, REJECT, ""))
    assert [e.action for e in trail(log.id)] == ["create", "submit"]


# --- on-site confirmation -----------------------------------------------------------------

CONFIRM = OnsiteDecision(name="Wu Lan", job_title="Ward sister", confirm=True)


def issue(college, log) -> str:
    token, _ = services.issue_confirmation_link(college.teacher, log)
    db.session.commit()
    return token


@pytest.fixture
def onsite_log(college, make_log):
    """A submitted log without a named verifier: it waits for on-site confirmation."""
    log = make_log(status="draft", verifier_id=None)
    act(college.teacher, log, SUBMIT)
    return log


def test_on_site_confirmation_verifies_and_records_the_typed_name(college, onsite_log):
    token, expires_at = services.issue_confirmation_link(college.teacher, onsite_log)
    db.session.commit()
    week = datetime.now(UTC) + timedelta(days=7)
    assert week - timedelta(minutes=1) <= expires_at <= week + timedelta(minutes=1)
    assert services.log_for_confirmation(token).id == onsite_log.id

    services.confirm_onsite(token, CONFIRM)
    db.session.commit()
    db.session.refresh(onsite_log)
    assert onsite_log.status == "verified"
    assert onsite_log.confirmation_nonce is None
    last = trail(onsite_log.id)[-1]
    assert last.actor_id is None
    assert "Wu Lan" in last.actor_name
    assert "Ward sister" in last.actor_name
    assert (last.action, last.from_status, last.to_status) == ("verify", "submitted", "verified")
    # The log goes on to its approval like any other.
    act(college.head, onsite_log, APPROVE)
    assert onsite_log.status == "approved"


def test_on_site_rejection_needs_a_reason_and_records_it(college, onsite_log):
    token = issue(college, onsite_log)
    decision = OnsiteDecision("Wu Lan", "Ward sister", confirm=False, reason="")
    error = refused(ValidationError, onsite_log, lambda: services.confirm_onsite(token, decision))
    assert "reason" in error.fields
    # A refused answer does not use the link up.
    decision = OnsiteDecision("Wu Lan", "Ward sister", confirm=False, reason=" Never saw her ")
    services.confirm_onsite(token, decision)
    db.session.commit()
    db.session.refresh(onsite_log)
    assert onsite_log.status == "rejected"
    last = trail(onsite_log.id)[-1]
    assert (last.action, last.reason, last.actor_id) == ("reject", "Never saw her", None)


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (OnsiteDecision("", "Ward sister", True), "name"),
        (OnsiteDecision("   ", "Ward sister", True), "name"),
        (OnsiteDecision("Wu Lan", "", True), "job_title"),
        (OnsiteDecision("W" * 121, "Ward sister", True), "name"),
        (OnsiteDecision("Wu Lan", "Ward sister", False, "r" * 501), "reason"),
    ],
)
def test_the_confirmer_must_say_who_they_are(college, onsite_log, decision, field):
    token = issue(college, onsite_log)
    error = refused(ValidationError, onsite_log, lambda: services.confirm_onsite(token, decision))
    assert field in error.fields
    assert services.log_for_confirmation(token).id == onsite_log.id


def test_a_used_link_does_not_work_again(college, onsite_log):
    token = issue(college, onsite_log)
    services.confirm_onsite(token, CONFIRM)
    db.session.commit()
    with pytest.raises(LinkUsed):
        services.log_for_confirmation(token)
    refused(LinkUsed, onsite_log, lambda: services.confirm_onsite(token, CONFIRM))
    assert [e.action for e in trail(onsite_log.id)].count("verify") == 1


def _issued_at(monkeypatch, moment: float) -> None:
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(moment))


def test_a_link_is_valid_for_seven_days(college, onsite_log, monkeypatch):
    with monkeypatch.context() as m:
        _issued_at(m, time.time() - 7 * 24 * 3600 + 60)
        token = issue(college, onsite_log)
    assert services.log_for_confirmation(token).id == onsite_log.id
    services.confirm_onsite(token, CONFIRM)
    db.session.commit()


def test_an_expired_link_is_refused(college, onsite_log, monkeypatch):
    with monkeypatch.context() as m:
        _issued_at(m, time.time() - 7 * 24 * 3600 - 1)
        token = issue(college, onsite_log)
    with pytest.raises(LinkExpired):
        services.log_for_confirmation(token)
    refused(LinkExpired, onsite_log, lambda: services.confirm_onsite(token, CONFIRM))


def _tampered(token: str) -> str:
    """One character of the signature changed: the first, which carries six bits of it
    (the last base64 character is partly padding, so changing it may change nothing)."""
    payload, _, signature = token.rpartition(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{payload}.{first}{signature[1:]}"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_tampered, id="signature-changed"),
        pytest.param(lambda t: "x" + t, id="payload-changed"),
        pytest.param(lambda t: t.split(".")[0], id="signature-removed"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(
            lambda t: URLSafeTimedSerializer(
                "another-secret", salt=services.CONFIRMATION_SALT
            ).dumps({"log": 1, "nonce": "0" * 32}),
            id="another-secret",
        ),
        pytest.param(
            lambda t: URLSafeTimedSerializer("test-secret", salt="another-salt").dumps({"log": 1}),
            id="another-salt",
        ),
    ],
)
def test_a_tampered_link_is_refused(college, onsite_log, forge):
    token = issue(college, onsite_log)
    forged = forge(token)
    with pytest.raises(LinkInvalid) as info:
        services.log_for_confirmation(forged)
    assert type(info.value) is LinkInvalid
    refused(LinkInvalid, onsite_log, lambda: services.confirm_onsite(forged, CONFIRM))
    # The real link still works.
    assert services.log_for_confirmation(token).id == onsite_log.id


@pytest.mark.parametrize(
    "claims", [{"log": "1"}, {"nonce": "x"}, ["log", 1], "log", {"log": 999_999, "nonce": "x"}]
)
def test_a_well_signed_token_with_wrong_claims_is_refused(app, college, onsite_log, claims):
    forged = services._serializer().dumps(claims)
    with pytest.raises(LinkInvalid) as info:
        services.log_for_confirmation(forged)
    assert type(info.value) is LinkInvalid


def test_a_guessed_nonce_is_refused(college, onsite_log):
    issue(college, onsite_log)
    forged = services._serializer().dumps({"log": onsite_log.id, "nonce": "0" * 32})
    with pytest.raises(LinkUsed):
        services.log_for_confirmation(forged)


def test_a_new_link_replaces_the_old_one(college, onsite_log):
    old = issue(college, onsite_log)
    new = issue(college, onsite_log)
    assert old != new
    refused(LinkUsed, onsite_log, lambda: services.confirm_onsite(old, CONFIRM))
    services.confirm_onsite(new, CONFIRM)
    db.session.commit()
    assert onsite_log.status == "verified"


def test_withdrawing_kills_the_link_for_good(college, onsite_log):
    token = issue(college, onsite_log)
    act(college.teacher, onsite_log, WITHDRAW)
    with pytest.raises(LinkUsed):
        services.log_for_confirmation(token)
    act(college.teacher, onsite_log, SUBMIT)
    refused(LinkUsed, onsite_log, lambda: services.confirm_onsite(token, CONFIRM))


def test_the_named_verifiers_decision_kills_the_link(college, make_log):
    log = make_log(status="submitted")
    token = issue(college, log)
    act(college.expert, log, VERIFY)
    refused(LinkUsed, log, lambda: services.confirm_onsite(token, CONFIRM))


@pytest.mark.parametrize("status", ["draft", "verified", "approved", "rejected", "revoked"])
def test_a_link_only_for_a_submitted_log(college, make_log, status):
    log = make_log(status=status)
    refused(Conflict, log, lambda: services.issue_confirmation_link(college.teacher, log))


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("expert", PermissionDenied),  # the named verifier sees the log but it is not theirs
        ("head", PermissionDenied),
        ("admin", PermissionDenied),
        ("other_teacher", NotFound),
        ("other_expert", NotFound),
        ("foreign_head", NotFound),
    ],
)
def test_only_the_owner_issues_a_link(college, make_log, who, error):
    log = make_log(status="submitted")
    refused(error, log, lambda: services.issue_confirmation_link(person(college, who), log))


# --- who sees a log --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("teacher", True),
        ("expert", True),
        ("head", True),
        ("other_head", True),
        ("admin", True),
        ("other_teacher", False),
        ("other_expert", False),
        ("foreign_expert", False),
        ("foreign_head", False),
    ],
)
def test_who_sees_a_log(college, make_log, who, sees):
    log = make_log(status="submitted")
    if sees:
        assert services.get_log(person(college, who), log.id).id == log.id
    else:
        with pytest.raises(NotFound):
            services.get_log(person(college, who), log.id)


def test_an_unknown_log_is_not_found(college):
    with pytest.raises(NotFound):
        services.get_log(college.admin, 999_999)


# --- bulk approval ------------------------------------------------------------------------------


def test_bulk_approval_answers_per_log(college, make_log):
    mine = make_log(status="verified")
    theirs = make_log(owner=college.other_teacher, status="verified")
    own = make_log(owner=college.head, status="verified")
    draft = make_log()
    outcomes = services.bulk_approve(
        college.head, [mine.id, theirs.id, own.id, draft.id, mine.id, 999_999]
    )
    db.session.commit()
    assert [(o.log_id, o.ok, o.status) for o in outcomes] == [
        (mine.id, True, 200),
        (theirs.id, True, 200),
        (own.id, False, 403),
        (draft.id, False, 409),
        (999_999, False, 404),
    ]
    db.session.expire_all()
    assert [db.session.get(ExchangeLog, i).status for i in (mine.id, theirs.id, own.id)] == [
        "approved",
        "approved",
        "verified",
    ]
    approvals = db.session.execute(
        select(func.count()).select_from(LogEvent).where(LogEvent.action == "approve")
    ).scalar_one()
    assert approvals == 2


def test_bulk_approval_of_another_departments_log_is_not_found(college, make_log):
    log = make_log(status="verified")
    [outcome] = services.bulk_approve(college.foreign_head, [log.id])
    assert (outcome.ok, outcome.status) == (False, 404)


def test_a_conflict_on_one_log_of_a_bulk_approval_keeps_the_others(app, college, make_log):
    """One log of the batch changed since it was read: only that one is refused.

    The approvals before it in the batch are reported as done, and must be done.
    """
    first = make_log(status="verified")
    changed = make_log(owner=college.other_teacher, status="verified")
    db.session.refresh(first)
    db.session.refresh(changed)  # read now, changed by someone else below
    with db.engine.begin() as other:
        other.execute(
            update(ExchangeLog.__table__)
            .where(ExchangeLog.__table__.c.id == changed.id)
            .values(status="approved", version=ExchangeLog.__table__.c.version + 1)
        )
    outcomes = services.bulk_approve(college.head, [first.id, changed.id])
    db.session.commit()
    assert [(o.log_id, o.ok, o.status) for o in outcomes] == [
        (first.id, True, 200),
        (changed.id, False, 409),
    ]
    db.session.expire_all()
    assert db.session.get(ExchangeLog, first.id).status == "approved"
    assert [e.action for e in trail(first.id)][-1] == "approve"
