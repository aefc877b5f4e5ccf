"""The reconcile-accounts bot against a real BILLSYS: the ledger read page by page in Chromium,
matched against a statement workbook, the workbook and the review queue checked."""

from __future__ import annotations

import json
from decimal import Decimal

from openpyxl import load_workbook

from runner.demo.sample_reconciliation import load_ledger, make_sample, write_statement
from runner import RunRequest, load_settings, start_run
from runner.errors import ExitCode
from runner.work_queue import ItemState, open_queue

from .conftest import start_billing
from .office import needs_libreoffice, recalculated

BOT = "reconcile-accounts"


def events(run_dir, kind=None):
    found = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    return [e for e in found if kind is None or e["kind"] == kind]


def queue_items(project):
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        return {i.reference: i for i in queue.items(BOT)}
    finally:
        queue.close()


def reconcile_run(project, statement, url):
    return start_run(RunRequest(bot=BOT, input_path=statement, project=project, app_urls={"billing": url}))


def test_reconcile_reads_every_ledger_page_and_explains_every_difference(project, secrets_env, tmp_path):
    sample = make_sample(47, seed=21, window_days=5)   # 3 pages of BILLSYS's 20-line ledger
    load_ledger(tmp_path / "billsys.db", sample)
    statement = write_statement(tmp_path / "statement.xlsx", sample)
    with start_billing(tmp_path) as app:
        result = reconcile_run(project, statement, app.url)
    assert result.exit_code == ExitCode.ITEMS_FAILED, result.message   # unmatched lines wait for a person
    matched = [e for e in events(result.run_dir, "reconcile")][0]
    counts = matched["data"]["counts"]
    assert counts["ledger_lines"] == len(sample.ledger) and counts["statement_lines"] == len(sample.statement)
    assert matched["data"]["figures"]["unexplained"] == "0.00"
    table_step = [e for e in events(result.run_dir, "step") if e.get("action") == "read_table"][0]
    assert table_step["value"] == f"{len(sample.ledger)} rows from 3 pages"

    book = load_workbook(result.results_path)
    sheet = book["Matched"]
    got = set()
    for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1, values_only=True):
        txns = tuple(sorted(d.split()[-1] for d in row[9].split("; ")))
        got.add((row[1], tuple(sorted(row[2].split(" + "))), txns))
    expected_matches = {(e.rule, tuple(sorted(e.ledger)), tuple(sorted(e.statement))) for e in sample.expected
                        if e.rule not in ("unmatched_ledger", "unmatched_statement", "duplicate")}
    assert got == expected_matches
    unpaid = {e.ledger[0] for e in sample.expected if e.rule == "unmatched_ledger"}
    sheet = book["Unmatched in ledger"]
    assert {r[0] for r in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1, values_only=True)} == unpaid

    # every unmatched line and suspected duplicate is a review item carrying its evidence
    items = queue_items(project)
    expected_review = len(unpaid) + sum(e.rule in ("unmatched_statement", "duplicate") for e in sample.expected)
    assert len(items) == expected_review
    for item in items.values():
        assert item.state == ItemState.BUSINESS_EXCEPTION
        assert item.data["workbook"] == result.results_path.name and item.data["read_at"]
        assert isinstance(item.data["amount"], Decimal)
    review_column = [r[7] for r in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1, values_only=True)]
    assert set(review_column) <= set(items)
    report = result.report_path.read_text()
    assert "Needs review" in report and f'href="{result.results_path.name}"' in report

    # the same reconciliation again adds nothing; a line a person explained stays explained
    explained = sorted(items)[0]
    queue = open_queue(load_settings(project).queue_url, project)
    queue.skip(BOT, explained, "user:maria", "bank charge booked by hand")
    queue.close()
    with start_billing(tmp_path) as app:
        again = reconcile_run(project, statement, app.url)
    assert len(queue_items(project)) == expected_review
    shown = {r.reference: r for r in again.items}
    assert shown[explained].outcome == "skipped" and "bank charge booked by hand" in shown[explained].message


@needs_libreoffice
def test_a_ledger_page_not_read_is_an_unexplained_difference_listed_for_review(project, secrets_env, tmp_path):
    recipe = project / "recipes" / "read-receivables.yaml"
    recipe.write_text(recipe.read_text().replace("      next: ledger.next_page\n", ""))  # first page only
    sample = make_sample(30, seed=22, window_days=5)
    load_ledger(tmp_path / "billsys.db", sample)
    statement = write_statement(tmp_path / "statement.xlsx", sample)
    with start_billing(tmp_path) as app:
        result = reconcile_run(project, statement, app.url)
    figures = events(result.run_dir, "reconcile")[0]["data"]["figures"]
    assert Decimal(figures["unexplained"]) != 0
    in_screen_order = [r for _, r in sorted(enumerate(sample.ledger), key=lambda p: (p[1].on, p[0]))]
    missed = sum(r.amount for r in in_screen_order[20:])
    summary = load_workbook(recalculated(result.results_path, tmp_path / "calc"), data_only=True)["Summary"]
    assert round(Decimal(str(summary["B14"].value)), 2) == missed                 # stated minus computed, ledger
    assert round(Decimal(str(summary["B26"].value)), 2) == Decimal(figures["unexplained"])
    listed = [summary.cell(r, 1).value for r in range(28, summary.max_row + 1)]
    assert "Ledger screen total differs from the lines read" in listed
    assert any(ref.startswith("unexplained:") for ref in queue_items(project))
