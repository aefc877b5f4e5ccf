"""The reconciliation workbook a finance clerk files: Summary, Matched, Unmatched in ledger,
Unmatched in statement, Suspected duplicates (and Unreadable lines when there are any).

Every total is a formula over the rows below it, and the Summary's figures are formulas over
those totals, so a clerk who corrects a row in Excel sees the difference move. Text from the
statement and the screens is always written as text, never as a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from ..sheet_style import (BAD_FILL, DATE_FORMAT, GOOD_FILL, TOTAL_FONT, WARN_FILL, header_row, money_format,
                           put_money, put_text)
from .matching import LEDGER, Line, Reconciliation
from .summary import Figures

MATCHED, UNMATCHED_LEDGER, UNMATCHED_STATEMENT, DUPLICATES, UNREADABLE = (
    "Matched", "Unmatched in ledger", "Unmatched in statement", "Suspected duplicates", "Unreadable lines")


@dataclass
class WorkbookContext:
    title: str                 # e.g. "BILLSYS receivables vs statement-2026-10.xlsx"
    run_id: str
    currency: str
    places: int
    rules_text: str            # "date window 3 days, tolerance 0.05, groups of up to 4 lines"
    search_text: str           # how the bounded search went
    review_refs: dict[tuple[str, int], str]   # (side, line index) -> queue reference


def _total_row(sheet: Worksheet, row: int, label_col: int, money_cols: list[int], first: int, places: int) -> dict[int, str]:
    """A bold Total row summing each money column; returns column -> the total cell's address."""
    sheet.cell(row=row, column=label_col, value="Total").font = TOTAL_FONT
    cells = {}
    for column in money_cols:
        letter = sheet.cell(row=row, column=column).column_letter
        formula = f"=SUM({letter}{first}:{letter}{row - 1})" if row > first else "=0"
        put_money(sheet, row, column, formula, places).font = TOTAL_FONT
        cells[column] = f"{letter}{row}"
    return cells


def _ref(sheet: str, cell: str) -> str:
    return f"'{sheet}'!{cell}"


def _joined(lines: list[Line], attr: str) -> str:
    return " + ".join(str(getattr(line, attr)) for line in lines)


def _write_matched(book: Workbook, result: Reconciliation, ctx: WorkbookContext) -> dict[str, str]:
    sheet = book.create_sheet(MATCHED)
    header_row(sheet, ["Match", "Rule", "Ledger reference", "Ledger date", "Ledger amount", "Statement reference",
                       "Statement date", "Statement amount", "Difference", "Statement description", "Ledger lines",
                       "Statement lines"], [7, 34, 26, 12, 15, 30, 12, 15, 12, 30, 34, 34])
    row = 2
    for number, match in enumerate(result.matches, start=1):
        sheet.cell(row=row, column=1, value=number)
        put_text(sheet, row, 2, match.rule)
        put_text(sheet, row, 3, _joined(match.ledger, "reference"))
        sheet.cell(row=row, column=4, value=min(ln.on for ln in match.ledger)).number_format = DATE_FORMAT
        put_money(sheet, row, 5, sum((ln.amount for ln in match.ledger), Decimal(0)), ctx.places)
        put_text(sheet, row, 6, _joined(match.statement, "reference"))
        sheet.cell(row=row, column=7, value=min(ln.on for ln in match.statement)).number_format = DATE_FORMAT
        put_money(sheet, row, 8, sum((ln.amount for ln in match.statement), Decimal(0)), ctx.places)
        put_money(sheet, row, 9, f"=H{row}-E{row}", ctx.places)
        if match.difference:
            sheet.cell(row=row, column=9).fill = WARN_FILL  # paid short or over, within the tolerance
        put_text(sheet, row, 10, "; ".join(ln.description for ln in match.statement if ln.description))
        put_text(sheet, row, 11, _joined(match.ledger, "source"))
        put_text(sheet, row, 12, _joined(match.statement, "source"))
        row += 1
    totals = _total_row(sheet, row, 2, [5, 8, 9], 2, ctx.places)
    sheet.auto_filter.ref = f"A1:L{max(row - 1, 1)}"
    return {"ledger": _ref(MATCHED, totals[5]), "statement": _ref(MATCHED, totals[8]),
            "difference": _ref(MATCHED, totals[9])}


def _write_unmatched(book: Workbook, name: str, lines: list[Line], result: Reconciliation,
                     ctx: WorkbookContext) -> str:
    sheet = book.create_sheet(name)
    header_row(sheet, ["Reference", "Date", "Account", "Description", "Amount", "Where it was read", "Note",
                       "Review item"], [24, 12, 10, 32, 15, 34, 50, 40])
    row = 2
    for line in lines:
        put_text(sheet, row, 1, line.reference)
        sheet.cell(row=row, column=2, value=line.on).number_format = DATE_FORMAT
        put_text(sheet, row, 3, line.account)
        put_text(sheet, row, 4, line.description)
        put_money(sheet, row, 5, line.amount, ctx.places)
        put_text(sheet, row, 6, line.source)
        put_text(sheet, row, 7, result.hints.get((line.side, line.index), ""))
        put_text(sheet, row, 8, ctx.review_refs.get((line.side, line.index), ""))
        row += 1
    totals = _total_row(sheet, row, 4, [5], 2, ctx.places)
    sheet.auto_filter.ref = f"A1:H{max(row - 1, 1)}"
    return _ref(name, totals[5])


def _write_duplicates(book: Workbook, result: Reconciliation, ctx: WorkbookContext) -> dict[str, str]:
    sheet = book.create_sheet(DUPLICATES)
    header_row(sheet, ["Side", "Reference", "Date", "Description", "Ledger amount", "Statement amount",
                       "Where it was read", "Repeats the line at", "Review item"],
               [10, 24, 12, 30, 15, 15, 34, 34, 40])
    row = 2
    for duplicate in result.duplicates:
        line = duplicate.line
        put_text(sheet, row, 1, line.side)
        put_text(sheet, row, 2, line.reference)
        sheet.cell(row=row, column=3, value=line.on).number_format = DATE_FORMAT
        put_text(sheet, row, 4, line.description)
        put_money(sheet, row, 5 if line.side == LEDGER else 6, line.amount, ctx.places)
        put_text(sheet, row, 7, line.source)
        put_text(sheet, row, 8, duplicate.first.source)
        put_text(sheet, row, 9, ctx.review_refs.get((line.side, line.index), ""))
        for column in range(1, 10):
            sheet.cell(row=row, column=column).fill = WARN_FILL
        row += 1
    totals = _total_row(sheet, row, 4, [5, 6], 2, ctx.places)
    return {"ledger": _ref(DUPLICATES, totals[5]), "statement": _ref(DUPLICATES, totals[6])}


def _write_unreadable(book: Workbook, figures: Figures) -> None:
    sheet = book.create_sheet(UNREADABLE)
    header_row(sheet, ["Side", "Where", "Problem", "Values as read"], [10, 30, 70, 60])
    for row, problem in enumerate(figures.problems, start=2):
        put_text(sheet, row, 1, problem.side)
        put_text(sheet, row, 2, problem.place)
        put_text(sheet, row, 3, problem.message)
        put_text(sheet, row, 4, ", ".join(f"{k}={v}" for k, v in problem.raw.items()))
        sheet.cell(row=row, column=3).fill = BAD_FILL


def _write_summary(sheet: Worksheet, figures: Figures, totals: dict, ctx: WorkbookContext) -> None:
    places, fmt = ctx.places, money_format(ctx.places)
    sheet.column_dimensions["A"].width = 52
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 18
    sheet.column_dimensions["D"].width = 60
    sheet["A1"] = f"Reconciliation: {ctx.title}"
    sheet["A1"].data_type = "s"
    sheet["A1"].font = Font(bold=True, size=14)
    for row, (label, value) in enumerate([("Run", ctx.run_id), ("Prepared", datetime.now().strftime("%Y-%m-%d %H:%M")),
                                          ("Currency", ctx.currency), ("Matching rules", ctx.rules_text),
                                          ("Group search", ctx.search_text)], start=2):
        sheet.cell(row=row, column=1, value=label).font = TOTAL_FONT
        put_text(sheet, row, 2, value)
    row = 8
    for column, title in enumerate(["Balances", "Ledger", "Statement", "Note"], start=1):
        sheet.cell(row=row, column=column, value=title).font = TOTAL_FONT
    lines_total = {
        "ledger": f"={totals['matched']['ledger']}+{totals['unmatched_ledger']}+{totals['duplicates']['ledger']}",
        "statement": f"={totals['matched']['statement']}+{totals['unmatched_statement']}"
                     f"+{totals['duplicates']['statement']}",
    }
    stated_ledger = figures.ledger_stated
    rows = [
        ("Lines read (count)", figures.ledger_lines, figures.statement_lines, None, False),
        ("Opening balance (stated)", None, figures.statement_opening, "from the statement's opening balance row", True),
        ("Lines total", lines_total["ledger"], lines_total["statement"], "matched + unmatched + suspected duplicates",
         True),
        ("Closing balance (computed)", "=B11", "=IF(ISNUMBER(C10),C10,0)+C11", "ledger: its lines; statement: opening + lines",
         True),
        ("Closing balance (stated)", stated_ledger, figures.statement_closing,
         "ledger: the total its screen shows; statement: its closing balance row", True),
        ("Stated minus computed", "=IF(ISNUMBER(B13),B13-B12,0)", "=IF(ISNUMBER(C13),C13-C12,0)",
         "not zero: a line was not read (see Unreadable lines) or a page was missed", True),
    ]
    row = 9
    for label, ledger_value, statement_value, note, is_money in rows:
        sheet.cell(row=row, column=1, value=label)
        for column, value in ((2, ledger_value), (3, statement_value)):
            if value is None:
                continue
            cell = sheet.cell(row=row, column=column, value=value)
            if is_money:
                cell.number_format = fmt
        if note:
            put_text(sheet, row, 4, note)
        row += 1
    for column in (2, 3):  # a gap between stated and computed balances is shown in red
        gap = figures.ledger_stated - figures.ledger_total if column == 2 and figures.ledger_stated is not None else (
            figures.statement_closing - (figures.statement_opening or 0) - figures.statement_total
            if column == 3 and figures.statement_closing is not None else 0)
        sheet.cell(row=14, column=column).fill = BAD_FILL if gap else GOOD_FILL
    row = 16
    sheet.cell(row=row, column=1, value="Reconciliation").font = TOTAL_FONT
    sheet.cell(row=row, column=2, value="Amount").font = TOTAL_FONT
    explained = [
        ("Ledger figure (stated total, else lines total)", "=IF(ISNUMBER(B13),B13,B11)", ""),
        ("Statement figure (closing - opening, else lines total)",
         "=IF(AND(ISNUMBER(C10),ISNUMBER(C13)),C13-C10,C11)", ""),
        ("Difference to explain (ledger - statement)", "=B17-B18", ""),
        ("  Tolerance differences on matched pairs", f"=-{totals['matched']['difference']}",
         "ledger minus statement on pairs matched within the tolerance"),
        ("  Unmatched in ledger", f"={totals['unmatched_ledger']}", "open in the ledger, not on the statement"),
        ("  Unmatched in statement", f"=-{totals['unmatched_statement']}", "received, not found in the ledger"),
        ("  Suspected duplicates in ledger", f"={totals['duplicates']['ledger']}", "set aside, never matched"),
        ("  Suspected duplicates in statement", f"=-{totals['duplicates']['statement']}", "set aside, never matched"),
        ("Explained", "=SUM(B20:B24)", ""),
        ("Unexplained difference", "=B19-B25", "must be zero; otherwise the lines below explain it"),
    ]
    row = 17
    for label, formula, note in explained:
        sheet.cell(row=row, column=1, value=label)
        put_money(sheet, row, 2, formula, places)
        if note:
            put_text(sheet, row, 4, note)
        row += 1
    unexplained_cell = sheet.cell(row=26, column=2)
    unexplained_cell.font = Font(bold=True, size=12)
    sheet.cell(row=26, column=1).font = Font(bold=True, size=12)
    unexplained_cell.fill = GOOD_FILL if figures.unexplained == 0 else BAD_FILL
    row = 28
    if figures.unexplained != 0 or figures.problems:
        sheet.cell(row=row, column=1, value="Not explained by matching: to be looked at").font = TOTAL_FONT
        row += 1
        for problem in figures.problems:
            put_text(sheet, row, 1, problem.place)
            put_text(sheet, row, 4, problem.message)
            sheet.cell(row=row, column=1).fill = BAD_FILL
            row += 1
        if figures.ledger_stated is not None and figures.ledger_stated != figures.ledger_total:
            put_text(sheet, row, 1, "Ledger screen total differs from the lines read")
            put_money(sheet, row, 2, figures.ledger_stated - figures.ledger_total, places)
            put_text(sheet, row, 4, "a page of the ledger may not have been read; run again or check the screen")
            sheet.cell(row=row, column=1).fill = BAD_FILL
    for r in range(9, 27):
        sheet.cell(row=r, column=4).alignment = Alignment(wrap_text=False)
    sheet.freeze_panes = "A2"


def write_reconciliation(path: Path, result: Reconciliation, figures: Figures, ctx: WorkbookContext) -> Path:
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    totals = {
        "matched": _write_matched(book, result, ctx),
        "unmatched_ledger": _write_unmatched(book, UNMATCHED_LEDGER, result.unmatched_ledger, result, ctx),
        "unmatched_statement": _write_unmatched(book, UNMATCHED_STATEMENT, result.unmatched_statement, result, ctx),
        "duplicates": _write_duplicates(book, result, ctx),
    }
    if figures.problems:
        _write_unreadable(book, figures)
    _write_summary(summary, figures, totals, ctx)
    path = Path(path)
    tmp = path.with_suffix(".tmp.xlsx")
    book.save(tmp)
    tmp.replace(path)  # never a half-written workbook
    return path
