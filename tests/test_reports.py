"""The reports of SPEC §6: who may open them, their figures against a small college
made by hand, the filters and their validation, the CSV and XLSX files, and a fixed
number of statements whatever the number of logs."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from exchange.extensions import db
from exchange.logs.queries import log_flags
from exchange.reports import queries
from exchange.timeutil import college_today
from tests.helpers import sql_statements
from tests.test_query_plans import add_logs, assert_indexed, sent_sql

PAGES = ("/reports/department", "/reports/enterprises")
ADMIN_PAGES = ("/reports/college",)
FILES = (
    "/reports/department.xlsx",
    "/reports/department.csv?table=months",
    "/reports/enterprises.csv",
    "/reports/enterprises.xlsx",
    "/reports/logs.csv",
    "/reports/logs.xlsx",
)
ADMIN_FILES = ("/reports/college.xlsx", "/reports/college.csv?table=departments")


@pytest.fixture
def hand_made(college, make_log, make_agreement):
    """A college whose figures are known: in Clinical Medicine, Li Na 3 h (40 days ago)
    and 2 h (10 days ago) approved clinical and 1.5 h technical training waiting for
    verification; Zhao Lei 4 h joint research approved and 1 h waiting for approval;
    the expert Chen Hao 2 h of lectures approved (40 days ago); a draft and a rejected
    log that count nowhere. In Nursing, Zhou Min 5 h approved at Phoenix Pharma."""
    today = college_today()
    early, late = today - timedelta(days=40), today - timedelta(days=10)
    make_log(college.teacher, "approved", hours="3", work_date=early)
    make_log(college.teacher, "approved", hours="2", work_date=late)
    make_log(
        college.teacher, "submitted", hours="1.5", work_date=late, category="technical_training"
    )
    make_log(
        college.other_teacher, "approved", hours="4", work_date=late, category="joint_research"
    )
    make_log(college.other_teacher, "verified", hours="1", work_date=late)
    make_log(college.expert, "approved", hours="2", work_date=early)
    make_log(college.teacher, "draft", hours="1", work_date=early)
    make_log(college.teacher, "rejected", hours="1", work_date=early)
    make_log(
        college.foreign_head,
        "approved",
        hours="5",
        work_date=late,
        enterprise_id=college.other_enterprise.id,
        verifier=college.foreign_expert,
    )
    make_agreement(
        college.other_enterprise,
        college.department,
        scope="practice",
        ends_on=today + timedelta(days=30),
    )
    make_agreement(
        college.other_enterprise,
        college.other_department,
        scope="teaching",
        ends_on=today + timedelta(days=45),
    )
    make_agreement(
        college.enterprise, college.department, scope="teaching", ends_on=today + timedelta(days=90)
    )
    return college, early, late


def table(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def rows_by_first(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows[1:]}


# --- who may open what ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["teacher", "other_teacher", "expert"])
def test_teachers_and_experts_see_no_report(client, hand_made, login_as, role):
    college, _, _ = hand_made
    login_as(getattr(college, role))
    for path in (
        *PAGES,
        *ADMIN_PAGES,
        *FILES,
        *ADMIN_FILES,
        f"/reports/enterprises/{college.enterprise.id}",
    ):
        assert client.get(path).status_code == 403, path


def test_signed_out_visitors_are_sent_to_sign_in(client, hand_made):
    for path in (*PAGES, *ADMIN_PAGES, *FILES):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_a_head_sees_their_department_and_not_another(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.foreign_head)
    theirs = client.get("/reports/department").get_data(as_text=True)
    assert "Nursing" in theirs
    assert "Li Na" not in theirs
    other = college.department.id
    for path in (
        "/reports/department",
        "/reports/department.xlsx",
        "/reports/department.csv",
        "/reports/enterprises",
        "/reports/logs.csv",
        "/reports/logs.xlsx",
    ):
        response = client.get(path, query_string={"department": other, "table": "people"})
        assert response.status_code == 403, path
        assert "Li Na" not in response.get_data(as_text=True)
    # The college report is the administrators'.
    assert client.get("/reports/college").status_code == 403
    assert client.get("/reports/college.csv?table=months").status_code == 403


def test_a_heads_log_export_holds_only_their_departments_logs(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.foreign_head)
    rows = table(client.get("/reports/logs.csv"))
    assert [row[1] for row in rows[1:]] == ["Zhou Min"]
    # The enterprise page of a head shows their department's people only.
    page = client.get(f"/reports/enterprises/{college.enterprise.id}").get_data(as_text=True)
    assert "Li Na" not in page


def test_an_admin_opens_any_department(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    for department, name in ((college.department, "Li Na"), (college.other_department, "Zhou Min")):
        page = client.get(f"/reports/department?department={department.id}")
        assert page.status_code == 200
        assert name in page.get_data(as_text=True)
    assert client.get("/reports/college").status_code == 200


def test_the_menu_offers_reports_to_heads_and_admins(client, hand_made, sign_in):
    college, _, _ = hand_made
    for person, target in (
        (college.head, "/reports/department"),
        (college.admin, "/reports/college"),
        (college.teacher, None),
    ):
        sign_in(person)
        html = client.get("/").get_data(as_text=True)
        nav = html[html.index('<nav class="tabbar"') : html.index("</nav>")]
        if target:
            assert f'href="{target}"' in nav
        else:
            assert "/reports/" not in nav


# --- the figures ---------------------------------------------------------------------------


def test_the_department_report_adds_up_the_hand_made_college(client, hand_made, login_as):
    college, early, late = hand_made
    login_as(college.head)
    months = rows_by_first(table(client.get("/reports/department.csv?table=months")))
    expected: dict[str, list[Decimal]] = {}
    for day, approved, pending in ((early, 5, 0), (late, 6, Decimal("2.5"))):
        key = f"{day:%Y-%m}"
        got = expected.setdefault(key, [Decimal(0), Decimal(0)])
        got[0] += approved
        got[1] += pending
    for key, (approved, pending) in expected.items():
        assert Decimal(months[key][0]) == approved, key
        assert Decimal(months[key][1]) == pending, key
    # Every month of the period is listed, empty ones too.
    period = college.period
    assert min(months) == f"{period.starts_on:%Y-%m}"
    assert max(months) == f"{period.ends_on:%Y-%m}"

    enterprises = rows_by_first(table(client.get("/reports/department.csv?table=enterprises")))
    assert enterprises == {"City People's Hospital": ["11.00", "2.50", "6"]}

    categories = rows_by_first(table(client.get("/reports/department.csv?table=categories")))
    assert categories["Practice in an enterprise · Clinical rotation"] == ["5.00", "1.00", "3"]
    assert categories["Practice in an enterprise · Joint R&D"] == ["4.00", "0.00", "1"]
    assert categories["Practice in an enterprise · Technical training"] == ["0.00", "1.50", "1"]
    assert categories["Teaching in the college · Lecture"] == ["2.00", "0.00", "1"]

    people = table(client.get("/reports/department.csv?table=people"))
    assert people[0] == [
        "Name",
        "Role",
        "Kind",
        "Approved hours",
        "Pending hours",
        "Logs",
        "Rules met",
    ]
    by_name = rows_by_first(people)
    assert by_name["Li Na"][2:5] == ["5.00", "1.50", "3"]
    assert by_name["Zhao Lei"][2:5] == ["4.00", "1.00", "2"]
    assert by_name["Chen Hao"][2:5] == ["2.00", "0.00", "1"]
    # The teaching fee has no threshold: the expert's approved lecture meets it.
    assert "Teaching Fee" in by_name["Chen Hao"][5]
    assert by_name["Li Na"][5] == ""
    assert "Zhou Min" not in by_name


def test_the_page_shows_the_chart_and_the_same_figures_in_tables(client, hand_made, login_as):
    college, _, late = hand_made
    login_as(college.head)
    html = client.get("/reports/department").get_data(as_text=True)
    svg = html[html.index('<svg class="chart"') : html.index("</svg>")]
    assert 'role="img"' in svg
    assert "<title" in svg
    assert "viewBox=" in svg
    assert 'width="' not in svg.split(">")[0]  # scales to the width it is given
    assert f"{late:%Y-%m}: Approved 6 h, Pending 2.5 h" in svg
    months = html[html.index('id="table-months"') :]
    assert f"{late:%Y-%m}" in months[: months.index("</table>")]
    # Approved and pending totals of the filters, in words.
    assert "Approved: 11 h" in html
    assert "Pending: 2.5 h" in html
    # Who meets each reward's entry rule.
    rules = html[html.index('id="table-rules"') :]
    rules = rules[: rules.index("</table>")]
    row = re.search(r"Practice Certificate.*?</tr>", rules, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["0", "2"]
    fee = re.search(r"Teaching Fee.*?</tr>", rules, re.S)
    assert fee is not None
    assert re.findall(r'<td class="num">(\d+)</td>', fee.group(0)) == ["1", "0"]


def test_the_college_report_counts_every_department(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    departments = rows_by_first(table(client.get("/reports/college.csv?table=departments")))
    assert departments == {
        "Clinical Medicine": ["11.00", "2.50", "6"],
        "Nursing": ["5.00", "0.00", "1"],
    }
    enterprises = rows_by_first(table(client.get("/reports/college.csv?table=enterprises")))
    assert enterprises["Phoenix Pharma"] == ["5.00", "0.00", "1"]
    html = client.get("/reports/college").get_data(as_text=True)
    assert "Hours by department" in html
    assert "Approved: 16 h" in html


def test_pending_work_shows_its_age_in_days(client, hand_made, login_as, travel):
    college, _, _ = hand_made
    travel(college_today() + timedelta(days=3))
    login_as(college.head)
    pending = table(client.get("/reports/department.csv?table=pending"))
    assert pending[0][-1] == "Days waiting"
    waiting = {(row[1], row[2]): row for row in pending[1:]}
    assert set(waiting) == {("Li Na", "Submitted"), ("Zhao Lei", "Verified")}
    assert all(row[-1] == "3" for row in pending[1:])
    html = client.get("/reports/department").get_data(as_text=True)
    assert "waiting 3 days" in html
    summary = html[html.index('id="table-pending-summary"') :]
    summary = summary[: summary.index("</table>")]
    assert re.findall(r'<td class="num">([^<]+)</td>', summary) == [
        "1",
        "1.5 h",
        "3",
        "1",
        "1 h",
        "3",
    ]


def test_agreements_ending_within_60_days(client, hand_made, sign_in):
    college, _, _ = hand_made
    sign_in(college.head)
    ending = table(client.get("/reports/department.csv?table=agreements"))
    # The department's (or every department's) agreements ending within 60 days only.
    assert [(row[0], row[1]) for row in ending[1:]] == [("Phoenix Pharma", "Clinical Medicine")]
    sign_in(college.admin)
    every = table(client.get("/reports/college.csv?table=agreements"))
    assert [(row[0], row[1]) for row in every[1:]] == [
        ("Phoenix Pharma", "Clinical Medicine"),
        ("Phoenix Pharma", "Nursing"),
    ]


def test_the_enterprise_partnership_report(client, hand_made, sign_in):
    college, _, _ = hand_made
    sign_in(college.admin)
    rows = rows_by_first(table(client.get("/reports/enterprises.csv")))
    assert rows["City People's Hospital"][:4] == ["2", "9.00", "1", "2.00"]
    assert rows["City People's Hospital"][4] == "In force"
    assert rows["Phoenix Pharma"][:4] == ["1", "5.00", "0", "0.00"]
    # A head sees their department's part only.
    sign_in(college.head)
    theirs = rows_by_first(table(client.get("/reports/enterprises.csv")))
    assert theirs["Phoenix Pharma"][:4] == ["0", "0.00", "0", "0.00"]  # an agreement, no hours
    page = client.get(f"/reports/enterprises/{college.enterprise.id}").get_data(as_text=True)
    for name in ("Li Na", "Zhao Lei", "Chen Hao"):
        assert name in page
    assert 'id="table-months"' in page
    assert client.get("/reports/enterprises/999999").status_code == 404
    assert client.get("/reports/enterprises/0").status_code == 404


# --- filters ----------------------------------------------------------------------------


def test_dates_narrow_every_figure(client, hand_made, login_as):
    college, early, late = hand_made
    login_as(college.head)
    args = {"from": (late - timedelta(days=1)).isoformat(), "to": late.isoformat()}
    people = rows_by_first(
        table(client.get("/reports/department.csv", query_string={"table": "people", **args}))
    )
    assert people["Li Na"][2:5] == ["2.00", "1.50", "2"]
    assert "Chen Hao" not in people
    months = rows_by_first(
        table(client.get("/reports/department.csv", query_string={"table": "months", **args}))
    )
    assert list(months) == [f"{late:%Y-%m}"]
    html = client.get("/reports/department", query_string=args).get_data(as_text=True)
    assert "Approved: 6 h" in html
    assert f'value="{args["from"]}"' in html


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"from": "2026-13-01"}, "From"),
        ({"from": "yesterday"}, "From"),
        ({"to": "2026-02-30"}, "To"),
        ({"from": "2026-09-10", "to": "2026-09-01"}, "To"),
        ({"period": "abc"}, "Period"),
        ({"period": "-1"}, "Period"),
        ({"department": "x" * 500}, "Department"),
    ],
)
def test_a_bad_filter_is_named_and_kept(client, hand_made, login_as, args, field):
    college, _, _ = hand_made
    login_as(college.admin)
    paths = [
        "/reports/department",
        "/reports/department.csv",
        "/reports/enterprises",
        "/reports/logs.csv",
    ]
    if "department" not in args:  # the college report has no department to choose
        paths.append("/reports/college")
    for path in paths:
        response = client.get(path, query_string={"table": "months", **args})
        assert response.status_code == 400, (path, args)
        html = response.get_data(as_text=True)
        assert f"{field}:" in html
        assert 'role="alert"' in html
    page = client.get("/reports/department", query_string=args).get_data(as_text=True)
    for value in args.values():
        if len(value) < 20 and "-" in value and value[0].isdigit():
            assert f'value="{value}"' in page  # what was typed is still there


def test_an_unknown_period_or_department_is_not_found(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    assert client.get("/reports/department?period=999999").status_code == 404
    assert client.get("/reports/department?department=999999").status_code == 404
    assert client.get("/reports/college?period=999999").status_code == 404


def test_an_unknown_table_is_refused_with_the_tables_named(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    for path, tables in (
        ("/reports/department.csv", queries_tables("department")),
        ("/reports/college.csv", queries_tables("college")),
    ):
        for bad in ("", "logs", "../months"):
            response = client.get(path, query_string={"table": bad})
            assert response.status_code == 400
            text = response.get_data(as_text=True)
            assert all(name in text for name in tables)
    # The department report has people, the college report departments.
    assert client.get("/reports/college.csv?table=people").status_code == 400
    assert client.get("/reports/department.csv?table=departments").status_code == 400


def queries_tables(report: str) -> tuple[str, ...]:
    from exchange.reports import views

    return views.DEPARTMENT_TABLES if report == "department" else views.COLLEGE_TABLES


def test_the_default_period_is_the_current_one(client, hand_made, login_as, make_period):
    college, _, _ = hand_made
    today = college_today()
    make_period(
        name="Earlier", starts_on=today - timedelta(days=500), ends_on=today - timedelta(days=101)
    )
    login_as(college.head)
    html = client.get("/reports/department").get_data(as_text=True)
    assert f'<option value="{college.period.id}" selected' in html


# --- files ---------------------------------------------------------------------------------


def test_the_department_workbook_has_one_sheet_per_table(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.head)
    response = client.get("/reports/department.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Months",
        "Enterprises",
        "Categories",
        "People",
        "Pending",
        "Agreements ending",
    ]
    people = {row[0]: row for row in book["People"].iter_rows(min_row=2, values_only=True)}
    assert people["Li Na"][3] == 5
    assert people["Li Na"][4] == 1.5
    enterprises = list(book["Enterprises"].iter_rows(values_only=True))
    assert enterprises[0] == ("Enterprise", "Approved hours", "Pending hours", "Logs")
    assert enterprises[1] == ("City People's Hospital", 11, 2.5, 6)


def test_the_college_workbook_has_one_sheet_per_table(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    book = load_workbook(io.BytesIO(client.get("/reports/college.xlsx").data))
    assert book.sheetnames == [
        "Months",
        "Departments",
        "Enterprises",
        "Categories",
        "Pending",
        "Agreements ending",
    ]
    departments = list(book["Departments"].iter_rows(min_row=2, values_only=True))
    assert departments == [("Clinical Medicine", 11, 2.5, 6), ("Nursing", 5, 0, 1)]


def test_every_log_of_the_period_one_row_each_with_flags(client, hand_made, login_as, make_log):
    college, _, late = hand_made
    login_as(college.admin)
    plain = {row[0]: row[10] for row in table(client.get("/reports/logs.csv"))[1:]}
    rows = table(client.get("/reports/logs.csv"))
    assert rows[0] == [
        "id",
        "owner",
        "kind",
        "date",
        "hours",
        "enterprise",
        "department",
        "category",
        "status",
        "verifier",
        "flags",
    ]
    assert len(rows) == 1 + 9  # every live log, drafts and rejected ones too
    statuses = sorted(row[8] for row in rows[1:])
    assert statuses.count("approved") == 5
    assert "draft" in statuses
    assert "rejected" in statuses
    zhou = next(row for row in rows if row[1] == "Zhou Min")
    assert zhou[2:10] == [
        "practice",
        late.isoformat(),
        "5.00",
        "Phoenix Pharma",
        "Nursing",
        "clinical",
        "approved",
        "Huang Bo",
    ]
    assert plain[zhou[0]] == zhou[10]
    # The flags column holds each log's integrity flag codes (SPEC §6), as the queues show
    # them: two claimed logs of 6 h on one day make that day over 10 h.
    long_day = college_today() - timedelta(days=3)
    made = [make_log(college.other_teacher, "submitted", hours="6", work_date=long_day)
            for _ in range(2)]  # fmt: skip
    flags = {row[0]: row[10] for row in table(client.get("/reports/logs.csv"))[1:]}
    for log in made:
        assert "day_over_10h" in flags[str(log.id)].split()
        assert flags[str(log.id)].split() == log_flags([log.id])[log.id]
    book = load_workbook(io.BytesIO(client.get("/reports/logs.xlsx").data), read_only=True)
    sheet = book[book.sheetnames[0]]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][-1] == "flags"
    assert len(values) == 12
    assert {row[0]: row[-1] for row in values[1:]}[made[0].id] == flags[str(made[0].id)]


def test_the_flags_of_a_batch_are_asked_for_once(app_ctx, hand_made, monkeypatch):
    college, _, _ = hand_made
    asked: list[list[int]] = []
    original = queries.log_flags

    def spy(ids: list[int]) -> dict[int, list[str]]:
        asked.append(ids)
        return original(ids)

    monkeypatch.setattr(queries, "log_flags", spy)
    monkeypatch.setattr(queries, "STREAM_ROWS", 4)
    f = queries.Filters(college.period)
    lines = list(queries.every_log(f))
    assert [line.log_id for line in lines] == sorted(line.log_id for line in lines)
    assert [len(batch) for batch in asked] == [4, 4, 1]


def test_exported_text_cannot_run_as_a_formula(client, hand_made, login_as):
    college, _, _ = hand_made
    college.teacher.name = "=HYPERLINK(1)"
    db.session.commit()
    login_as(college.head)
    people = table(client.get("/reports/department.csv?table=people"))
    assert "'=HYPERLINK(1)" in [row[0] for row in people]


# --- bounded work -------------------------------------------------------------------------


def _statements(client, paths) -> dict[str, int]:
    counted = {}
    for path in paths:
        with sql_statements() as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counted[path] = len(statements)
    return counted


def test_each_report_sends_as_many_statements_at_a_larger_college(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.admin)
    enterprise = f"/reports/enterprises/{college.enterprise.id}"
    admin_paths = (
        *PAGES,
        *ADMIN_PAGES,
        enterprise,
        *FILES,
        *ADMIN_FILES,
        "/reports/department.csv?table=people",
        "/reports/college.csv?table=pending",
    )
    small = _statements(client, admin_paths)
    add_logs(college, 600)
    larger = _statements(client, admin_paths)
    assert larger == small


def test_the_reports_read_logs_through_an_index(client, hand_made, sign_in):
    college, _, _ = hand_made
    add_logs(college, 600)
    sign_in(college.head)
    for path in (*PAGES, f"/reports/enterprises/{college.enterprise.id}"):
        with sent_sql() as sent:
            assert client.get(path).status_code == 200
        # Grouping sorts (what is grouped is the department's logs, found by the index).
        assert_indexed(sent, f"head {path}", sorts=True)
    sign_in(college.admin)
    with sent_sql() as sent:
        assert client.get("/reports/college").status_code == 200
    # The college report reads the period's logs, looked up by the period.
    assert_indexed(sent, "admin /reports/college", sorts=True)


# --- language ----------------------------------------------------------------------------


def test_the_reports_read_in_chinese(client, hand_made, login_as):
    college, _, _ = hand_made
    college.head.locale = "zh_Hans"
    db.session.commit()
    login_as(college.head)
    html = client.get("/reports/department").get_data(as_text=True)
    assert "部门报表" in html
    assert "按月学时" in html
    svg = html[html.index('<svg class="chart"') : html.index("</svg>")]
    assert "已批准" in svg
    assert "Hours by month" not in html
    enterprises = client.get("/reports/enterprises").get_data(as_text=True)
    assert "企业合作" in enterprises


# --- the department's logs ------------------------------------------------------------------


def test_the_department_logs_page_totals_its_filters(client, hand_made, login_as):
    college, _, _ = hand_made
    login_as(college.head)
    every = client.get("/logs/department").get_data(as_text=True)
    totals = every[every.index('id="log-totals"') :]
    totals = totals[: totals.index("</p>")]
    assert "8 logs" in totals  # drafts and rejected logs are listed, and counted
    assert "Approved: 11 h" in totals
    assert "Pending: 2.5 h" in totals
    approved = client.get("/logs/department?status=approved").get_data(as_text=True)
    totals = approved[approved.index('id="log-totals"') :]
    totals = totals[: totals.index("</p>")]
    assert "4 logs" in totals
    assert "Approved: 11 h" in totals
    assert "Pending: 0 h" in totals
    # Another department's logs are not in a head's totals.
    assert "16 h" not in every
