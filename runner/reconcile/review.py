"""What a reconciliation gives a person: the lines to review, with stable references (side, date,
amount, reference), so running the same reconciliation again adds nothing twice and a line a
person has explained (skipped with a reason) is shown as explained instead of coming back; and
the words that describe the matching (rules, search, headline) for the workbook and the events.

The run itself (read the ledger from the screen, match, write, queue) is runner/run's.
"""

from __future__ import annotations

from collections import Counter

from ..intake.work_item import WorkItem
from .matching import Line, MatchRules, Reconciliation
from .summary import Figures


def match_rules(spec) -> MatchRules:
    m = spec.matching
    return MatchRules(date_window_days=m.date_window_days, tolerance_minor=spec.tolerance_minor(),
                      group_max_lines=m.group_max_lines, group_max_candidates=m.group_max_candidates,
                      group_max_steps=m.group_max_steps, same_account=m.same_account)


def review_reference(line: Line, seen: Counter) -> str:
    """Stable across runs: the same statement line gets the same review item every time."""
    what = line.reference or line.description or "no reference"
    base = f"{line.side}:{line.on.isoformat()}:{line.amount}:{what}"
    seen[base] += 1
    return base if seen[base] == 1 else f"{base}#{seen[base]}"


def _evidence(line: Line, why: str, hint: str, workbook: str, run_id: str) -> dict:
    return {"side": line.side, "reference": line.reference, "date": line.on, "amount": line.amount,
            "account": line.account, "description": line.description, "read_at": line.source, "why": why,
            "note": hint, "workbook": workbook, "run": run_id}


def review_items(result: Reconciliation, figures: Figures, workbook: str, run_id: str,
                  ledger_name: str) -> tuple[list[tuple[WorkItem, str]], dict[tuple[str, int], str]]:
    seen: Counter = Counter()
    items, refs = [], {}

    def add(line: Line, why: str, reason: str) -> None:
        ref = review_reference(line, seen)
        hint = result.hints.get((line.side, line.index), "")
        data = _evidence(line, why, hint, workbook, run_id)
        items.append((WorkItem(ref, data, line.source), reason + (f" ({hint})" if hint else "")))
        refs[(line.side, line.index)] = ref

    for line in result.unmatched_ledger:
        add(line, "unmatched in ledger", f"{ledger_name} line {line.reference} {line.amount} of {line.on} "
            f"has no matching statement line")
    for line in result.unmatched_statement:
        add(line, "unmatched in statement", f"statement line {line.reference or line.description} {line.amount} "
            f"of {line.on} has no matching {ledger_name} line")
    for duplicate in result.duplicates:
        add(duplicate.line, "suspected duplicate", f"{duplicate.line.side} line at {duplicate.line.source} repeats "
            f"{duplicate.first.source}; set aside, not matched")
    for problem in figures.problems:
        ref = f"{problem.side}:unreadable:{problem.place}"
        data = {"side": problem.side, "read_at": problem.place, "why": "unreadable", "values": problem.raw,
                "workbook": workbook, "run": run_id}
        items.append((WorkItem(ref, data, problem.place), problem.message))
    if figures.unexplained != 0:
        ref = f"unexplained:{run_id}"
        data = {"why": "unexplained difference", "amount": figures.unexplained, "workbook": workbook, "run": run_id}
        items.append((WorkItem(ref, data, workbook), f"unexplained difference of {figures.unexplained}: "
                      "see the Summary sheet"))
    return items, refs


def rules_text(spec) -> str:
    m = spec.matching
    return (f"reference; amount within {m.date_window_days} days; tolerance {m.tolerance} {spec.currency}; "
            f"groups of up to {m.group_max_lines} lines from the {m.group_max_candidates} nearest candidates "
            f"({m.group_max_steps} combinations at most)" + ("; accounts must agree" if m.same_account else ""))


def search_text(result: Reconciliation, spec) -> str:
    s = result.group_search
    return (f"{s.searched} searched, {s.found} found; candidates cut to the nearest {spec.matching.group_max_candidates}"
            f" {s.candidates_cut} times; combination bound reached {s.steps_exhausted} times ({s.steps} tried)")


def headline(result: Reconciliation, figures: Figures) -> str:
    return (f"{len(result.matches)} matches; unmatched: {len(result.unmatched_ledger)} in ledger, "
            f"{len(result.unmatched_statement)} in statement; {len(result.duplicates)} suspected duplicates; "
            f"{len(figures.problems)} unreadable; unexplained difference {figures.unexplained}")
