"""Tables to take away: CSV and XLSX bytes from headers and rows, safe to open in Excel.

Pure apart from the optional response helpers: rows are lists of text, whole
numbers and Decimals (None for an empty cell). Text that a spreadsheet would
read as a formula (it starts with = + - @, a tab or a carriage return) gets a
leading single quote, in both formats (OWASP "CSV injection"). Numbers stay
numbers (``exchange.units`` makes hours and money Decimals for them). CSV is
UTF-8 with a byte-order mark so that Excel shows Chinese names as written.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

Cell = str | int | Decimal | None

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(text: str) -> str:
    """Text a spreadsheet would evaluate as a formula, made plain text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value: object) -> str:
    return neutralise(str(value))


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int: say it in words instead
        return _text(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return _text(value)


# Rows encoded at a time: the text of a long table is never held twice.
CSV_CHUNK_ROWS = 1000


def iter_csv(headers: Sequence[object], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The CSV in chunks of bytes, the byte-order mark first, encoded while the rows are
    read (they may come from a statement fetched in batches)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow([_text(h) for h in headers])
    for number, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(value) for value in row])
        if number % CSV_CHUNK_ROWS == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def to_csv(headers: Sequence[object], rows: Iterable[Sequence[Cell]]) -> bytes:
    return b"".join(iter_csv(headers, rows))


def _width(value: object) -> int:
    """Columns a value takes on screen: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


class Sheet(NamedTuple):
    """One table of a workbook: its tab's title, its header row and its rows."""

    title: str
    headers: Sequence[object]
    rows: Iterable[Sequence[Cell]]


def _fill_sheet(
    sheet: Worksheet, headers: Sequence[object], rows: Iterable[Sequence[Cell]]
) -> None:
    """A bold, frozen header row, then the rows: numbers as numbers, text neutralised,
    each column as wide as its widest cell (within reason)."""
    bold = Font(bold=True)
    widths = [_width(h) for h in headers]
    sheet.append([_xlsx_text(h) for h in headers])
    for cell in sheet[1]:
        cell.font = bold
    for row_number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if value is None:
                continue
            if isinstance(value, Decimal):
                cell.value = value
                cell.number_format = "0.00" if value.as_tuple().exponent == -2 else "General"
            elif isinstance(value, int) and not isinstance(value, bool):
                cell.value = value
            else:
                cell.value = _xlsx_text(value)
            if column > len(widths):
                widths.append(0)
            widths[column - 1] = max(widths[column - 1], _width(cell.value))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"


def _fill_write_only(sheet: Any, headers: Sequence[object], rows: Iterable[Sequence[Cell]]) -> None:
    """As ``_fill_sheet`` for a write-only sheet, whose rows go to disk as they come
    (any number of rows in bounded memory): the columns are as wide as their headers."""
    for column, header in enumerate(headers, start=1):
        width = min(max(_width(header) + 4, 12), 60)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=_xlsx_text(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])


def _xlsx_value(value: Cell) -> Cell:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _xlsx_text(value)


def to_xlsx_sheets(sheets: Sequence[Sheet], *, large: bool = False) -> bytes:
    """A workbook with one sheet per table, in the order given (at least one).

    ``large``: the rows are streamed to disk as they are read (openpyxl's write-only
    mode), for tables of any length; columns are then sized by their headers."""
    if not sheets:
        raise ValueError("A workbook needs at least one sheet.")
    if large:
        streamed = Workbook(write_only=True)
        for table in sheets:
            _fill_write_only(
                streamed.create_sheet(_sheet_title(table.title)), table.headers, table.rows
            )
        out = io.BytesIO()
        streamed.save(out)
        return out.getvalue()
    workbook = Workbook()
    for number, table in enumerate(sheets):
        sheet = workbook.active if number == 0 else workbook.create_sheet()
        assert isinstance(sheet, Worksheet)  # noqa: S101 - a new workbook always has one sheet
        # openpyxl adds a number to a title already taken.
        sheet.title = _sheet_title(table.title)
        _fill_sheet(sheet, table.headers, table.rows)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_xlsx(
    headers: Sequence[object], rows: Iterable[Sequence[Cell]], title: str = "Sheet"
) -> bytes:
    return to_xlsx_sheets([Sheet(title, headers, rows)])


def _xlsx_text(value: object) -> str:
    # XML cannot carry most control characters; openpyxl would refuse the cell.
    return ILLEGAL_CHARACTERS_RE.sub("", _text(value))


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip("' ") or "Sheet"
    return cleaned[:31]


def file_name(*parts: str) -> str:
    """A download name from parts ("2026-2027", "CM", "payout.csv"): path separators and
    control characters become "-"."""
    name = "-".join(p for p in parts if p)
    cleaned = "".join(
        "-" if ch in '/\\"' or unicodedata.category(ch)[0] == "C" else ch for ch in name
    )
    return cleaned.strip(". ") or "export"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def render(
    fmt: str, headers: Sequence[object], rows: Iterable[Sequence[Cell]], title: str
) -> bytes:
    """The table in ``fmt`` ("csv" or "xlsx")."""
    if fmt == "xlsx":
        return to_xlsx(headers, rows, title)
    return to_csv(headers, rows)


def _attachment(data: bytes, fmt: str, name: str) -> Response:
    """``data`` as a file to save: ``name`` gets the extension of ``fmt``."""
    response = Response(data, content_type=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = content_disposition(f"{name}.{fmt}")
    # Names and money: not for shared caches, nor kept in the browser's.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def download(
    fmt: str, headers: Sequence[object], rows: Iterable[Sequence[Cell]], title: str, name: str
) -> Response:
    """The table as a file to save: ``name`` gets the extension of ``fmt``."""
    return _attachment(render(fmt, headers, rows, title), fmt, name)


def download_sheets(sheets: Sequence[Sheet], name: str, *, large: bool = False) -> Response:
    """Several tables as one XLSX workbook to save, one sheet each: ``name`` gets ".xlsx"."""
    return _attachment(to_xlsx_sheets(sheets, large=large), "xlsx", name)
