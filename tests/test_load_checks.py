"""The load run's checks (bench/load.py) see what they are there to see.

A load run that reports "nothing lost" proves something only if its checks
would have noticed a loss: here real API answers are recorded as the simulated
clients record them, then the database is made to disagree with them, one way
at a time.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from bench import load
from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from exchange.timeutil import college_today


def _remember(answer: dict) -> dict:
    """An answer about a log, as bench/locustfile.py records it."""
    return {
        "type": "answer",
        "log_id": answer["id"],
        "version": answer["version"],
        "status": answer["status"],
        "history": [[e["action"], e["to_status"]] for e in answer["history"]],
    }


@pytest.fixture
def worked(client, college, api_token):
    """Two logs created through the API with client ids, one submitted and verified:
    the records a client keeps, and the ids of the creates it sent."""
    teacher = api_token(college.teacher)
    expert = api_token(college.expert)
    records, sent = [], set()
    ids = []
    for days in (1, 2):
        client_id = str(uuid.uuid4())
        sent.add(client_id)
        records.append({"type": "sent", "client_id": client_id})
        body = {
            "kind": "practice",
            "date": (college_today() - timedelta(days=days)).isoformat(),
            "hours": 2,
            "category": "clinical",
            "description": "Ward rounds",
            "enterprise_id": college.enterprise.id,
            "verifier_id": college.expert.id,
            "client_id": client_id,
        }
        answer = client.post("/api/v1/logs", json=body, headers=teacher)
        assert answer.status_code == 201, answer.get_json()
        log = answer.get_json()
        records.append({"type": "accepted", "client_id": client_id, "log_id": log["id"]})
        records.append(_remember(log))
        ids.append(log["id"])
    submitted = client.post(f"/api/v1/logs/{ids[0]}/submit", headers=teacher)
    records.append(_remember(submitted.get_json()))
    verified = client.post(f"/api/v1/logs/{ids[0]}/verify", headers=expert)
    records.append(_remember(verified.get_json()))
    # Sent, never answered (the client gave up): it may be absent.
    sent.add(str(uuid.uuid4()))
    return records, sent, ids


def test_a_database_that_keeps_what_clients_were_told_passes(worked):
    records, sent, _ids = worked
    found = load.check(db.engine, records, sent)
    assert found.problems == []
    assert (found.accepted, found.answers, found.unacknowledged) == (2, 4, 1)
    assert found.missing == found.duplicated == found.broken_trails == 0
    assert found.answers_disagreeing == found.status_disagreeing == 0


def test_an_accepted_log_the_database_lacks_is_missing(worked):
    records, sent, _ids = worked
    lost = str(uuid.uuid4())
    records.append({"type": "accepted", "client_id": lost, "log_id": 999_999})
    found = load.check(db.engine, records, sent | {lost})
    assert found.missing == 1


def test_a_status_changed_behind_the_trail_is_a_broken_trail_and_contradicts_the_client(worked):
    records, sent, ids = worked
    db.session.execute(
        text("UPDATE exchange_log SET status = 'approved', version = version + 1 WHERE id = :id"),
        {"id": ids[0]},
    )
    db.session.commit()
    found = load.check(db.engine, records, sent)
    assert found.broken_trails == 1
    # The client's latest answer is older than the log: a change no client was told of.
    assert found.changes_never_answered == 1


def test_a_log_without_its_create_entry_is_half_written(worked):
    records, sent, ids = worked
    log = db.session.get(ExchangeLog, ids[1])
    row = {
        column.name: getattr(log, column.key)
        for column in ExchangeLog.__table__.columns
        if column.name not in ("id", "client_id")
    }
    db.session.execute(insert(ExchangeLog.__table__), [row])
    db.session.commit()
    found = load.check(db.engine, records, sent)
    assert found.logs_without_create == 1


def test_an_answer_the_trail_does_not_hold_contradicts_the_database(worked):
    records, sent, ids = worked
    told = {
        "type": "answer",
        "log_id": ids[1],
        "version": 2,
        "status": "submitted",
        "history": [["create", "draft"], ["submit", "submitted"]],
    }
    found = load.check(db.engine, [*records, told], sent)
    assert found.answers_disagreeing == 1  # the trail has no submit
    assert found.status_disagreeing == 1  # the log is at version 1, a client saw 2


def test_kept_totals_changed_behind_the_triggers_are_counted(worked):
    _records, _sent, _ids = worked
    assert load.check(db.engine, [], set()).totals_astray == 0
    db.session.execute(text("UPDATE log_total SET minutes = minutes + 15 WHERE logs > 0"))
    db.session.commit()
    found = load.check(db.engine, [], set())
    kept_rows = db.session.execute(text("SELECT count(*) FROM log_total WHERE logs > 0"))
    assert found.totals_astray == kept_rows.scalar_one() >= 1
    assert any("kept totals" in problem for problem in found.problems)
    db.session.execute(text("UPDATE log_total SET minutes = minutes - 15 WHERE logs > 0"))
    db.session.commit()
    assert load.check(db.engine, [], set()).totals_astray == 0
