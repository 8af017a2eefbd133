"""Finance exports of a finalized round, the eligibility export, and exports.py itself."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from exchange import exports, units
from exchange.extensions import db
from exchange.rewards import services
from exchange.timeutil import college_today
from tests.conftest import period_end

BOM = b"\xef\xbb\xbf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- exports.py alone -----------------------------------------------------------------------


HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1)", "\tTab", "\rCR"]


def test_csv_has_a_bom_keeps_chinese_and_neutralises_formulas():
    rows = [["李娜", 48, Decimal("400.00")], *[[text, None, Decimal("-1.50")] for text in HOSTILE]]
    data = exports.to_csv(["姓名", "=Hours", "Amount"], rows)
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    read = list(csv.reader(io.StringIO(text)))
    assert read[0] == ["姓名", "'=Hours", "Amount"]
    assert read[1] == ["李娜", "48", "400.00"]
    assert [row[0] for row in read[2:]] == ["'" + text for text in HOSTILE]
    assert read[2][1:] == ["", "-1.50"]  # numbers are numbers, even negative ones
    assert "\r\n" in text


def test_xlsx_has_a_bold_header_numbers_as_numbers_and_neutralised_text():
    rows = [["李娜", 48, Decimal("400.00")], *[[text, 1, Decimal("2.5")] for text in HOSTILE]]
    rows.append(["control\x01char", None, None])
    data = exports.to_xlsx(["姓名", "Hours", "Amount"], rows, title="Payout: 2026/2027")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Payout  2026 2027"
    assert [c.value for c in sheet[1]] == ["姓名", "Hours", "Amount"]
    assert all(c.font.bold for c in sheet[1])
    assert [c.value for c in sheet[2]] == ["李娜", 48, 400]
    assert sheet["C2"].data_type == "n"
    assert sheet["C2"].number_format == "0.00"
    for row, text in enumerate(HOSTILE, start=3):
        cell = sheet.cell(row=row, column=1)
        # (XML reads a carriage return back as a line feed.)
        assert cell.value == "'" + text.replace("\r", "\n")
        assert cell.data_type == "s"
    assert sheet.cell(row=len(rows) + 1, column=1).value == "controlchar"
    assert sheet.column_dimensions["A"].width >= len(HOSTILE[0])
    assert sheet.freeze_panes == "A2"


def test_helpers_for_hours_money_and_file_names():
    assert units.hours_value(90) == Decimal("1.50")
    assert units.hours_value(20) == Decimal("0.33")
    assert units.minor_to_major(800000) == Decimal("8000.00")
    assert exports.neutralise("Li Na") == "Li Na"
    assert exports.neutralise("=1") == "'=1"
    assert exports.file_name("2026/2027", "CM", "payout") == "2026-2027-CM-payout"
    header = exports.content_disposition("2026学年-CM-payout.csv")
    assert header.startswith('attachment; filename="2026__-CM-payout.csv"')
    assert "filename*=UTF-8''2026%E5%AD%A6%E5%B9%B4-CM-payout.csv" in header


# --- rounds ------------------------------------------------------------------------------------


@pytest.fixture
def approved(make_log):
    def log(person, total: int) -> None:
        day = 0
        while total > 0:
            chunk = min(total, 8)
            make_log(
                person,
                status="approved",
                hours=str(chunk),
                work_date=college_today() - timedelta(days=day),
            )
            total -= chunk
            day += 1

    return log


def open_and_decide(college):
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        services.decide_award(college.head, award, True)
    db.session.commit()
    return reward_round


@pytest.fixture
def decided_on(college):
    """The day the awards are decided: today, before the test moves the clock on."""
    return college_today()


PAYOUT_HEADERS = [
    "Staff number",
    "Name",
    "Role",
    "Department",
    "Enterprise",
    "Period",
    "Rule",
    "Approved hours",
    "Rate per hour",
    "Amount",
    "Currency",
    "Certificate number",
    "Round",
    "Decision date",
]
HONOUR_HEADERS = [
    "Staff number",
    "Name",
    "Department",
    "Role",
    "Title",
    "Period",
    "Certificate number",
    "Issue date",
    "Verification address",
]


@pytest.fixture
def finalized(college, approved, make_user, travel, decided_on):
    """A finalized round of Clinical Medicine: a teacher with a Chinese name and a staff
    number (48 h), one named like a formula (40 h: certificate only, an allowance of 0
    is not proposed), one named "@SUM(1)" (44 h) and an expert (3 h)."""
    college.teacher.name = "李娜"
    college.teacher.staff_number = "20260042"
    db.session.commit()
    formula = make_user("teacher", name='=HYPERLINK("http://x","y")', department=college.department)
    at = make_user("teacher", name="@SUM(1)", department=college.department)
    approved(college.teacher, 48)
    approved(formula, 40)
    approved(at, 44)
    approved(college.expert, 3)
    reward_round = open_and_decide(college)
    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    return reward_round


def read_csv(response) -> list[list[str]]:
    assert response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data[len(BOM) :].decode("utf-8"))))


def test_payout_csv_lists_issued_bonuses(client, college, finalized, login_as, decided_on):
    login_as(college.head)
    response = client.get(f"/rewards/rounds/{finalized.id}/payout.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="2026-2027-CM-payout.csv"')
    rows = read_csv(response)
    assert rows[0] == PAYOUT_HEADERS
    cm, year, hospital = "Clinical Medicine", "2026-2027", "City People's Hospital"
    rnd, on = "Clinical Medicine 2026-2027", decided_on.isoformat()
    # One row per award, grouped by person (by name) with their total, then the grand total.
    assert rows[1:] == [
        ["", "'@SUM(1)", "Teacher", cm, "", year, "Practice Allowance", "44.00", "50.00",
         "200.00", "CNY", "2026-2027-CM-0003", rnd, on],
        ["", "'@SUM(1)", "", "", "", "", "Total", "", "", "200.00", "CNY", "", "", ""],
        ["", "Chen Hao", "Enterprise expert", cm, hospital, year, "Teaching Fee", "3.00",
         "200.00", "600.00", "CNY", "2026-2027-CM-0004", rnd, on],
        ["", "Chen Hao", "", "", "", "", "Total", "", "", "600.00", "CNY", "", "", ""],
        ["20260042", "李娜", "Teacher", cm, "", year, "Practice Allowance", "48.00", "50.00",
         "400.00", "CNY", "2026-2027-CM-0006", rnd, on],
        ["20260042", "李娜", "", "", "", "", "Total", "", "", "400.00", "CNY", "", "", ""],
        ["", "Grand total", "", "", "", "", "", "", "", "1200.00", "CNY", "", "", ""],
    ]  # fmt: skip


def test_honour_list_lists_issued_honours_with_verification_addresses(
    client, college, finalized, login_as
):
    login_as(college.admin)
    response = client.get(f"/rewards/rounds/{finalized.id}/honours.csv")
    assert response.status_code == 200
    rows = read_csv(response)
    assert rows[0] == HONOUR_HEADERS
    honours = {a.holder.name: a for a in finalized.awards if a.rule.kind == "honour"}
    assert sorted(row[1] for row in rows[1:]) == sorted(
        ["李娜", '\'=HYPERLINK("http://x","y")', "'@SUM(1)"]
    )
    for row in rows[1:]:
        award = honours[row[1].removeprefix("'")]
        assert row[0] == ("20260042" if row[1] == "李娜" else "")
        assert row[2:6] == ["Clinical Medicine", "Teacher", "Practice Certificate", "2026-2027"]
        assert row[6] == award.certificate_number
        assert row[7] == period_end(college.period).isoformat()  # issued when finalized
        assert row[8] == f"http://localhost/verify/{award.verification_code}"


def test_payout_xlsx_opens_with_numbers_as_numbers(client, college, finalized, login_as):
    login_as(college.head)
    response = client.get(f"/rewards/rounds/{finalized.id}/payout.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XLSX
    assert 'filename="2026-2027-CM-payout.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == PAYOUT_HEADERS
    by_name = {row[1]: row for row in rows[1:] if row[11]}  # the award rows, not the totals
    assert by_name["李娜"][7:11] == [48, 50, 400, "CNY"]
    assert all(isinstance(value, int | float) for value in by_name["李娜"][7:10])
    assert "'@SUM(1)" in by_name
    assert rows[-1][1] == "Grand total"
    assert rows[-1][9:11] == [1200, "CNY"]
    assert isinstance(rows[-1][9], int | float)
    assert sheet[1][0].font.bold


def test_honour_list_xlsx_neutralises_formula_names(client, college, finalized, login_as):
    login_as(college.head)
    response = client.get(f"/rewards/rounds/{finalized.id}/honours.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    names = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert {cell.value for cell in names} == {"李娜", '\'=HYPERLINK("http://x","y")', "'@SUM(1)"}
    assert all(cell.data_type == "s" for cell in names)


def test_revoked_and_rejected_awards_are_left_out(
    client, college, approved, login_as, make_user, travel
):
    approved(college.teacher, 48)
    approved(college.other_teacher, 44)
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        rejected = award.holder_id == college.other_teacher.id and award.rule.kind == "honour"
        services.decide_award(college.head, award, not rejected, "Not this year")
    travel(period_end(college.period))
    services.finalize_round(college.head, reward_round)
    db.session.commit()
    allowance = next(
        a for a in reward_round.awards
        if a.holder_id == college.teacher.id and a.rule.kind == "bonus"
    )  # fmt: skip
    services.revoke_award(college.admin, allowance, "Paid twice")
    db.session.commit()
    login_as(college.head)
    payout = read_csv(client.get(f"/rewards/rounds/{reward_round.id}/payout.csv"))
    # Zhao Lei's allowance and total; the grand total counts it alone.
    assert [row[1] for row in payout[1:]] == ["Zhao Lei", "Zhao Lei", "Grand total"]
    assert payout[-1][9] == "200.00"
    honours = read_csv(client.get(f"/rewards/rounds/{reward_round.id}/honours.csv"))
    assert [row[1] for row in honours[1:]] == ["Li Na"]


def test_a_draft_round_has_no_exports(client, college, approved, login_as):
    approved(college.teacher, 48)
    reward_round = open_and_decide(college)
    login_as(college.head)
    for path in ("payout.csv", "honours.xlsx"):
        response = client.get(f"/rewards/rounds/{reward_round.id}/{path}")
        assert response.status_code == 409
        assert "finalized" in response.get_data(as_text=True)


def test_other_departments_and_people_get_404(client, college, finalized, login_as):
    for person in (college.foreign_head, college.teacher, college.expert):
        login_as(person)
        assert client.get(f"/rewards/rounds/{finalized.id}/payout.csv").status_code == 404
        assert client.get(f"/rewards/rounds/{finalized.id}/honours.xlsx").status_code == 404
    login_as(college.admin)
    assert client.get("/rewards/rounds/999999/payout.csv").status_code == 404


# --- the eligibility export ----------------------------------------------------------------------


def test_eligibility_export_has_the_rows_of_the_page(client, college, approved, login_as):
    college.teacher.name = "李娜"
    db.session.commit()
    approved(college.teacher, 48)
    approved(college.other_teacher, 8)
    login_as(college.head)
    response = client.get("/rewards/eligibility.csv?sort=name")
    assert response.status_code == 200
    assert 'filename="2026-2027-CM-eligibility.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    header = rows[0]
    assert header[:5] == ["Name", "Role", "Audience", "Approved hours", "Pending hours"]
    assert "Practice Allowance (CNY)" in header
    assert [row[0] for row in rows[1:]] == ["Zhao Lei", "李娜"]  # sorted by name, as asked
    li_na = dict(zip(header, rows[2], strict=True))
    assert li_na["Approved hours"] == "48.00"
    assert li_na["Practice Certificate"] == "awarded"
    assert li_na["Practice Star"] == "112 h missing"
    assert li_na["Practice Allowance (CNY)"] == "400.00"
    assert li_na["Teaching Fee (CNY)"] == ""  # an expert's rule

    sheet = load_workbook(io.BytesIO(client.get("/rewards/eligibility.xlsx").data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == header
    assert values[1][0] == "李娜"  # by approved hours, the default
    assert values[1][3] == 48
