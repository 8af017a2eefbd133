"""The "To do" queues show each log's age and put the longest waiting first; logs
waiting longer than EXCHANGE_ESCALATE_DAYS are marked overdue, in words.

The verify queue counts from the submission, the approve queue from the
verification (what each log waits on); the clock is moved with ``travel``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from exchange.extensions import db
from exchange.logs import services
from exchange.logs.workflow import Action
from exchange.timeutil import college_today
from tests.conftest import PASSWORD


def signed_in(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def cards(html: str) -> list[str]:
    return unescape(html).split("<article")[1:]


def ages(html: str) -> list[tuple[str, str]]:
    """(owner's name or log id, the age as shown) of each card, in the order shown."""
    found = []
    for card in cards(html):
        age = re.search(r'<span class="age[^"]*" data-age="\d+">(.*?)</span>\s*</', card, re.S)
        text = re.sub(r"<[^>]+>", "", age.group(1)).strip() if age else ""
        log = re.search(r"/logs/(\d+)", card)
        found.append((log.group(1) if log else "", " ".join(text.split())))
    return found


def test_the_verify_queue_shows_ages_oldest_first_and_marks_the_overdue(
    app, college, make_log, travel
):
    today = college_today()
    made = {}
    for days_ago in (3, 12, 0, 7, 8):
        travel(today - timedelta(days=days_ago))
        made[days_ago] = make_log(
            status="submitted",
            hours="1",
            description=f"Logged {days_ago} days ago",
            work_date=today - timedelta(days=days_ago),
        )
    travel(today)
    expert = signed_in(app, college.expert)
    html = expert.get("/logs/verify").get_data(as_text=True)
    assert ages(html) == [
        (str(made[12].id), "Overdue Submitted 12 days ago"),
        (str(made[8].id), "Overdue Submitted 8 days ago"),
        (str(made[7].id), "Submitted 7 days ago"),  # "older than 7 days" starts at 8
        (str(made[3].id), "Submitted 3 days ago"),
        (str(made[0].id), "Submitted today"),
    ]
    overdue = [card for card in cards(html) if "card--overdue" in card.split(">")[0]]
    assert len(overdue) == 2
    assert "waiting more than 7 days are marked overdue" in unescape(html)


def test_the_approve_queue_counts_from_the_verification(app, college, make_log, travel):
    today = college_today()
    travel(today - timedelta(days=20))
    early = make_log(status="submitted", hours="1", description="Submitted long ago")
    travel(today - timedelta(days=10))
    late = make_log(status="verified", hours="1", description="Verified ten days ago")
    travel(today - timedelta(days=2))
    # Submitted 20 days ago, but verified only 2 days ago: it waits on its approval.
    services.transition(college.expert, early, Action.VERIFY)
    db.session.commit()
    travel(today)
    head = signed_in(app, college.head)
    html = head.get("/logs/approve").get_data(as_text=True)
    assert ages(html) == [
        (str(late.id), "Overdue Verified 10 days ago"),
        (str(early.id), "Verified 2 days ago"),
    ]
    # The API's queue comes in the same order.
    token = head.post("/api/v1/tokens", json={"email": college.head.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    body = head.get("/api/v1/logs?scope=approve", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [late.id, early.id]


def test_the_escalation_age_comes_from_the_configuration(app, college, make_log, travel):
    today = college_today()
    travel(today - timedelta(days=3))
    log = make_log(status="verified", hours="1")
    travel(today)
    head = signed_in(app, college.head)
    assert ages(head.get("/logs/approve").get_data(as_text=True)) == [
        (str(log.id), "Verified 3 days ago")
    ]
    app.config["EXCHANGE_ESCALATE_DAYS"] = 2
    try:
        html = head.get("/logs/approve").get_data(as_text=True)
    finally:
        app.config["EXCHANGE_ESCALATE_DAYS"] = 7
    assert ages(html) == [(str(log.id), "Overdue Verified 3 days ago")]
    assert "waiting more than 2 days are marked overdue" in unescape(html)


def test_the_age_is_counted_in_the_colleges_days(app, college, make_log, travel):
    """Submitted at 23:30 college time: the next morning it is a day old."""
    from datetime import time

    today = college_today()
    travel(today - timedelta(days=1), at=time(23, 30))
    log = make_log(status="submitted", hours="1", work_date=today - timedelta(days=1))
    travel(today, at=time(8))
    expert = signed_in(app, college.expert)
    assert ages(expert.get("/logs/verify").get_data(as_text=True)) == [
        (str(log.id), "Submitted 1 day ago")
    ]
