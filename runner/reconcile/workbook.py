"""The reconciliation workbook a finance clerk files: Summary, Matched, Unmatched in ledger,
Unmatched in statement, Suspected duplicates (and Unreadable lines when there are any).

Every total is a formula over the rows above it, and the Summary's figures are formulas over
those totals, so a clerk who corrects a row in Excel sees the difference move. Text from the
statement and the screens is always written as text, never as a formula. The workbook is
streamed row by row (XlsxWriter's constant-memory mode): 100,000 matches do not have to sit in
memory as cells, and a styled cell costs a format index, not a style looked up per cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from ..intake.sheet_style import (BAD_FILL, DATE_FORMAT, GOOD_FILL, HEADER_FILL, HEADER_FONT, WARN_FILL,
                                  money_format)
from .matching import LEDGER, Line, Reconciliation
from .summary import Figures

MATCHED, UNMATCHED_LEDGER, UNMATCHED_STATEMENT, DUPLICATES, UNREADABLE = (
    "Matched", "Unmatched in ledger", "Unmatched in statement", "Suspected duplicates", "Unreadable lines")


def _rgb(color: Any) -> str:
    return "#" + str(color.rgb)[-6:]


# the looks of the other workbooks Backroom writes (intake/sheet_style.py), as XlsxWriter formats
HEADER = {"bold": True, "font_color": _rgb(HEADER_FONT.color), "bg_color": _rgb(HEADER_FILL.fgColor), "pattern": 1}
BOLD = {"bold": True}
GOOD, WARN, BAD = ({"bg_color": _rgb(fill.fgColor), "pattern": 1} for fill in (GOOD_FILL, WARN_FILL, BAD_FILL))
TITLE, VERDICT = {"bold": True, "size": 14}, {"bold": True, "size": 12}


@dataclass
class WorkbookContext:
    title: str                 # e.g. "BILLSYS receivables vs statement-2026-10.xlsx"
    run_id: str
    currency: str
    places: int
    rules_text: str            # "date window 3 days, tolerance 0.05, groups of up to 4 lines"
    search_text: str           # how the bounded search went
    review_refs: dict[tuple[str, int], str]   # (side, line index) -> queue reference


@dataclass(frozen=True)
class _Cell:
    value: Any
    format: Any = None
    formula: bool = False       # a formula Backroom wrote; text from inputs and screens never is one


class _Book:
    """The workbook being streamed, with each distinct look made into a format once."""

    def __init__(self, path: Path):
        self.xl = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._formats: dict[tuple, Any] = {}

    def format(self, *looks: dict | None, number_format: str | None = None) -> Any:
        spec: dict = {}
        for look in looks:
            spec.update(look or {})
        if number_format is not None:
            spec["num_format"] = number_format
        if not spec:
            return None
        key = tuple(sorted(spec.items()))
        if key not in self._formats:
            self._formats[key] = self.xl.add_format(spec)
        return self._formats[key]


class _Sheet:
    """One streamed sheet: cells made with their look, rows appended in order."""

    def __init__(self, book: _Book, title: str, places: int, headers: list[str] | None = None,
                 widths: list[int] | None = None):
        self.book = book
        self.ws = book.xl.add_worksheet(title)
        self.title = title
        self.money_format = money_format(places)
        self.row = 0
        self._money = book.format(number_format=self.money_format)
        self._day = book.format(number_format=DATE_FORMAT)
        for column, width in enumerate(widths or []):
            if headers and column < len(headers):
                width = max(width, len(headers[column]) + 3)   # a bold header with its filter button, whole
            self.ws.set_column(column, column, width)
        self._print_setup(headers is not None)
        if headers:
            self.ws.freeze_panes(1, 0)
            self.append([self.cell(h, look=HEADER) for h in headers])

    def _print_setup(self, has_header: bool) -> None:
        """Printed as it is filed: landscape, every column on one page's width (as many pages down as it
        takes), the header row on every page, and each page saying which sheet and page it is."""
        ws = self.ws
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
        ws.set_header(f"&L&\"Calibri,Bold\"{self.title.replace('&', '&&')}&R&D")
        ws.set_footer("&LPage &P of &N&R&F")
        if has_header:
            ws.repeat_rows(0)

    def cell(self, value, *, look: dict | None = None, fill: dict | None = None,
             number_format: str | None = None) -> _Cell:
        """A value (a string is written as text) with a look."""
        return _Cell(value, self.book.format(look, fill, number_format=number_format))

    def text(self, value, *, look: dict | None = None, fill: dict | None = None) -> str | _Cell:
        """Text from inputs and screens: `=HYPERLINK(...)`, `+1`, `-2`, `@x` stay text, never formulas."""
        text = "" if value is None else str(value)
        return text if look is None and fill is None else _Cell(text, self.book.format(look, fill))

    def money(self, value, *, look: dict | None = None, fill: dict | None = None) -> _Cell:
        """A Decimal amount, or a formula we wrote ourselves (starting with '=')."""
        look_of = self._money if look is None and fill is None else \
            self.book.format(look, fill, number_format=self.money_format)
        return _Cell(value, look_of, formula=isinstance(value, str) and value.startswith("="))

    def day(self, value) -> _Cell:
        return _Cell(value, self._day)

    def append(self, cells: list) -> int:
        ws, row = self.ws, self.row
        for column, cell in enumerate(cells):
            if cell is None:
                continue
            if type(cell) is str:   # noqa: E721 - the common case first: text, never a formula
                ws.write_string(row, column, cell)
                continue
            value, look = (cell.value, cell.format) if isinstance(cell, _Cell) else (cell, None)
            if value is None:
                if look is not None:
                    ws.write_blank(row, column, None, look)
            elif isinstance(cell, _Cell) and cell.formula:
                # no cached result: LibreOffice trusts a cached 0 and would show it; Excel calculates anyway
                ws.write_formula(row, column, value, look, "")
            elif isinstance(value, (date, datetime)):
                ws.write_datetime(row, column, value, look)
            elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                ws.write_number(row, column, float(value), look)
            else:
                ws.write_string(row, column, str(value), look)
        self.row += 1
        return self.row

    def total_row(self, label_col: int, money_cols: list[int], width: int) -> dict[int, str]:
        """A bold Total row summing each money column over the rows above; column -> the total's address."""
        row = self.row + 1
        cells: list = [None] * width
        cells[label_col - 1] = self.cell("Total", look=BOLD)
        addresses = {}
        for column in money_cols:
            letter = chr(64 + column)
            formula = f"=SUM({letter}2:{letter}{row - 1})" if row > 2 else "=0"
            cells[column - 1] = self.money(formula, look=BOLD)
            addresses[column] = f"'{self.title}'!{letter}{row}"
        self.append(cells)
        return addresses

    def filter_rows(self, columns: int) -> None:
        """Filters on the header over the rows written so far."""
        self.ws.autofilter(0, 0, max(self.row - 1, 0), columns - 1)


def _joined(lines: list[Line], attr: str) -> str:
    return " + ".join(str(getattr(line, attr)) for line in lines)


def _write_matched(book: _Book, result: Reconciliation, ctx: WorkbookContext) -> dict[str, str]:
    sheet = _Sheet(book, MATCHED, ctx.places,
                   ["Match", "Rule", "Ledger reference", "Ledger date", "Ledger amount", "Statement reference",
                    "Statement date", "Statement amount", "Difference", "Statement description", "Ledger lines",
                    "Statement lines"], [7, 34, 26, 12, 15, 30, 12, 15, 12, 30, 34, 34])
    for number, match in enumerate(result.matches, start=1):
        row = sheet.row + 1
        sheet.append([
            number, sheet.text(match.rule), sheet.text(_joined(match.ledger, "reference")),
            sheet.day(min(ln.on for ln in match.ledger)),
            sheet.money(sum((ln.amount for ln in match.ledger), Decimal(0))),
            sheet.text(_joined(match.statement, "reference")), sheet.day(min(ln.on for ln in match.statement)),
            sheet.money(sum((ln.amount for ln in match.statement), Decimal(0))),
            # paid short or over within the tolerance: highlighted
            sheet.money(f"=H{row}-E{row}", fill=WARN if match.difference else None),
            sheet.text("; ".join(ln.description for ln in match.statement if ln.description)),
            sheet.text(_joined(match.ledger, "source")), sheet.text(_joined(match.statement, "source"))])
    sheet.filter_rows(12)
    totals = sheet.total_row(2, [5, 8, 9], 12)
    return {"ledger": totals[5], "statement": totals[8], "difference": totals[9]}


def _write_unmatched(book: _Book, name: str, lines: list[Line], result: Reconciliation,
                     ctx: WorkbookContext) -> str:
    sheet = _Sheet(book, name, ctx.places, ["Reference", "Date", "Account", "Description", "Amount",
                                            "Where it was read", "Note", "Review item"],
                   [24, 12, 10, 32, 15, 34, 50, 40])
    for line in lines:
        sheet.append([sheet.text(line.reference), sheet.day(line.on), sheet.text(line.account),
                      sheet.text(line.description), sheet.money(line.amount), sheet.text(line.source),
                      sheet.text(result.hints.get((line.side, line.index), "")),
                      sheet.text(ctx.review_refs.get((line.side, line.index), ""))])
    sheet.filter_rows(8)
    return sheet.total_row(4, [5], 8)[5]


def _write_duplicates(book: _Book, result: Reconciliation, ctx: WorkbookContext) -> dict[str, str]:
    sheet = _Sheet(book, DUPLICATES, ctx.places, ["Side", "Reference", "Date", "Description", "Ledger amount",
                                                  "Statement amount", "Where it was read", "Repeats the line at",
                                                  "Review item"], [10, 24, 12, 30, 15, 15, 34, 34, 40])
    for duplicate in result.duplicates:
        line = duplicate.line
        amount = sheet.money(line.amount, fill=WARN)
        blank = sheet.cell(None, fill=WARN)
        sheet.append([sheet.text(line.side, fill=WARN), sheet.text(line.reference, fill=WARN),
                      sheet.cell(line.on, number_format=DATE_FORMAT, fill=WARN),
                      sheet.text(line.description, fill=WARN),
                      amount if line.side == LEDGER else blank, blank if line.side == LEDGER else amount,
                      sheet.text(line.source, fill=WARN), sheet.text(duplicate.first.source, fill=WARN),
                      sheet.text(ctx.review_refs.get((line.side, line.index), ""), fill=WARN)])
    totals = sheet.total_row(4, [5, 6], 9)
    return {"ledger": totals[5], "statement": totals[6]}


def _write_unreadable(book: _Book, figures: Figures, ctx: WorkbookContext) -> None:
    sheet = _Sheet(book, UNREADABLE, ctx.places, ["Side", "Where", "Problem", "Values as read"], [10, 30, 70, 60])
    for problem in figures.problems:
        sheet.append([sheet.text(problem.side), sheet.text(problem.place), sheet.text(problem.message, fill=BAD),
                      sheet.text(", ".join(f"{k}={v}" for k, v in problem.raw.items()))])


def _write_summary(sheet: _Sheet, figures: Figures, totals: dict, ctx: WorkbookContext) -> None:
    """Fixed rows: the Balances block is rows 8-14, the Reconciliation block rows 16-26."""
    bold = BOLD
    sheet.append([sheet.text(f"Reconciliation: {ctx.title}", look=TITLE)])
    for label, value in [("Run", ctx.run_id), ("Prepared", datetime.now().strftime("%Y-%m-%d %H:%M")),
                         ("Currency", ctx.currency), ("Matching rules", ctx.rules_text),
                         ("Group search", ctx.search_text)]:
        sheet.append([sheet.cell(label, look=bold), sheet.text(value)])
    sheet.append([])
    sheet.append([sheet.cell(t, look=bold) for t in ("Balances", "Ledger", "Statement", "Note")])
    ledger_gap = figures.ledger_stated - figures.ledger_total if figures.ledger_stated is not None else 0
    statement_gap = (figures.statement_closing - (figures.statement_opening or 0) - figures.statement_total
                     if figures.statement_closing is not None else 0)
    lines_total = (f"={totals['matched']['ledger']}+{totals['unmatched_ledger']}+{totals['duplicates']['ledger']}",
                   f"={totals['matched']['statement']}+{totals['unmatched_statement']}"
                   f"+{totals['duplicates']['statement']}")
    balances = [   # label, ledger, statement, note (row 9 onwards)
        ("Lines read (count)", figures.ledger_lines, figures.statement_lines, None),
        ("Opening balance (stated)", None, figures.statement_opening, "from the statement's opening balance row"),
        ("Lines total", *lines_total, "matched + unmatched + suspected duplicates"),
        ("Closing balance (computed)", "=B11", "=IF(ISNUMBER(C10),C10,0)+C11",
         "ledger: its lines; statement: opening + lines"),
        ("Closing balance (stated)", figures.ledger_stated, figures.statement_closing,
         "ledger: the total its screen shows; statement: its closing balance row"),
        ("Stated minus computed", "=IF(ISNUMBER(B13),B13-B12,0)", "=IF(ISNUMBER(C13),C13-C12,0)",
         "not zero: a line was not read (see Unreadable lines) or a page was missed"),
    ]
    for number, (label, ledger, statement, note) in enumerate(balances):
        gap_row = number == len(balances) - 1   # a gap between stated and computed balances is shown in red
        cells = [sheet.cell(label)]
        for value, gap in ((ledger, ledger_gap), (statement, statement_gap)):
            fill = (BAD if gap else GOOD) if gap_row else None
            cells.append(sheet.cell(value, fill=fill) if number == 0 else sheet.money(value, fill=fill))
        sheet.append(cells + ([sheet.text(note)] if note else []))
    sheet.append([])
    sheet.append([sheet.cell("Reconciliation", look=bold), sheet.cell("Amount", look=bold)])
    explained = [   # row 17 onwards
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
    ]
    for label, formula, note in explained:
        sheet.append([sheet.cell(label), sheet.money(formula), None] + ([sheet.text(note)] if note else []))
    verdict = GOOD if figures.unexplained == 0 else BAD
    sheet.append([sheet.cell("Unexplained difference", look=VERDICT), sheet.money("=B19-B25", look=VERDICT, fill=verdict),
                  None, sheet.text("must be zero; otherwise the lines below explain it")])   # row 26
    sheet.append([])
    if figures.unexplained != 0 or figures.problems:
        sheet.append([sheet.cell("Not explained by matching: to be looked at", look=bold)])
        for problem in figures.problems:
            sheet.append([sheet.text(problem.place, fill=BAD), None, None, sheet.text(problem.message)])
        if ledger_gap:
            sheet.append([sheet.text("Ledger screen total differs from the lines read", fill=BAD),
                          sheet.money(ledger_gap), None,
                          sheet.text("a page of the ledger may not have been read; run again or check the screen")])


def write_reconciliation(path: Path, result: Reconciliation, figures: Figures, ctx: WorkbookContext) -> Path:
    path = Path(path)
    tmp = path.with_suffix(".tmp.xlsx")
    book = _Book(tmp)
    summary = _Sheet(book, "Summary", ctx.places, widths=[52, 18, 18, 60])
    summary.ws.freeze_panes(1, 0)
    totals = {
        "matched": _write_matched(book, result, ctx),
        "unmatched_ledger": _write_unmatched(book, UNMATCHED_LEDGER, result.unmatched_ledger, result, ctx),
        "unmatched_statement": _write_unmatched(book, UNMATCHED_STATEMENT, result.unmatched_statement, result, ctx),
        "duplicates": _write_duplicates(book, result, ctx),
    }
    if figures.problems:
        _write_unreadable(book, figures, ctx)
    _write_summary(summary, figures, totals, ctx)
    book.xl.close()
    tmp.replace(path)  # never a half-written workbook
    return path
