"""The result workbook: the input workbook with a status, message and result columns per row.

A clerk sorts, sums and files it as it is: a result that is a date, a count or an amount stays one
(a cell of that type, with its format), text from screens stays text, the header is frozen and
filtered, and Backroom's columns are as wide as what they hold."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .sheet_style import DATE_FORMAT, money_format, put_text

STATUS_FILL = {
    "done": PatternFill("solid", fgColor="C6EFCE"),
    "business_exception": PatternFill("solid", fgColor="FFEB9C"),
    "rejected": PatternFill("solid", fgColor="FFEB9C"),
    "system_exception": PatternFill("solid", fgColor="FFC7CE"),
    "not_started": PatternFill("solid", fgColor="D9D9D9"),
}
STATUS_TEXT = {
    "done": "Done",
    "business_exception": "Needs review",
    "rejected": "Rejected (bad data)",
    "system_exception": "Failed (system)",
    "not_started": "Not started",
}


RESULT_PREFIX = "Backroom "   # before a column Backroom adds whose name the input already uses


MIN_WIDTH, MAX_WIDTH = 8, 60
EXACT_DIGITS = 15   # what a spreadsheet's number holds exactly; a longer one is written as text, unaltered


def _holds_exactly(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, date):
        return True
    if isinstance(value, int):
        return abs(value) < 10 ** EXACT_DIGITS
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite() and len(value.as_tuple().digits) <= EXACT_DIGITS
    return False


def put_result(sheet, row: int, column: int, value) -> str:
    """A result value in its cell: dates, whole numbers and amounts typed, anything else as text.
    Returns what a person sees, for the column's width."""
    if not _holds_exactly(value):
        text = "" if value is None else str(value)
        put_text(sheet, row, column, text)
        return text
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, datetime):
        cell.value, cell.number_format = value, DATE_FORMAT + " hh:mm:ss"
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        cell.value, cell.number_format = value, DATE_FORMAT
        return value.isoformat()
    if isinstance(value, Decimal):
        places = max(0, -int(value.as_tuple().exponent))
        # an amount keeps its places (12.50 shows as 12.50); Excel holds numbers as doubles anyway
        cell.value, cell.number_format = float(value), money_format(places)
        return f"{value:,}"
    cell.value = value
    return str(value)


def write_results(input_path: Path, out_path: Path, sheet_name: str | None, header_row: int,
                  rows: dict[int, dict[str, str]], extra_columns: list[str]) -> Path:
    """`rows` maps a worksheet row number to {column header: value}, Status and Message included."""
    workbook = load_workbook(input_path)
    sheet = workbook[sheet_name] if sheet_name else workbook.worksheets[0]
    headers = ["Status", "Message", *extra_columns]
    first_col = sheet.max_column + 1
    taken = {str(c.value).strip().casefold() for c in sheet[header_row] if c.value is not None}
    for offset, header in enumerate(headers):
        # the input's own columns stay apart from Backroom's: never two columns of the same name
        shown = f"{RESULT_PREFIX}{header}" if header.strip().casefold() in taken else header
        cell = sheet.cell(row=header_row, column=first_col + offset, value=shown)
        cell.font = Font(bold=True)
    widths = [len(header) + 2 for header in headers]   # room for the filter's button
    for row_no, values in rows.items():
        for offset, header in enumerate(headers):
            raw = values.get(header, "")
            value = STATUS_TEXT.get(raw, raw) if header == "Status" else raw
            shown = put_result(sheet, row_no, first_col + offset, value)  # screen text never becomes a formula
            widths[offset] = max(widths[offset], len(shown) + 1)
            if header == "Status" and raw in STATUS_FILL:
                sheet.cell(row=row_no, column=first_col + offset).fill = STATUS_FILL[raw]
    for offset, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(first_col + offset)].width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    last_row = max([header_row, sheet.max_row, *rows])
    # the header stays in view and filters every column, the input's own and Backroom's
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1).coordinate
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(first_col + len(headers) - 1)}{last_row}"
    out_path = Path(out_path)
    tmp = out_path.with_suffix(".tmp.xlsx")
    workbook.save(tmp)
    tmp.replace(out_path)  # never leave a half-written workbook behind
    return out_path
