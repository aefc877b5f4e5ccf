"""Write a sample input workbook the way an office exports one: a header row, then the rows."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook


def write_sample_workbook(path: Path, sheet: str, headers: list[str], rows: list[list],
                          number_formats: dict[str, str] | None = None) -> Path:
    """`number_formats` maps a column letter to the Excel format of its data cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for column, number_format in (number_formats or {}).items():
        for cell in ws[column][1:]:
            cell.number_format = number_format
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
