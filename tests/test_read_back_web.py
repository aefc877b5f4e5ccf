"""Read-back on the web: BILLSYS loses characters of fast typing and covers fields with a suggestion list;
every value is read back, a wrong one typed again slowly, and BILLSYS's own database holds exactly the input."""

from __future__ import annotations

from decimal import Decimal

from runner.demo.billing_web.faults import BillingFaults
from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events

from .conftest import faults_logged, make_orders, orders_in_db, start_billing


PRIORITY_CODES = {"Normal": "N", "Rush": "R", "Low": "L"}


def assert_orders_match(db, rows) -> None:
    keyed = {o["reference"]: o for o in orders_in_db(db)}
    assert len(keyed) == len(orders_in_db(db)) == len(rows)
    for ref, customer, sku, qty, price, ship, priority, gift, notes in rows:
        order = keyed[ref]
        assert (order["customer_code"], order["sku"], order["quantity"]) == (customer, sku, qty), ref
        assert Decimal(order["unit_price"]) == Decimal(repr(price)), ref
        assert order["ship_date"] == ship.isoformat(), ref
        assert order["priority"] == PRIORITY_CODES[priority] and order["gift_wrap"] == int(gift), ref
        assert order["notes"] == notes and order["supervisor_code_ok"] == 1, ref


def test_dropped_characters_are_typed_again_and_nothing_wrong_is_saved(project, secrets_env, tmp_path):
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 10, seed=23)
    faults = BillingFaults(drop_keys=0.35, autocomplete=True)
    with start_billing(tmp_path, faults=faults) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}))
        injected = faults_logged(app.settings.db_path)
        assert result.exit_code == ExitCode.OK, result.items
        assert_orders_match(app.settings.db_path, rows)

    dropped = [f for f in injected if f["kind"] == "drop_keys"]
    assert len(dropped) >= 5, injected
    assert any(f["kind"] == "autocomplete" for f in injected)
    events = read_events(result.run_dir)
    retyped = [e for e in events if e.get("verified") == "retyped"]
    # every character BILLSYS dropped was seen on read-back and typed again: one retype per drop
    assert len(retyped) == len(dropped)
    assert sorted(e["target"].split(".")[1] for e in retyped) == sorted(f["field"] for f in dropped)
    for event in retyped:
        first, then = event["data"]["read_back"]
        assert first != then and then == event["value"]
    inputs = [e for e in events if e["kind"] == "step" and e["action"] in ("fill", "select", "check")]
    assert inputs and all(e.get("verified") in ("read back", "retyped") for e in inputs)
    saves = [e for e in events if e.get("target") == "order.save" and e["outcome"] == "pass"]
    assert len(saves) == 10 and all("order.customer_code" in e["data"]["rechecked"] for e in saves)
    end = next(e for e in events if e["kind"] == "run" and e["outcome"] != "started")
    assert end["data"]["read_back"]["retyped"] == len(dropped)


def test_without_read_back_the_same_faults_save_wrong_orders(project, secrets_env, tmp_path):
    """The control: with verification off the run is green and BILLSYS holds wrong data, so the test above
    proves read-back is what keeps the data right."""
    settings = (project / "backroom.yaml").read_text()
    (project / "backroom.yaml").write_text(settings.replace("    user: clerk\n", "    user: clerk\n    verify: false\n", 1))
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 4, seed=23)
    # every burst typed into the reference and the SKU loses a character: BILLSYS accepts both either way
    with start_billing(tmp_path, faults=BillingFaults(drop_keys=1.0, drop_fields=("reference", "sku"))) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}))
        saved = {o["confirmation"]: o for o in orders_in_db(app.settings.db_path)}
    done = {i.reference: i for i in result.items if i.outcome == "done"}
    wrong = [ref for ref, item in done.items()
             if saved[item.variables["confirmation"]]["reference"] != ref
             or any(saved[item.variables["confirmation"]][k] != v for k, v in
                    zip(("customer_code", "sku", "quantity"), next(r[1:4] for r in rows if r[0] == ref)))]
    assert sorted(wrong) == sorted(r[0] for r in rows), "with read-back off, every order is reported done " \
                                                        "with other data in BILLSYS"
    events = read_events(result.run_dir)
    assert all(e.get("verified") == "off" for e in events if e["kind"] == "step" and e["action"] == "fill")


def test_a_field_that_reformats_needs_expect_or_nothing_is_posted(project, secrets_env, tmp_path):
    """BILLSYS shows amounts as 1,234.50 once the field is left. The bundled recipe says so with `expect:`;
    without it the values no longer read back as typed, and the invoice is never posted."""
    from runner.demo.sample_jobs import sample_jobs, write_jobs_workbook

    from .test_invoices import expected_invoices, invoices_in_db

    recipe = project / "recipes" / "enter-invoice.yaml"
    lines = recipe.read_text().splitlines(keepends=True)
    recipe.write_text("".join(line for line in lines if "expect: \"{{ '{:,.2f}'" not in line))
    bot = project / "bots" / "issue-invoices" / "bot.yaml"
    bot.write_text(bot.read_text().replace("attempts: 3", "attempts: 1"))
    rows = sample_jobs(14, seed=4)
    expected = expected_invoices(rows, __import__("datetime").date.today())
    big = {ref for ref, want in expected.items() if want["total"] >= 1000}
    assert big and big != set(expected)
    with start_billing(tmp_path) as app:
        result = start_run(RunRequest(bot="issue-invoices", input_path=write_jobs_workbook(tmp_path / "jobs.xlsx", rows),
                                      project=project, app_urls={"billing": app.url}))
        posted = {i["customer_reference"] for i in invoices_in_db(app.settings.db_path)}
    assert posted == set(expected) - big  # nothing reformatted was posted
    for item in result.items:
        if item.work_item in big:
            assert item.outcome == "system_exception"
            assert "it changed after it was typed, so invoice.post was not clicked" in item.message
