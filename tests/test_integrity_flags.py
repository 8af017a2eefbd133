"""Integrity flags end to end (SPEC §6): each flag appears next to the log in the
queues, on its page (in words) and in the API (as ``flags``); "flagged only" shows
just those; flags never block, but approving a flagged log on the pages takes one
more tap. Hostile: other departments' logs, wrong roles, replayed and tampered forms.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import insert, select

from exchange.accounts import services as accounts
from exchange.accounts.models import User
from exchange.extensions import db, limiter
from exchange.logs import queries, services
from exchange.logs.models import ExchangeLog, OnsiteConfirmation
from exchange.org.models import Agreement
from exchange.signing import address_hash
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.helpers import sql_statements

API = "/api/v1"
SELF = "Confirmed on site from the owner's own browser or network"
MANY = "The confirmer confirmed logs of 3 or more people that day"
DAY = "Over 10 hours on one day across the owner's logs"
REPEATED = "The same description on 5 or more of the owner's logs this period"
UNUSUAL = "Period total above the department's 99th percentile"
OUTSIDE = "No cooperation agreement covers this work on that day"
ON_SITE = "10.20.30.40"  # the confirmer's phone on the hospital's network


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()
    yield
    limiter.reset()


def signed_in(app, user, address="127.0.0.1"):
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_overrides={"REMOTE_ADDR": address},
    )
    assert response.status_code == 302
    return client


def confirm_on_site(client, log, name="Zhang Wei", address=ON_SITE):
    """The owner shows the QR code; whoever holds ``client`` confirms from ``address``."""
    token, _ = services.issue_confirmation_link(log.owner, log)
    db.session.commit()
    response = client.post(
        f"/confirm/{token}",
        data={"name": name, "job_title": "Head nurse", "decision": "confirm"},
        environ_overrides={"REMOTE_ADDR": address},
    )
    db.session.expire_all()
    return response


def api_flags(app, user, log_id):
    client = app.test_client()
    token = client.post(f"{API}/tokens", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    response = client.get(f"{API}/logs/{log_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()["flags"]


def text_of(response) -> str:
    """A page as read: entities decoded."""
    return unescape(response.get_data(as_text=True))


def card_of(html: str, log_id: int) -> str:
    """The queue's card of one log (from its checkbox or buttons to the next card)."""
    cards = unescape(html).split("<article")
    found = [c for c in cards if f"/logs/{log_id}/" in c or f'value="{log_id}"' in c]
    assert found, f"log {log_id} is not in the queue"
    return found[0]


def flags_in(text: str) -> list[str]:
    return re.findall(r'data-flag="(\w+)"', text)


# --- self_confirmed ------------------------------------------------------------------


def test_confirmed_from_the_network_the_owner_signed_in_from(app, college, make_log):
    log = make_log(status="submitted")
    signed_in(app, college.teacher, address="192.0.2.7")  # the owner, on their phone
    # The owner opens their own link in a private window: no cookie, same address.
    response = confirm_on_site(app.test_client(), log, name="Whoever", address="192.0.2.7")
    assert response.status_code == 200
    assert db.session.get(ExchangeLog, log.id).status == "verified"

    head = signed_in(app, college.head)
    queue = text_of(head.get("/logs/approve"))
    assert flags_in(card_of(queue, log.id)) == ["self_confirmed"]
    assert SELF in card_of(queue, log.id)
    page = text_of(head.get(f"/logs/{log.id}"))
    assert SELF in page
    onsite = page.split('id="onsite"')[1]
    assert re.search(r"Network the owner last signed in from</dt><dd><strong>Yes", onsite)
    assert api_flags(app, college.head, log.id) == ["self_confirmed"]
    # Only a salted hash of the address is kept, never the address.
    stored = db.session.scalars(select(OnsiteConfirmation)).one()
    assert stored.address_hash == address_hash("192.0.2.7") != "192.0.2.7"
    assert "192.0.2.7" not in (db.session.get(User, college.teacher.id).sign_in_address_hash or "")


def test_a_sign_in_through_the_api_counts_as_the_last_sign_in(app, college, make_log):
    log = make_log(status="submitted")
    signed_in(app, college.teacher, address="192.0.2.7")
    # Later the owner's app asks for a token from the hospital's network.
    response = app.test_client().post(
        f"{API}/tokens",
        json={"email": college.teacher.email, "password": PASSWORD},
        environ_overrides={"REMOTE_ADDR": ON_SITE},
    )
    assert response.status_code == 201
    assert confirm_on_site(app.test_client(), log, address=ON_SITE).status_code == 200
    assert queries.log_flags([log.id]) == {log.id: ["self_confirmed"]}


def test_a_confirmer_elsewhere_raises_no_flag(app, college, make_log):
    log = make_log(status="submitted")
    signed_in(app, college.teacher, address="192.0.2.7")
    assert confirm_on_site(app.test_client(), log).status_code == 200
    assert queries.log_flags([log.id]) == {log.id: []}
    head = signed_in(app, college.head)
    page = text_of(head.get(f"/logs/{log.id}"))
    assert re.search(r"Network the owner last signed in from</dt><dd>No", page)
    assert api_flags(app, college.head, log.id) == []


def test_the_owners_own_browser_with_an_ended_session_is_flagged(app, college, make_log):
    log = make_log(status="submitted")
    owners_phone = signed_in(app, college.teacher, address="192.0.2.7")
    # The owner signs in somewhere else later (their last sign-in address changes) and
    # their phone's session is ended (as by a password change): the phone still holds
    # the cookie of a session that was the owner's.
    signed_in(app, college.teacher, address="198.51.100.1")
    accounts.end_sessions(db.session.get(User, college.teacher.id))
    db.session.commit()
    assert confirm_on_site(owners_phone, log).status_code == 200
    assert db.session.get(ExchangeLog, log.id).status == "verified"
    stored = db.session.scalars(select(OnsiteConfirmation)).one()
    assert (stored.with_owner_session, stored.from_owner_network) == (True, False)
    assert queries.log_flags([log.id]) == {log.id: ["self_confirmed"]}
    head = signed_in(app, college.head)
    page = text_of(head.get(f"/logs/{log.id}"))
    assert re.search(r"Owner's own signed-in browser</dt><dd><strong>Yes", page)


def test_a_live_session_of_the_owner_is_still_refused(app, college, make_log):
    log = make_log(status="submitted")
    owner = signed_in(app, college.teacher)
    assert confirm_on_site(owner, log).status_code == 403
    assert db.session.get(ExchangeLog, log.id).status == "submitted"


def test_a_forged_cookie_does_not_name_the_owner(app, college, make_log):
    log = make_log(status="submitted")
    stranger = app.test_client()
    stranger.set_cookie("remember_token", f"{college.teacher.id}:x|forged")
    assert confirm_on_site(stranger, log).status_code == 200
    assert queries.log_flags([log.id]) == {log.id: []}


# --- confirmer_many ---------------------------------------------------------------------


def test_one_name_confirming_three_peoples_logs_in_a_day(app, college, make_log):
    owners = [college.teacher, college.other_teacher, college.other_head]
    logs = [make_log(owner, status="submitted") for owner in owners]
    confirmer = app.test_client()
    # The same name, however it is typed.
    for log, name in zip(logs[:2], ["Zhang Wei", "zhang  wei"], strict=True):
        assert confirm_on_site(confirmer, log, name=name).status_code == 200
    assert all(codes == [] for codes in queries.log_flags([g.id for g in logs[:2]]).values())
    assert confirm_on_site(confirmer, logs[2], name="ZHANG WEI ").status_code == 200
    flags = queries.log_flags([g.id for g in logs])
    assert flags == {g.id: ["confirmer_many"] for g in logs}
    head = signed_in(app, college.head)
    queue = text_of(head.get("/logs/approve"))
    assert MANY in card_of(queue, logs[0].id)
    assert api_flags(app, college.head, logs[1].id) == ["confirmer_many"]


def test_one_owners_many_logs_do_not_make_a_busy_confirmer(app, college, make_log):
    logs = [make_log(status="submitted", hours="1") for _ in range(3)]
    confirmer = app.test_client()
    for log in logs:
        assert confirm_on_site(confirmer, log).status_code == 200
    assert all(codes == [] for codes in queries.log_flags([g.id for g in logs]).values())


# --- day_over_10h, repeated_description, outside_agreement, unusual_total -------------


def test_over_ten_hours_on_one_day(app, college, make_log):
    six = make_log(status="verified", hours="6", description="Morning ward rounds")
    four = make_log(status="verified", hours="4", description="Afternoon clinic")
    assert queries.log_flags([six.id, four.id]) == {six.id: [], four.id: []}  # exactly 10 h
    quarter = make_log(status="submitted", hours="0.25", description="Hand-over")
    flags = queries.log_flags([six.id, four.id, quarter.id])
    assert flags == {g: ["day_over_10h"] for g in (six.id, four.id, quarter.id)}
    head = signed_in(app, college.head)
    assert DAY in card_of(text_of(head.get("/logs/approve")), six.id)
    expert = signed_in(app, college.expert)  # the verifier sees it too
    assert DAY in card_of(text_of(expert.get("/logs/verify")), quarter.id)
    # A draft is not claimed: another draft on that day changes nothing for the others.
    other = make_log(college.other_teacher, status="verified", hours="9")
    assert queries.log_flags([other.id]) == {other.id: []}


def test_the_same_description_on_five_logs(app, college, make_log):
    today = college_today()
    text = "Ward rounds with the cardiology team"
    same = [
        make_log(status="verified", hours="1", description=text, work_date=today - timedelta(d))
        for d in range(4)
    ]
    make_log(status="draft", hours="1", description=text, work_date=today - timedelta(9))
    assert set(map(tuple, queries.log_flags([g.id for g in same]).values())) == {()}
    fifth_day = today - timedelta(5)
    fifth = make_log(status="submitted", hours="1", description=text, work_date=fifth_day)
    flags = queries.log_flags([g.id for g in [*same, fifth]])
    assert set(map(tuple, flags.values())) == {("repeated_description",)}
    head = signed_in(app, college.head)
    assert REPEATED in text_of(head.get(f"/logs/{same[0].id}"))
    assert api_flags(app, college.head, fifth.id) == ["repeated_description"]


def test_hours_on_a_day_the_agreement_no_longer_covers(app, college, make_log):
    log = make_log(status="verified", work_date=college_today() - timedelta(days=3))
    assert queries.log_flags([log.id]) == {log.id: []}
    agreement = db.session.scalars(
        select(Agreement).where(Agreement.enterprise_id == college.enterprise.id)
    ).one()
    agreement.starts_on = college_today() - timedelta(days=1)  # corrected afterwards
    db.session.commit()
    assert queries.log_flags([log.id]) == {log.id: ["outside_agreement"]}
    head = signed_in(app, college.head)
    assert OUTSIDE in text_of(head.get(f"/logs/{log.id}"))


def _colleagues_with_hours(college, count: int, minutes: int, prefix: str = "colleague") -> None:
    """``count`` more teachers of the department, each with ``minutes`` approved."""
    now = datetime.now(UTC)
    people = [
        User(email=f"{prefix}{n}@example.com", name=f"{prefix} {n}", role="teacher",
             department=college.department, password_hash="-")
        for n in range(count)
    ]  # fmt: skip
    db.session.add_all(people)
    db.session.flush()
    rows = [
        {"kind": "practice", "owner_id": p.id, "category": "clinical", "status": "approved",
         "work_date": college_today() - timedelta(days=20), "minutes": minutes,
         "enterprise_id": college.enterprise.id, "department_id": college.department.id,
         "period_id": college.period.id, "description": f"Rounds {p.id}",
         "verifier_id": college.expert.id, "version": 1, "created_at": now, "updated_at": now,
         "status_since": now}
        for p in people
    ]  # fmt: skip
    db.session.execute(insert(ExchangeLog), rows)
    db.session.commit()


def test_a_total_far_above_the_departments_usual(app, college, make_log):
    today = college_today()
    logs = [
        make_log(status="verified", hours="8", description=f"Day {d}",
                 work_date=today - timedelta(days=d))
        for d in range(3)
    ]  # fmt: skip
    # Among fewer than a hundred people nobody is above the 99th percentile.
    _colleagues_with_hours(college, 60, 120)
    assert queries.log_flags([logs[0].id]) == {logs[0].id: []}
    # With more than a hundred, 24 h is far above the others' 2 to 4 h.
    _colleagues_with_hours(college, 41, 240, prefix="more")
    assert queries.log_flags([g.id for g in logs]) == {g.id: ["unusual_total"] for g in logs}
    usual = make_log(college.other_teacher, status="verified", hours="2", description="Usual")
    assert queries.log_flags([usual.id]) == {usual.id: []}
    head = signed_in(app, college.head)
    assert UNUSUAL in card_of(text_of(head.get("/logs/approve")), logs[0].id)


# --- flagged only ---------------------------------------------------------------------------


@pytest.fixture
def mixed(college, make_log):
    """Two verified logs of the department: one flagged (11 h that day), one not."""
    today = college_today()
    flagged = make_log(status="verified", hours="11", description="Long day", work_date=today)
    plain = make_log(college.other_teacher, status="verified", hours="2",
                     description="Clinic", work_date=today - timedelta(days=1))  # fmt: skip
    return flagged, plain


def test_flagged_only_on_the_queue_and_in_the_api(app, college, mixed):
    flagged, plain = mixed
    head = signed_in(app, college.head)
    every = text_of(head.get("/logs/approve"))
    assert f'value="{flagged.id}"' in every
    assert f'value="{plain.id}"' in every
    only = text_of(head.get("/logs/approve?flagged=1"))
    assert f'value="{flagged.id}"' in only
    assert f'value="{plain.id}"' not in only
    assert "Showing flagged logs only." in only
    client = app.test_client()
    token = client.post(f"{API}/tokens", json={"email": college.head.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    body = client.get(f"{API}/logs?scope=approve&flagged=1", headers=headers).get_json()
    assert [(i["id"], i["flags"]) for i in body["items"]] == [(flagged.id, ["day_over_10h"])]
    assert body["total"] == 1
    every = client.get(f"{API}/logs?scope=approve", headers=headers).get_json()
    assert {i["id"]: i["flags"] for i in every["items"]} == {
        flagged.id: ["day_over_10h"],
        plain.id: [],
    }


def test_flagged_only_is_for_the_queues(app, college, mixed):
    client = app.test_client()
    token = client.post(f"{API}/tokens", json={"email": college.admin.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    for scope in ("department", "mine"):
        response = client.get(f"{API}/logs?scope={scope}&flagged=1", headers=headers)
        assert response.status_code == 422
        assert "flagged" in response.get_json()["error"]["fields"]
    assert client.get(f"{API}/logs?scope=approve&flagged=2", headers=headers).status_code in (
        400,
        422,
    )


def test_flagged_only_with_nothing_flagged(app, college, make_log):
    make_log(status="verified", description="Clinic")
    head = signed_in(app, college.head)
    page = text_of(head.get("/logs/approve?flagged=1"))
    assert "No flagged log waits for your approval." in page


# --- one more tap -----------------------------------------------------------------------------


def approved(log) -> bool:
    db.session.expire_all()
    return db.session.get(ExchangeLog, log.id).status == "approved"


def test_approving_a_flagged_log_asks_for_one_more_tap(app, college, mixed):
    flagged, plain = mixed
    head = signed_in(app, college.head)
    first = head.post(f"/logs/{flagged.id}/approve", data={"next": "/logs/approve"})
    assert first.status_code == 200
    html = text_of(first)
    assert "Approve a flagged log?" in html
    assert DAY in html
    assert 'name="confirm_flagged" value="1"' in html
    assert not approved(flagged)
    second = head.post(
        f"/logs/{flagged.id}/approve", data={"next": "/logs/approve", "confirm_flagged": "1"}
    )
    assert second.status_code == 302
    assert second.headers["Location"].endswith("/logs/approve")
    assert approved(flagged)
    # An unflagged log is approved at the first tap.
    assert head.post(f"/logs/{plain.id}/approve").status_code == 302
    assert approved(plain)
    # Replayed: the log is approved already, nothing happens twice.
    again = head.post(f"/logs/{flagged.id}/approve", data={"confirm_flagged": "1"})
    assert again.status_code == 302
    events = [e.action for e in db.session.get(ExchangeLog, flagged.id).events]
    assert events.count("approve") == 1


def test_bulk_approval_of_flagged_logs_asks_for_one_more_tap(app, college, mixed):
    flagged, plain = mixed
    head = signed_in(app, college.head)
    ids = [str(flagged.id), str(plain.id)]
    first = head.post("/logs/approve", data={"ids": ids})
    assert first.status_code == 200
    html = text_of(first)
    assert "Approve a flagged log?" in html
    assert DAY in html
    assert "2 logs selected in all." in html
    assert not approved(flagged)
    assert not approved(plain)
    # The confirmation page sends back every id, the flagged ones it showed, and the tap.
    form = {
        "ids": re.findall(r'name="ids" value="(\d+)"', html),
        "seen": re.findall(r'name="seen" value="(\d+)"', html),
        "confirm_flagged": "1",
    }
    assert sorted(form["ids"]) == sorted(ids)
    assert form["seen"] == [str(flagged.id)]
    second = head.post("/logs/approve", data=form, follow_redirects=True)
    assert "2 logs approved." in text_of(second)
    assert approved(flagged)
    assert approved(plain)
    # The same confirmation sent again approves nothing twice.
    replay = head.post("/logs/approve", data=form, follow_redirects=True)
    assert "2 had changed in the meantime and were not approved." in unescape(
        text_of(replay)
    ) or "not approved" in text_of(replay)
    events = [e.action for e in db.session.get(ExchangeLog, flagged.id).events]
    assert events.count("approve") == 1


def test_the_tap_without_the_page_is_not_enough(app, college, mixed):
    """``confirm_flagged=1`` for flagged logs the page never showed asks again."""
    flagged, _ = mixed
    head = signed_in(app, college.head)
    skipped = head.post("/logs/approve", data={"ids": [str(flagged.id)], "confirm_flagged": "1"})
    assert skipped.status_code == 200
    assert "Approve a flagged log?" in text_of(skipped)
    assert not approved(flagged)


def test_a_tampered_id_of_another_department_is_refused_and_not_shown(
    app, college, make_log, mixed
):
    flagged, _ = mixed
    foreign_owner = User(email="nurse@example.com", name="Nurse Gu", role="teacher",
                         department=college.other_department)  # fmt: skip
    foreign_owner.set_password(PASSWORD)
    db.session.add(foreign_owner)
    db.session.commit()
    foreign = make_log(foreign_owner, status="verified", hours="11", description="Secret ward")
    assert queries.log_flags([foreign.id]) == {foreign.id: ["day_over_10h"]}
    head = signed_in(app, college.head)
    # Alone: nothing of it is shown, the service refuses it.
    alone = head.post("/logs/approve", data={"ids": [str(foreign.id)]}, follow_redirects=True)
    text = text_of(alone)
    assert "Secret ward" not in text
    assert "Nurse Gu" not in text
    assert "1 log could not be found." in text
    # Slipped into a confirmation with the department's own flagged log.
    form = {"ids": [str(flagged.id), str(foreign.id)], "seen": [str(flagged.id)],
            "confirm_flagged": "1"}  # fmt: skip
    done = text_of(head.post("/logs/approve", data=form, follow_redirects=True))
    assert "1 log approved." in done
    assert "1 log could not be found." in done
    assert approved(flagged)
    assert not approved(foreign)
    # Its page and its flags stay hidden from this head.
    assert head.get(f"/logs/{foreign.id}").status_code == 404
    assert head.post(f"/logs/{foreign.id}/approve").status_code == 404


def test_the_api_approves_a_flagged_log_without_asking(app, college, mixed):
    flagged, _ = mixed
    client = app.test_client()
    token = client.post(f"{API}/tokens", json={"email": college.head.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    response = client.post(f"{API}/logs/{flagged.id}/approve", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"
    assert response.get_json()["flags"] == ["day_over_10h"]


def test_people_who_approve_nothing_get_no_approval_queue(app, college, mixed):
    flagged, _ = mixed
    for person in (college.teacher, college.expert):
        client = signed_in(app, person)
        assert client.get("/logs/approve?flagged=1").status_code == 403
        assert client.post("/logs/approve", data={"ids": [str(flagged.id)]}).status_code == 403
    assert not approved(flagged)
    # The verifier's queue of a teacher shows only what names them.
    teacher = signed_in(app, college.teacher)
    page = text_of(teacher.get("/logs/verify?flagged=1"))
    assert "Long day" not in page


# --- bounded statements -------------------------------------------------------------------


def test_the_flags_of_a_page_take_the_same_statements_at_any_size(app, college, make_log):
    def page_of_logs():
        newest = select(ExchangeLog.id).order_by(ExchangeLog.id.desc()).limit(25)
        return list(db.session.scalars(newest))

    first = make_log(status="submitted", hours="1", description="A")
    confirm_on_site(app.test_client(), first)
    make_log(status="verified", hours="1", description="B")
    with sql_statements() as small:
        queries.log_flags(page_of_logs())
    _colleagues_with_hours(college, 120, 60)
    for n in range(6):
        log = make_log(college.other_teacher, status="submitted", hours="1", description="C",
                       work_date=college_today() - timedelta(days=n))  # fmt: skip
        confirm_on_site(app.test_client(), log, name=f"Confirmer {n % 2}")
    with sql_statements() as large:
        flags = queries.log_flags(page_of_logs())
    assert len(large) == len(small) <= 5  # the page, and at most four for its flags
    assert any(flags.values())
