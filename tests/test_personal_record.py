"""The personal record for promotion files: /me/record and /me/record.xlsx (SPEC §5, §6).

What a person notices: their own approved hours, period by period with totals, and
their awards with certificate numbers, as a printable page and as a workbook; in
their language; nobody else's logs, nothing not yet approved; an address that
cannot be tricked into a server error.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exchange import exports
from exchange.extensions import db
from exchange.logs import services as log_services
from exchange.logs.workflow import Action
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.helpers import sql_statements

ROOT = Path(__file__).resolve().parent.parent
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONFIRMER = "Zhang Wei (Head nurse)"


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def days_ago(n: int):
    return college_today() - timedelta(days=n)


def _workbook(response):
    assert response.status_code == 200, response.status_code
    assert response.content_type == XLSX
    return load_workbook(io.BytesIO(response.data))


def _confirm_on_site(log, owner, admin) -> None:
    """Confirmed on site by someone without an account, then approved."""
    token, _expires = log_services.issue_confirmation_link(owner, log)
    log_services.confirm_onsite(
        token, log_services.OnsiteDecision(name="Zhang Wei", job_title="Head nurse", confirm=True)
    )
    log_services.transition(admin, log, Action.APPROVE)
    db.session.commit()


@pytest.fixture
def earlier(make_period, college):
    """The academic year before the college's period, with nothing locked yet."""
    start = college.period.starts_on
    return make_period(
        name="2025-2026", starts_on=start - timedelta(days=300), ends_on=start - timedelta(days=1)
    )


@pytest.fixture
def record(college, earlier, make_log, travel):
    """Li Na (staff number T-0042): 48 approved hours this period (one log confirmed on
    site), 3 approved hours the year before; a finalized round has issued her the Practice
    Certificate and the Practice Allowance, and the certificate was revoked later.
    Around her: logs not approved, and the approved logs of others."""
    today = college_today()

    def day(n: int):  # counted from before the clock moves on
        return today - timedelta(days=n)

    teacher = college.teacher
    teacher.staff_number = "T-0042"
    db.session.commit()
    for n in range(5):
        make_log(teacher, status="approved", hours="8", work_date=day(n + 1))
    onsite = make_log(teacher, status="submitted", hours="8", work_date=day(6), verifier_id=None)
    _confirm_on_site(onsite, teacher, college.admin)
    make_log(teacher, status="approved", hours="3", work_date=day(200), category="management")
    # Hers but not approved (their dates are not in the record).
    make_log(teacher, status="draft", work_date=day(40))
    make_log(teacher, status="submitted", work_date=day(41))
    make_log(teacher, status="verified", work_date=day(42))
    make_log(teacher, status="rejected", work_date=day(43))
    make_log(teacher, status="revoked", work_date=day(44))
    # Approved, but somebody else's.
    make_log(college.other_teacher, status="approved", hours="8", work_date=day(50))
    make_log(college.expert, status="approved", hours="8", work_date=day(51), course="Secret")

    reward_round = rewards.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        rewards.decide_award(college.head, award, True)
    db.session.commit()
    travel(period_end(college.period))
    rewards.finalize_round(college.head, reward_round)
    db.session.commit()
    mine = {a.rule.code: a for a in reward_round.awards if a.holder_id == teacher.id}
    rewards.revoke_award(college.admin, mine["practice-cert"], "Issued twice")
    db.session.commit()
    return college, mine, day


# --- the page ---------------------------------------------------------------------------


def test_the_record_lists_approved_hours_by_period_and_awards(app, client, record, login_as):
    college, awards, day = record
    login_as(college.teacher)
    response = client.get("/me/record")
    assert response.headers["Cache-Control"] == "no-store"
    page = _page(response)
    for text in (
        "Li Na",
        "T-0042",
        "Clinical Medicine",
        app.config["EXCHANGE_INSTITUTION"],
        college_today().isoformat(),  # produced today
        "2026-2027",
        "2025-2026",
        "City People's Hospital",
        "Clinical rotation",
        "Management",
        "Chen Hao",  # the named verifier
        "Total for 2026-2027",
        "Total for 2025-2026",
        "48 h",
        "3 h",
        "51 h",  # all periods together
        "Practice Certificate",
        "Practice Allowance",
        "¥400.00",
        awards["practice-cert"].certificate_number,
        awards["practice-allowance"].certificate_number,
        "Revoked",
        "Issued",
    ):
        assert text in page, text
    # Oldest period first, and within it the oldest log first.
    assert page.index("Total for 2025-2026") < page.index("Total for 2026-2027")
    assert page.index(day(6).isoformat()) < page.index(day(1).isoformat())
    assert page.count('<tr id="award-') == 2
    assert "All periods" in page  # the chooser shows what is chosen


def test_the_page_prints_on_a4_portrait_without_the_menus(client, record, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    page = _page(client.get("/me/record"))
    assert re.search(r'href="/static/record\.css\?v=[0-9a-f]{12}"', page)
    css = (ROOT / "static/record.css").read_text()
    assert "size: A4 portrait" in css
    print_rules = css[css.index("@media print") :]
    for hidden in (".topbar", ".tabbar", ".foot", ".no-print"):
        assert hidden in print_rules
    # The chooser and the download are on screen only.
    assert re.search(r'class="card no-print">\s*<form class="record-chooser" method="get"', page)


def test_the_period_chooser_is_a_get_form_with_a_label(client, record, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    page = _page(client.get(f"/me/record?period={college.period.id}"))
    assert 'method="get"' in page
    assert '<label for="period">Period</label>' in page
    assert '<select id="period" name="period">' in page
    assert f'<option value="{college.period.id}" selected>2026-2027</option>' in page
    assert f'href="/me/record.xlsx?period={college.period.id}"' in page


def test_an_on_site_confirmation_names_the_confirmer(client, record, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    page = _page(client.get("/me/record"))
    row = re.search(rf"<tr>\s*<td[^>]*><time[^>]*>{day(6).isoformat()}</time>.*?</tr>", page, re.S)
    assert row, "the on-site log is listed"
    assert CONFIRMER in row.group(0)
    assert "On-site confirmation" in row.group(0)
    assert "Chen Hao" not in row.group(0)


def test_one_period_shows_only_that_period(client, record, earlier, login_as):
    college, awards, day = record
    login_as(college.teacher)
    page = _page(client.get(f"/me/record?period={earlier.id}"))
    assert "Total for 2025-2026" in page
    assert "Total for 2026-2027" not in page
    assert day(1).isoformat() not in page
    assert "No awards in this period." in page
    assert awards["practice-cert"].certificate_number not in page

    page = _page(client.get(f"/me/record?period={college.period.id}"))
    assert "Total for 2026-2027" in page
    assert "Total for 2025-2026" not in page
    assert day(200).isoformat() not in page
    assert "Total of all periods" not in page
    assert awards["practice-cert"].certificate_number in page


@pytest.mark.parametrize("query", ["", "?period=", "?period=all"])
def test_every_period_without_a_period_or_with_all(client, record, login_as, query):
    college, _awards, day = record
    login_as(college.teacher)
    page = _page(client.get(f"/me/record{query}"))
    assert "Total for 2025-2026" in page
    assert "Total for 2026-2027" in page
    assert "Total of all periods: 51 h" in page


def test_only_approved_logs_of_ones_own_appear(client, record, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    page = _page(client.get("/me/record"))
    for n in (40, 41, 42, 43, 44, 50, 51):  # not approved, or not hers
        assert day(n).isoformat() not in page, n
    assert "Secret" not in page
    assert "Zhao Lei" not in page
    # Six logs this period, one the year before.
    assert page.count('<td data-label="Date" class="nowrap">') == 7


def test_another_persons_record_is_their_own(client, record, login_as):
    college, awards, day = record
    login_as(college.other_teacher)
    page = _page(client.get("/me/record"))
    assert "Zhao Lei" in page
    assert day(50).isoformat() in page
    for n in (1, 6, 200):
        assert day(n).isoformat() not in page
    assert "T-0042" not in page
    assert awards["practice-cert"].certificate_number not in page
    assert "No awards yet." in page
    # No address of this page names anybody: ?owner= and the like are ignored.
    page = _page(client.get(f"/me/record?owner={college.teacher.id}&user={college.teacher.id}"))
    assert day(1).isoformat() not in page


def test_an_expert_sees_teaching_places_as_department_and_course(client, record, login_as):
    college, _awards, day = record
    login_as(college.expert)
    page = _page(client.get("/me/record"))
    assert "Clinical Medicine · Secret" in page
    assert "Lecture" in page
    assert "City People's Hospital" in page  # the expert's enterprise, in the header


def test_an_admin_sees_an_empty_record_that_says_why(client, record, login_as):
    college, _awards, day = record
    login_as(college.admin)
    page = _page(client.get("/me/record"))
    assert "Administrators log no hours and receive no awards" in page
    assert "Ma Guo" in page
    assert "<table" not in page
    workbook = _workbook(client.get("/me/record.xlsx"))
    assert workbook["Approved hours"].max_row == 1
    assert workbook["Awards"].max_row == 1


def test_the_record_reads_in_chinese(client, record, login_as):
    college, _awards, day = record
    college.teacher.locale = "zh_Hans"
    db.session.commit()
    login_as(college.teacher)
    page = _page(client.get("/me/record"))
    assert 'lang="zh-Hans"' in page
    for text in ("实践证书", "实践津贴", "临床实践", "已撤销", "¥400.00", "所有周期", "现场确认"):
        assert text in page, text
    assert "Practice Certificate" not in page
    workbook = _workbook(client.get("/me/record.xlsx"))
    awards = workbook.worksheets[1]
    assert {row[1] for row in awards.iter_rows(min_row=2, values_only=True)} == {
        "实践证书",
        "实践津贴",
    }


def test_the_account_page_links_to_the_record(client, college, login_as):
    login_as(college.teacher)
    assert 'href="/me/record"' in client.get("/account").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client, college):
    for path in ("/me/record", "/me/record.xlsx"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "value",
    ["abc", "1.5", "-1", "0", "１", "99999999999999999999", "2147483648", "999999", "all2", " 1"],
)
def test_a_period_that_is_not_one_is_not_found(client, college, login_as, value):
    login_as(college.teacher)
    for path in ("/me/record", "/me/record.xlsx"):
        response = client.get(path, query_string={"period": value})
        assert response.status_code == 404, (path, value)
        assert response.headers["Cache-Control"] == "no-store"


# --- the workbook -----------------------------------------------------------------------


def test_the_workbook_has_a_sheet_of_hours_and_one_of_awards(client, record, login_as):
    college, awards, day = record
    login_as(college.teacher)
    response = client.get("/me/record.xlsx")
    assert "no-store" in response.headers["Cache-Control"]
    assert "T-0042" in response.headers["Content-Disposition"]
    assert "all-periods.xlsx" in response.headers["Content-Disposition"]
    workbook = _workbook(response)
    assert workbook.sheetnames == ["Approved hours", "Awards"]

    hours = workbook["Approved hours"]
    assert [c.value for c in hours[1]] == [
        "Period",
        "Date",
        "Place",
        "Category",
        "Hours",
        "Verifier",
    ]
    assert all(c.font.bold for c in hours[1])
    rows = list(hours.iter_rows(min_row=2, values_only=True))
    assert rows[0] == (
        "2025-2026",
        day(200).isoformat(),
        "City People's Hospital",
        "Management",
        3,
        "Chen Hao",
    )
    assert rows[1] == ("2025-2026", None, None, "Total", 3, None)
    assert rows[-2] == ("2026-2027", None, None, "Total", 48, None)
    assert rows[-1] == ("All periods", None, None, "Total", 51, None)
    assert len(rows) == 1 + 1 + 6 + 1 + 1
    assert (day(6).isoformat(), f"{CONFIRMER} · On-site confirmation") in {
        (row[1], row[5]) for row in rows
    }
    assert hours["E2"].data_type == "n"
    assert hours["E2"].number_format == "0.00"

    sheet = workbook["Awards"]
    assert [c.value for c in sheet[1]] == [
        "Period",
        "Award",
        "Kind",
        "Hours",
        "Amount",
        "Currency",
        "Certificate number",
        "Issued on",
        "Issued by",
        "Status",
    ]
    by_number = {row[6]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    certificate = by_number[awards["practice-cert"].certificate_number]
    allowance = by_number[awards["practice-allowance"].certificate_number]
    assert certificate[:6] == ("2026-2027", "Practice Certificate", "Honour", 48, None, None)
    assert certificate[8:] == ("Clinical Medicine", "Revoked")
    assert allowance[:6] == ("2026-2027", "Practice Allowance", "Bonus", 48, 400, "CNY")
    assert allowance[9] == "Issued"
    assert allowance[7] == period_end(college.period).isoformat()  # finalized that day
    assert sheet["E2"].data_type == "n"
    assert sheet["D3"].data_type == "n"


def test_the_workbook_of_one_period(client, record, earlier, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    response = client.get(f"/me/record.xlsx?period={earlier.id}")
    assert "2025-2026.xlsx" in response.headers["Content-Disposition"]
    workbook = _workbook(response)
    rows = list(workbook["Approved hours"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["2025-2026", "2025-2026"]  # the log and its total
    assert workbook["Awards"].max_row == 1


def test_workbook_helpers_write_several_sheets_the_same_way():
    data = exports.to_xlsx_sheets(
        [
            exports.Sheet("Hours: 2026/2027", ["姓名", "Hours"], [["=1+1", Decimal("1.50")]]),
            exports.Sheet("Awards", ["Award", "Amount"], [["Star", 12], ["x\x01y", None]]),
        ]
    )
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Hours  2026 2027", "Awards"]
    first, second = workbook.worksheets
    for sheet in (first, second):
        assert all(c.font.bold for c in sheet[1])
        assert sheet.freeze_panes == "A2"
    assert [c.value for c in first[2]] == ["'=1+1", 1.5]
    assert first["B2"].data_type == "n"
    assert first["B2"].number_format == "0.00"
    assert [c.value for c in second[2]] == ["Star", 12]
    assert second["A3"].value == "xy"
    with pytest.raises(ValueError, match="at least one sheet"):
        exports.to_xlsx_sheets([])


# --- bounded queries ----------------------------------------------------------------------


def _queries_of(client, path: str) -> int:
    with sql_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_same_queries_for_3_and_30_logs(client, college, earlier, make_log, login_as):
    verifiers = (college.expert, college.other_expert)

    def approved(first: int, last: int) -> None:
        for n in range(first, last):
            make_log(status="approved", hours="1", work_date=days_ago(n), verifier=verifiers[n % 2])

    approved(1, 3)
    onsite = make_log(status="submitted", hours="1", work_date=days_ago(90), verifier_id=None)
    _confirm_on_site(onsite, college.teacher, college.admin)
    make_log(status="approved", hours="1", work_date=days_ago(150))  # the year before
    login_as(college.teacher)
    few = {path: _queries_of(client, path) for path in ("/me/record", "/me/record.xlsx")}

    approved(3, 30)
    make_log(status="approved", hours="1", work_date=days_ago(160))
    assert _page(client.get("/me/record")).count(CONFIRMER) == 1
    many = {path: _queries_of(client, path) for path in ("/me/record", "/me/record.xlsx")}
    assert many == few


def test_awards_are_read_without_a_query_each(client, record, login_as):
    college, _awards, day = record
    login_as(college.teacher)
    with_awards = _queries_of(client, "/me/record")
    login_as(college.other_teacher)  # same kind of record, no awards
    assert _queries_of(client, "/me/record") == with_awards
