"""Benchmark: reconcile 100,000 ledger lines against ~100,000 statement lines.

Two data sets from runner.demo/sample_reconciliation.py: "known answers" (every case in its own stretch
of days, the answer checked pair by pair) and "one busy year" (all lines over 365 days, so a
date window holds thousands of candidates). Each is timed beside a baseline measured in the
same run: a bare dictionary join on the reference, the least any reconciliation must do (it
finds only exact reference matches). Reading the statement workbook and writing the
reconciliation workbook are timed separately; the target (under 10 s) is for the matching.

    .venv/bin/python benchmarks/reconcile_benchmark.py [--lines 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402

from runner.demo.sample_reconciliation import make_sample, write_statement  # noqa: E402
from runner.reconcile.matching import LEDGER, STATEMENT, MatchRules, reconcile  # noqa: E402
from runner.project.reconcile_settings import ReconcileSpec  # noqa: E402
from runner.reconcile.sources import SideRead, read_statement  # noqa: E402
from runner.reconcile.summary import compute_figures  # noqa: E402
from runner.reconcile.workbook import WorkbookContext, write_reconciliation  # noqa: E402

RULES = MatchRules(date_window_days=3, tolerance_minor=5)


def baseline_join(ledger, statement) -> int:
    by_reference = {}
    for line in ledger:
        by_reference.setdefault(line.reference, line)
    return sum(1 for line in statement if line.reference and by_reference.get(line.reference) is not None
               and by_reference[line.reference].amount == line.amount)


def written_rows(path: Path) -> int:
    workbook = load_workbook(path, read_only=True)
    try:
        return sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def bare_write(path: Path, rows: int) -> None:
    """The baseline for the workbook: openpyxl's write-only mode, twelve plain values a row, no style."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Matched")
    today = date(2026, 10, 1)
    for n in range(rows):
        sheet.append([n, "exact reference", f"INV-{n:07d}", today, 125.5, f"PAY-{n:07d}", today, 125.5, 0.0,
                      "payment received", f"ledger row {n}", f"statement.xlsx row {n}"])
    workbook.save(path)


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def check_known_answers(sample, result) -> str:
    got = set()
    for m in result.matches:
        got.add((m.rule, tuple(sorted(x.reference for x in m.ledger)), tuple(sorted(x.description for x in m.statement))))
    got |= {("unmatched_ledger", (x.reference,), ()) for x in result.unmatched_ledger}
    got |= {("unmatched_statement", (), (x.description,)) for x in result.unmatched_statement}
    got |= {("duplicate", (d.line.reference,) if d.line.side == LEDGER else (),
             (d.line.description,) if d.line.side == STATEMENT else ()) for d in result.duplicates}
    expected = {(e.rule, tuple(sorted(e.ledger)), tuple(sorted(e.statement))) for e in sample.expected}
    return "all pairs right" if got == expected else f"{len(expected - got)} pairs differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    print(f"Reconciling {args.lines:,} ledger lines (statement lines follow from the cases)\n")
    print(f"{'data set':<16} {'statement':>10} {'baseline s':>11} {'backroom s':>11} {'ratio':>7} "
          f"{'matched':>8} {'groups':>7} {'bound hit':>9}  answer")
    keep = None
    for name, isolated in (("known answers", True), ("one busy year", False)):
        sample = make_sample(args.lines, seed=17, isolated=isolated)
        ledger, statement = sample.as_lines()
        base_s, base_found = timed(lambda ledger=ledger, statement=statement: baseline_join(ledger, statement))
        ours_s, result = timed(lambda ledger=ledger, statement=statement: reconcile(ledger, statement, RULES))
        stats = result.group_search
        answer = check_known_answers(sample, result) if isolated else "(no single answer)"
        print(f"{name:<16} {len(statement):>10,} {base_s:>11.2f} {ours_s:>11.2f} {ours_s / base_s:>6.0f}x "
              f"{len(result.matches):>8,} {stats.found:>7,} {stats.candidates_cut + stats.steps_exhausted:>9,}  "
              f"{answer}")
        if isolated:
            keep = (sample, ledger, statement, result)
    sample, ledger, statement, result = keep
    with tempfile.TemporaryDirectory() as folder:
        path = write_statement(Path(folder) / "statement.xlsx", sample)
        spec = ReconcileSpec.model_validate({"statement": {"columns": {"account": "Customer",
                                                                        "description": "Description"}},
                                             "ledger": {"recipes": ["read-receivables"]}})
        read_s, read = timed(lambda: read_statement(path, spec))
        figures = compute_figures(result, SideRead(ledger), SideRead(statement), 100)
        write_s, _ = timed(lambda: write_reconciliation(Path(folder) / "rec.xlsx", result, figures, WorkbookContext(
            "ledger vs statement", "bench", "USD", 2, "", "", {})))
        rows = written_rows(Path(folder) / "rec.xlsx")
        bare_s, _ = timed(lambda: bare_write(Path(folder) / "bare.xlsx", rows))
    print(f"\nReading the statement workbook ({len(read.lines):,} lines, strict parsing): {read_s:.1f} s")
    print(f"Writing the reconciliation workbook ({len(result.matches):,} matches, {rows:,} rows, formatted): "
          f"{write_s:.1f} s, {rows / write_s:,.0f} rows/s; openpyxl writing as many rows of plain values (baseline): "
          f"{bare_s:.1f} s, {rows / bare_s:,.0f} rows/s ({write_s / bare_s:.1f}x)")
    print("Baseline: a dictionary join on reference and amount, which finds only exact reference matches.")


if __name__ == "__main__":
    main()
