"""Validation of exchange logs through the services (SPEC §2, §3).

Every rule is tried on both sides of its boundary. A refusal names the field at
fault and stores nothing: no log, no audit entry, no evidence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import exchange.timeutil
from exchange import config as config_module
from exchange.errors import PermissionDenied, ValidationError
from exchange.extensions import db
from exchange.logs import services
from exchange.logs.evidence import MAX_BYTES
from exchange.logs.models import ExchangeLog, LogEvent, LogEvidence
from exchange.logs.services import EvidenceUpload, LogInput
from exchange.timeutil import college_today

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
UUID = "2f1c6f0e-8a8e-4c59-9d51-3b9b7f0c2a11"


# --- helpers ------------------------------------------------------------------------


def practice(college, **fields) -> LogInput:
    values = {
        "work_date": college_today(),
        "hours": "2",
        "category": "clinical",
        "description": "Ward rounds with the cardiology team",
        "enterprise_id": college.enterprise.id,
    }
    values.update(fields)
    return LogInput(**values)


def teaching(college, **fields) -> LogInput:
    values = {
        "work_date": college_today(),
        "hours": "2",
        "category": "lecture",
        "description": "Pharmacology for second-year nursing students",
        "department_id": college.department.id,
        "course": "Pharmacology",
        "cohort": "Nursing 2024-1",
        "students": 30,
    }
    values.update(fields)
    return LogInput(**values)


def stored() -> tuple[int, int]:
    """How many logs and audit entries the database holds."""
    logs = db.session.execute(select(func.count()).select_from(ExchangeLog)).scalar_one()
    events = db.session.execute(select(func.count()).select_from(LogEvent)).scalar_one()
    return logs, events


def accepted(owner, data: LogInput) -> ExchangeLog:
    log, created = services.create_log(owner, data)
    assert created
    db.session.commit()
    db.session.refresh(log)
    return log


def refused(owner, data: LogInput, field: str) -> ValidationError:
    """Creating is refused on exactly ``field`` and nothing is stored."""
    before = stored()
    with pytest.raises(ValidationError) as info:
        services.create_log(owner, data)
    assert set(info.value.fields) == {field}, info.value.fields
    assert str(info.value.fields[field])
    db.session.rollback()
    assert stored() == before
    return info.value


def edit_refused(owner, log: ExchangeLog, data: LogInput, field: str) -> None:
    """Editing is refused on ``field``; the log and its trail are as they were."""
    db.session.refresh(log)
    before = (log.status, log.minutes, log.description, log.work_date, log.version, stored())
    with pytest.raises(ValidationError) as info:
        services.update_log(owner, log, data)
    assert set(info.value.fields) == {field}, info.value.fields
    db.session.rollback()
    db.session.refresh(log)
    assert (log.status, log.minutes, log.description, log.work_date, log.version, stored()) == (
        before
    )


def evidence_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(LogEvidence))


# --- date -----------------------------------------------------------------------------


def test_today_is_accepted_and_tomorrow_refused(college):
    today = college_today()
    assert accepted(college.teacher, practice(college, work_date=today)).work_date == today
    refused(college.teacher, practice(college, work_date=today + timedelta(days=1)), "date")


def test_a_date_is_required(college):
    refused(college.teacher, practice(college, work_date=None), "date")


def test_a_date_outside_every_period_is_refused(college):
    start = college.period.starts_on
    accepted(college.teacher, practice(college, work_date=start))
    refused(college.teacher, practice(college, work_date=start - timedelta(days=1)), "date")


def test_a_date_in_a_locked_period_is_refused(college, make_period):
    start = college.period.starts_on
    make_period(
        name="2024-2025",
        starts_on=start - timedelta(days=200),
        ends_on=start - timedelta(days=1),
        state="locked",
    )
    error = refused(college.teacher, practice(college, work_date=start - timedelta(days=1)), "date")
    assert "2024-2025" in str(error.fields["date"])
    accepted(college.teacher, practice(college, work_date=start))


def test_the_date_of_an_edit_is_checked_too(college, make_log):
    log = make_log()
    tomorrow = college_today() + timedelta(days=1)
    edit_refused(college.teacher, log, practice(college, work_date=tomorrow), "date")


@pytest.fixture
def freeze_utc(monkeypatch):
    """Stop the clock of exchange.timeutil at a given UTC instant."""

    def freeze(moment: datetime) -> None:
        class FrozenDateTime(datetime):
            @classmethod
            def now(cls, tz=None):
                return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

        monkeypatch.setattr(exchange.timeutil, "datetime", FrozenDateTime)

    return freeze


@pytest.mark.parametrize(
    ("zone", "clock", "last_day"),
    [
        # 20:00 UTC is already 04:00 the next morning in Shanghai (UTC+8).
        ("Asia/Shanghai", time(20, 0), 1),
        # The Shanghai day begins at 16:00 UTC: a minute before, it is still "yesterday".
        ("Asia/Shanghai", time(15, 59), 0),
        ("Asia/Shanghai", time(16, 0), 1),
        ("UTC", time(20, 0), 0),
        ("UTC", time(23, 59), 0),
        # 03:00 UTC is still the evening before in Los Angeles.
        ("America/Los_Angeles", time(3, 0), -1),
    ],
)
def test_today_is_the_colleges_day_not_the_servers(
    app, college, freeze_utc, monkeypatch, zone, clock, last_day
):
    utc_day = datetime.now(UTC).date()
    monkeypatch.setitem(app.config, "EXCHANGE_TIMEZONE", zone)
    freeze_utc(datetime.combine(utc_day, clock, tzinfo=UTC))
    today = utc_day + timedelta(days=last_day)
    assert college_today() == today
    log = accepted(college.teacher, practice(college, work_date=today))
    assert log.work_date == today
    refused(college.teacher, practice(college, work_date=today + timedelta(days=1)), "date")


def test_the_college_time_zone_defaults_to_shanghai(tmp_path, monkeypatch):
    monkeypatch.delenv("EXCHANGE_TIMEZONE", raising=False)
    assert config_module.load(str(tmp_path))["EXCHANGE_TIMEZONE"] == "Asia/Shanghai"


# --- hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "minutes"),
    [
        ("0.25", 15),
        ("0.5", 30),
        ("12", 720),
        ("11.75", 705),
        ("1,5", 90),
        ("0,25", 15),
        (" 2 ", 120),
        ("2.00", 120),
        (2, 120),
        (1.5, 90),
        (Decimal("0.75"), 45),
    ],
)
def test_hours_in_quarter_hours_from_a_quarter_to_twelve(college, hours, minutes):
    log = accepted(college.teacher, practice(college, hours=hours))
    assert log.minutes == minutes
    assert log.hours == Decimal(minutes) / 60


@pytest.mark.parametrize(
    "hours",
    [
        "0.2",
        "0.3",
        "12.25",
        "13",
        "0",
        "0.00",
        "-1",
        "-0.25",
        "abc",
        "1.5h",
        "",
        "   ",
        None,
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        True,
        False,
        0.1,
        float("nan"),
        float("inf"),
        "1e-1000000",
    ],
)
def test_hours_outside_the_rule_are_refused(college, hours):
    refused(college.teacher, practice(college, hours=hours), "hours")


def test_an_absurdly_large_number_of_hours_is_refused_not_a_crash(college):
    # A form field typed "1e1000000" overflows the decimal context when it is
    # turned into minutes; it must be a validation error like any other bad number.
    refused(college.teacher, practice(college, hours="1e1000000"), "hours")


def test_hours_are_checked_on_edit(college, make_log):
    log = make_log(hours="2")
    edit_refused(college.teacher, log, practice(college, hours="0.3"), "hours")
    edit_refused(college.teacher, log, practice(college, hours="12.25"), "hours")


# --- at most 12 hours a day ---------------------------------------------------------


def test_twelve_hours_a_day_and_not_a_quarter_more(college):
    accepted(college.teacher, practice(college, hours="10"))
    accepted(college.teacher, practice(college, hours="2"))
    error = refused(college.teacher, practice(college, hours="0.25"), "hours")
    assert "0 h left" in str(error.fields["hours"])


def test_the_message_says_how_much_is_left(college):
    accepted(college.teacher, practice(college, hours="10.5"))
    error = refused(college.teacher, practice(college, hours="2"), "hours")
    assert "1.5 h left" in str(error.fields["hours"])
    accepted(college.teacher, practice(college, hours="1.5"))


@pytest.mark.parametrize("status", ["draft", "submitted", "verified", "approved"])
def test_logs_in_every_live_state_count_for_the_day(college, make_log, status):
    make_log(status=status, hours="12")
    refused(college.teacher, practice(college, hours="0.25"), "hours")


@pytest.mark.parametrize("status", ["rejected", "revoked"])
def test_rejected_and_revoked_logs_do_not_count(college, make_log, status):
    make_log(status=status, hours="12")
    accepted(college.teacher, practice(college, hours="12"))


def test_editing_a_log_does_not_count_it_twice(college, make_log):
    log = make_log(hours="12")
    services.update_log(college.teacher, log, practice(college, hours="12", description="Edited"))
    db.session.commit()
    assert log.minutes == 720


def test_an_edit_counts_the_other_logs_of_the_day(college, make_log):
    make_log(hours="10")
    log = make_log(hours="2")
    edit_refused(college.teacher, log, practice(college, hours="2.25"), "hours")
    services.update_log(college.teacher, log, practice(college, hours="1.75"))
    db.session.commit()
    assert log.minutes == 105


def test_moving_a_log_to_a_full_day_is_refused(college, make_log):
    yesterday = college_today() - timedelta(days=1)
    make_log(hours="12", work_date=yesterday)
    log = make_log(hours="1")
    edit_refused(college.teacher, log, practice(college, hours="1", work_date=yesterday), "hours")


def test_reopening_a_rejected_log_on_a_day_filled_meanwhile_is_refused(college, make_log):
    rejected = make_log(status="rejected", hours="4")
    accepted(college.teacher, practice(college, hours="10"))
    edit_refused(college.teacher, rejected, practice(college, hours="4"), "hours")
    services.update_log(college.teacher, rejected, practice(college, hours="2"))
    db.session.commit()
    assert rejected.status == "draft"


def test_another_day_and_another_person_are_separate(college, make_log):
    yesterday = college_today() - timedelta(days=1)
    make_log(hours="12", work_date=yesterday)
    make_log(owner=college.other_teacher, hours="12")
    accepted(college.teacher, practice(college, hours="12"))


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2000])
def test_a_description_of_one_to_two_thousand_characters(college, length):
    log = accepted(college.teacher, practice(college, description="x" * length))
    assert log.description == "x" * length


def test_two_thousand_chinese_characters_are_stored_whole(college):
    text = "查房" * 1000
    log = accepted(college.teacher, practice(college, description=text))
    assert log.description == text


@pytest.mark.parametrize("description", ["", "   ", " \n\t \r\n", None])
def test_an_empty_description_is_refused(college, description):
    refused(college.teacher, practice(college, description=description), "description")


def test_an_over_long_description_is_refused_not_cut(college):
    refused(college.teacher, practice(college, description="x" * 2001), "description")


def test_surrounding_blanks_do_not_count_towards_the_length(college):
    log = accepted(college.teacher, practice(college, description="  " + "y" * 2000 + " \n"))
    assert log.description == "y" * 2000


def test_text_is_stored_as_typed_apart_from_its_ends(college):
    typed = "  Line one\n\n  <b>bold</b> & 'single' \"double\" \\ 100%  \t\n"
    log = accepted(college.teacher, practice(college, description=typed))
    assert log.description == typed.strip()


@pytest.mark.parametrize(("length", "ok"), [(1, True), (120, True), (121, False)])
def test_course_name_length(college, length, ok):
    data = teaching(college, course="c" * length)
    if ok:
        assert accepted(college.expert, data).course == "c" * length
    else:
        refused(college.expert, data, "course")


@pytest.mark.parametrize(("length", "ok"), [(0, True), (60, True), (61, False)])
def test_cohort_length(college, length, ok):
    data = teaching(college, cohort="k" * length)
    if ok:
        assert accepted(college.expert, data).cohort == ("k" * length or None)
    else:
        refused(college.expert, data, "cohort")


@pytest.mark.parametrize(("students", "ok"), [(1, True), (1000, True), (0, False), (1001, False)])
def test_number_of_students(college, students, ok):
    data = teaching(college, students=students)
    if ok:
        assert accepted(college.expert, data).students == students
    else:
        refused(college.expert, data, "students")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"course": ""}, "course"),
        ({"course": "   "}, "course"),
        ({"students": None}, "students"),
        ({"department_id": None}, "department_id"),
        ({"department_id": 999_999}, "department_id"),
        ({"category": "clinical"}, "category"),  # a practice category
    ],
)
def test_teaching_needs_course_students_department_and_its_own_category(college, fields, field):
    refused(college.expert, teaching(college, **fields), field)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"enterprise_id": None}, "enterprise_id"),
        ({"enterprise_id": 999_999}, "enterprise_id"),
        ({"enterprise_id": 2**40}, "enterprise_id"),
        ({"category": "lecture"}, "category"),  # a teaching category
        ({"category": ""}, "category"),
    ],
)
def test_practice_needs_an_enterprise_and_its_own_category(college, fields, field):
    refused(college.teacher, practice(college, **fields), field)


def test_practice_ignores_course_fields(college):
    log = accepted(college.teacher, practice(college, course="Pharmacology", students=30))
    assert (log.course, log.cohort, log.students) == (None, None, None)
    assert log.department_id == college.department.id


def test_teaching_takes_place_for_the_experts_own_enterprise(college):
    data = teaching(college, enterprise_id=college.other_enterprise.id)
    log = accepted(college.expert, data)
    assert log.enterprise_id == college.enterprise.id
    assert log.kind == "teaching"


# --- the agreement rule (SPEC §2) --------------------------------------------------------


@pytest.fixture
def partner(make_enterprise):
    return make_enterprise(code="NEW", name="New Partner")


@pytest.mark.parametrize(
    ("scope", "for_own_department"),
    [("practice", True), ("both", True), ("practice", False), ("both", False)],
)
def test_practice_under_an_agreement_in_force(
    college, partner, make_agreement, scope, for_own_department
):
    make_agreement(partner, college.department if for_own_department else None, scope=scope)
    log = accepted(college.teacher, practice(college, enterprise_id=partner.id))
    assert log.enterprise_id == partner.id


def test_a_teaching_only_agreement_does_not_cover_practice(college, partner, make_agreement):
    make_agreement(partner, None, scope="teaching")
    refused(college.teacher, practice(college, enterprise_id=partner.id), "enterprise_id")


def test_another_departments_agreement_does_not_cover_practice(college, partner, make_agreement):
    make_agreement(partner, college.other_department, scope="both")
    refused(college.teacher, practice(college, enterprise_id=partner.id), "enterprise_id")
    # The college's own fixture: Phoenix Pharma has an agreement for Nursing only.
    refused(
        college.teacher,
        practice(college, enterprise_id=college.other_enterprise.id),
        "enterprise_id",
    )


def test_an_enterprise_without_any_agreement_is_refused(college, partner):
    refused(college.teacher, practice(college, enterprise_id=partner.id), "enterprise_id")


def test_an_agreement_starting_tomorrow_is_not_yet_in_force(college, partner, make_agreement):
    tomorrow = college_today() + timedelta(days=1)
    make_agreement(
        partner, None, scope="both", starts_on=tomorrow, ends_on=tomorrow + timedelta(30)
    )
    refused(college.teacher, practice(college, enterprise_id=partner.id), "enterprise_id")


def test_an_agreement_that_ended_yesterday_is_no_longer_in_force(college, partner, make_agreement):
    yesterday = college_today() - timedelta(days=1)
    make_agreement(
        partner, None, scope="both", starts_on=yesterday - timedelta(30), ends_on=yesterday
    )
    refused(college.teacher, practice(college, enterprise_id=partner.id), "enterprise_id")


def test_an_agreement_is_in_force_on_its_first_and_last_day(college, partner, make_agreement):
    today = college_today()
    first, last = today - timedelta(days=10), today - timedelta(days=5)
    make_agreement(partner, college.department, scope="practice", starts_on=first, ends_on=last)
    for day in (first, last):
        assert accepted(college.teacher, practice(college, enterprise_id=partner.id, work_date=day))
    for day in (first - timedelta(days=1), last + timedelta(days=1)):
        data = practice(college, enterprise_id=partner.id, work_date=day)
        refused(college.teacher, data, "enterprise_id")


def test_an_agreement_in_force_the_day_of_the_log_not_today(college, partner, make_agreement):
    """The agreement is looked up on the log's date: an ended one still covers its past days."""
    today = college_today()
    make_agreement(
        partner,
        None,
        scope="practice",
        starts_on=today - timedelta(60),
        ends_on=today - timedelta(3),
    )
    accepted(
        college.teacher, practice(college, enterprise_id=partner.id, work_date=today - timedelta(3))
    )


@pytest.fixture
def partner_expert(partner, make_user):
    return make_user("expert", name="Partner Expert", enterprise=partner)


@pytest.mark.parametrize(
    ("scope", "department"), [("teaching", "own"), ("both", "own"), ("teaching", None)]
)
def test_teaching_under_an_agreement_in_force(
    college, partner, partner_expert, make_agreement, scope, department
):
    make_agreement(partner, college.department if department else None, scope=scope)
    log = accepted(partner_expert, teaching(college))
    assert (log.enterprise_id, log.department_id) == (partner.id, college.department.id)


def test_a_practice_only_agreement_does_not_cover_teaching(
    college, partner, partner_expert, make_agreement
):
    make_agreement(partner, None, scope="practice")
    refused(partner_expert, teaching(college), "department_id")


def test_teaching_in_a_department_the_agreement_does_not_name(
    college, partner, partner_expert, make_agreement
):
    make_agreement(partner, college.other_department, scope="teaching")
    refused(partner_expert, teaching(college), "department_id")
    accepted(partner_expert, teaching(college, department_id=college.other_department.id))


def test_an_ended_agreement_does_not_cover_teaching(
    college, partner, partner_expert, make_agreement
):
    yesterday = college_today() - timedelta(days=1)
    make_agreement(
        partner, None, scope="both", starts_on=yesterday - timedelta(9), ends_on=yesterday
    )
    refused(partner_expert, teaching(college), "department_id")
    accepted(partner_expert, teaching(college, work_date=yesterday))


def test_the_agreement_rule_is_checked_on_edit(college, partner, make_agreement, make_log):
    make_agreement(partner, None, scope="teaching")
    log = make_log()
    edit_refused(college.teacher, log, practice(college, enterprise_id=partner.id), "enterprise_id")


# --- verifier ---------------------------------------------------------------------------


def test_an_expert_of_the_enterprise_verifies_practice(college):
    log = accepted(college.teacher, practice(college, verifier_id=college.other_expert.id))
    assert log.verifier_id == college.other_expert.id


def test_no_verifier_means_on_site_confirmation(college):
    assert accepted(college.teacher, practice(college, verifier_id=None)).verifier_id is None


@pytest.mark.parametrize(
    "who",
    ["foreign_expert", "other_teacher", "head", "teacher", "admin", "deactivated", "unknown"],
)
def test_practice_verifiers_who_are_refused(college, make_user, who):
    if who == "deactivated":
        verifier_id = make_user("expert", enterprise=college.enterprise, active=False).id
    elif who == "unknown":
        verifier_id = 999_999
    else:
        verifier_id = getattr(college, who).id
    refused(college.teacher, practice(college, verifier_id=verifier_id), "verifier_id")


@pytest.mark.parametrize("who", ["teacher", "other_teacher", "head", "other_head"])
def test_teachers_and_heads_of_the_department_verify_teaching(college, who):
    verifier = getattr(college, who)
    log = accepted(college.expert, teaching(college, verifier_id=verifier.id))
    assert log.verifier_id == verifier.id


@pytest.mark.parametrize(
    "who", ["foreign_head", "expert", "other_expert", "foreign_expert", "admin", "deactivated"]
)
def test_teaching_verifiers_who_are_refused(college, make_user, who):
    if who == "deactivated":
        verifier_id = make_user("teacher", department=college.department, active=False).id
    else:
        verifier_id = getattr(college, who).id
    refused(college.expert, teaching(college, verifier_id=verifier_id), "verifier_id")


def test_a_head_in_the_other_department_verifies_teaching_there(college):
    data = teaching(
        college, department_id=college.other_department.id, verifier_id=college.foreign_head.id
    )
    assert accepted(college.expert, data).verifier_id == college.foreign_head.id


def test_the_verifier_is_checked_on_edit(college, make_log):
    log = make_log()
    data = practice(college, verifier_id=college.foreign_expert.id)
    edit_refused(college.teacher, log, data, "verifier_id")


# --- evidence ---------------------------------------------------------------------------


def test_evidence_of_exactly_five_megabytes_is_kept(college):
    data = PNG + b"\x00" * (MAX_BYTES - len(PNG))
    log = accepted(
        college.teacher,
        practice(college, evidence=EvidenceUpload("C:\\Users\\li\\ward.png", data)),
    )
    assert (log.evidence_type, log.evidence_size, log.evidence_name) == (
        "image/png",
        MAX_BYTES,
        "ward.png",
    )
    assert services.evidence_of(log).content == data


def test_evidence_one_byte_over_five_megabytes_is_refused(college):
    data = PNG + b"\x00" * (MAX_BYTES + 1 - len(PNG))
    refused(
        college.teacher, practice(college, evidence=EvidenceUpload("big.png", data)), "evidence"
    )
    assert evidence_rows() == 0


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("scan.pdf", b"<html><body>not a pdf</body></html>"),
        ("photo.jpg", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("photo.jpg", b""),
    ],
)
def test_evidence_is_judged_by_content_not_by_name(college, name, data):
    refused(college.teacher, practice(college, evidence=EvidenceUpload(name, data)), "evidence")
    assert evidence_rows() == 0


def test_a_pdf_named_like_a_photo_is_stored_as_a_pdf(college):
    log = accepted(
        college.teacher, practice(college, evidence=EvidenceUpload("scan.jpg", b"%PDF-1.4\n"))
    )
    assert log.evidence_type == "application/pdf"
    assert services.evidence_of(log).content == b"%PDF-1.4\n"


# --- client_id and idempotent create --------------------------------------------------


@pytest.mark.parametrize("client_id", ["not-a-uuid", "1234", "2f1c6f0e-8a8e-4c59-9d51", "x" * 36])
def test_a_client_id_must_be_a_uuid(college, client_id):
    refused(college.teacher, practice(college, client_id=client_id), "client_id")


def test_a_second_create_with_the_same_client_id_returns_the_first_log(college):
    first, created = services.create_log(college.teacher, practice(college, client_id=UUID))
    db.session.commit()
    assert created
    again, created = services.create_log(
        college.teacher, practice(college, client_id=UUID, hours="5", description="Different")
    )
    db.session.commit()
    assert not created
    assert again.id == first.id
    assert (again.minutes, again.description) == (120, "Ward rounds with the cardiology team")
    assert stored() == (1, 1)


def test_the_same_uuid_written_differently_is_the_same_client_id(college):
    first, _ = services.create_log(college.teacher, practice(college, client_id=UUID))
    db.session.commit()
    again, created = services.create_log(college.teacher, practice(college, client_id=UUID.upper()))
    assert not created
    assert again.id == first.id


def test_a_retry_is_answered_even_when_the_day_is_now_full(college):
    # The retry of a 12-hour log must return the log, not say the day is full.
    first, _ = services.create_log(college.teacher, practice(college, hours="12", client_id=UUID))
    db.session.commit()
    again, created = services.create_log(
        college.teacher, practice(college, hours="12", client_id=UUID)
    )
    assert (again.id, created) == (first.id, False)


def test_client_ids_belong_to_their_owner(college):
    mine, _ = services.create_log(college.teacher, practice(college, client_id=UUID))
    db.session.commit()
    theirs, created = services.create_log(college.other_teacher, practice(college, client_id=UUID))
    db.session.commit()
    assert created
    assert theirs.id != mine.id
    assert stored() == (2, 2)


def test_without_a_client_id_every_create_is_a_new_log(college):
    accepted(college.teacher, practice(college, client_id=None))
    accepted(college.teacher, practice(college, client_id=""))
    assert stored() == (2, 2)


# --- who creates ---------------------------------------------------------------------


def test_an_admin_cannot_create_a_log(college):
    with pytest.raises(PermissionDenied):
        services.create_log(college.admin, practice(college))
    with pytest.raises(PermissionDenied):
        services.create_log(college.admin, teaching(college))
    db.session.rollback()
    assert stored() == (0, 0)


def test_teachers_and_heads_log_practice_experts_teaching(college):
    assert accepted(college.teacher, practice(college)).kind == "practice"
    assert accepted(college.head, practice(college)).kind == "practice"
    assert accepted(college.expert, teaching(college)).kind == "teaching"


def test_a_new_log_is_a_draft_with_one_create_entry(college):
    log = accepted(college.teacher, practice(college))
    assert log.status == "draft"
    assert log.period_id == college.period.id
    [event] = log.events
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        "create",
        None,
        "draft",
        college.teacher.id,
    )


def test_create_and_submit_at_once(college):
    log, created = services.create_log(college.teacher, practice(college), submit=True)
    db.session.commit()
    assert created
    assert log.status == "submitted"
    assert [e.action for e in log.events] == ["create", "submit"]


def test_every_error_is_reported_at_once(college):
    data = practice(
        college,
        work_date=college_today() + timedelta(days=1),
        hours="0.3",
        category="nope",
        description="",
        enterprise_id=None,
    )
    with pytest.raises(ValidationError) as info:
        services.create_log(college.teacher, data)
    assert {"date", "hours", "category", "description", "enterprise_id"} <= set(info.value.fields)
    db.session.rollback()
    assert stored() == (0, 0)


def test_a_future_date_beyond_every_period(college):
    refused(college.teacher, practice(college, work_date=date(9999, 12, 31)), "date")
