"""The re-key bot against the real BILLSYS in real Chromium: every order keyed once, right values, evidence."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from openpyxl import load_workbook

from runner import ExitCode, RunRequest, start_run

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db

PRIORITY_CODES = {"Normal": "N", "Rush": "R", "Low": "L"}


def test_every_order_keyed_once_with_the_right_values(project, billing, tmp_path):
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 8)
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))

    assert result.exit_code == ExitCode.OK, result.items
    assert result.counts.text() == "8 orders from 8 input rows: 8 done"
    keyed = orders_in_db(billing.settings.db_path)
    assert sorted(o["reference"] for o in keyed) == sorted(r[0] for r in rows)  # each once, none missing
    by_ref = {o["reference"]: o for o in keyed}
    for ref, customer, sku, qty, price, ship, priority, gift, notes in rows:
        order = by_ref[ref]
        assert order["customer_code"] == customer
        assert order["sku"] == sku
        assert order["quantity"] == qty
        assert Decimal(order["unit_price"]) == Decimal(repr(price))
        assert order["ship_date"] == ship.isoformat()
        assert order["priority"] == PRIORITY_CODES[priority]
        assert order["gift_wrap"] == int(gift)
        assert order["notes"] == notes
        assert order["supervisor_code_ok"] == 1

    # The result workbook carries each row's status and the confirmation number BILLSYS assigned.
    sheet = load_workbook(result.results_path).active
    header = [c.value for c in sheet[1]]
    status_col, confirmation_col = header.index("Status"), header.index("Confirmation")
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert row[status_col] == "Done"
        assert row[confirmation_col] == by_ref[row[0]]["confirmation"]


def test_events_record_every_step_with_hashed_screenshots(project, billing, tmp_path):
    workbook, _ = make_orders(tmp_path / "orders.xlsx", 3)
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["kind"] == "step"]
    assert {e["item"] for e in steps} == {i.reference for i in result.items}
    for event in steps:
        assert event["run"] == result.run_id
        assert event["step"].startswith("recipes/") and ":" in event["step"]
        assert event["outcome"] in ("pass", "skip")
        assert "started" in event and "duration_ms" in event
    fills = [e for e in steps if e["action"] == "fill"]
    assert all(e["selector"] for e in fills), "every fill records the locator that matched"
    shots = [e for e in steps if e.get("screenshot")]
    assert shots, "the default policy keeps screenshots of steps that changed the screen"
    for event in shots:
        data = (result.run_dir / event["screenshot"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == event["screenshot_sha256"]
    # a click that saved an order has its own screenshot and the dialog it confirmed
    saves = [e for e in steps if e.get("target") == "order.save"]
    assert len(saves) == 3 and all(e.get("screenshot") for e in saves)
    assert all(e["data"]["dialogs"][0]["message"] == "Save this order?" for e in saves)
    # secrets are masked in values and appear in no file of the run
    secret_fills = [e for e in fills if e.get("target") in ("login.password", "order.supervisor_code")]
    assert secret_fills and all(e["value"] == "****" for e in secret_fills)
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and SUPERVISOR.encode() not in data, path


def test_screenshot_policy_every_and_failures(project, billing, tmp_path):
    workbook, _ = make_orders(tmp_path / "orders.xlsx", 1)
    every = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                 app_urls={"billing": billing.url}, screenshots="every"))
    failures_only = start_run(RunRequest(bot="rekey-orders", input_path=tmp_path / "orders.xlsx", project=project,
                                         app_urls={"billing": billing.url}, screenshots="failures"))
    assert not list((failures_only.run_dir / "screenshots").iterdir())
    steps = [json.loads(line) for line in (every.run_dir / "events.jsonl").read_text().splitlines()]
    steps = [e for e in steps if e["kind"] == "step" and e["outcome"] == "pass" and e["action"] != "call"]
    assert steps and all(e.get("screenshot") for e in steps)
    # one picture per screen: steps that did nothing to the screen share the picture before them
    files = {e["screenshot"] for e in steps}
    assert len(files) == sum(1 for e in steps if e["action"] in ("open", "click", "fill", "select", "check", "press"))
    assert len(list((every.run_dir / "screenshots").iterdir())) == len(files)


def test_an_input_with_its_own_status_column_keeps_it_apart_from_backrooms(project, billing, tmp_path):
    """The office's workbook already has Status and Message columns: Backroom's are added beside them
    under their own names, and the office's values stay as they were."""
    from runner.demo.sample_orders import HEADERS, sample_rows, write_orders_workbook

    rows = [row + ["approved", "from sales"] for row in sample_rows(2, seed=91)]
    workbook = write_orders_workbook(tmp_path / "orders.xlsx", rows, HEADERS + ["Status", "Message"])
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))
    assert result.exit_code == 0, result.items
    sheet = load_workbook(result.results_path).active
    header = [c.value for c in sheet[1]]
    assert header.count("Status") == 1 and header.count("Message") == 1
    assert "Backroom Status" in header and "Backroom Message" in header and "Confirmation" in header
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert row[header.index("Status")] == "approved" and row[header.index("Message")] == "from sales"
        assert row[header.index("Backroom Status")] == "Done"
