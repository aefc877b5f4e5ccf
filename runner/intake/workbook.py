"""Intake: read work items from an Excel workbook, with every problem named by its cell.

Structural problems (not a workbook, no such sheet, a missing column, no rows) stop the
run before anything is keyed. A bad value in one row rejects that row only, with a
message such as `[orders.xlsx]Orders!D7: quantity must be a whole number, got "ten"`
(Excel's own way of naming a cell in another workbook: file, sheet and cell); the other
rows are worked.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ..project.bot import FieldSpec, InputSpec
from .work_item import WorkItem
from ..errors import InputFileError


@dataclass
class RejectedRow:
    row: int
    reference: str
    problems: list[str]


@dataclass
class IntakeResult:
    path: Path
    items: list[WorkItem] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    sheet: str | None = None
    columns: dict[str, int] = field(default_factory=dict)   # field -> column index (0-based)

    def cell(self, item: WorkItem, field_name: str) -> str:
        """Where a field of an item was read: [jobs.xlsx]Jobs!B7."""
        if field_name not in self.columns or item.row is None:
            return item.source or self.path.name
        return cell_ref(self.path.name, self.sheet, self.columns[field_name] + 1, item.row)


class FieldProblem(ValueError):
    pass


def cell_ref(file: str, sheet: str | None, column: int, row: int) -> str:
    """A cell as Excel writes a reference into another workbook: [orders.xlsx]Orders!D7."""
    place = f"{get_column_letter(column)}{row}"
    return f"[{file}]{sheet}!{place}" if sheet else f"{file}!{place}"


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def convert(name: str, spec: FieldSpec, value: Any) -> Any:
    """Convert one cell to the field's type, or raise FieldProblem saying what was expected."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if spec.required:
            raise FieldProblem(f"{name} is required, the cell is empty")
        return spec.default
    if spec.type == "text":
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # an order number typed as 1042 arrives as 1042.0
        return str(value)
    if spec.type == "integer":
        if isinstance(value, bool):
            raise FieldProblem(f"{name} must be a whole number, got {_show(value)}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int):
            raise FieldProblem(f"{name} must be a whole number, got {_show(value)}")
        _check_range(name, spec, value)
        return value
    if spec.type == "decimal":
        try:
            # floats go through repr so 12.1 stays 12.1, not 12.0999999...
            amount = Decimal(repr(value) if isinstance(value, float) else str(value).replace(",", ""))
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise FieldProblem(f"{name} must be an amount, got {_show(value)}") from None
        if spec.places is not None and amount.as_tuple().exponent < -spec.places:
            raise FieldProblem(f"{name} has more than {spec.places} decimals: {amount}")
        _check_range(name, spec, amount)
        return amount
    if spec.type == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        for fmt in spec.date_formats:
            try:
                return datetime.strptime(str(value), fmt).date()
            except ValueError:
                continue
        raise FieldProblem(f"{name} must be a date ({', '.join(spec.date_formats)}), got {_show(value)}")
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("yes", "y", "true", "x", "1"):
            return True
        if text in ("no", "n", "false", "0", "-"):
            return False
        raise FieldProblem(f"{name} must be yes or no, got {_show(value)}")
    if spec.type == "choice":
        for choice in spec.choices or []:
            if str(value).lower() == choice.lower():
                return choice
        raise FieldProblem(f"{name} must be one of {', '.join(spec.choices or [])}, got {_show(value)}")
    raise FieldProblem(f"{name}: unknown type {spec.type}")


def _check_range(name: str, spec: FieldSpec, value) -> None:
    if spec.min is not None and value < _limit(spec.min):
        raise FieldProblem(f"{name} must be at least {spec.min:g}, got {value}")
    if spec.max is not None and value > _limit(spec.max):
        raise FieldProblem(f"{name} must be at most {spec.max:g}, got {value}")


@lru_cache(maxsize=256)
def _limit(bound: float) -> Decimal:
    return Decimal(str(bound))


def open_sheet(path: Path, sheet_name: str | None, what: str = "an Excel workbook (.xlsx)"):
    """(workbook, sheet) opened read-only with cached values; the caller closes the workbook."""
    if not path.exists():
        raise InputFileError(f"{path}: file not found", "Check the path and run again.")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputFileError(f"{path.name}: not {what} ({type(exc).__name__})",
                             f"Save the file as {what} and run again.") from None
    if sheet_name is not None and sheet_name not in workbook.sheetnames:
        workbook.close()
        raise InputFileError(f"{path.name}: no sheet named '{sheet_name}' (sheets: {', '.join(workbook.sheetnames)})")
    return workbook, workbook[sheet_name] if sheet_name else workbook.worksheets[0]


def read_workbook(path: Path, spec: InputSpec) -> IntakeResult:
    path = Path(path)
    name = path.name
    workbook, sheet = open_sheet(path, spec.sheet)
    try:
        rows = sheet.iter_rows(min_row=spec.header_row, values_only=True)
        header = next(rows, None)
        if header is None or all(v is None for v in header):
            raise InputFileError(f"[{name}]{sheet.title}: the sheet is empty (no header row at row {spec.header_row})")
        columns = _map_columns(name, spec, header)
        result = IntakeResult(path, sheet=sheet.title, columns=columns)
        seen: dict[str, int] = {}
        ref_spec = spec.fields[spec.reference]
        fields = [(field_name, field_spec, columns.get(field_name)) for field_name, field_spec in spec.fields.items()]
        for offset, values in enumerate(rows, start=1):
            row_no = spec.header_row + offset
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            data, problems = {}, []
            for field_name, field_spec, index in fields:
                raw = values[index] if index is not None and index < len(values) else None
                try:
                    data[field_name] = convert(field_name, field_spec, raw)
                except FieldProblem as exc:   # the cell is named only when something is wrong with it
                    cell = cell_ref(name, sheet.title, index + 1, row_no) if index is not None else name
                    problems.append(f"{cell}: {exc}")
            reference = str(data.get(spec.reference) or f"row {row_no}")
            if spec.reference in data and data[spec.reference] is not None:
                if reference in seen:
                    place = cell_ref(name, sheet.title, columns[spec.reference] + 1, row_no)
                    problems.append(f"{place}: {ref_spec.column} {reference} already appears "
                                    f"in row {seen[reference]}")
                else:
                    seen[reference] = row_no
            if problems:
                result.rejected.append(RejectedRow(row_no, reference, problems))
            else:
                result.items.append(WorkItem(reference, data, f"{name} row {row_no}", row_no))
        if not result.items and not result.rejected:
            raise InputFileError(f"[{name}]{sheet.title}: no rows below the header", "Add rows and run again.")
        return result
    finally:
        workbook.close()


def _map_columns(name: str, spec: InputSpec, header: tuple) -> dict[str, int]:
    by_text = {str(v).strip().lower(): i for i, v in enumerate(header) if v is not None}
    columns, missing = {}, []
    for field_name, field_spec in spec.fields.items():
        index = by_text.get(field_spec.column.strip().lower())
        if index is None:
            if field_spec.required:
                missing.append(field_spec.column)
        else:
            columns[field_name] = index
    if missing:
        found = ", ".join(str(v) for v in header if v is not None)
        raise InputFileError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"in the header row {spec.header_row} (found: {found})",
            "Rename or add the column and run again; nothing was keyed.",
        )
    return columns
