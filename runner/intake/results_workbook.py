"""The result workbook: the input workbook with a status, message and result columns per row."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Font, PatternFill

from .sheet_style import put_text

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


def as_cell_text(value) -> str:
    return "" if value is None else str(value)


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
    for row_no, values in rows.items():
        for offset, header in enumerate(headers):
            raw = values.get(header, "")
            value = STATUS_TEXT.get(raw, raw) if header == "Status" else as_cell_text(raw)
            put_text(sheet, row_no, first_col + offset, value)  # screen text must never become a formula
            if header == "Status" and raw in STATUS_FILL:
                sheet.cell(row=row_no, column=first_col + offset).fill = STATUS_FILL[raw]
    sheet.column_dimensions[sheet.cell(row=header_row, column=first_col + 1).column_letter].width = 60
    out_path = Path(out_path)
    tmp = out_path.with_suffix(".tmp.xlsx")
    workbook.save(tmp)
    tmp.replace(out_path)  # never leave a half-written workbook behind
    return out_path
