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
