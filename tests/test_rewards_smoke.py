from datetime import timedelta

from exchange.extensions import db
from exchange.rewards import services
from exchange.timeutil import college_today
from tests.conftest import period_end


def test_round_lifecycle(college, make_log, travel):
    for n in range(6):
        make_log(status="approved", hours="8", work_date=college_today() - timedelta(days=n))
    make_log(college.expert, status="approved", hours="3")
    standings = services.eligibility(college.head, college.department, college.period)
    assert {s.person.id: s.approved_minutes for s in standings} == {
        college.teacher.id: 48 * 60,
        college.expert.id: 180,
    }
    rnd = services.open_round(college.head, college.department.id, college.period.id)
    codes = sorted((a.holder_id, a.rule.code, a.amount_minor) for a in rnd.awards)
    assert codes == sorted(
        [
            (college.teacher.id, "practice-cert", 0),
            (college.teacher.id, "practice-allowance", 40000),
            (college.expert.id, "teaching-fee", 60000),
        ]
    )
    for award in rnd.awards:
        services.decide_award(college.head, award, True)
    travel(period_end(college.period))
    services.finalize_round(college.head, rnd)
    db.session.commit()
    numbers = sorted(a.certificate_number for a in rnd.awards)
    assert numbers == ["2026-2027-CM-0001", "2026-2027-CM-0002", "2026-2027-CM-0003"]
    code = rnd.awards[0].verification_code
    assert services.award_for_code(code).id == rnd.awards[0].id
    progress = services.progress(college.teacher, college.period)
    assert progress[0].approved_minutes == 48 * 60
