"""The figures of a reconciliation, computed once in Decimal: the workbook states the same sums
as formulas, the run report and the review items quote these."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .matching import LEDGER, STATEMENT, Reconciliation
from .sources import LineProblem, SideRead


@dataclass
class Figures:
    scale: int                                   # minor units per unit (100 for USD)
    ledger_lines: int = 0
    statement_lines: int = 0
    ledger_total: Decimal = Decimal(0)           # every readable ledger line
    statement_total: Decimal = Decimal(0)
    statement_opening: Decimal | None = None     # stated on the statement
    statement_closing: Decimal | None = None
    ledger_stated: Decimal | None = None         # the total the ledger screen shows
    matched_ledger: Decimal = Decimal(0)
    matched_statement: Decimal = Decimal(0)
    unmatched_ledger: Decimal = Decimal(0)
    unmatched_statement: Decimal = Decimal(0)
    duplicates_ledger: Decimal = Decimal(0)
    duplicates_statement: Decimal = Decimal(0)
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def ledger_figure(self) -> Decimal:
        """What the ledger says it holds: the stated total where the screen shows one."""
        return self.ledger_stated if self.ledger_stated is not None else self.ledger_total

    @property
    def statement_figure(self) -> Decimal:
        """The statement's movement: closing minus opening where both are stated."""
        if self.statement_opening is not None and self.statement_closing is not None:
            return self.statement_closing - self.statement_opening
        return self.statement_total

    @property
    def to_explain(self) -> Decimal:
        return self.ledger_figure - self.statement_figure

    @property
    def tolerance_differences(self) -> Decimal:
        return self.matched_ledger - self.matched_statement

    @property
    def explained(self) -> Decimal:
        return (self.tolerance_differences + self.unmatched_ledger - self.unmatched_statement
                + self.duplicates_ledger - self.duplicates_statement)

    @property
    def unexplained(self) -> Decimal:
        return self.to_explain - self.explained


def compute_figures(result: Reconciliation, ledger: SideRead, statement: SideRead, scale: int) -> Figures:
    def money(minor: int) -> Decimal:
        return Decimal(minor) / scale

    f = Figures(scale=scale)
    f.ledger_lines, f.statement_lines = len(ledger.lines), len(statement.lines)
    f.ledger_total = money(sum(line.minor for line in ledger.lines))
    f.statement_total = money(sum(line.minor for line in statement.lines))
    f.statement_opening, f.statement_closing = statement.opening, statement.closing
    f.ledger_stated = ledger.closing
    f.matched_ledger = money(sum(m.ledger_total for m in result.matches))
    f.matched_statement = money(sum(m.statement_total for m in result.matches))
    f.unmatched_ledger = money(sum(line.minor for line in result.unmatched_ledger))
    f.unmatched_statement = money(sum(line.minor for line in result.unmatched_statement))
    f.duplicates_ledger = money(sum(d.line.minor for d in result.duplicates if d.line.side == LEDGER))
    f.duplicates_statement = money(sum(d.line.minor for d in result.duplicates if d.line.side == STATEMENT))
    f.problems = ledger.problems + statement.problems
    return f
