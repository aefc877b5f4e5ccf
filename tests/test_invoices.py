"""The issue-invoices bot against a real BILLSYS: invoices priced to the cent, keyed once, written as
Word documents read back with python-docx, rendered by LibreOffice, and never posted twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from docx import Document
from openpyxl import load_workbook

from runner.demo.sample_jobs import price_list, sample_jobs, write_jobs_workbook, write_price_list
from runner import RunRequest, load_settings, start_run
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, SUPERVISOR, start_billing
from .office import needs_libreoffice, pdf_pages_as_png, pdf_text, convert

BOT = "issue-invoices"
CENT = Decimal("0.01")


def invoices_in_db(db) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM invoices ORDER BY id")]


def expected_invoices(rows: list[list], today: date) -> dict[str, dict]:
    """Priced independently of the bot: customer + month -> subtotal, discount, tax, total."""
    prices = {r[0]: r for r in price_list()}
    groups = defaultdict(list)
    for row in rows:
        groups[f"{row[1]}-{row[3]:%Y-%m}"].append(row)
    out = {}
    for ref, jobs in groups.items():
        customer = prices[jobs[0][1]]
        rate, discount_pct, tax_pct = (Decimal(str(customer[5])), Decimal(str(customer[6])), Decimal(str(customer[7])))
        subtotal = Decimal(0)
        for job in jobs:
            subtotal += (Decimal(str(job[4])) * rate).quantize(CENT, ROUND_HALF_UP)
            if job[5] and job[6]:
                subtotal += (job[6] * Decimal(str(job[7]))).quantize(CENT, ROUND_HALF_UP)
        discount = (subtotal * discount_pct / 100).quantize(CENT, ROUND_HALF_UP)
        tax = ((subtotal - discount) * tax_pct / 100).quantize(CENT, ROUND_HALF_UP)
        out[ref] = {"jobs": sorted(j[0] for j in jobs), "subtotal": subtotal, "discount": discount,
                    "tax": tax, "total": subtotal - discount + tax, "customer": jobs[0][1], "terms": customer[8],
                    "days": {j[0]: (today - j[3]).days for j in jobs}}
    return out


def doc_text(path) -> str:
    document = Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return "\n".join(parts)


def run_invoices(project, jobs, url):
    return start_run(RunRequest(bot=BOT, input_path=jobs, project=project, app_urls={"billing": url}))


def test_invoices_are_priced_keyed_documented_and_never_posted_twice(project, secrets_env, tmp_path):
    rows = sample_jobs(14, seed=4)
    jobs = write_jobs_workbook(tmp_path / "jobs.xlsx", rows)
    expected = expected_invoices(rows, date.today())
    with start_billing(tmp_path) as app:
        result = run_invoices(project, jobs, app.url)
        in_billsys = invoices_in_db(app.settings.db_path)
        assert result.exit_code == 0, result.message
        assert sorted(i["customer_reference"] for i in in_billsys) == sorted(expected)
        for invoice in in_billsys:
            want = expected[invoice["customer_reference"]]
            assert Decimal(invoice["total_amount"]) == want["total"]
            assert Decimal(invoice["tax_amount"]) == want["tax"]
            assert invoice["terms_days"] == want["terms"] and invoice["invoice_date"] == date.today().isoformat()

        # each invoice's Word document, read back: its number, lines and totals
        documents = sorted((result.run_dir / "documents").glob("*.docx"))
        assert len(documents) == len(expected)
        for invoice in in_billsys:
            want = expected[invoice["customer_reference"]]
            path = result.run_dir / "documents" / f"{invoice['number']} {invoice['customer_code']}.docx"
            text = doc_text(path)
            assert f"Invoice No.: {invoice['number']}" in text
            assert f"Your reference: {invoice['customer_reference']}" in text
            assert f"Total due (USD) | {want['total']:,.2f}" in text
            assert f"Subtotal | {want['subtotal']:,.2f}" in text and f"| {want['tax']:,.2f}" in text
            for job in want["jobs"]:
                assert f"Job {job}" in text
            assert f"quoting {invoice['number']} as the payment reference" in text
            assert "{{" not in text and "{%" not in text
        report = result.report_path.read_text()
        assert all(f'href="documents/{i["number"]} {i["customer_code"]}.docx"' in report for i in in_billsys)

        # the result workbook: every job row with its invoice number and days to invoice
        sheet = load_workbook(result.results_path)["Jobs"]
        header = [c.value for c in sheet[1]]
        number_of = {i["customer_reference"]: i["number"] for i in in_billsys}
        for row in sheet.iter_rows(min_row=2, values_only=True):
            record = dict(zip(header, row))
            ref = record["Invoice Ref"]
            assert record["Status"] == "Done" and record["Invoice No"] == number_of[ref]
            # typed cells a clerk can sort and sum: a count, a date and an amount
            assert record["Days to Invoice"] == expected[ref]["days"][record["Job No"]]
            assert record["Invoice Date"].date() == date.today()
            assert Decimal(str(record["Invoice Total"])) == expected[ref]["total"]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")

        # run again, and again with new jobs for a customer already invoiced this month
        again = run_invoices(project, jobs, app.url)
        assert again.exit_code == 0 and len(invoices_in_db(app.settings.db_path)) == len(expected)
        late = [["J-LATE1", rows[0][1], "A. Okafor", rows[0][3], 1.5, "", None, None]]
        more = write_jobs_workbook(tmp_path / "jobs-2.xlsx", rows + late)
        third = run_invoices(project, more, app.url)
        after = invoices_in_db(app.settings.db_path)
    assert third.exit_code == 0
    assert len(after) == len(expected) + 1
    base = f"{rows[0][1]}-{rows[0][3]:%Y-%m}"
    assert after[-1]["customer_reference"] == f"{base}-2"        # a second invoice of the month, the late job only
    rate = Decimal(str({r[0]: r for r in price_list()}[rows[0][1]][5]))
    assert Decimal(after[-1]["net_amount"]) == (Decimal("1.5") * rate - (Decimal("1.5") * rate *
                                                Decimal(str({r[0]: r for r in price_list()}[rows[0][1]][6])) / 100
                                                ).quantize(CENT, ROUND_HALF_UP)).quantize(CENT)


def test_bad_job_rows_go_to_review_named_by_cell_and_a_corrected_file_invoices_them(project, secrets_env, tmp_path):
    rows = sample_jobs(10, seed=6, customers=3)
    rows[1][6], rows[1][5], rows[1][7] = -2, "Seal kit", 9.95        # negative quantity
    rows[2][3] = "31/31/2026"                                          # a date that does not parse
    rows[4][1] = "C999"                                                # a customer not in the price list
    jobs = write_jobs_workbook(tmp_path / "jobs.xlsx", rows)
    with start_billing(tmp_path) as app:
        result = run_invoices(project, jobs, app.url)
        first = invoices_in_db(app.settings.db_path)
        outcomes = {r.reference: r for r in result.items}
        assert outcomes[rows[1][0]].outcome == "rejected"
        assert outcomes[rows[1][0]].message == "[jobs.xlsx]Jobs!G3: part_qty must be at least 0, got -2"
        assert outcomes[rows[2][0]].message.startswith("[jobs.xlsx]Jobs!D4: completed must be a date")
        assert outcomes[rows[4][0]].outcome == "business_exception"
        assert "[jobs.xlsx]Jobs!B6: customer C999 is not in customers.xlsx" in outcomes[rows[4][0]].message
        assert sum(r.outcome == "done" for r in result.items) == 7      # the others were invoiced
        queue = open_queue(load_settings(project).queue_url, project)
        review = {i.reference: i for i in queue.items(BOT, [ItemState.BUSINESS_EXCEPTION])}
        queue.close()
        assert rows[1][0] in review and rows[2][0] in review
        c999 = [ref for ref in review if ref.startswith("C999-")]
        assert len(c999) == 1 and review[c999[0]].data["covers"] == [rows[4][0]]

        # the clerk corrects the jobs file and adds C999 to the price list: all of it is invoiced, once
        rows[1][6], rows[2][3] = 2, date(2026, 10, 20)
        write_jobs_workbook(jobs, rows)
        prices = price_list() + [["C999", "Quarry Stoneworks", "1 Pit Road", "Leeds", "LS2 7AA", 60, 0, 20, 30]]
        write_price_list(project / "bots" / BOT / "customers.xlsx", prices)
        with sqlite3.connect(app.settings.db_path) as conn:   # BILLSYS must know the customer too
            conn.execute("INSERT INTO customers(code, name, closed) VALUES ('C999', 'Quarry Stoneworks', 0)")
        second = run_invoices(project, jobs, app.url)
        after = invoices_in_db(app.settings.db_path)
    assert second.exit_code == 0, [(r.reference, r.message) for r in second.items if r.outcome != "done"]
    assert all(r.outcome == "done" for r in second.items)
    refs = [i["customer_reference"] for i in after]
    assert len(refs) == len(set(refs)) and len(after) > len(first)
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        states = {i.reference: i.state for i in queue.items(BOT)}
        assert states[c999[0]] == ItemState.DONE                     # the same item, corrected and worked
        assert states[rows[1][0]] == ItemState.SKIPPED and states[rows[2][0]] == ItemState.SKIPPED
        history = queue.history(BOT, rows[1][0])
        assert history[-1].message.startswith("corrected in jobs.xlsx: now on ")
    finally:
        queue.close()
    covered = defaultdict(int)
    for row in load_workbook(second.results_path)["Jobs"].iter_rows(min_row=2, values_only=True):
        covered[row[0]] += 1
    assert set(covered) == {r[0] for r in rows}


@needs_libreoffice
def test_an_invoice_renders_to_pdf_and_png_for_a_person_to_look_at(project, secrets_env, tmp_path):
    rows = sample_jobs(3, seed=8, customers=1)
    jobs = write_jobs_workbook(tmp_path / "jobs.xlsx", rows)
    with start_billing(tmp_path) as app:
        result = run_invoices(project, jobs, app.url)
        first = invoices_in_db(app.settings.db_path)[0]
    number = first["number"]
    document = result.run_dir / "documents" / f"{number} {first['customer_code']}.docx"
    pdf = convert(document, "pdf", tmp_path / "rendered")
    text = pdf_text(pdf)
    assert "INVOICE" in text and f"Invoice No.: {number}" in text and "Northwind Field Services Ltd" in text
    assert "Total due (USD)" in text and f"{Decimal(first['total_amount']):,.2f}" in text
    # C001 has no discount and pays UK VAT: no zero line, the tax under its name
    assert "VAT (20%)" in text and "Tax (" not in text and "Discount" not in text and "-0.00" not in text
    pages = pdf_pages_as_png(pdf, tmp_path / "rendered")
    assert len(pages) == 1
    from PIL import Image
    with Image.open(pages[0]) as page:
        extrema = page.convert("L").getextrema()
    assert extrema[0] < 80 and extrema[1] > 240         # ink on paper, not a blank page


def _invoice_bot(project):
    """The bot's own bot.py, loaded the way a run loads it."""
    from runner.intake.bot_logic import load_bot_logic

    load_bot_logic(project / "bots" / BOT)
    return sys.modules["backroom_bot_issue_invoices"]


@needs_libreoffice
def test_a_long_invoice_repeats_its_header_and_keeps_totals_terms_and_bank_together(project, tmp_path):
    """An invoice of many jobs runs onto a second page: the line table's header starts that page, the
    last line goes with the totals, and the totals, terms and bank details are never parted."""
    from runner.run.documents import render_document
    from runner.intake.work_item import WorkItem

    bot = _invoice_bot(project)
    customers, _ = bot.read_customers(project / "bots" / BOT)
    jobs = [WorkItem(f"J-{n:03d}", {"completed": date(2026, 10, 1 + n % 28), "technician": "A. Okafor",
                                    "labour_hours": Decimal("1.5"), "part": "Seal kit" if n % 2 else "",
                                    "part_qty": 2 if n % 2 else 0, "part_price": Decimal("9.95")})
            for n in range(1, 17)]
    for code, discounted in (("C001", False), ("C003", True)):   # no discount / 10% off
        item = bot.price_invoice(customers[code], jobs, "2026-10", date(2026, 11, 2), f"{code}-2026-10")
        document = render_document(project / "bots" / BOT / "invoice-template.docx", tmp_path / f"{code}.docx",
                                   {"item": item, "vars": {"invoice_no": "INV-900001"}, "reference": code})
        pages = [page for page in pdf_text(convert(document, "pdf", tmp_path / "rendered")).split("\f")
                 if page.strip()]
        assert len(pages) == 2, f"{len(item['lines'])} lines should take two pages"
        assert pages[1].lstrip().startswith("Description") and "Unit price" in pages[1].splitlines()[0] + pages[1]
        last_line = item["lines"][-1]["description"].split(",")[0]
        tail = pages[1]
        for kept in ("Subtotal", "VAT (20%)", "Total due (USD)", "Payment terms", "Bank: Northern Counties Bank",
                     last_line):
            assert kept in tail, f"{kept!r} is not on the page with the totals"
        assert ("Discount (10%)" in tail and "Net " in tail) if discounted else "Discount" not in tail
        everything = "".join(pages)
        assert sum(f"Job {job.reference}" in everything for job in jobs) == len(jobs)   # no line lost at the break


def test_killed_mid_run_and_run_again_posts_every_invoice_once(project, secrets_env, tmp_path):
    rows = sample_jobs(24, seed=9, customers=8)
    jobs = write_jobs_workbook(tmp_path / "jobs.xlsx", rows)
    expected = expected_invoices(rows, date.today())
    env = {**os.environ, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD, "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
    with start_billing(tmp_path, delay_ms=150) as app:   # a slow legacy screen: the kill lands after Post
        db = app.settings.db_path
        command = [sys.executable, "-m", "runner.cli", "run", BOT, "--input", str(jobs), "--app-url",
                   f"billing={app.url}", "--screenshots", "failures"]
        kills_after_post = 0
        for _ in range(2):
            runner = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
            before = len(invoices_in_db(db))
            deadline = time.monotonic() + 120
            while runner.poll() is None and len(invoices_in_db(db)) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)   # BILLSYS has the invoice; the runner never read its number
                kills_after_post += 1
            runner.wait()
        assert kills_after_post == 2
        finished = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        posted = invoices_in_db(db)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    refs = [i["customer_reference"] for i in posted]
    assert sorted(refs) == sorted(expected)                           # each invoice once, none missing
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        items = {i.reference: i for i in queue.items(BOT)}
        assert all(i.state == ItemState.DONE for i in items.values())
        numbers = {i.reference: i.result["vars"]["invoice_no"] for i in items.values()}
        assert numbers == {i["customer_reference"]: i["number"] for i in posted}
        recovered = [i for i in items.values() if any("recovered" in c.message for c in queue.history(BOT, i.reference))]
        assert len(recovered) == 2
    finally:
        queue.close()
    run_dirs = sorted(p for p in (project / "logs" / BOT).iterdir() if p.is_dir())
    documents = {p.name for d in run_dirs for p in (d / "documents").glob("*.docx")} if run_dirs else set()
    assert {f"{i['number']} {i['customer_code']}.docx" for i in posted} <= documents
