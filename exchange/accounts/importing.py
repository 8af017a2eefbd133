"""Reading a staff list for the staff import (SPEC §8 ``import-users``). Pure.

A CSV (UTF-8 with or without a byte-order mark, UTF-16 as Excel's "Unicode text",
or GB18030/GBK as Excel saves "CSV" on a Chinese Windows) or an XLSX workbook (its
first sheet) becomes a :class:`Sheet`: which column holds which field, and each
row's cells as trimmed text. The file is recognised by its content, never by its
name. Headers may be English or Chinese (:data:`HEADERS`); columns nobody asked
for are ignored and named.

Nothing here knows the database: the checks that need it (an e-mail address
already in use, a department code) belong to ``import_services``. What is here
is what a file says by itself: a role or a language that is none, a code in a
column the role has no use for, one person twice. The header row may have a title
above it, as workbooks often do. Problems are codes, worded by the service, so
this module needs neither Flask nor a language.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

from openpyxl import load_workbook

# A department's whole staff is a few hundred rows; a college's, a few thousand.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# A workbook is a zip archive: refuse one that unpacks to far more than a staff list
# could be (a "zip bomb") before openpyxl opens it.
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_XLSX_MEMBERS = 500
# No field takes more than 254 characters: a longer cell is kept only as far as it
# shows that it is too long (it is refused, never cut into something valid).
MAX_CELL_CHARS = 1000

FIELDS = ("email", "name", "role", "department", "enterprise", "staff_number", "language")
REQUIRED_FIELDS = ("email", "name", "role")
# Rows above the header that may hold a title or notes.
HEADER_SEARCH_ROWS = 5


def header_key(text: str) -> str:
    """A header or role name as compared: lower case, without spaces, punctuation and
    the asterisk that marks required columns in many templates."""
    return re.sub(r"[\s_\-.:：()（）*＊/]", "", text.lower())


# The headers each field is recognised by (compared by ``header_key``). Shown on the
# import page, so an administrator knows what to name the columns.
HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "mail", "邮箱", "电子邮箱", "电子邮件",
              "邮件", "邮箱地址"),
    "name": ("name", "full name", "姓名", "名字"),
    "role": ("role", "角色", "身份"),
    "department": ("department", "department code", "dept", "部门", "部门代码", "部门编码",
                   "院系", "院系代码", "系部"),
    "enterprise": ("enterprise", "enterprise code", "company", "企业", "企业代码", "企业编码",
                   "合作企业"),
    "staff_number": ("staff number", "staff no", "staff id", "employee number", "工号",
                     "职工号", "教工号", "员工号"),
    "language": ("language", "locale", "语言"),
}  # fmt: skip
_FIELD_BY_HEADER = {header_key(h): name for name, headers in HEADERS.items() for h in headers}

# Role cells: the stored value, the English labels of the app, and their Chinese names.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "teacher": ("teacher", "教师", "老师"),
    "expert": ("expert", "enterprise expert", "专家", "企业专家"),
    "head": ("head", "department head", "系主任", "部门负责人"),
    "admin": ("admin", "administrator", "管理员"),
}
_ROLE_BY_NAME = {header_key(n): role for role, names in ROLE_NAMES.items() for n in names}

# Language cells: the language of the person's pages and e-mails (``User.locale``).
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("en", "english", "英文", "英语"),
    "zh_Hans": ("zh_Hans", "zh", "zh-CN", "Chinese", "中文", "简体中文", "汉语"),
}
_LANGUAGE_BY_NAME = {header_key(n): code for code, names in LANGUAGE_NAMES.items() for n in names}

# Roles with a department or an enterprise (as in ``Role.needs_department`` and
# ``Role.needs_enterprise``; repeated here to keep this module free of the models).
DEPARTMENT_ROLES = frozenset({"teacher", "head"})
ENTERPRISE_ROLES = frozenset({"expert"})


class FileProblem(StrEnum):
    """Why a file cannot be read as a staff list at all."""

    TOO_LARGE = "too_large"
    EMPTY = "empty"
    OLD_EXCEL = "old_excel"  # a .xls workbook (Excel 97–2003)
    UNREADABLE_XLSX = "unreadable_xlsx"
    NOT_TEXT = "not_text"  # neither a workbook nor text in a known encoding
    TOO_MANY_ROWS = "too_many_rows"
    MISSING_COLUMNS = "missing_columns"
    REPEATED_COLUMN = "repeated_column"


class SheetError(Exception):
    def __init__(self, problem: FileProblem, detail: str = "") -> None:
        super().__init__(problem.value, detail)
        self.problem = problem
        self.detail = detail  # the missing columns, the repeated header, …


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet numbers it: the header is row 1
    cells: dict[str, str]  # field → trimmed text, "" when empty or when the file has no column


@dataclass(frozen=True)
class Sheet:
    columns: dict[str, str]  # field → its header as written in the file
    rows: list[SheetRow]
    ignored: list[str] = field(default_factory=list)  # headers of columns not read

    def column(self, name: str) -> str:
        """What to call a field's column in a message: the file's own header."""
        return self.columns.get(name, name)


# --- reading ---------------------------------------------------------------------------


def read_sheet(data: bytes) -> Sheet:
    """The staff list in ``data`` (the bytes of an uploaded or named file)."""
    if len(data) > MAX_FILE_BYTES:
        raise SheetError(FileProblem.TOO_LARGE)
    if not data.strip():
        raise SheetError(FileProblem.EMPTY)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE compound file: .xls
        raise SheetError(FileProblem.OLD_EXCEL)
    table = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
    return _sheet(table)


@dataclass(frozen=True)
class _Header:
    fields: list[str | None]  # per column: the field it holds, or None
    columns: dict[str, str]
    ignored: list[str]
    repeated: str | None  # a header that names a field already named

    @property
    def missing(self) -> list[str]:
        return [name for name in REQUIRED_FIELDS if name not in self.columns]


def _header(values: list[str]) -> _Header:
    fields: list[str | None] = []
    columns: dict[str, str] = {}
    ignored: list[str] = []
    repeated = None
    for text in values:
        name = _FIELD_BY_HEADER.get(header_key(text))
        if name is not None and name in columns:
            repeated = repeated or text
        elif name is not None:
            columns[name] = text
        elif text:
            ignored.append(text)
        fields.append(name)
    return _Header(fields, columns, ignored, repeated)


def _find_header(table: Iterator[tuple[int, list[str]]]) -> _Header:
    """The header row: the first row that names the required columns, among the first
    few that are not empty (a workbook often has a title above it)."""
    first: _Header | None = None
    seen = 0
    for _number, values in table:
        if not any(values):
            continue
        header = _header(values)
        if not header.missing:
            if header.repeated:
                raise SheetError(FileProblem.REPEATED_COLUMN, header.repeated)
            return header
        first = first or header
        seen += 1
        if seen == HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise SheetError(FileProblem.EMPTY)
    raise SheetError(FileProblem.MISSING_COLUMNS, ", ".join(first.missing))


def _sheet(table: Iterator[tuple[int, list[str]]]) -> Sheet:
    header = _find_header(table)
    rows: list[SheetRow] = []
    for number, values in table:  # the rows below the header
        cells = dict.fromkeys(FIELDS, "")
        for name, value in zip(header.fields, values, strict=False):
            if name is not None:
                cells[name] = value
        if not any(cells.values()):
            continue  # an empty line, or one with notes in ignored columns only
        if len(rows) == MAX_ROWS:
            raise SheetError(FileProblem.TOO_MANY_ROWS, str(MAX_ROWS))
        rows.append(SheetRow(number, cells))
    if not rows:
        raise SheetError(FileProblem.EMPTY)
    return Sheet(header.columns, rows, header.ignored)


def _clean(text: str) -> str:
    # str.strip also takes the ideographic space (U+3000) and no-break spaces.
    return text.strip()[:MAX_CELL_CHARS]


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings: Sequence[str] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        # Chinese text in GBK is almost never valid UTF-8, so trying UTF-8 first is safe;
        # GB18030 reads all of GBK (and GB2312) and more.
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # a binary file (a photo, a PDF) that happened to decode
            break
        return text
    raise SheetError(FileProblem.NOT_TEXT)


def _delimiter(head: str) -> str:
    """Comma, or what Excel writes in locales that use the comma as a decimal mark
    (semicolon), or tab (Excel's "Unicode text"): the most frequent in the first lines."""
    counts = {d: head.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data)
    head = "\n".join(text.split("\n", HEADER_SEARCH_ROWS + 1)[: HEADER_SEARCH_ROWS + 1])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(head))
    try:
        for number, record in enumerate(reader, start=1):
            yield number, [_clean(value) for value in record]
    except csv.Error:
        raise SheetError(FileProblem.NOT_TEXT) from None


def _cell_text(value: object) -> str:
    """A workbook cell as the text it shows; numbers without a spurious ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a staff number typed as a number: 2019034, not 2019034.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return _clean(str(value))


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise SheetError(FileProblem.UNREADABLE_XLSX) from None
    if len(members) > MAX_XLSX_MEMBERS or sum(m.file_size for m in members) > (
        MAX_XLSX_UNPACKED_BYTES
    ):
        raise SheetError(FileProblem.TOO_LARGE)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; neither matters.
            warnings.simplefilter("ignore")
            # data_only: a formula cell is the value Excel showed, not the formula. The
            # XML is read by Python's expat, which refuses entity-expansion bombs and
            # never fetches external entities.
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                if not workbook.worksheets:
                    raise SheetError(FileProblem.EMPTY)
                sheet = workbook.worksheets[0]
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    yield number, [_cell_text(value) for value in row]
            finally:
                workbook.close()
    except SheetError:
        raise
    except Exception:  # noqa: BLE001 - openpyxl fails in many ways on a damaged file
        raise SheetError(FileProblem.UNREADABLE_XLSX) from None


# --- what a row says by itself -----------------------------------------------------------


def parse_role(text: str) -> str | None:
    """The role a cell names ("Teacher", "head", "企业专家"), or None."""
    return _ROLE_BY_NAME.get(header_key(text)) if text else None


def parse_language(text: str) -> str | None:
    """The language a cell names ("English", "zh_Hans", "中文"), or None."""
    return _LANGUAGE_BY_NAME.get(header_key(text)) if text else None


class RowProblem(StrEnum):
    UNKNOWN_ROLE = "unknown_role"
    UNKNOWN_LANGUAGE = "unknown_language"
    NO_DEPARTMENT_FOR_ROLE = "no_department_for_role"  # a code the role has no use for
    NO_ENTERPRISE_FOR_ROLE = "no_enterprise_for_role"
    REPEATED = "repeated"  # the same value on another row of the file


@dataclass(frozen=True)
class Problem:
    field: str
    problem: RowProblem
    rows: tuple[int, ...] = ()  # the other rows, for REPEATED


def row_problems(cells: dict[str, str]) -> list[Problem]:
    """What is wrong with a row whatever the database holds."""
    problems: list[Problem] = []
    role = parse_role(cells["role"])
    if cells["role"] and role is None:
        problems.append(Problem("role", RowProblem.UNKNOWN_ROLE))
    if cells["language"] and parse_language(cells["language"]) is None:
        problems.append(Problem("language", RowProblem.UNKNOWN_LANGUAGE))
    if role is not None and cells["department"] and role not in DEPARTMENT_ROLES:
        problems.append(Problem("department", RowProblem.NO_DEPARTMENT_FOR_ROLE))
    if role is not None and cells["enterprise"] and role not in ENTERPRISE_ROLES:
        problems.append(Problem("enterprise", RowProblem.NO_ENTERPRISE_FOR_ROLE))
    return problems


def repeated(
    rows: Iterable[SheetRow], name: str, key: Callable[[str], str | None]
) -> dict[int, tuple[int, ...]]:
    """Rows whose ``name`` cell (as ``key`` compares it; None: not compared) is also on
    other rows: row number → the other rows. Every one of them is refused, since the
    file does not say which is right."""
    by_value: dict[str, list[int]] = {}
    for row in rows:
        value = key(row.cells[name])
        if value:
            by_value.setdefault(value, []).append(row.number)
    found: dict[int, tuple[int, ...]] = {}
    for numbers in by_value.values():
        if len(numbers) > 1:
            for number in numbers:
                found[number] = tuple(n for n in numbers if n != number)
    return found
