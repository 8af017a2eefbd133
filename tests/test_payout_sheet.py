"""The payout sheet finance pays from, and the honour list (SPEC §5, issue 7).

One row per issued bonus with who is paid and why; each person's total per currency
after their rows; the grand total per currency at the end. Per department round (its
heads, admins) and for a whole period (admins). CSV with a BOM, XLSX with numbers as
numbers, formulas neutralised, rule names in the reader's language, and the same number
of queries for three awards as for thirty.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from openpyxl import load_workbook

from exchange.accounts.models import User
from exchange.extensions import db
from exchange.rewards import services
from exchange.rewards.models import RewardRound
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import sql_statements

BOM = b"\xef\xbb\xbf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PAYOUT_HEADERS = [
    "Staff number", "Name", "Role", "Department", "Enterprise", "Period", "Rule",
    "Approved hours", "Rate per hour", "Amount", "Currency", "Certificate number", "Round",
    "Decision date",
]  # fmt: skip
HONOUR_HEADERS = [
    "Staff number", "Name", "Department", "Role", "Title", "Period", "Certificate number",
    "Issue date", "Verification address",
]  # fmt: skip
COLUMN = {name: index for index, name in enumerate(PAYOUT_HEADERS)}
HOSTILE = '=HYPERLINK("http://evil.example","x")'


def approve_hours(make_log, owner: User, total: int, first_day: int = 0, **fields) -> int:
    """``total`` approved hours for ``owner`` in logs of at most 8 h, one a day, counting
    back from ``first_day`` days before today; the next free day offset."""
    day = first_day
    while total > 0:
        chunk = min(total, 8)
        work_date = college_today() - timedelta(days=day)
        make_log(owner, status="approved", hours=str(chunk), work_date=work_date, **fields)
        total -= chunk
        day += 1
    return day


def decide_all(actor: User, reward_round: RewardRound) -> None:
    for award in reward_round.awards:
        services.decide_award(actor, award, True)
    db.session.commit()


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data[len(BOM) :].decode("utf-8"))))


def read_xlsx(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(response.data)).active


@dataclass
class Year:
    """A reward year played to its end: Clinical Medicine's, Nursing's and the college
    round finalized. ``decided_on`` is the college day the awards were decided."""

    cm: RewardRound
    nur: RewardRound
    college_round: RewardRound
    decided_on: str


@pytest.fixture
def extra_rules(college):
    """A second currency (a travel grant in USD for teachers) and a college-wide bonus
    for experts, besides the default rules."""
    admin, period = college.admin, college.period
    services.save_rule(admin, period, services.RuleInput(
        code="travel-grant", name="Travel Grant", name_zh="差旅补助", kind="bonus",
        audience="teacher", threshold_hours=40, fixed_amount_minor=10000,
        rate_per_hour_minor=250, currency="USD",
    ))  # fmt: skip
    services.save_rule(admin, period, services.RuleInput(
        code="mentor-fee", name="College Mentor Fee", name_zh="学院导师津贴", kind="bonus",
        audience="expert", threshold_hours=16, scope="college", fixed_amount_minor=100000,
        rate_per_hour_minor=0,
    ))  # fmt: skip
    db.session.commit()


def play_year(college, make_log, travel) -> Year:
    """Li Na (CM, T2019034): 48 h of practice. Chen Hao (expert of City People's Hospital,
    RMH-0412): 10 h of teaching in Clinical Medicine and 10 h in Nursing. Everything
    decided on a morning before 8 a.m. (so the day in UTC is the day before), and
    finalized after the period's end."""
    college.teacher.name = "Li Na"
    college.teacher.staff_number = "T2019034"
    college.expert.staff_number = "RMH-0412"
    db.session.commit()
    approve_hours(make_log, college.teacher, 48)
    nursing = {"department_id": college.other_department.id, "verifier": college.foreign_head}
    day = approve_hours(make_log, college.expert, 10)
    approve_hours(make_log, college.expert, 10, first_day=day, **nursing)

    decided = college_today() + timedelta(days=3)
    travel(decided, time(7, 30))  # 23:30 UTC the day before
    cm = services.open_round(college.head, college.department.id, college.period.id)
    nur = services.open_round(college.foreign_head, college.other_department.id, college.period.id)
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    db.session.commit()
    decide_all(college.head, cm)
    decide_all(college.foreign_head, nur)
    decide_all(college.admin, college_round)
    travel(period_end(college.period))
    for reward_round, actor in ((cm, college.head), (nur, college.foreign_head),
                                (college_round, college.admin)):  # fmt: skip
        services.finalize_round(actor, reward_round)
    db.session.commit()
    return Year(cm, nur, college_round, decided.isoformat())


@pytest.fixture
def year(college, extra_rules, make_log, travel) -> Year:
    return play_year(college, make_log, travel)


def certificate(reward_round: RewardRound, holder: User, code: str) -> str:
    award = next(a for a in reward_round.awards if a.holder_id == holder.id and a.rule.code == code)
    assert award.certificate_number
    return award.certificate_number


# --- the department round's sheet --------------------------------------------------------------


def test_the_round_sheet_has_a_row_per_bonus_and_totals_per_person_and_currency(
    client, college, year, sign_in
):
    sign_in(college.head)
    response = client.get(f"/rewards/rounds/{year.cm.id}/payout.csv")
    assert 'filename="2026-2027-CM-payout.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == PAYOUT_HEADERS
    cm, period, on = "Clinical Medicine", "2026-2027", year.decided_on
    rnd = "Clinical Medicine 2026-2027"
    hospital = "City People's Hospital"
    fee = certificate(year.cm, college.expert, "teaching-fee")
    allowance = certificate(year.cm, college.teacher, "practice-allowance")
    grant = certificate(year.cm, college.teacher, "travel-grant")
    # Grouped by person (by name), each person's awards in certificate order, then their
    # total per currency; the grand total per currency closes the sheet.
    assert rows[1:] == [
        ["RMH-0412", "Chen Hao", "Enterprise expert", cm, hospital, period, "Teaching Fee",
         "10.00", "200.00", "2000.00", "CNY", fee, rnd, on],
        ["RMH-0412", "Chen Hao", "", "", "", "", "Total", "", "", "2000.00", "CNY", "", "", ""],
        ["T2019034", "Li Na", "Teacher", cm, "", period, "Practice Allowance",
         "48.00", "50.00", "400.00", "CNY", allowance, rnd, on],
        ["T2019034", "Li Na", "Teacher", cm, "", period, "Travel Grant",
         "48.00", "2.50", "120.00", "USD", grant, rnd, on],
        ["T2019034", "Li Na", "", "", "", "", "Total", "", "", "400.00", "CNY", "", "", ""],
        ["T2019034", "Li Na", "", "", "", "", "Total", "", "", "120.00", "USD", "", "", ""],
        ["", "Grand total", "", "", "", "", "", "", "", "2400.00", "CNY", "", "", ""],
        ["", "Grand total", "", "", "", "", "", "", "", "120.00", "USD", "", "", ""],
    ]  # fmt: skip


def test_the_xlsx_sheet_has_numbers_as_numbers(client, college, year, sign_in):
    sign_in(college.admin)
    response = client.get(f"/rewards/rounds/{year.cm.id}/payout.xlsx")
    assert 'filename="2026-2027-CM-payout.xlsx"' in response.headers["Content-Disposition"]
    sheet = read_xlsx(response)
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == PAYOUT_HEADERS
    li_na = next(r for r in rows if r[COLUMN["Rule"]].value == "Practice Allowance")
    numbers = [li_na[COLUMN[name]] for name in ("Approved hours", "Rate per hour", "Amount")]
    assert [c.value for c in numbers] == [48, 50, 400]
    assert all(c.data_type == "n" for c in numbers)
    assert li_na[COLUMN["Staff number"]].value == "T2019034"
    assert li_na[COLUMN["Staff number"]].data_type == "s"
    totals = [r for r in rows if r[COLUMN["Rule"]].value == "Total"]
    assert [(r[COLUMN["Amount"]].value, r[COLUMN["Currency"]].value) for r in totals] == [
        (2000, "CNY"),
        (400, "CNY"),
        (120, "USD"),
    ]
    assert all(r[COLUMN["Amount"]].data_type == "n" for r in totals)
    grand = [r for r in rows if r[COLUMN["Name"]].value == "Grand total"]
    assert [(r[COLUMN["Amount"]].value, r[COLUMN["Currency"]].value) for r in grand] == [
        (2400, "CNY"),
        (120, "USD"),
    ]
    assert all(r[COLUMN["Amount"]].data_type == "n" for r in grand)


def test_a_hostile_name_and_enterprise_stay_text(
    client, college, extra_rules, make_log, make_user, make_enterprise, make_agreement,
    sign_in, travel,
):  # fmt: skip
    teacher = make_user("teacher", name=HOSTILE, department=college.department)
    approve_hours(make_log, teacher, 44)
    enterprise = make_enterprise(name="@SUM(A1:A9) Pharma")
    make_agreement(enterprise)
    expert = make_user("expert", name="-2+3", enterprise=enterprise)
    approve_hours(make_log, expert, 2)
    cm = services.open_round(college.head, college.department.id, college.period.id)
    decide_all(college.head, cm)
    travel(period_end(college.period))
    services.finalize_round(college.head, cm)
    db.session.commit()
    sign_in(college.head)

    rows = read_csv(client.get(f"/rewards/rounds/{cm.id}/payout.csv"))
    names = [row[COLUMN["Name"]] for row in rows[1:]]
    assert names.count("'" + HOSTILE) == 4  # allowance, grant, a total per currency
    assert names.count("'-2+3") == 2
    assert HOSTILE not in names
    enterprises = {row[COLUMN["Enterprise"]] for row in rows[1:]}
    assert "'@SUM(A1:A9) Pharma" in enterprises

    sheet = read_xlsx(client.get(f"/rewards/rounds/{cm.id}/payout.xlsx"))
    cells = [row[COLUMN["Name"]] for row in sheet.iter_rows(min_row=2)]
    hostile = [c for c in cells if c.value == "'" + HOSTILE]
    assert len(hostile) == 4
    assert all(c.data_type == "s" for c in hostile)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_a_chinese_reader_gets_chinese_rule_names(client, college, year, sign_in):
    college.head.locale = "zh_Hans"
    college.admin.locale = "zh_Hans"
    db.session.commit()
    sign_in(college.head)
    rows = read_csv(client.get(f"/rewards/rounds/{year.cm.id}/payout.csv"))
    rules = [row[COLUMN["Rule"]] for row in rows[1:] if row[COLUMN["Certificate number"]]]
    assert rules == ["授课费", "实践津贴", "差旅补助"]
    honours = read_csv(client.get(f"/rewards/rounds/{year.cm.id}/honours.csv"))
    assert [row[4] for row in honours[1:]] == ["实践证书"]

    sign_in(college.admin)
    period = read_csv(client.get(f"/rewards/periods/{college.period.id}/payout.csv"))
    assert "学院导师津贴" in {row[COLUMN["Rule"]] for row in period[1:]}


# --- the period's sheet ------------------------------------------------------------------------


def test_the_period_sheet_covers_every_finalized_round(client, college, year, sign_in):
    sign_in(college.admin)
    response = client.get(f"/rewards/periods/{college.period.id}/payout.csv")
    assert 'filename="2026-2027-payout.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == PAYOUT_HEADERS
    chen = [row for row in rows[1:] if row[COLUMN["Name"]] == "Chen Hao"]
    awards = [
        (row[COLUMN["Department"]], row[COLUMN["Rule"]], row[COLUMN["Approved hours"]],
         row[COLUMN["Amount"]], row[COLUMN["Round"]], row[COLUMN["Certificate number"]])
        for row in chen[:-1]
    ]  # fmt: skip
    # The college round counts his hours across departments (20 h), each department
    # its own (10 h); certificate order: CM, COL, NUR.
    assert awards == [
        ("Clinical Medicine", "Teaching Fee", "10.00", "2000.00", "Clinical Medicine 2026-2027",
         certificate(year.cm, college.expert, "teaching-fee")),
        ("College", "College Mentor Fee", "20.00", "1000.00", "College 2026-2027",
         certificate(year.college_round, college.expert, "mentor-fee")),
        ("Nursing", "Teaching Fee", "10.00", "2000.00", "Nursing 2026-2027",
         certificate(year.nur, college.expert, "teaching-fee")),
    ]  # fmt: skip
    assert all(row[COLUMN["Enterprise"]] == "City People's Hospital" for row in chen[:-1])
    assert all(row[COLUMN["Decision date"]] == year.decided_on for row in chen[:-1])
    assert chen[-1][COLUMN["Rule"]] == "Total"
    assert chen[-1][COLUMN["Amount"]] == "5000.00"
    grand = [
        (row[COLUMN["Amount"]], row[COLUMN["Currency"]])
        for row in rows
        if row[COLUMN["Name"]] == "Grand total"
    ]
    assert grand == [("5400.00", "CNY"), ("120.00", "USD")]
    assert rows[-2:] == [r for r in rows if r[COLUMN["Name"]] == "Grand total"]

    sheet = read_xlsx(client.get(f"/rewards/periods/{college.period.id}/payout.xlsx"))
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[-2][COLUMN["Amount"]] == 5400
    assert sheet.cell(row=len(values) - 1, column=COLUMN["Amount"] + 1).data_type == "n"


def test_the_period_honour_list_has_the_new_columns(client, college, year, sign_in):
    sign_in(college.admin)
    rows = read_csv(client.get(f"/rewards/periods/{college.period.id}/honours.csv"))
    assert rows[0] == HONOUR_HEADERS
    by_title = {row[4]: row for row in rows[1:]}
    assert set(by_title) == {"Practice Certificate", "Mentor Certificate"}
    mentor = by_title["Mentor Certificate"]
    assert mentor[:4] == ["RMH-0412", "Chen Hao", "College", "Enterprise expert"]
    assert mentor[5] == "2026-2027"
    assert mentor[6] == certificate(year.college_round, college.expert, "mentor-cert")
    assert mentor[7] == period_end(college.period).isoformat()  # issued when finalized
    assert mentor[8].startswith("http://localhost/verify/")
    assert by_title["Practice Certificate"][0] == "T2019034"


def test_the_period_sheet_leaves_out_rounds_still_in_draft(
    client, college, extra_rules, make_log, sign_in, travel
):
    college.teacher.name = "Li Na"
    db.session.commit()
    approve_hours(make_log, college.teacher, 48)
    nursing = {"department_id": college.other_department.id, "verifier": college.foreign_head}
    approve_hours(make_log, college.expert, 10, **nursing)
    cm = services.open_round(college.head, college.department.id, college.period.id)
    nur = services.open_round(college.foreign_head, college.other_department.id, college.period.id)
    decide_all(college.head, cm)
    decide_all(college.foreign_head, nur)
    sign_in(college.admin)
    url = f"/rewards/periods/{college.period.id}/payout.csv"

    response = client.get(url)  # nothing finalized yet: nothing to pay from
    assert response.status_code == 409
    assert "no round of 2026-2027 is finalized yet" in response.get_data(as_text=True)
    assert client.get(f"/rewards/periods/{college.period.id}/honours.xlsx").status_code == 409

    travel(period_end(college.period))
    services.finalize_round(college.head, cm)
    db.session.commit()
    sign_in(college.admin)
    rows = read_csv(client.get(url))
    assert {row[COLUMN["Round"]] for row in rows[1:] if row[COLUMN["Certificate number"]]} == {
        "Clinical Medicine 2026-2027"
    }
    assert "Chen Hao" not in {row[COLUMN["Name"]] for row in rows}  # Nursing's is a draft


# --- who may take it ---------------------------------------------------------------------------


def test_a_draft_round_has_no_payout_sheet(client, college, make_log, sign_in):
    approve_hours(make_log, college.teacher, 48)
    cm = services.open_round(college.head, college.department.id, college.period.id)
    decide_all(college.head, cm)
    sign_in(college.head)
    for path in ("payout.csv", "payout.xlsx", "honours.csv"):
        response = client.get(f"/rewards/rounds/{cm.id}/{path}")
        assert response.status_code == 409
        assert "Exports are made from a finalized round" in response.get_data(as_text=True)


def test_only_the_departments_heads_and_admins_get_a_rounds_sheet(client, college, year, sign_in):
    for person in (college.foreign_head, college.teacher, college.expert):
        sign_in(person)
        assert client.get(f"/rewards/rounds/{year.cm.id}/payout.csv").status_code == 404
        assert client.get(f"/rewards/rounds/{year.cm.id}/payout.xlsx").status_code == 404
    sign_in(college.foreign_head)  # Nursing's own round: yes
    assert client.get(f"/rewards/rounds/{year.nur.id}/payout.csv").status_code == 200
    # The college round is the admins'.
    for person in (college.head, college.foreign_head, college.teacher):
        sign_in(person)
        response = client.get(f"/rewards/rounds/{year.college_round.id}/payout.csv")
        assert response.status_code == 404
    sign_in(college.admin)
    rows = read_csv(client.get(f"/rewards/rounds/{year.college_round.id}/payout.csv"))
    assert [row[COLUMN["Rule"]] for row in rows[1:]] == ["College Mentor Fee", "Total", ""]
    assert rows[1][COLUMN["Department"]] == "College"
    assert client.get("/rewards/rounds/999999/payout.csv").status_code == 404


def test_only_admins_get_a_periods_sheet(client, college, year, sign_in):
    url = f"/rewards/periods/{college.period.id}/payout.csv"
    for person in (college.head, college.foreign_head, college.teacher, college.expert):
        sign_in(person)
        assert client.get(url).status_code == 403
        assert client.get(f"/rewards/periods/{college.period.id}/honours.xlsx").status_code == 403
    client.post("/logout")
    assert client.get(url).status_code == 302  # to the sign-in page
    sign_in(college.admin)
    assert client.get("/rewards/periods/999999/payout.csv").status_code == 404
    assert client.get(f"/rewards/periods/{college.period.id}/payout.pdf").status_code == 404


# --- bounded queries ---------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with sql_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return len(statements)


def test_the_sheets_run_the_same_queries_for_3_and_30_awards(
    client, college, make_log, make_user, make_enterprise, make_agreement, sign_in, travel
):
    """Three experts teach in Clinical Medicine, thirty in Nursing, each of their own
    enterprise with a staff number: one Teaching Fee each."""
    nursing = {"department_id": college.other_department.id, "verifier": college.foreign_head}
    for n in range(33):
        enterprise = make_enterprise()
        make_agreement(enterprise)
        expert = make_user("expert", name=f"Expert {n:02d}", enterprise=enterprise)
        expert.staff_number = f"E-{n:04d}"
        db.session.commit()
        approve_hours(make_log, expert, 1, **({} if n < 3 else nursing))
    cm = services.open_round(college.head, college.department.id, college.period.id)
    nur = services.open_round(college.foreign_head, college.other_department.id, college.period.id)
    decide_all(college.head, cm)
    decide_all(college.foreign_head, nur)
    assert (len(cm.awards), len(nur.awards)) == (3, 30)
    travel(period_end(college.period))
    services.finalize_round(college.head, cm)
    db.session.commit()
    sign_in(college.admin)

    period_url = f"/rewards/periods/{college.period.id}/payout.csv"
    few = _queries(client, f"/rewards/rounds/{cm.id}/payout.csv")
    few_period = _queries(client, period_url)
    few_xlsx = _queries(client, f"/rewards/rounds/{cm.id}/payout.xlsx")

    services.finalize_round(college.foreign_head, nur)
    db.session.commit()
    many = _queries(client, f"/rewards/rounds/{nur.id}/payout.csv")
    many_period = _queries(client, period_url)
    many_xlsx = _queries(client, f"/rewards/rounds/{nur.id}/payout.xlsx")
    assert (many, many_period, many_xlsx) == (few, few_period, few_xlsx)
    assert few <= 6, few

    rows = read_csv(client.get(period_url))
    assert len([row for row in rows[1:] if row[COLUMN["Certificate number"]]]) == 33
    assert rows[-1][COLUMN["Amount"]] == "6600.00"  # 33 × 200.00
