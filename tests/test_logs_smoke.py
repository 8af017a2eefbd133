from exchange.extensions import db
from exchange.logs import queries, services


def test_every_status_can_be_reached(make_log):
    for status in ("draft", "submitted", "verified", "approved", "rejected", "revoked"):
        log = make_log(status=status)
        db.session.refresh(log)
        assert log.status == status
        assert [e.to_status for e in log.events][-1] == status


def test_expert_logs_teaching(college, make_log):
    log = make_log(college.expert, status="approved")
    assert log.kind == "teaching"
    assert log.enterprise_id == college.enterprise.id


def test_queue_counts(college, make_log):
    make_log(status="submitted")
    make_log(status="verified")
    assert queries.queue_counts(college.expert).to_verify == 1
    assert queries.queue_counts(college.head).to_approve == 1
    assert queries.queue_counts(college.foreign_head).to_approve == 0


def test_bulk(college, make_log):
    a = make_log(status="verified")
    b = make_log(status="draft")
    out = services.bulk_approve(college.head, [a.id, b.id, 999])
    assert [o.ok for o in out] == [True, False, False]
    assert [o.status for o in out] == [200, 409, 404]
