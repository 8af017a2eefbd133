"""The province benchmark's seeder (bench/seed.py) at a tiny scale: it seeds what it
says, in states the app itself would have reached, and the app works on the result."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from bench.seed import PASSWORD, TRAILS, Scale, seed
from exchange.accounts.models import User
from exchange.extensions import db
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.rewards import services as rewards
from exchange.rewards.models import RewardRule
from exchange.timeutil import college_today

TINY = Scale(
    departments=3, enterprises=4, teachers=12, experts=6, admins=1, logs=600,
    teacher_logs=4, expert_logs=2,
)  # fmt: skip


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_seeds_the_college_it_says(app_ctx):
    seeded = seed(TINY)

    assert _count(Department) == 3
    assert _count(Enterprise) == 4
    assert _count(Agreement) == 4
    roles = Counter(db.session.execute(select(User.role)).scalars())
    assert roles == {"teacher": 12, "expert": 6, "head": 3, "admin": 1}
    periods = db.session.execute(select(Period).order_by(Period.starts_on)).scalars().all()
    assert len(periods) == 3
    assert periods[-1].starts_on <= college_today() <= periods[-1].ends_on
    assert [p.id for p in periods] == seeded.period_ids
    # Every period has its reward rules, as a period created on the admin pages would.
    for period in periods:
        rules = select(func.count()).where(RewardRule.period_id == period.id)
        assert db.session.execute(rules).scalar_one() >= 3
    assert _count(ExchangeLog) == 600 == seeded.counts["logs"]
    assert _count(LogEvent) == seeded.counts["log_events"]


def test_every_log_has_the_trail_of_its_status(app_ctx):
    seed(TINY)
    logs = db.session.execute(select(ExchangeLog)).scalars().all()
    trails = defaultdict(list)
    for event in db.session.execute(select(LogEvent).order_by(LogEvent.id)).scalars():
        trails[event.log_id].append(event)
    periods = {p.id: p for p in db.session.execute(select(Period)).scalars()}
    days = set()
    for log in logs:
        trail = trails[log.id]
        assert [e.action for e in trail] == [step[0] for step in TRAILS[log.status]]
        assert trail[-1].to_status == log.status
        assert [e.at for e in trail] == sorted(e.at for e in trail)
        # Nobody judges their own log; the owner creates it.
        assert trail[0].actor_id == log.owner_id
        assert all(e.actor_id != log.owner_id for e in trail[2:])
        period = periods[log.period_id]
        assert period.starts_on <= log.work_date < college_today()
        assert log.work_date <= period.ends_on
        assert (log.owner_id, log.work_date) not in days
        days.add((log.owner_id, log.work_date))
    statuses = Counter(log.status for log in logs)
    assert statuses["approved"] > statuses["draft"]
    assert {"submitted", "verified"} <= set(statuses)


def test_the_measured_people_keep_their_own_logs_at_every_size(app_ctx):
    seeded = seed(TINY)
    teacher = db.session.execute(select(User).where(User.email == seeded.teacher)).scalar_one()
    expert = db.session.execute(select(User).where(User.email == seeded.expert)).scalar_one()
    owned = db.session.execute(select(ExchangeLog).where(ExchangeLog.owner_id == teacher.id))
    owned = owned.scalars().all()
    assert len(owned) == TINY.teacher_logs * TINY.periods
    assert {log.verifier_id for log in owned} == {expert.id}
    taught = db.session.execute(select(ExchangeLog).where(ExchangeLog.owner_id == expert.id))
    assert len(taught.scalars().all()) == TINY.expert_logs * TINY.periods
    # Nobody else's log names the measured expert: their queue is theirs alone.
    others = db.session.execute(
        select(func.count()).where(
            ExchangeLog.verifier_id == expert.id, ExchangeLog.owner_id != teacher.id
        )
    ).scalar_one()
    assert others == 0


def test_the_app_works_on_the_seeded_college(app, app_ctx):
    seeded = seed(TINY)
    client = app.test_client()
    answer = client.post("/login", data={"email": seeded.teacher, "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get("/logs/").status_code == 200

    head = db.session.execute(select(User).where(User.email == seeded.head)).scalar_one()
    department = db.session.get(Department, seeded.department_id)
    period = db.session.get(Period, seeded.period_id)
    standings = rewards.eligibility(head, department, period)
    approved = db.session.execute(
        select(func.sum(ExchangeLog.minutes)).where(
            ExchangeLog.department_id == seeded.department_id,
            ExchangeLog.period_id == seeded.period_id,
            ExchangeLog.status == "approved",
        )
    ).scalar_one()
    assert sum(s.approved_minutes for s in standings) == approved

    # Records added afterwards get fresh ids (PostgreSQL's sequences continue).
    db.session.add(Department(code="NEW", name="New department"))
    db.session.commit()
