"""The two sides of a reconciliation, read strictly: the statement file and the ledger screen rows.

A line that cannot be read (an amount in another currency, a date that does not parse) is
not guessed at: it is kept as a LineProblem naming its place (`statement.xlsx!C7`,
`BILLSYS ledger row 23`), goes to a person, and its amount shows in the unexplained
difference. A missing column stops the reconciliation before anything is matched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any


from ..errors import InputFileError
from ..intake.workbook import cell_ref, open_sheet
from ..project.money import ValueProblem, minor_units, parse_amount, parse_day
from .matching import Line
from ..project.reconcile_settings import ColumnsSpec, ReconcileSpec

REQUIRED = ("date", "amount")


@dataclass
class LineProblem:
    side: str
    place: str               # statement.xlsx!C7
    message: str
    raw: dict[str, Any]      # the row as read, for the reviewer


@dataclass
class SideRead:
    lines: list[Line] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    opening: Decimal | None = None     # stated on the statement
    closing: Decimal | None = None     # stated on the statement, or the total the ledger screen shows


def _column_index(header: list[Any], columns: ColumnsSpec, where: str) -> dict[str, int]:
    by_text = {str(v).strip().lower(): i for i, v in enumerate(header) if v is not None and str(v).strip()}
    index, missing = {}, []
    for name, title in columns.model_dump().items():
        if title is None:
            continue
        position = by_text.get(title.strip().lower())
        if position is None:
            if name in REQUIRED or name == "reference":
                missing.append(title)
        else:
            index[name] = position
    if missing:
        found = ", ".join(str(v) for v in header if v is not None)
        raise InputFileError(f"{where}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)} (found: {found})",
                             "Rename the column, or set the bot's column names in bot.yaml, and run again.")
    return index


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _to_line(side: str, number: int, values: list[Any], index: dict[str, int], spec: ReconcileSpec,
             date_formats: list[str], place_of) -> Line | LineProblem:
    raw = {name: values[i] if i < len(values) else None for name, i in index.items()}
    problems = []
    try:
        on = parse_day(raw.get("date"), date_formats)
    except ValueProblem as exc:
        problems.append(f"{place_of('date')}: {exc}")
    try:
        amount = parse_amount(raw.get("amount"), spec.currency, spec.locale)
    except ValueProblem as exc:
        problems.append(f"{place_of('amount')}: amount {exc}")
    if problems:
        return LineProblem(side, place_of(None), "; ".join(problems), {k: _text(v) for k, v in raw.items()})
    minor = int(amount.scaleb(minor_units(spec.currency)))  # exact: parse_amount quantized it
    return Line(side, number, _text(raw.get("reference")), on, amount, minor, _text(raw.get("account")),
                _text(raw.get("description")), place_of(None))


def _is_balance_row(values: list[Any], index: dict[str, int], label: str | None) -> bool:
    if not label:
        return False
    wanted = label.strip().lower()
    return any(_text(values[i]).lower() == wanted for i in index.values() if i < len(values))


def read_statement(path: Path, spec: ReconcileSpec) -> SideRead:
    """The bank or customer statement: an .xlsx sheet or a .csv file."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found", "Check the path and run again.")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        return _read_rows(path.name, None, rows, spec)
    workbook, sheet = open_sheet(path, spec.statement.sheet, "an Excel workbook (.xlsx) or a CSV file")
    try:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        return _read_rows(path.name, sheet.title, rows, spec)
    finally:
        workbook.close()


def _read_rows(name: str, sheet: str | None, rows: list[list[Any]], spec: ReconcileSpec) -> SideRead:
    header_row = spec.statement.header_row
    where = f"[{name}]{sheet}" if sheet else name
    if len(rows) < header_row or not any(v not in (None, "") for v in rows[header_row - 1]):
        raise InputFileError(f"{where}: no header row at row {header_row}")
    index = _column_index(rows[header_row - 1], spec.statement.columns, where)
    result = SideRead()
    labels = spec.statement.balance_labels
    for row_no, values in enumerate(rows[header_row:], start=header_row + 1):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue

        def place_of(column: str | None, row_no=row_no) -> str:
            if column is None:
                return f"{name} row {row_no}"
            return cell_ref(name, sheet, index[column] + 1, row_no) if column in index else f"{name} row {row_no}"

        for which in ("opening", "closing"):
            if _is_balance_row(values, index, getattr(labels, which)):
                try:
                    value = parse_amount(values[index["amount"]], spec.currency, spec.locale)
                except ValueProblem as exc:
                    raise InputFileError(f"{place_of('amount')}: {which} balance {exc}") from None
                setattr(result, which, value)
                break
        else:
            line = _to_line("statement", len(result.lines) + len(result.problems), values, index, spec,
                            spec.statement.date_formats, place_of)
            (result.problems if isinstance(line, LineProblem) else result.lines).append(line)
    return result


def ledger_from_screen(rows: list[dict[str, str]], stated_total: str | None, spec: ReconcileSpec,
                       app_label: str) -> SideRead:
    """Rows read from the legacy ledger screen (header text -> cell text), one dict per line."""
    result = SideRead()
    if rows:
        header = list(rows[0].keys())
        index = _column_index(header, spec.ledger.columns, f"{app_label} ledger screen")
        for number, row in enumerate(rows, start=1):
            values = [row.get(h) for h in header]

            def place_of(column: str | None, number=number) -> str:
                return f"{app_label} ledger row {number}" + (f" ({getattr(spec.ledger.columns, column)})"
                                                             if column else "")

            line = _to_line("ledger", len(result.lines) + len(result.problems), values, index, spec,
                            spec.ledger.date_formats, place_of)
            (result.problems if isinstance(line, LineProblem) else result.lines).append(line)
    if stated_total not in (None, ""):
        try:
            result.closing = parse_amount(stated_total, spec.currency, spec.locale)
        except ValueProblem as exc:
            raise InputFileError(f"{app_label} ledger total on screen: {exc}",
                                 "Check the ledger recipe's read of the total.") from None
    return result
