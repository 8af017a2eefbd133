"""The home page: one's own hours this period, progress to each rule, awards, history."""

from __future__ import annotations

from datetime import timedelta

from exchange.extensions import db
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import sql_statements


def _page(client) -> str:
    return client.get("/").get_data(as_text=True)


def _days_ago(n: int):
    return college_today() - timedelta(days=n)


def test_progress_shows_approved_pending_and_hours_to_go(client, college, make_log, login_as):
    make_log(status="approved", hours="8", work_date=_days_ago(1))
    make_log(status="approved", hours="4.5", work_date=_days_ago(2))
    make_log(status="submitted", hours="3", work_date=_days_ago(3))
    make_log(status="rejected", hours="6", work_date=_days_ago(4))
    login_as(college.teacher)
    page = _page(client)
    assert "12.5 h" in page  # approved
    assert "3 h" in page  # pending
    assert "27.5 h to go" in page  # to the 40 h Practice Certificate
    assert "147.5 h to go" in page  # to the 160 h Practice Star
    assert '<progress id="rule-' in page


def test_a_reached_bonus_shows_its_amount_so_far(client, college, make_log, login_as):
    for n in range(5):
        make_log(status="approved", hours="8.25", work_date=_days_ago(n))  # 41.25 h
    login_as(college.teacher)
    page = _page(client)
    assert "62.50" in page  # 1.25 h over 40 h at 50.00 an hour
    assert "reached" in page


def test_experts_see_each_department_they_taught_in(client, college, make_log, login_as):
    make_log(college.expert, status="approved", hours="2", work_date=_days_ago(1))
    make_log(
        college.expert,
        status="approved",
        hours="3",
        work_date=_days_ago(2),
        department_id=college.other_department.id,
        verifier=college.foreign_head,
    )
    login_as(college.expert)
    page = _page(client)
    assert college.department.name in page
    assert college.other_department.name in page
    assert "¥400.00 so far" in page  # Teaching Fee for 2 h in Clinical Medicine
    assert "¥600.00 so far" in page  # and for 3 h in Nursing
    # The mentor honours are college rules: they count the 5 h of both departments.
    assert "College-wide" in page
    assert "11 h to go" in page  # 16 h Mentor Certificate
    assert "59 h to go" in page  # 64 h Distinguished Mentor
    assert "14 h to go" not in page  # not per department any more


def test_issued_awards_link_to_their_certificates(client, college, make_log, login_as, travel):
    for n in range(5):
        make_log(status="approved", hours="8", work_date=_days_ago(n))
    reward_round = rewards.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        rewards.decide_award(college.head, award, True)
    travel(period_end(college.period))
    rewards.finalize_round(college.head, reward_round)
    db.session.commit()
    honour = next(a for a in reward_round.awards if a.rule.kind == "honour")
    login_as(college.teacher)
    page = _page(client)
    assert f"/rewards/awards/{honour.id}/certificate" in page
    assert honour.certificate_number in page


def test_waiting_work_is_counted_for_heads(client, college, make_log, login_as):
    make_log(status="verified")
    login_as(college.head)
    page = _page(client)
    assert "1 log to approve" in page
    assert "/rewards/eligibility" in page


def test_the_dashboard_runs_a_bounded_number_of_queries(client, college, make_log, login_as):
    def count_for_requests() -> int:
        with sql_statements() as statements:
            assert client.get("/").status_code == 200
        return len(statements)

    make_log(status="approved", hours="2", work_date=_days_ago(1))
    login_as(college.teacher)
    few = count_for_requests()
    for n in range(2, 30):
        make_log(status="approved", hours="2", work_date=_days_ago(n))
    assert count_for_requests() == few


def _attention(page: str) -> str:
    start = page.find("<h2>Needs your attention</h2>")
    return page[start : page.find("</section>", start)] if start >= 0 else ""


def test_rejected_logs_come_first_with_their_reason(client, college, make_log, login_as):
    rejected = make_log(status="rejected", hours="6", work_date=_days_ago(4))
    make_log(status="approved", hours="2", work_date=_days_ago(1))
    make_log(college.other_teacher, status="rejected")  # someone else's
    login_as(college.teacher)
    page = _page(client)
    card = _attention(page)
    assert page.index("Needs your attention") < page.index("This period")
    assert card.count('class="row"') == 1
    assert f'href="/logs/{rejected.id}"' in card
    # What to fix first, then which log it is and who sent it back.
    assert card.index("Rejected: Not as described") < card.index(_days_ago(4).isoformat())
    assert f"by {college.expert.name}" in card


def test_drafts_left_for_a_week_are_recalled(client, college, make_log, login_as, travel):
    travel(_days_ago(10))
    old = make_log(status="draft", work_date=_days_ago(10))
    travel(college_today() + timedelta(days=10))  # back to today
    fresh = make_log(status="draft")
    login_as(college.teacher)
    card = _attention(_page(client))
    assert f'href="/logs/{old.id}"' in card
    assert f'href="/logs/{fresh.id}"' not in card
    assert "Draft, not yet submitted" in card


def test_nothing_to_act_on_shows_no_card(client, college, make_log, login_as):
    make_log(status="approved")
    make_log(status="draft")
    login_as(college.teacher)
    assert "Needs your attention" not in _page(client)


def test_the_attention_card_costs_the_same_for_one_or_many_logs(
    client, college, make_log, login_as
):
    make_log(status="rejected")
    login_as(college.teacher)
    with sql_statements() as few:
        client.get("/")
    for _ in range(8):
        make_log(status="rejected")
    with sql_statements() as many:
        page = _page(client)
    assert len(many) == len(few)
    assert _attention(page).count('class="row"') == 5  # the latest five
