"""Evidence lives in the database with its log: written in the log's transaction,
replaced, removed and rolled back with it, never read by lists, never on one
server's disk, and served with the same headers by every app server."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.models import LogEvidence
from tests.helpers import sql_statements

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(LogEvidence))


def _files_on_disk(app) -> list[Path]:
    return [p for p in Path(app.instance_path).rglob("*") if p.is_file() and "evidence" in p.parts]


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


def test_replacing_evidence_replaces_its_content(app, college):
    log, _ = services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    assert _rows() == 1
    assert services.evidence_of(log).content == PNG

    services.update_log(
        college.teacher, log, _input(college, evidence=services.EvidenceUpload("b.pdf", PDF))
    )
    db.session.commit()
    db.session.expire_all()
    assert _rows() == 1
    assert (log.evidence_name, log.evidence_type, log.evidence_size) == (
        "b.pdf",
        "application/pdf",
        len(PDF),
    )
    assert services.evidence_of(log).content == PDF
    assert _files_on_disk(app) == []


def test_removing_or_deleting_removes_the_content(app, college):
    log, _ = services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    services.update_log(college.teacher, log, _input(college, remove_evidence=True))
    db.session.commit()
    assert not log.has_evidence
    assert services.evidence_of(log) is None
    assert _rows() == 0

    services.update_log(
        college.teacher, log, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.commit()
    assert _rows() == 1
    services.delete_log(college.teacher, log)
    db.session.commit()
    assert _rows() == 0


def test_a_save_that_is_rolled_back_leaves_no_content(app, college):
    services.create_log(
        college.teacher, _input(college, evidence=services.EvidenceUpload("a.png", PNG))
    )
    db.session.rollback()
    assert _rows() == 0
    with pytest.raises(ValidationError):
        services.create_log(
            college.teacher,
            _input(college, hours="13", evidence=services.EvidenceUpload("a.png", PNG)),
        )
    db.session.rollback()
    assert _rows() == 0


def test_lists_never_read_evidence(app, client, college, sign_in, make_log):
    for status in ("draft", "submitted", "verified"):
        make_log(status=status, evidence=services.EvidenceUpload("a.png", PNG))
    with sql_statements() as statements:
        for who, page in (
            (college.teacher, "/logs/"),
            (college.teacher, "/"),
            (college.expert, "/logs/verify"),
            (college.head, "/logs/approve"),
        ):
            sign_in(who)
            response = client.get(page)
            assert response.status_code == 200, page
    assert statements
    assert not [s for s in statements if "log_evidence" in s]


def test_every_app_server_serves_the_same_file_with_the_same_headers(
    client, college, sign_in, make_app
):
    sign_in(college.teacher)
    response = client.post(
        "/logs/new",
        data={
            "date": services.college_today().isoformat(),
            "hours": "2",
            "category": "clinical",
            "description": "Ward rounds",
            "enterprise_id": str(college.enterprise.id),
            "verifier_id": "",
            "evidence": (BytesIO(PNG), "ward.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    url = response.headers["Location"].rstrip("/") + "/evidence"
    first = client.get(url)
    assert first.status_code == 200
    assert first.data == PNG
    assert first.headers["Content-Length"] == str(len(PNG))
    assert first.headers["Content-Disposition"] == "inline; filename=ward.png"
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Accept-Ranges"] == "bytes"
    assert first.headers["Last-Modified"]
    first.close()

    # Another app process on the same database, with the same browser session.
    other = make_app().test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    second = other.get(url)
    assert second.status_code == 200
    assert second.data == PNG
    for header in ("ETag", "Last-Modified", "Content-Type", "Content-Disposition"):
        assert second.headers[header] == first.headers[header], header
    second.close()
    assert other.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    partial = other.get(url, headers={"Range": "bytes=0-7"})
    assert (partial.status_code, partial.data) == (206, PNG[:8])
    partial.close()
