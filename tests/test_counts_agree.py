"""Every bundled bot, run as ops staff run it: `backroom run`'s progress bar and summary, the console's
run page and list, and the audit report give the same numbers in the same words."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest
from playwright.sync_api import expect, sync_playwright

from runner.console import console_in_thread
from runner.console.users import UserStore
from runner.demo.sample_jobs import sample_jobs, write_jobs_workbook
from runner.demo.sample_orders import sample_rows, write_orders_workbook
from runner.demo.sample_payments import write_payments_workbook
from runner.demo.sample_reconciliation import load_ledger, make_sample, write_statement
from runner.project.settings import BrowserSettings

from .conftest import LEDGER_PASSWORD, PASSWORD, SUPERVISOR, Ledger, start_billing

pytestmark = [pytest.mark.web, pytest.mark.desktop]

SUMMARY = re.compile(r"^(\d+) ([a-z ]+?)(?: from (\d+) input rows?)?: (\d+ done.*)$", re.M)
BAR = re.compile(r"(\d+)/(\d+) ([a-z ]+) · (\d+ done[^\n]*?)\s+\d+:\d\d:\d\d")


def backroom_run(project, bot, path, *options):
    done = subprocess.run([sys.executable, "-m", "runner.cli", "run", bot, "--input", str(path), *options],
                          cwd=project, capture_output=True, text=True, timeout=300)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    return done


def summary_of(done) -> str:
    found = SUMMARY.findall(done.stdout)
    assert len(found) == 1, done.stdout
    return next(line for line in done.stdout.splitlines() if SUMMARY.match(line))


def run_folder_of(done) -> tuple[str, str]:
    report = re.search(r"Audit report:\s+(\S+)/report\.html", done.stdout).group(1)
    *_, bot, run_id = report.split("/")
    return bot, run_id


def test_the_summary_the_bar_the_console_and_the_report_agree_for_every_bundled_bot(project, screen, tmp_path,
                                                                                      monkeypatch):
    for name, value in (("BILLING_PASSWORD", PASSWORD), ("SUPERVISOR_CODE", SUPERVISOR),
                        ("LEDGER_PASSWORD", LEDGER_PASSWORD)):
        monkeypatch.setenv(f"BACKROOM_SECRET_{name}", value)
    orders = sample_rows(4, seed=71)
    orders[1][3] = "many"        # a quantity that is not a number: rejected at intake, by cell
    orders[2][1] = "C999"        # a customer BILLSYS does not have: to a person
    jobs = sample_jobs(8, seed=72, customers=2)
    jobs[4][6], jobs[4][5], jobs[4][7] = -2, "Seal kit", 9.95   # a negative quantity: that job is rejected
    invoices = len({(job[1], f"{job[3]:%Y-%m}") for n, job in enumerate(jobs) if n != 4}) + 1
    payments = [["BANK-1", "C1001", 120.50, date(2026, 11, 2)], ["BANK-2", "C9999", 10.00, date(2026, 11, 3)],
                ["BANK-3", "C1004", 99.99, date(2026, 11, 4)]]
    sample = make_sample(16, seed=73, window_days=5)
    (tmp_path / "ledger").mkdir()
    load_ledger(tmp_path / "ledger" / "billsys.db", sample)
    ledger = Ledger(tmp_path)
    expected = {   # bot -> its input, and the numbers its one count must give
        "rekey-orders": (write_orders_workbook(tmp_path / "orders.xlsx", orders), "4 orders from 4 input rows: "
                         "2 done, 2 for review"),
        "issue-invoices": (write_jobs_workbook(tmp_path / "jobs.xlsx", jobs),
                           f"{invoices} invoices from 8 input rows: {invoices - 1} done, 1 for review"),
        "post-payments": (write_payments_workbook(tmp_path / "payments.xlsx", payments),
                          "3 payments from 3 input rows: 2 done, 1 for review"),
        "reconcile-accounts": (write_statement(tmp_path / "statement.xlsx", sample), None),
    }
    runs, summaries = {}, {}
    with start_billing(tmp_path) as billing, start_billing(tmp_path / "ledger") as ledger_billing:
        for bot, (path, want) in expected.items():
            url = ledger_billing.url if bot == "reconcile-accounts" else billing.url
            app = ["--app-command", f"ledger={ledger.command()}"] if bot == "post-payments" else \
                ["--app-url", f"billing={url}"]
            done = backroom_run(project, bot, path, *app)
            summaries[bot] = summary_of(done)
            if want is not None:
                assert summaries[bot] == want, done.stdout
            else:   # the reconciliation: the ledger read, and each line left for a person
                review = sum(e.rule in ("unmatched_ledger", "unmatched_statement", "duplicate") for e in sample.expected)
                assert summaries[bot] == f"{review + 1} items: 1 done, {review} for review", done.stdout
            # the bar's last state is the summary's count: finished of total, in the same words
            finished, total, unit, parts = BAR.findall(done.stderr)[-1]
            total_said, unit_said, _, parts_said = SUMMARY.match(summaries[bot]).groups()
            assert (total, unit) == (total_said, unit_said), done.stderr
            assert parts == ", ".join(p for p in parts_said.split(", ") if not p.endswith("not started"))
            assert int(finished) == sum(int(p.split()[0]) for p in parts_said.split(", ")
                                        if not p.endswith(("not started", "retrying")))
            runs[bot] = run_folder_of(done)

    store = UserStore(project / "logs" / "console" / "users.sqlite3")
    store.add("abe", ["auditor"], "abe-audits-4242")
    store.close()
    with console_in_thread(project) as console, sync_playwright() as p:
        browser = p.chromium.launch(**BrowserSettings().launch_options())
        try:
            page = browser.new_page()
            page.goto(console.url + "/sign-in")
            page.fill("input[name=name]", "abe")
            page.fill("input[name=password]", "abe-audits-4242")
            page.click("button[type=submit]")
            for bot, (folder_bot, run_id) in runs.items():
                page.goto(f"{console.url}/runs/{folder_bot}/{run_id}")
                expect(page.locator("#run-counts")).to_have_text(summaries[bot])
                page.click("#report-link")
                expect(page.locator("#counts")).to_have_text(summaries[bot])
                cards = Counter(page.locator(".summary .card").all_inner_texts())
                total, unit = SUMMARY.match(summaries[bot]).group(1, 2)
                assert any(card.split("\n")[0] == total and unit in card for card in cards), cards
            page.goto(f"{console.url}/runs")
            for bot in runs:
                expect(page.locator("body")).to_contain_text(summaries[bot])
        finally:
            browser.close()
