"""Writing cells a finance clerk can trust: text stays text, money has its format, headers look alike."""

from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Alignment, Font, PatternFill
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


def put_money(sheet: Worksheet, row: int, column: int, value: Decimal | str | None, places: int = 2):
    """A Decimal amount, or a formula string we wrote ourselves (starting with '=')."""
    cell = sheet.cell(row=row, column=column, value=value)
    cell.number_format = money_format(places)
    return cell


def header_row(sheet: Worksheet, headers: list[str], widths: list[int] | None = None, row: int = 1) -> None:
    for column, title in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=column, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for column, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[sheet.cell(row=row, column=column).column_letter].width = width
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
