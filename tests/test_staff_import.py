"""Staff import (SPEC §8 ``import-users``, issue 8): a spreadsheet of people in, accounts out.

What an administrator notices: the file they have (Excel, a CSV saved by a Chinese
Excel, English or Chinese headers) is read; the preview says for every row what
would happen, and for every refused row which column is wrong and why; confirming
writes every valid row at once or nothing; importing the same file again changes
nothing; new people receive an e-mail to set their password; and nobody but an
administrator, and no altered page, gets anything written.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import zipfile
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from exchange.accounts import import_services, importing
from exchange.accounts.import_services import RowStatus
from exchange.accounts.models import User
from exchange.accounts.services import authenticate
from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.helpers import sql_statements
from tests.smtp import smtp_server  # noqa: F401  (the fixture)

HEADER = ["email", "name", "role", "department", "enterprise", "staff_number"]


# --- files as administrators have them -----------------------------------------------------


def csv_bytes(rows, header=HEADER, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for r, values in enumerate([header, *rows], start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # typed as text, as Excel stores '=…
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class Preview(HTMLParser):
    """The preview as the administrator reads it: each row's state and text, the
    confirmation's hidden payload, the file field's error."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.status: dict[int, str] = {}
        self.text: dict[int, str] = {}
        self.payload: str | None = None
        self._row: int | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "li" and (a.get("id") or "").startswith("row-"):
            self._row = int(a["id"].removeprefix("row-"))
            self.status[self._row] = a["data-status"]
            self.text[self._row] = ""
        elif tag == "input" and a.get("name") == "payload":
            self.payload = a.get("value")

    def handle_endtag(self, tag):
        if tag == "li":
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self.text[self._row] += data

    def statuses(self) -> dict[int, str]:
        return dict(sorted(self.status.items()))

    def row(self, number: int) -> str:
        return " ".join(self.text[number].split())


def upload(client, data: bytes | None, filename: str = "staff.csv"):
    """Post the upload form as a browser does (no file chosen: ``data`` None)."""
    chosen = FileStorage(io.BytesIO(data or b""), filename if data is not None else "")
    # Encoded here: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart({"file": chosen})
    return client.post(
        "/admin/users/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def preview(client, data: bytes, filename: str = "staff.csv") -> Preview:
    response = upload(client, data, filename)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Preview(response.get_data(as_text=True))


def confirm(client, page: Preview):
    assert page.payload, "the preview offers no confirmation"
    return client.post("/admin/users/import/confirm", data={"payload": page.payload})


def refused_file(response, status: int = 422) -> str:
    """The upload page again, with the reason on the file field."""
    assert response.status_code == status
    html = unescape(response.get_data(as_text=True))
    found = re.search(r'<p class="error" id="file-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, html
    return found.group(1)


def user_count() -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def person(email: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


@pytest.fixture
def as_admin(college, login_as):
    return login_as(college.admin)


# --- the page ---------------------------------------------------------------------------


def test_the_users_list_links_to_the_import_page_which_says_what_it_reads(as_admin):
    users = as_admin.get("/admin/users/").get_data(as_text=True)
    assert 'href="/admin/users/import"' in users
    page = as_admin.get("/admin/users/import")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="file">' in html
    assert 'type="file"' in html
    for header in ("email", "邮箱", "姓名", "角色", "部门", "企业", "工号", "staff number"):
        assert header in html
    template = as_admin.get("/admin/users/import/template.csv")
    assert template.status_code == 200
    assert template.get_data().decode("utf-8-sig").startswith("email,name,role,department")


def test_the_preview_says_what_each_row_would_do_and_writes_nothing(college, as_admin):
    teacher, expert = college.teacher, college.expert
    before = user_count()
    page = preview(
        as_admin,
        csv_bytes([
            ["new.nurse@example.edu", "Gao Yan", "teacher", "NUR", "", "T2024001"],
            # The same person as stored, spelled in capitals: matched, and unchanged.
            [expert.email.upper(), expert.name, "expert", "", "rmh", ""],
            [teacher.email, teacher.name, "head", "CM", "", "T2019034"],
            ["not-an-address", "Nobody", "teacher", "CM", "", ""],
        ]),
    )  # fmt: skip
    assert page.statuses() == {2: "new", 3: "unchanged", 4: "changed", 5: "error"}
    assert "Role: Teacher → Department head" in page.row(4)
    assert "Staff number: — → T2019034" in page.row(4)
    assert "Column “email”: Enter a valid e-mail address." in page.row(5)
    assert "Import 2 people" in page.html
    assert user_count() == before
    assert person("new.nurse@example.edu") is None
    assert person(teacher.email).role == "teacher"


def test_confirming_writes_every_valid_row_and_only_those(college, as_admin, app):
    teacher = college.teacher
    elsewhere = app.test_client()  # the teacher, signed in on their phone
    signed_in = elsewhere.post("/login", data={"email": teacher.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    page = preview(
        as_admin,
        csv_bytes([
            ["new.nurse@example.edu", "Gao Yan", "teacher", "NUR", "", "t2024-001"],
            ["new.expert@example.edu", "Qian Li", "expert", "", "PHX", ""],
            [teacher.email, teacher.name, "head", "CM", "", ""],
            ["broken@example.edu", "Broken", "teacher", "XX", "", ""],
        ]),
    )  # fmt: skip
    response = confirm(as_admin, page)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users/")
    shown = unescape(as_admin.get("/admin/users/").get_data(as_text=True))
    assert "Import done: 2 new, 1 changed, 0 unchanged." in shown
    assert "1 row with errors was not imported." in shown

    nurse = person("new.nurse@example.edu")
    assert (nurse.name, nurse.role, nurse.department_id, nurse.staff_number) == (
        "Gao Yan", "teacher", college.other_department.id, "T2024-001"
    )  # fmt: skip
    expert = person("new.expert@example.edu")
    assert (expert.role, expert.enterprise_id, expert.department_id) == (
        "expert", college.other_enterprise.id, None
    )  # fmt: skip
    assert person(teacher.email).role == "head"
    assert person("broken@example.edu") is None
    # Until they set one through the e-mailed link, new people have no password at all.
    assert not nurse.check_password("")
    assert authenticate("new.nurse@example.edu", nurse.password_hash) is None
    # A change of role ends the person's sessions, as the user form's does.
    assert elsewhere.get("/account").status_code == 302


def test_importing_the_same_file_again_changes_nothing(college, as_admin):
    data = csv_bytes([
        ["new.nurse@example.edu", "Gao Yan", "teacher", "NUR", "", "T2024001"],
        ["new.expert@example.edu", "Qian Li", "expert", "", "PHX", "E-77"],
    ])  # fmt: skip
    assert confirm(as_admin, preview(as_admin, data)).status_code == 302
    nurse = person("new.nurse@example.edu")
    stored = (nurse.name, nurse.role, nurse.department_id, nurse.staff_number, nurse.password_hash)

    again = preview(as_admin, data)
    assert again.statuses() == {2: "unchanged", 3: "unchanged"}
    assert again.payload is None  # nothing to confirm
    assert "Nothing to import: every row is unchanged or has an error." in again.html
    nurse = person("new.nurse@example.edu")
    assert (nurse.name, nurse.role, nurse.department_id, nurse.staff_number,
            nurse.password_hash) == stored  # fmt: skip


def test_a_workbook_with_chinese_headers_and_roles(college, as_admin):
    data = xlsx_bytes(
        [
            ["zhou.min@example.edu", "周敏", "教师", "cm", None, 2019034],
            ["wu.lei@example.edu", "吴磊", "企业专家", None, "RMH", None],
        ],
        header=["邮箱", "姓名", "角色", "部门代码", "企业", "工号", "备注"],
    )
    page = preview(as_admin, data, "教职工.xlsx")
    assert page.statuses() == {2: "new", 3: "new"}
    assert "Ignored columns: 备注" in page.html
    assert confirm(as_admin, page).status_code == 302
    zhou = person("zhou.min@example.edu")
    # A number cell is the number as shown, not 2019034.0.
    assert (zhou.name, zhou.role, zhou.department_id, zhou.staff_number) == (
        "周敏", "teacher", college.department.id, "2019034"
    )  # fmt: skip
    assert person("wu.lei@example.edu").enterprise_id == college.enterprise.id


def test_the_language_column_sets_the_language_of_pages_and_emails(college, as_admin):
    teacher = college.teacher
    header = [*HEADER, "语言"]
    page = preview(
        as_admin,
        csv_bytes(
            [
                ["wang.wu@example.edu", "王五", "teacher", "CM", "", "", "中文"],
                [teacher.email, teacher.name, "teacher", "CM", "", "", "zh_Hans"],
                ["bad.language@example.edu", "X", "teacher", "CM", "", "", "Klingon"],
                [college.expert.email, college.expert.name, "expert", "", "RMH", "", ""],
            ],
            header=header,
        ),
    )
    assert page.statuses() == {2: "new", 3: "changed", 4: "error", 5: "unchanged"}
    assert "Language: — → 简体中文" in page.row(3)
    assert "Column “语言”: Unknown language: use en (English) or zh_Hans (中文)." in page.row(4)
    assert confirm(as_admin, page).status_code == 302
    assert person("wang.wu@example.edu").locale == "zh_Hans"
    assert person(teacher.email).locale == "zh_Hans"


def test_a_title_above_the_header_is_passed_over(college, as_admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2025 级新进教职工名单"])
    sheet.append([])
    sheet.append(["序号", "姓名", "邮箱", "角色", "部门"])  # in another order, with a number column
    sheet.append([1, "孙丽", "sun.li@example.edu", "教师", "CM"])
    out = io.BytesIO()
    workbook.save(out)
    page = preview(as_admin, out.getvalue(), "名单.xlsx")
    assert page.statuses() == {4: "new"}  # numbered as the spreadsheet numbers its rows
    assert "Ignored columns: 序号" in page.html


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),  # Excel's "CSV UTF-8": a byte-order mark before the header
        ("gbk", ","),  # Excel's "CSV" on a Chinese Windows
        ("gb18030", ";"),
        ("utf-16", "\t"),  # Excel's "Unicode text"
    ],
)
def test_csv_files_as_excel_saves_them(college, as_admin, encoding, delimiter):
    data = csv_bytes(
        [["zhao.xue@example.edu", "赵雪", "系主任", "CM", "", ""]],
        header=["电子邮箱", "姓名", "角色", "部门", "企业", "工号"],
        encoding=encoding,
        delimiter=delimiter,
    )
    page = preview(as_admin, data)
    assert page.statuses() == {2: "new"}, page.html
    assert "赵雪" in page.row(2)
    assert confirm(as_admin, page).status_code == 302
    head = person("zhao.xue@example.edu")
    assert (head.name, head.role) == ("赵雪", "head")


TAKEN_NUMBER = "T2000001"


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["bad@", "A", "teacher", "CM", "", ""], "email", "Enter a valid e-mail address."),
        (["a@example.edu", "A", "dean", "CM", "", ""], "role",
         "Unknown role: use teacher, expert, head or admin."),
        (["a@example.edu", "A", "teacher", "XX", "", ""], "department",
         "No department has this code."),
        (["a@example.edu", "A", "expert", "", "", ""], "enterprise",
         "Experts belong to an enterprise."),
        (["a@example.edu", "A", "expert", "", "NOPE", ""], "enterprise",
         "No enterprise has this code."),
        (["a@example.edu", "A", "teacher", "", "", ""], "department",
         "Teachers and heads belong to a department."),
        (["a@example.edu", "A", "teacher", "CM", "RMH", ""], "enterprise",
         "Only experts belong to an enterprise: leave this cell empty."),
        (["a@example.edu", "A", "admin", "CM", "", ""], "department",
         "Only teachers and heads belong to a department: leave this cell empty."),
        (["a@example.edu", "A", "teacher", "CM", "", TAKEN_NUMBER.lower()], "staff_number",
         "Another account already has this staff number."),
        (["a@example.edu", "A", "teacher", "CM", "", "T 1"], "staff_number",
         "Use Latin letters, digits, - and / only"),
        (["a@example.edu", "N" * 121, "teacher", "CM", "", ""], "name",
         "At most 120 characters."),
        (["a" * 250 + "@example.edu", "A", "teacher", "CM", "", ""], "email",
         "At most 254 characters."),
        (["a@example.edu", "", "teacher", "CM", "", ""], "name", "This field is required."),
    ],
)  # fmt: skip
def test_each_refused_row_names_its_column_and_reason(
    college, as_admin, make_user, row, column, reason
):
    holder = make_user("teacher", department=college.department)
    holder.staff_number = TAKEN_NUMBER
    db.session.commit()
    page = preview(as_admin, csv_bytes([row]))
    assert page.statuses() == {2: "error"}
    assert f"Column “{column}”: {reason}" in page.row(2)
    assert page.payload is None


def test_the_same_person_twice_in_a_file_is_refused_on_both_rows(college, as_admin):
    page = preview(
        as_admin,
        csv_bytes([
            ["twice@example.edu", "One", "teacher", "CM", "", "T1"],
            ["someone@example.edu", "Two", "teacher", "CM", "", "t1"],
            ["TWICE@example.edu", "Three", "teacher", "CM", "", ""],
            ["fine@example.edu", "Four", "teacher", "CM", "", ""],
        ]),
    )  # fmt: skip
    assert page.statuses() == {2: "error", 3: "error", 4: "error", 5: "new"}
    assert "Column “email”: The same e-mail address is also on row 4." in page.row(2)
    assert "Column “email”: The same e-mail address is also on row 2." in page.row(4)
    assert "Column “staff_number”: The same staff number is also on row 2." in page.row(3)


def test_errors_name_the_column_as_the_file_does(college, as_admin):
    data = csv_bytes([["坏地址", "王五", "老师", "CM"]], header=["邮箱", "姓名", "角色", "部门"])
    page = preview(as_admin, data)
    assert "Column “邮箱”: Enter a valid e-mail address." in page.row(2)


def test_formula_looking_cells_are_stored_as_plain_text(college, as_admin):
    formula = '=HYPERLINK("http://evil.example","Click")'
    page = preview(as_admin, csv_bytes([["f1@example.edu", formula, "teacher", "CM", "", ""]]))
    assert confirm(as_admin, page).status_code == 302
    assert person("f1@example.edu").name == formula

    workbook = xlsx_bytes([["f2@example.edu", "=1+2", "teacher", "CM", None, None]])
    assert confirm(as_admin, preview(as_admin, workbook, "f.xlsx")).status_code == 302
    assert person("f2@example.edu").name == "=1+2"


def test_an_administrator_cannot_change_their_own_account_by_import(college, as_admin):
    admin = college.admin
    page = preview(as_admin, csv_bytes([[admin.email, admin.name, "teacher", "CM", "", ""]]))
    assert page.statuses() == {2: "error"}
    assert "Change your own account on its form, not by an import." in page.row(2)
    unchanged = preview(as_admin, csv_bytes([[admin.email, admin.name, "admin", "", "", ""]]))
    assert unchanged.statuses() == {2: "unchanged"}


# --- files that are not staff lists -------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "This field is required."),  # no file chosen
        (b"", "The file has no rows of people below its header row."),
        (b"email,name\r\na@example.edu,A\r\n", "The file has no column for: role."),
        (b"email,name,role\r\n", "The file has no rows of people below its header row."),
        (b"email,name,role,Email\r\n", "Two columns of the file mean the same: “Email”."),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 600, "This is an old Excel workbook (.xls)."),
        (b"PK\x03\x04 not really a workbook", "could not be read as an Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "neither an Excel workbook (.xlsx) nor a CSV file"),
    ],
)
def test_a_file_that_is_no_staff_list_is_refused_with_the_reason(as_admin, data, reason):
    assert reason in refused_file(upload(as_admin, data))


def test_a_file_over_the_limits_is_refused_cleanly(as_admin):
    # Over the import's own limit (2 MB): the page says so.
    big = csv_bytes([[f"p{i}@example.edu", "X" * 200, "teacher", "CM", "", ""]
                     for i in range(10_000)])  # fmt: skip
    assert len(big) > importing.MAX_FILE_BYTES
    assert "The file is too large" in refused_file(upload(as_admin, big))
    # Over what the server accepts at all (MAX_CONTENT_LENGTH): 413, still on the page.
    huge = b"x" * (7 * 1024 * 1024)
    assert "The file is too large" in refused_file(upload(as_admin, huge), 413)
    # A workbook that would unpack to far more than any staff list (a "zip bomb").
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        zeros = b"\0" * (importing.MAX_XLSX_UNPACKED_BYTES + 1)
        archive.writestr("xl/worksheets/sheet1.xml", zeros)
    assert "The file is too large" in refused_file(upload(as_admin, bomb.getvalue(), "b.xlsx"))


def test_a_preview_too_large_to_carry_back_is_refused(college, make_app):
    """The rows travel in the page between preview and confirmation, and a form field
    is at most MAX_FORM_MEMORY_SIZE long: a file beyond that is refused up front."""
    small_forms = make_app(MAX_FORM_MEMORY_SIZE=100_000)
    browser = small_forms.test_client()
    browser.post("/login", data={"email": college.admin.email, "password": PASSWORD})
    rows = [[f"person{i}.{secrets.token_hex(8)}@example.edu", secrets.token_hex(20), "teacher",
             "CM", "", ""] for i in range(2000)]  # fmt: skip
    assert "too large to preview at once" in refused_file(upload(browser, csv_bytes(rows)))
    assert upload(browser, csv_bytes(rows[:20])).status_code == 200


def test_too_many_rows_are_refused(as_admin, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    data = csv_bytes([[f"p{i}@example.edu", "P", "teacher", "CM", "", ""] for i in range(4)])
    assert "more than 3 rows" in refused_file(upload(as_admin, data))


# --- who may, and what a confirmation may carry -------------------------------------------


def test_only_administrators_import(college, login_as):
    for user in (college.teacher, college.head, college.expert):
        client = login_as(user)
        assert client.get("/admin/users/import").status_code == 403
        assert upload(client, csv_bytes([])).status_code == 403
        assert client.post("/admin/users/import/confirm", data={"payload": "x"}).status_code == 403
        assert client.get("/admin/users/import/template.csv").status_code == 403
        client.post("/logout")


def test_an_altered_or_foreign_preview_is_refused(college, as_admin, make_user, app):
    data = csv_bytes([["new@example.edu", "New", "teacher", "CM", "", ""]])
    page = preview(as_admin, data)
    payload = page.payload
    # One character of the signed rows changed.
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    response = as_admin.post("/admin/users/import/confirm", data={"payload": flipped})
    assert "The preview could not be verified. Upload the file again." in refused_file(
        response, 400
    )
    assert as_admin.post("/admin/users/import/confirm", data={}).status_code == 400
    # Another administrator cannot confirm what was previewed for this one.
    other = make_user("admin")
    second = app.test_client()
    second.post("/login", data={"email": other.email, "password": PASSWORD})
    assert second.post("/admin/users/import/confirm", data={"payload": payload}).status_code == 400
    assert person("new@example.edu") is None


def test_a_preview_expires_after_an_hour(college, login_as, travel):
    travel(college_today())
    as_admin = login_as(college.admin)
    page = preview(as_admin, csv_bytes([["new@example.edu", "New", "teacher", "CM", "", ""]]))
    travel(college_today() + timedelta(days=1))
    assert "The preview has expired." in refused_file(confirm(as_admin, page), 400)
    assert person("new@example.edu") is None


def test_a_confirmation_checks_again_and_shows_what_changed_meanwhile(college, as_admin, make_user):
    data = csv_bytes([
        ["new@example.edu", "New", "teacher", "CM", "", "T77"],
        ["other@example.edu", "Other", "teacher", "CM", "", ""],
    ])  # fmt: skip
    page = preview(as_admin, data)
    # Meanwhile another administrator gives T77 to somebody else.
    somebody = make_user("teacher", department=college.department)
    somebody.staff_number = "T77"
    db.session.commit()
    response = confirm(as_admin, page)
    assert response.status_code == 200
    again = Preview(response.get_data(as_text=True))
    assert "Something changed since the preview." in again.html
    assert again.statuses() == {2: "error", 3: "new"}
    assert person("other@example.edu") is None  # nothing was written on the old preview
    assert confirm(as_admin, again).status_code == 302
    assert person("other@example.edu") is not None


def test_the_import_is_all_valid_rows_or_nothing(college, app_ctx, make_user):
    """A row made invalid after the check (a race past it) takes the whole import back."""
    sheet = importing.read_sheet(
        csv_bytes([
            ["first@example.edu", "First", "teacher", "CM", "", ""],
            ["second@example.edu", "Second", "teacher", "CM", "", "T88"],
        ])
    )  # fmt: skip
    plan = import_services.plan_import(college.admin, sheet)
    assert [row.status for row in plan.rows] == [RowStatus.NEW, RowStatus.NEW]
    racer = make_user("teacher", department=college.department)
    racer.staff_number = "T88"
    db.session.commit()
    with pytest.raises(ValidationError):
        import_services.run_import(college.admin, plan)
    db.session.rollback()
    assert person("first@example.edu") is None


# --- e-mail --------------------------------------------------------------------------------


def test_new_people_receive_the_set_password_email_through_smtp(
    college,
    make_app,
    smtp_server,  # noqa: F811
):
    mail_app = make_app(EXCHANGE_BASE_URL="https://exchange.example.edu", **smtp_server.settings)
    browser = mail_app.test_client()
    browser.post("/login", data={"email": college.admin.email, "password": PASSWORD})
    page = preview(
        browser,
        csv_bytes(
            [
                ["gao.yan@example.edu", "Gao Yan", "teacher", "NUR", "", "", ""],
                ["qian.li@example.edu", "钱力", "expert", "", "PHX", "", "中文"],
                [college.teacher.email, college.teacher.name, "head", "CM", "", "", ""],  # known
            ],
            header=[*HEADER, "language"],
        ),
    )
    assert confirm(browser, page).status_code == 302
    messages = smtp_server.wait_for(2)
    assert sorted(m.to[0] for m in messages) == ["gao.yan@example.edu", "qian.li@example.edu"]
    assert smtp_server.to(college.teacher.email) == []
    # Each in the language the file gives the person.
    [english] = smtp_server.to("gao.yan@example.edu")
    [chinese] = smtp_server.to("qian.li@example.edu")
    assert english.header("Content-Language") == "en"
    assert chinese.header("Content-Language") == "zh-Hans"
    assert "钱力" in chinese.text

    # The link sets the first password; then the person signs in with it.
    [invitation] = smtp_server.to("gao.yan@example.edu")
    link = re.search(r"https://exchange\.example\.edu(/password/set/\S+)", invitation.text)
    assert link, invitation.text
    newcomer = mail_app.test_client()
    chosen = "first-password-9"
    response = newcomer.post(
        link.group(1), data={"new_password": chosen, "confirm_password": chosen}
    )
    assert response.status_code == 302
    signed_in = newcomer.post("/login", data={"email": "gao.yan@example.edu", "password": chosen})
    assert signed_in.status_code == 302


def test_invitations_that_take_long_leave_in_the_background(
    college,
    make_app,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    # A slow mail server: the page answers once its time is up, the rest follows.
    monkeypatch.setattr(import_services, "MAIL_WAIT_SECONDS", 0)
    mail_app = make_app(**smtp_server.settings)
    browser = mail_app.test_client()
    browser.post("/login", data={"email": college.admin.email, "password": PASSWORD})
    page = preview(
        browser,
        csv_bytes([
            ["gao.yan@example.edu", "Gao Yan", "teacher", "NUR", "", ""],
            ["qian.li@example.edu", "Qian Li", "expert", "", "PHX", ""],
        ]),
    )  # fmt: skip
    assert confirm(browser, page).status_code == 302
    shown = unescape(browser.get("/admin/users/").get_data(as_text=True))
    assert "2 more set-password e-mails are being sent in the background." in shown
    import_services.wait_for_invitations()
    assert sorted(m.to[0] for m in smtp_server.wait_for(2)) == [
        "gao.yan@example.edu", "qian.li@example.edu"
    ]  # fmt: skip


def test_a_mail_server_that_is_down_does_not_undo_the_import(college, make_app):
    unreachable = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_TIMEOUT=2)
    browser = unreachable.test_client()
    browser.post("/login", data={"email": college.admin.email, "password": PASSWORD})
    rows = [["gao.yan@example.edu", "Gao Yan", "teacher", "NUR", "", ""]]
    page = preview(browser, csv_bytes(rows))
    assert confirm(browser, page).status_code == 302
    assert person("gao.yan@example.edu") is not None
    shown = unescape(browser.get("/admin/users/").get_data(as_text=True))
    assert "The set-password e-mail could not be sent to gao.yan@example.edu." in shown


# --- the command line --------------------------------------------------------------------


def test_the_command_line_imports_with_the_same_rules(college, runner, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(
        csv_bytes([
            ["gao.yan@example.edu", "Gao Yan", "teacher", "NUR", "", ""],
            [college.teacher.email, college.teacher.name, "head", "CM", "", ""],
            ["bad@", "Broken", "teacher", "CM", "", ""],
        ])
    )  # fmt: skip
    dry = runner.invoke(args=["import-users", str(path), "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert "Row 2: new gao.yan@example.edu (Gao Yan)" in dry.output
    assert f"Row 3: changed {college.teacher.email}: role teacher -> head" in dry.output
    assert "Row 4: error in email: Enter a valid e-mail address." in dry.output
    assert "1 new, 1 changed, 0 unchanged, 1 with errors." in dry.output
    assert "Dry run: nothing was written." in dry.output
    assert person("gao.yan@example.edu") is None

    real = runner.invoke(args=["import-users", str(path)])
    assert real.exit_code == 1  # a row was refused: the valid ones are written all the same
    assert "Wrote 2 people in one transaction." in real.output
    assert "Sent 1 set-password e-mails." in real.output
    assert person("gao.yan@example.edu").role == "teacher"
    assert person(college.teacher.email).role == "head"

    path.write_bytes(
        csv_bytes([
            ["gao.yan@example.edu", "Gao Yan", "teacher", "NUR", "", ""],
            [college.teacher.email, college.teacher.name, "head", "CM", "", ""],
        ])
    )  # fmt: skip
    again = runner.invoke(args=["import-users", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed, 2 unchanged, 0 with errors." in again.output
    assert "Nothing to write." in again.output


def test_the_command_line_refuses_a_file_that_is_no_staff_list(college, runner, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("what,ever\r\n1,2\r\n")
    result = runner.invoke(args=["import-users", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error: The file has no column for: email, name, role." in result.output


def _statements_of(work) -> int:
    """How many SQL statements ``work()`` sends to the database."""
    with sql_statements() as statements:
        work()
    return len(statements)


def test_checking_a_file_costs_the_same_queries_for_10_or_200_rows(college):
    """The per-person checks read accounts looked up once for the whole file, so a
    province's staff list is checked as fast as a department's."""

    def rows(n: int):
        people = [
            [f"p{i}@example.com", f"Person {i}", "teacher", "CM", "", f"T{i:05d}"] for i in range(n)
        ]
        return importing.read_sheet(csv_bytes(people))

    small, large = rows(10), rows(200)
    import_services.plan_import(college.admin, rows(1))  # load what every plan loads once
    counts = [
        _statements_of(lambda sheet=sheet: import_services.plan_import(college.admin, sheet))
        for sheet in (small, large)
    ]
    assert counts[0] == counts[1], counts
