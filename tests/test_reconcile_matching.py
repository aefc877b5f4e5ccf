"""Reconciliation without a screen: matching rules on data sets with known answers, strict parsing of
statements with the cell named, and the workbook read back (and recalculated by LibreOffice)."""

from __future__ import annotations

import csv
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from runner.demo.sample_reconciliation import make_sample, write_statement
from runner.errors import InputFileError
from runner.project.money import ValueProblem, parse_amount, parse_day
from runner.reconcile.matching import (LEDGER, RULE_AMOUNT_DATE, RULE_MANY_TO_ONE, RULE_ONE_TO_MANY, RULE_REFERENCE,
                                       RULE_TOLERANCE_DATE, STATEMENT, Line, MatchRules, reconcile)
from runner.project.reconcile_settings import ReconcileSpec
from runner.reconcile.sources import SideRead, read_statement
from runner.reconcile.summary import compute_figures
from runner.reconcile.workbook import WorkbookContext, write_reconciliation
from tests.office import convert, needs_libreoffice, pdf_text, recalculated

SPEC = ReconcileSpec.model_validate({
    "statement": {"sheet": "Statement", "columns": {"date": "Date", "reference": "Reference", "amount": "Amount",
                                                    "description": "Description", "account": "Customer"}},
    "ledger": {"recipes": ["read-receivables"]},
    "matching": {"date_window_days": 3, "tolerance": "0.05"}})


def lines(side: str, rows: list[tuple]) -> list[Line]:
    """rows: (reference, day offset, amount[, account, description])."""
    out = []
    for i, row in enumerate(rows):
        ref, day, amount = row[:3]
        value = Decimal(amount)
        out.append(Line(side, i, ref, date(2026, 3, 1) + timedelta(days=day), value, int(value * 100),
                        row[3] if len(row) > 3 else "", row[4] if len(row) > 4 else f"{side} {i}", f"{side} row {i}"))
    return out


def outcome_sets(result):
    got = set()
    for m in result.matches:
        got.add((m.rule, tuple(sorted(x.reference for x in m.ledger)), tuple(sorted(x.description for x in m.statement))))
    got |= {("unmatched_ledger", (x.reference,), ()) for x in result.unmatched_ledger}
    got |= {("unmatched_statement", (), (x.description,)) for x in result.unmatched_statement}
    for d in result.duplicates:
        got.add(("duplicate", (d.line.reference,) if d.line.side == LEDGER else (),
                 (d.line.description,) if d.line.side == STATEMENT else ()))
    return got


def sample_lines(sample):
    return sample.as_lines()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_pair_of_a_generated_set_is_the_known_answer(seed):
    sample = make_sample(1500, seed=seed, window_days=3)
    ledger, statement = sample_lines(sample)
    result = reconcile(ledger, statement, MatchRules(date_window_days=3, tolerance_minor=5))
    expected = {(e.rule, tuple(sorted(e.ledger)), tuple(sorted(e.statement))) for e in sample.expected}
    assert outcome_sets(result) == expected
    rules = {m.rule for m in result.matches}
    assert {RULE_REFERENCE, RULE_AMOUNT_DATE, RULE_TOLERANCE_DATE, RULE_MANY_TO_ONE, RULE_ONE_TO_MANY} <= rules
    used = [x.index for m in result.matches for x in m.ledger] + [d.line.index for d in result.duplicates
                                                                    if d.line.side == LEDGER]
    assert len(used) == len(set(used)), "a ledger line was used twice"
    figures = compute_figures(result, SideRead(ledger), SideRead(statement), 100)
    assert figures.unexplained == 0
    assert figures.to_explain == sum(r.amount for r in sample.ledger) - sum(s.amount for s in sample.statement)


def test_date_window_and_tolerance_are_edges_not_suggestions():
    ledger = lines(LEDGER, [("", 0, "100.00"), ("", 0, "200.00"), ("", 0, "300.00"), ("", 10, "400.00"),
                            ("", 10, "400.04")])
    statement = lines(STATEMENT, [
        ("", 3, "100.00"),    # 3 days after: inside a 3-day window
        ("", 4, "200.00"),    # 4 days after: outside
        ("", 1, "299.94"),    # 6 cents short: outside a 5-cent tolerance
        ("", 10, "400.04"),   # exact amount is preferred over the 4-cent tolerance candidate
        ("", 11, "400.01"),   # 3 cents over the other: matched within tolerance, difference shown
    ])
    result = reconcile(ledger, statement, MatchRules(date_window_days=3, tolerance_minor=5))
    pairs = {(m.ledger[0].amount, m.statement[0].amount, m.rule) for m in result.matches}
    assert pairs == {(Decimal("100.00"), Decimal("100.00"), RULE_AMOUNT_DATE),
                     (Decimal("400.04"), Decimal("400.04"), RULE_AMOUNT_DATE),
                     (Decimal("400.00"), Decimal("400.01"), RULE_TOLERANCE_DATE)}
    assert [x.amount for x in result.unmatched_ledger] == [Decimal("200.00"), Decimal("300.00")]
    assert [m.difference for m in result.matches if m.rule == RULE_TOLERANCE_DATE] == [1]


def test_accounts_must_agree_when_both_sides_name_one():
    ledger = lines(LEDGER, [("", 0, "50.00", "C001"), ("", 0, "50.00", "C002")])
    statement = lines(STATEMENT, [("", 0, "50.00", "C002")])
    result = reconcile(ledger, statement, MatchRules())
    assert [m.ledger[0].account for m in result.matches] == ["C002"]


def test_reference_with_another_amount_is_not_matched_and_the_reviewer_is_told():
    ledger = lines(LEDGER, [("INV-1", 0, "120.00")])
    statement = lines(STATEMENT, [("INV-1", 0, "102.00")])
    result = reconcile(ledger, statement, MatchRules(tolerance_minor=5))
    assert not result.matches
    assert "ledger has reference INV-1 for 120.00" in result.hints[(STATEMENT, 0)]


def test_group_search_is_bounded_and_the_bound_is_reported():
    # one payment of 10 lines' worth among 30 candidates: more than the search may look at
    ledger = lines(LEDGER, [("", 0, f"{10 + i}.00", "C001") for i in range(30)])
    statement = lines(STATEMENT, [("", 0, "999.99", "C001")])   # no subset adds up to this
    rules = MatchRules(group_max_lines=4, group_max_candidates=12, group_max_steps=500)
    result = reconcile(ledger, statement, rules)
    stats = result.group_search
    assert stats.searched >= 1 and stats.found == 0
    assert stats.candidates_cut >= 1
    assert stats.steps_exhausted >= 1 and stats.steps <= 500 * (stats.searched + 1) + stats.searched
    assert len(result.unmatched_statement) == 1


def test_duplicates_on_either_side_are_set_aside_never_matched_twice():
    ledger = lines(LEDGER, [("INV-7", 0, "75.00"), ("INV-7", 0, "75.00")])
    statement = lines(STATEMENT, [("INV-7", 1, "75.00", "", "bank"), ("INV-7", 1, "75.00", "", "bank")])
    result = reconcile(ledger, statement, MatchRules())
    assert len(result.matches) == 1 and result.matches[0].rule == RULE_REFERENCE
    assert sorted(d.line.side for d in result.duplicates) == [LEDGER, STATEMENT]
    assert all(d.first.index == 0 and d.line.index == 1 for d in result.duplicates)
    assert not result.unmatched_ledger and not result.unmatched_statement


def test_amounts_and_dates_are_parsed_strictly():
    assert parse_amount("1,234.56") == Decimal("1234.56")
    assert parse_amount("(1,234.56)") == Decimal("-1234.56")
    assert parse_amount("$12.10") == Decimal("12.10")
    assert parse_amount(12.1) == Decimal("12.10")                      # a float cell, not 12.0999...
    assert parse_amount("1.234,56 EUR", "EUR", "de_DE") == Decimal("1234.56")
    assert parse_amount("500", "JPY") == Decimal("500")
    for bad, says in [("12.345", "2 decimals"), ("1,23,4.5", "en_US way"), ("12.00 EUR", "in EUR, expected USD"),
                      ("=1+2", "expected an amount"), ("€5", "not USD"), ("1.5", "0 decimals")]:
        with pytest.raises(ValueProblem, match=says):
            parse_amount(bad, "JPY" if bad == "1.5" else "USD")
    assert parse_day("03/04/2026", ["%m/%d/%Y"]) == date(2026, 3, 4)
    with pytest.raises(ValueProblem, match="expected a date like 01/31/2026"):
        parse_day("2026-03-04", ["%m/%d/%Y"])


def test_statement_lines_that_cannot_be_read_are_named_by_cell_and_kept_for_review(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Statement"
    sheet.append(["Date", "Reference", "Description", "Customer", "Amount"])
    sheet.append([date(2026, 3, 1), "", "Opening balance", "", 100])
    sheet.append([date(2026, 3, 2), "INV-1", "ok", "C001", 10.5])
    sheet.append([date(2026, 3, 2), "INV-2", "bad amount", "C001", "12.345"])
    sheet.append(["31/02/2026", "INV-3", "bad date", "C001", 7])
    sheet.append([date(2026, 3, 3), "INV-4", "other currency", "C001", "7.00 EUR"])
    sheet.append([date(2026, 3, 31), "", "Closing balance", "", 136.35])
    path = tmp_path / "statement.xlsx"
    book.save(path)
    read = read_statement(path, SPEC)
    assert [line.reference for line in read.lines] == ["INV-1"]
    assert read.opening == Decimal("100.00") and read.closing == Decimal("136.35")
    messages = [p.message for p in read.problems]
    assert messages[0].startswith("[statement.xlsx]Statement!E4: amount USD has 2 decimals")
    assert messages[1].startswith("[statement.xlsx]Statement!A5: expected a date like")
    assert messages[2] == '[statement.xlsx]Statement!E6: amount in EUR, expected USD, got "7.00 EUR"'
    # the unreadable lines' amounts are what the stated balance cannot explain
    figures = compute_figures(reconcile([], read.lines, MatchRules()), SideRead(), read, 100)
    assert figures.statement_figure - figures.statement_total == Decimal("25.85")


def test_statement_missing_column_stops_before_matching(tmp_path):
    path = tmp_path / "statement.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["Date", "Ref", "Amount"], ["2026-03-01", "INV-1", "10.00"]])
    with pytest.raises(InputFileError, match="statement.csv: missing column 'Reference' \\(found: Date, Ref, Amount\\)"):
        read_statement(path, SPEC)


def test_csv_statement_reads_like_a_workbook(tmp_path):
    path = tmp_path / "statement.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["Date", "Reference", "Amount", "Description"],
                                      ["2026-03-01", "INV-1", "1,010.00", "x"], ["2026-03-02", "", "(5.00)", "fee"]])
    read = read_statement(path, SPEC)
    assert [(x.reference, x.amount, x.source) for x in read.lines] == [
        ("INV-1", Decimal("1010.00"), "statement.csv row 2"), ("", Decimal("-5.00"), "statement.csv row 3")]


def write_sample_workbook(tmp_path, sample, statement_texts=None):
    ledger, statement = sample_lines(sample)
    for line, text in zip(statement, statement_texts or []):
        line.description, line.reference = text, text
    result = reconcile(ledger, statement, MatchRules(date_window_days=3, tolerance_minor=5))
    ledger_side = SideRead(ledger, closing=sum(x.amount for x in ledger))
    statement_side = SideRead(statement, opening=sample.opening_balance,
                              closing=sample.opening_balance + sum(x.amount for x in statement))
    figures = compute_figures(result, ledger_side, statement_side, 100)
    path = write_reconciliation(tmp_path / "rec.xlsx", result, figures, WorkbookContext(
        "BILLSYS receivables vs statement.xlsx", "run-1", "USD", 2, "rules", "search", {}))
    return path, result, figures


def test_workbook_is_formatted_for_a_clerk_and_totals_are_formulas(tmp_path):
    sample = make_sample(120, seed=5)
    path, result, figures = write_sample_workbook(tmp_path, sample)
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "Matched", "Unmatched in ledger", "Unmatched in statement",
                               "Suspected duplicates"]
    matched = book["Matched"]
    assert matched.freeze_panes == "A2"
    assert [c.value for c in matched[1]][:9] == ["Match", "Rule", "Ledger reference", "Ledger date", "Ledger amount",
                                                 "Statement reference", "Statement date", "Statement amount",
                                                 "Difference"]
    assert matched["E2"].number_format == "#,##0.00;[Red]-#,##0.00"
    total_row = len(result.matches) + 2
    assert matched.cell(total_row, 2).value == "Total"
    assert matched.cell(total_row, 5).value == f"=SUM(E2:E{total_row - 1})"
    tolerance_rows = [r for r in range(2, total_row) if matched.cell(r, 2).value == RULE_TOLERANCE_DATE]
    assert tolerance_rows and all(matched.cell(r, 9).fill.fgColor.rgb.endswith("FFEB9C") for r in tolerance_rows)
    summary = book["Summary"]
    assert summary["A26"].value == "Unexplained difference" and summary["B26"].value == "=B19-B25"
    assert summary["B21"].value.startswith("='Unmatched in ledger'!E")
    assert summary["B26"].fill.fgColor.rgb.endswith("C6EFCE")   # green: zero
    assert figures.unexplained == 0


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    sample = make_sample(12, seed=9, weights={"unknown_receipt": 3, "amount": 1})
    hostile = ['=HYPERLINK("http://evil.example","x")', "+44 20 7946 0000", "-1+2", "@SUM(A1:A9)"]
    path, result, _ = write_sample_workbook(tmp_path, sample, hostile)
    sheet = load_workbook(path)["Unmatched in statement"]
    written = {sheet.cell(r, 1).value: sheet.cell(r, 1).data_type for r in range(2, sheet.max_row)}
    for text in hostile:
        assert written[text] == "s", f"{text!r} was written as a formula"


@needs_libreoffice
def test_libreoffice_computes_the_same_figures_and_leaves_hostile_text_alone(tmp_path):
    sample = make_sample(150, seed=8)
    hostile = ['=1+1', "+2", "@SUM(A1)"]
    path, result, figures = write_sample_workbook(tmp_path, sample, hostile)
    book = load_workbook(recalculated(path, tmp_path / "calc"), data_only=True)
    summary = book["Summary"]
    computed = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(17, 27)}
    assert round(computed["Unexplained difference"], 2) == 0
    assert round(Decimal(str(computed["Difference to explain (ledger - statement)"])), 2) == figures.to_explain
    assert round(Decimal(str(computed["  Unmatched in ledger"])), 2) == figures.unmatched_ledger
    assert round(Decimal(str(computed["  Tolerance differences on matched pairs"])), 2) == \
        figures.tolerance_differences
    texts = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str)]
    for text in hostile:   # still the text that was read, not a computed value
        assert any(text in value for value in texts), f"{text!r} did not survive as text"


def test_sample_statement_round_trips_through_the_reader(tmp_path):
    sample = make_sample(60, seed=4)
    read = read_statement(write_statement(tmp_path / "statement.xlsx", sample), SPEC)
    assert len(read.lines) == len(sample.statement) and not read.problems
    assert read.opening == sample.opening_balance and read.closing == sample.closing_balance
    assert sum(x.amount for x in read.lines) == sum(s.amount for s in sample.statement)


def _first_line(page: str) -> str:
    return next((line.strip() for line in page.splitlines() if line.strip()), "")


@needs_libreoffice
def test_the_workbook_prints_landscape_one_page_wide_with_its_header_on_every_page(tmp_path):
    """Printed to PDF by LibreOffice: no column is cut onto a page of its own (a label on one page, its
    figure on the next), and every page of a long sheet starts with the sheet's header row."""
    sample = make_sample(400, seed=5)
    path, result, _ = write_sample_workbook(tmp_path, sample)
    book = load_workbook(path)
    for sheet in book.worksheets:
        setup = sheet.page_setup   # fitToWidth left out means 1, the file format's default
        assert setup.orientation == "landscape" and setup.fitToWidth in (None, 1) and setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    pdf = convert(path, "pdf", tmp_path / "printed")
    pages = pdf_text(pdf).split("\f")
    pages = [page for page in pages if page.strip()]
    summary = pages[0]
    assert "Unexplained difference" in summary and "Ledger figure" in summary
    assert re.search(r"Unexplained difference\s+0\.00", summary), summary   # its figure beside it, same page
    matched_pages = [page for page in pages if _first_line(page).startswith("Matched")]
    assert len(matched_pages) >= 2, "400 lines should print over several pages"
    for page in matched_pages:
        assert "Ledger reference" in page and "Statement amount" in page and "Difference" in page
        assert re.search(r"Page \d+ of \d+", page)
    sizes = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(pages)), str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    for width, height in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", sizes):
        assert float(width) > float(height)     # landscape
