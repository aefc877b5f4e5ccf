"""Cells a finance clerk can trust: text stays text, money has its format, headers and verdicts look alike."""

from __future__ import annotations

from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="44546A")
TOTAL_FONT = Font(bold=True)
GOOD_FILL = PatternFill("solid", fgColor="C6EFCE")
WARN_FILL = PatternFill("solid", fgColor="FFEB9C")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
DATE_FORMAT = "yyyy-mm-dd"


def money_format(places: int = 2) -> str:
    digits = "0." + "0" * places if places else "0"
    return f"#,##{digits};[Red]-#,##{digits}"


def put_text(sheet: Worksheet, row: int, column: int, value) -> None:
    """Text from inputs and screens: `=HYPERLINK(...)`, `+1`, `-2`, `@x` stay text, never formulas."""
    cell = sheet.cell(row=row, column=column, value="" if value is None else str(value))
    cell.data_type = "s"


def write_header(sheet: Worksheet, headers: list[str]) -> None:
    """A first row of headers, styled and frozen so it stays in view."""
    for column, header in enumerate(headers, 1):
        cell = sheet.cell(row=1, column=column, value=header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    sheet.freeze_panes = "A2"


def append_row(sheet: Worksheet, values: list) -> None:
    """A row under the last one; strings are written as text, whatever they start with."""
    row = sheet.max_row + 1
    for column, value in enumerate(values, 1):
        if isinstance(value, str):
            put_text(sheet, row, column, value)
        else:
            cell = sheet.cell(row=row, column=column, value=value)
            if hasattr(value, "year"):
                cell.number_format = DATE_FORMAT + " hh:mm:ss"
