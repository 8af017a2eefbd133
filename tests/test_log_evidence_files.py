"""Evidence files follow their log: replaced or deleted files go, failed saves leave none."""

from __future__ import annotations

import pytest

from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.logs import services

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def _files(app) -> set[str]:
    folder = services.evidence_folder()
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _input(college, **changes) -> services.LogInput:
    values = {
        "work_date": services.college_today(),
        "hours": "2",
        "category": "clinical",
        "description": "Ward rounds",
        "enterprise_id": college.enterprise.id,
    }
    values.update(changes)
    return services.LogInput(**values)


def test_replacing_evidence_removes_the_old_file(app, college):
    before = _files(app)
    log, _ = services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    first = log.evidence_file
    assert _files(app) - before == {first}

    services.update_log(
        college.teacher, log, _input(college, evidence=services.EvidenceUpload("b.pdf", PDF))
    )
    db.session.commit()
    assert _files(app) - before == {log.evidence_file}
    assert log.evidence_file != first
    assert services.evidence_path(log).read_bytes() == PDF


def test_removing_or_deleting_removes_the_file(app, college):
    before = _files(app)
    log, _ = services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    services.update_log(college.teacher, log, _input(college, remove_evidence=True))
    db.session.commit()
    assert log.evidence_file is None
    assert _files(app) == before

    services.update_log(
        college.teacher, log, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    services.delete_log(college.teacher, log)
    db.session.commit()
    assert _files(app) == before


def test_a_save_that_is_rolled_back_leaves_no_file(app, college):
    before = _files(app)
    log, _ = services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.rollback()
    assert _files(app) == before
    with pytest.raises(ValidationError):
        services.create_log(
            college.teacher,
            _input(college, hours="13", evidence=services.EvidenceUpload("a.png", PNG)),
        )
    db.session.rollback()
    assert _files(app) == before
