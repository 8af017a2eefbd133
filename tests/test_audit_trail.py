"""Audit trails nobody can rewrite: log, award and account entries refuse UPDATE and
DELETE through the ORM and through plain SQL (the triggers of migration 0007), on
SQLite and PostgreSQL; a deleted draft stays as a tombstone with its trail, seen
only by administrators in the owner's history; awards keep a trail of their own."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from exchange.accounts.models import AccountEvent
from exchange.db import AppendOnlyViolation
from exchange.errors import NotFound
from exchange.extensions import db
from exchange.logs import queries as log_queries
from exchange.logs import services as log_services
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.logs.workflow import Action
from exchange.rewards import services as reward_services
from exchange.rewards.models import Award, AwardEvent
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import API

# --- entries to try to rewrite ------------------------------------------------------------


@pytest.fixture
def entries(college, make_log):
    """One entry of each trail: a log's, an award's (a teaching fee proposed by a head
    opening the round) and an account's."""
    make_log(college.expert, status="approved")
    reward_services.open_round(college.head, college.department.id, college.period.id)
    db.session.add(AccountEvent(user_id=college.teacher.id, actor_id=college.admin.id,
                                action="two_factor_reset"))  # fmt: skip
    db.session.commit()
    found = {
        model: db.session.execute(select(model).order_by(model.id).limit(1)).scalar_one()
        for model in (LogEvent, AwardEvent, AccountEvent)
    }
    return found


def _rows(model) -> list[tuple]:
    table = model.__table__
    return [tuple(row) for row in db.session.execute(select(table).order_by(table.c.id))]


TRAILS = [LogEvent, AwardEvent, AccountEvent]
ids = [model.__tablename__ for model in TRAILS]


@pytest.mark.parametrize("model", TRAILS, ids=ids)
def test_plain_sql_can_neither_change_nor_delete_an_entry(entries, model):
    table = model.__tablename__
    before = _rows(model)
    assert before
    for statement in (
        f"UPDATE {table} SET at = at WHERE id = :id",  # noqa: S608 - names from the models
        f"DELETE FROM {table} WHERE id = :id",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
    ):
        with pytest.raises(IntegrityError, match="append-only audit trail"):
            db.session.execute(text(statement), {"id": entries[model].id})
        db.session.rollback()
    assert _rows(model) == before


@pytest.mark.parametrize("model", TRAILS, ids=ids)
def test_the_orm_can_neither_change_nor_delete_an_entry(entries, model):
    before = _rows(model)
    entry = entries[model]

    entry.at = entry.at + timedelta(minutes=1)
    with pytest.raises(AppendOnlyViolation, match=f"{model.__tablename__} .*UPDATE refused"):
        db.session.flush()
    db.session.rollback()

    db.session.delete(entry)
    with pytest.raises(AppendOnlyViolation, match="DELETE refused"):
        db.session.flush()
    db.session.rollback()

    for statement in (
        update(model).where(model.id == entry.id).values(at=model.at),
        update(model).values(at=model.at).execution_options(synchronize_session=False),
        delete(model).where(model.id == entry.id),
        delete(model).execution_options(synchronize_session=False),
    ):
        with pytest.raises(AppendOnlyViolation):
            db.session.execute(statement)
        db.session.rollback()
    assert _rows(model) == before


def test_new_entries_are_still_written(entries, college, make_log):
    """Append-only, not read-only: the workflow goes on writing its trail."""
    log = make_log(status="approved")
    assert [e.action for e in log.events] == ["create", "submit", "verify", "approve"]
    assert db.session.execute(select(func.count()).select_from(AwardEvent)).scalar_one() == 1


# --- deleting a draft keeps its trail -------------------------------------------------------


def _text(response) -> str:
    return response.get_data(as_text=True)


def _deleted(client, sign_in, owner, log) -> int:
    """The owner deletes the draft through its page; its id."""
    log_id = log.id
    sign_in(owner)
    assert client.post(f"/logs/{log_id}/delete").status_code == 302
    db.session.expunge(log)
    return log_id


def test_a_deleted_draft_stays_as_a_tombstone_with_its_trail(client, college, sign_in, make_log):
    log = make_log(description="Deleted after all")
    log_id = _deleted(client, sign_in, college.teacher, log)
    # No ORM read sees it; the row is there, marked, with its trail.
    assert db.session.get(ExchangeLog, log_id) is None
    row = db.session.execute(
        text("SELECT deleted_at, deleted_by_id, status FROM exchange_log WHERE id = :id"),
        {"id": log_id},
    ).one()
    assert row.deleted_at is not None
    assert row.deleted_by_id == college.teacher.id
    assert row.status == "draft"
    actions = db.session.execute(
        select(LogEvent.action, LogEvent.actor_id).where(LogEvent.log_id == log_id)
    ).all()
    assert [tuple(a) for a in actions] == [
        ("create", college.teacher.id),
        ("delete", college.teacher.id),
    ]


def test_a_deleted_draft_is_gone_from_every_page_and_list(
    client, college, sign_in, make_log, api_token
):
    kept = make_log(description="Kept draft")
    gone = make_log(description="Deleted draft", hours="3")
    gone_id = _deleted(client, sign_in, college.teacher, gone)

    mine = _text(client.get("/logs/"))
    assert "Kept draft" in mine
    assert "Deleted draft" not in mine
    assert "1 log" in mine
    assert client.get(f"/logs/{gone_id}").status_code == 404
    assert client.get(f"/logs/{gone_id}/edit").status_code == 404
    headers = api_token(college.teacher)
    listed = client.get(f"{API}/logs", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [kept.id]
    assert listed["total"] == 1
    assert client.get(f"{API}/logs/{gone_id}", headers=headers).status_code == 404

    # Heads and administrators do not see it in the department's list either.
    for viewer in (college.head, college.admin):
        sign_in(viewer)
        page = _text(client.get("/logs/department"))
        assert "Kept draft" in page
        assert "Deleted draft" not in page
        assert client.get(f"/logs/{gone_id}").status_code == 404

    # The services' reads: lists, logs by id.
    for scope, actor in (("mine", college.teacher), ("department", college.admin)):
        found = db.session.execute(log_queries.logs_query(actor, scope)).scalars().all()
        assert [log.id for log in found] == [kept.id]
    assert set(log_queries.logs_by_id([kept.id, gone_id])) == {kept.id}


def test_deleting_again_another_persons_draft_or_a_submitted_log_answers_as_before(
    client, college, sign_in, make_log, api_token
):
    draft = make_log()
    sign_in(college.other_teacher)
    assert client.post(f"/logs/{draft.id}/delete").status_code == 404  # not theirs to see
    sign_in(college.head)
    assert client.post(f"/logs/{draft.id}/delete").status_code == 403  # seen, not theirs
    submitted = make_log(status="submitted", hours="1")
    sign_in(college.teacher)
    response = client.post(f"/logs/{submitted.id}/delete")
    assert response.headers["Location"] == f"/logs/{submitted.id}"  # refused: not a draft
    assert submitted.status == "submitted"

    draft_id = _deleted(client, sign_in, college.teacher, draft)
    assert client.post(f"/logs/{draft_id}/delete").status_code == 404
    headers = api_token(college.teacher)
    assert client.delete(f"{API}/logs/{draft_id}", headers=headers).status_code == 404
    # Only one deletion in its trail.
    actions = db.session.execute(
        select(LogEvent.action).where(LogEvent.log_id == draft_id).order_by(LogEvent.id)
    ).scalars()
    assert list(actions) == ["create", "delete"]


def test_a_deleted_draft_frees_its_hours_of_the_day(client, college, sign_in, make_log):
    today = college_today()
    gone = make_log(hours="10", work_date=today)
    _deleted(client, sign_in, college.teacher, gone)
    log, created = log_services.create_log(
        college.teacher,
        log_services.LogInput(
            work_date=today, hours="12", category="clinical", description="A full day",
            enterprise_id=college.enterprise.id, verifier_id=college.expert.id,
        ),
    )  # fmt: skip
    db.session.commit()
    assert created
    assert log.minutes == 720


def test_the_same_client_id_after_a_deletion_makes_a_new_log(client, college, api_token):
    headers = api_token(college.teacher)
    client_id = str(uuid.uuid4())
    body = {
        "kind": "practice",
        "date": college_today().isoformat(),
        "hours": 1.5,
        "category": "clinical",
        "description": "Sent from the phone",
        "enterprise_id": college.enterprise.id,
        "verifier_id": college.expert.id,
        "client_id": client_id,
    }
    first = client.post(f"{API}/logs", headers=headers, json=body)
    assert first.status_code == 201
    first_id = first.get_json()["id"]
    assert client.delete(f"{API}/logs/{first_id}", headers=headers).status_code == 204
    again = client.post(f"{API}/logs", headers=headers, json=body)
    assert again.status_code == 201
    assert again.get_json()["id"] != first_id
    assert again.get_json()["client_id"] == client_id
    # And once more: now the new log answers.
    third = client.post(f"{API}/logs", headers=headers, json=body)
    assert third.status_code == 200
    assert third.get_json()["id"] == again.get_json()["id"]


def test_the_log_form_does_not_start_from_a_deleted_draft(client, college, sign_in, make_log):
    gone = make_log(hours="3.5", category="management")
    _deleted(client, sign_in, college.teacher, gone)
    defaults = log_services.defaults_for(college.teacher)
    assert defaults.hours is None
    assert defaults.category is None


def test_a_head_does_not_find_a_visitor_through_a_deleted_draft(client, college, sign_in, make_log):
    """An expert known to the head only by a draft taught in the department: once the
    draft is deleted, the expert's name is not shown to the head any more."""
    gone = make_log(college.expert)
    sign_in(college.head)
    assert client.get(f"/logs/department?owner={college.expert.id}").status_code == 200
    _deleted(client, sign_in, college.expert, gone)
    sign_in(college.head)
    assert client.get(f"/logs/department?owner={college.expert.id}").status_code == 404
    with pytest.raises(NotFound):
        log_services.list_owner(college.head, college.expert.id)


def test_the_admin_sees_deleted_drafts_in_the_owners_history(client, college, sign_in, make_log):
    make_log(description="Still here")
    gone = make_log(description="Ward rounds, entered twice by mistake", hours="2.5")
    _deleted(client, sign_in, college.teacher, gone)

    sign_in(college.admin)
    # From the person's page in the administration to their logs ...
    user_page = _text(client.get(f"/admin/users/{college.teacher.id}"))
    assert f'href="/logs/department?owner={college.teacher.id}"' in user_page
    page = _text(client.get(f"/logs/department?owner={college.teacher.id}"))
    assert "Deleted drafts" in page
    section = page[page.index('id="deleted-drafts"') :]
    assert "Ward rounds, entered twice by mistake" in section
    assert "2.5 h" in section
    # Its trail: created and deleted, both by its owner.
    steps = re.findall(r"<strong>(\w+)</strong>\s*<span>by ([^<]+)</span>", section)
    assert steps == [("Created", "Li Na"), ("Deleted", "Li Na")]
    # The list above it is what everybody sees.
    listed = page[: page.index('id="deleted-drafts"')]
    assert "Still here" in listed
    assert "entered twice" not in listed

    # Nobody else sees them: not the owner, not a head of the department.
    for viewer, url in (
        (college.head, f"/logs/department?owner={college.teacher.id}"),
        (college.teacher, "/logs/"),
    ):
        sign_in(viewer)
        page = _text(client.get(url))
        assert "Deleted drafts" not in page
        assert "entered twice" not in page


def test_only_an_admin_reads_deleted_drafts(college, make_log):
    from exchange.errors import PermissionDenied

    log = make_log()
    log_services.delete_log(college.teacher, log)
    db.session.commit()
    assert [d.id for d in log_queries.deleted_drafts(college.admin, college.teacher)] == [log.id]
    for actor in (college.head, college.teacher):
        with pytest.raises(PermissionDenied):
            log_queries.deleted_drafts(actor, college.teacher)


# --- the award trail ---------------------------------------------------------------------


def _trail(award: Award) -> list[tuple]:
    db.session.expire(award, ["events"])
    return [(e.action, e.from_status, e.to_status, e.actor_id, e.minutes) for e in award.events]


def test_every_status_change_of_an_award_is_in_its_trail(
    client, college, make_log, travel, sign_in
):
    head, admin, expert = college.head, college.admin, college.expert
    first = make_log(expert, status="approved", hours="2")
    reward_round = reward_services.open_round(head, college.department.id, college.period.id)
    db.session.commit()
    (fee,) = reward_round.awards  # the teaching fee: its threshold is 0 hours
    reward_services.decide_award(head, fee, approve=True)
    reward_services.decide_award(college.other_head, fee, approve=False, reason="Check hours")
    db.session.commit()

    # More hours: proposed again, undecided.
    second = make_log(
        expert, status="approved", hours="1", work_date=college_today() - timedelta(1)
    )
    reward_services.refresh_round(head, reward_round)
    db.session.commit()
    assert _trail(fee) == [
        ("propose", None, "proposed", head.id, 120),
        ("approve", "proposed", "approved", head.id, 120),
        ("reject", "approved", "rejected", college.other_head.id, 120),
        ("repropose", "rejected", "proposed", head.id, 180),
    ]
    assert fee.events[2].reason == "Check hours"

    # Both logs revoked: the rule is no longer met and the proposal leaves the round ...
    for log in (first, second):
        log_services.transition(admin, log, Action.REVOKE, "Entered twice")
    reward_services.refresh_round(admin, reward_round)
    db.session.commit()
    assert reward_round.awards == []
    # ... and hours approved later bring it back, with its whole story.
    make_log(expert, status="approved", hours="4", work_date=college_today() - timedelta(2))
    reward_services.refresh_round(head, reward_round)
    db.session.commit()
    (fee,) = reward_round.awards
    reward_services.decide_award(head, fee, approve=True)
    db.session.commit()
    travel(period_end(college.period))
    reward_services.finalize_round(head, reward_round)
    db.session.commit()
    reward_services.revoke_award(admin, fee, "Paid twice")
    db.session.commit()
    assert [(a, f, t) for a, f, t, _, _ in _trail(fee)] == [
        ("propose", None, "proposed"),
        ("approve", "proposed", "approved"),
        ("reject", "approved", "rejected"),
        ("repropose", "rejected", "proposed"),
        ("withdraw", "proposed", None),
        ("propose", None, "proposed"),
        ("approve", "proposed", "approved"),
        ("issue", "approved", "issued"),
        ("revoke", "issued", "revoked"),
    ]
    assert fee.events[-1].actor_id == admin.id
    assert fee.events[-1].reason == "Paid twice"

    # The round page shows it under the award.
    sign_in(head)
    page = _text(client.get(f"/rewards/rounds/{reward_round.id}"))
    history = page[page.index(f'id="award-{fee.id}"') :]
    history = history[history.index("History") : history.index("</details>")]
    steps = re.findall(r"<strong>([^<]+)</strong>\s*<span>by ([^<]+)</span>", history)
    assert steps[0] == ("Proposed", "Wang Fang")
    assert ("Withdrawn (rule no longer met)", "Ma Guo") in steps
    assert steps[-2:] == [("Issued", "Wang Fang"), ("Revoked", "Ma Guo")]
