"""Every bundled web bot with every BILLSYS fault on: dropped keystrokes, a suggestion list over the form, a
stale number after saving, searches that list similar references in no fixed order, and busy pages. BILLSYS's
own database must hold exactly the input, every number the bot believed must be the record's own, and every
fault BILLSYS logged must have been corrected or sent to a person with its reason."""

from __future__ import annotations

import collections
from datetime import date
from decimal import Decimal

from runner.demo.billing_web.database import BillingDatabase
from runner.demo.billing_web.faults import BillingFaults
from runner.demo.sample_jobs import sample_jobs, write_jobs_workbook
from runner import RunRequest, start_run
from runner.audit.events import read_events

from .conftest import faults_logged, make_orders, orders_in_db, start_billing
from .test_invoices import expected_invoices, invoices_in_db
from .test_read_back_web import PRIORITY_CODES


EVERY_FAULT = BillingFaults(drop_keys=0.3, autocomplete=True, repeat_ids=0.2, shuffle_lists=True)


def look_up_first(project, bot: str) -> None:
    """verify_when: always, so every item is searched for first and the shuffled searches are exercised."""
    path = project / "bots" / bot / "bot.yaml"
    text = path.read_text()
    path.write_text(text.replace("verify_when: always\n", "") + "\nverify_when: always\n")


def assert_faults_answered(result, injected) -> None:
    """Each dropped character was typed again; each stale number sent its item to a person."""
    events = read_events(result.run_dir)
    dropped = [f for f in injected if f["kind"] == "drop_keys"]
    retyped = [e for e in events if e.get("verified") == "retyped"]
    assert dropped and len(retyped) == len(dropped)
    assert result.read_back["retyped"] == len(retyped)
    outcomes = {i.work_item: i for i in result.items}
    for fault in (f for f in injected if f["kind"] == "repeat_ids"):
        reference, shown = fault["detail"].split(" ")[0], fault["detail"].rsplit(" ", 1)[1]
        item = outcomes[reference]
        assert item.outcome == "business_exception" and f"'{shown}'" in item.message and "already has" in item.message
    assert {i.outcome for i in result.items} <= {"done", "business_exception"}
    refused = sum(1 for f in injected if f["kind"] == "repeat_ids")
    assert refused, "BILLSYS showed no stale number: change the seed"
    assert result.read_back.get("key_refused", 0) == refused
    assert f"<b>{refused}</b>key reads refused" in result.report_path.read_text(encoding="utf-8")


def test_rekey_orders_with_every_fault_on(project, secrets_env, tmp_path):
    look_up_first(project, "rekey-orders")
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 12, seed=41)
    by_hand = rows[::4]  # a clerk keyed these already: the bot must find each by its own row in a shuffled list
    db = BillingDatabase(tmp_path / "billsys.db")
    for ref, customer, sku, qty, price, ship, priority, gift, notes in by_hand:
        db.insert_order({"reference": ref, "customer_code": customer, "sku": sku, "quantity": qty,
                         "unit_price": f"{Decimal(repr(price)):.2f}", "ship_date": ship.isoformat(),
                         "priority": PRIORITY_CODES[priority], "gift_wrap": int(gift), "notes": notes,
                         "supervisor_code_ok": 1}, "mary")
    with start_billing(tmp_path, faults=EVERY_FAULT, busy_rate=0.05, seed=12) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}))
        saved = orders_in_db(app.settings.db_path)
        injected = faults_logged(app.settings.db_path)

    assert collections.Counter(o["reference"] for o in saved) == {r[0]: 1 for r in rows}  # once each, none missing
    by_ref = {o["reference"]: o for o in saved}
    for ref, customer, sku, qty, price, ship, priority, gift, notes in rows:
        order = by_ref[ref]
        assert (order["customer_code"], order["sku"], order["quantity"], order["notes"]) == (customer, sku, qty, notes)
        assert Decimal(order["unit_price"]) == Decimal(repr(price)) and order["ship_date"] == ship.isoformat()
        assert order["priority"] == PRIORITY_CODES[priority] and order["gift_wrap"] == int(gift)
    for item in result.items:
        if item.outcome == "done":  # every number believed is the record's own
            assert item.variables["confirmation"] == by_ref[item.reference]["confirmation"], item
    assert {i.reference for i in result.items if i.outcome == "done"} >= {r[0] for r in by_hand}
    assert [f for f in injected if f["kind"] == "shuffle_lists"], "no search listed similar orders"
    assert_faults_answered(result, injected)


def test_issue_invoices_with_every_fault_on(project, secrets_env, tmp_path):
    look_up_first(project, "issue-invoices")
    rows = sample_jobs(14, seed=6)
    jobs = write_jobs_workbook(tmp_path / "jobs.xlsx", rows)
    expected = expected_invoices(rows, date.today())
    with start_billing(tmp_path, faults=EVERY_FAULT, seed=3) as app:
        result = start_run(RunRequest(bot="issue-invoices", input_path=jobs, project=project,
                                      app_urls={"billing": app.url}))
        saved = invoices_in_db(app.settings.db_path)
        injected = faults_logged(app.settings.db_path)

    assert collections.Counter(i["customer_reference"] for i in saved) == {ref: 1 for ref in expected}
    for invoice in saved:
        want = expected[invoice["customer_reference"]]
        assert invoice["customer_code"] == want["customer"]
        assert Decimal(invoice["total_amount"]) == want["total"] and Decimal(invoice["tax_amount"]) == want["tax"]
    numbers = {i["customer_reference"]: i["number"] for i in saved}
    for item in result.items:
        if item.outcome == "done":
            assert item.variables["invoice_no"] == numbers[item.work_item], item
    documents = sorted(p.name for p in (result.run_dir / "documents").glob("*.docx"))
    assert len(documents) == len({i.work_item for i in result.items if i.outcome == "done"})
    assert_faults_answered(result, injected)
