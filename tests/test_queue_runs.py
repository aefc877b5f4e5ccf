"""The queue under real runs: reloading a file keys nothing twice, recovered items are looked up first,
exhausted retries and bad data wait for a person, whose decisions are recorded."""

from __future__ import annotations

import json
import socket

from openpyxl import load_workbook

from runner.demo.billing_web.database import BillingDatabase
from runner.demo.sample_orders import write_orders_workbook
from runner import ExitCode, RunRequest, load_settings, start_run
from runner.work_queue import ItemState, open_queue

from .conftest import make_orders, orders_in_db, start_billing
from .test_cli import backroom
from .test_resilience import allow_attempts


def run(project, path, url, **kw):
    return start_run(RunRequest(bot="rekey-orders", input_path=path, project=project, app_urls={"billing": url}), **kw)


def project_queue(project):
    return open_queue(load_settings(project).queue_url, project)


def test_loading_the_same_workbook_again_keys_nothing(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 3)
    first = run(project, path, billing.url)
    second = run(project, path, billing.url)
    assert first.exit_code == second.exit_code == ExitCode.OK
    assert len(orders_in_db(billing.settings.db_path)) == 3
    assert all(i.message == f"done earlier, in run {first.run_id}" for i in second.items)
    sheet = load_workbook(second.results_path).active
    header = [c.value for c in sheet[1]]
    confirmations = [r[header.index("Confirmation")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert confirmations == [o["confirmation"] for o in orders_in_db(billing.settings.db_path)]
    assert not any(json.loads(line)["kind"] == "step" for line in (second.run_dir / "events.jsonl").open())

    rows[0][3] += 1  # the sales office changed a row that was already keyed
    write_orders_workbook(path, rows)
    third = run(project, path, billing.url)
    assert len(orders_in_db(billing.settings.db_path)) == 3
    events = [json.loads(line) for line in (third.run_dir / "events.jsonl").open()]
    changed = [e for e in events if e["outcome"] == "changed_after_done"]
    assert [e["item"] for e in changed] == [rows[0][0]] and "not keyed again" in changed[0]["message"]


def test_a_recovered_item_is_looked_up_before_it_is_keyed(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 3)
    queue = project_queue(project)
    from runner.intake.workbook import read_workbook
    from runner.project.bot import load_bot
    intake = read_workbook(path, load_bot(project, "rekey-orders").input)
    queue.intake("rekey-orders", intake.items, "intake:orders.xlsx")
    dead = f"{socket.gethostname()}:999999999:crashed-run"
    # Item 1: the crashed runner had pressed Save and BILLSYS saved it. Item 2: it crashed before BILLSYS saved.
    for _ in intake.items[:2]:
        claimed = queue.claim("rekey-orders", dead, 3600, "crashed-run")
        queue.mark_committing(claimed.id, dead)
    queue.close()
    saved = intake.items[0].data
    confirmation = BillingDatabase(billing.settings.db_path).insert_order({
        "reference": saved["order_ref"], "customer_code": saved["customer"], "sku": saved["sku"],
        "quantity": saved["quantity"], "unit_price": str(saved["unit_price"]), "ship_date": saved["ship_date"].isoformat(),
        "priority": "N", "gift_wrap": 0, "notes": "", "supervisor_code_ok": 1}, "clerk")

    result = run(project, path, billing.url)
    assert result.exit_code == ExitCode.OK
    refs = [o["reference"] for o in orders_in_db(billing.settings.db_path)]
    assert sorted(refs) == sorted(r[0] for r in rows)  # each exactly once
    by_ref = {i.reference: i for i in result.items}
    assert by_ref[rows[0][0]].variables["confirmation"] == confirmation
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").open()]
    done = {e["item"]: e for e in events if e["kind"] == "item" and e["outcome"] == "done"}
    assert done[rows[0][0]]["data"]["already_done"] is True
    assert done[rows[1][0]]["data"]["already_done"] is False
    started = {e["item"]: e["data"] for e in events if e["kind"] == "item" and e["outcome"] == "started"}
    assert started[rows[0][0]]["recovered"] and started[rows[0][0]]["verify_first"]
    assert not started[rows[2][0]]["verify_first"]
    keyed_steps = {e["item"] for e in events if e.get("target") == "order.save"}
    assert keyed_steps == {rows[1][0], rows[2][0]}


def test_retries_used_up_go_to_review_with_the_reason(project, secrets_env, tmp_path):
    allow_attempts(project, 2, backoff=0.05)
    path, rows = make_orders(tmp_path / "orders.xlsx", 1)
    with start_billing(tmp_path, busy_rate=1.0) as app:
        result = run(project, path, app.url)
    assert result.exit_code == ExitCode.ITEMS_FAILED
    assert result.items[0].outcome == "system_exception" and result.items[0].attempts == 2
    queue = project_queue(project)
    item = queue.get("rekey-orders", rows[0][0])
    assert item.state == ItemState.SYSTEM_EXCEPTION and "System busy" in item.last_error
    assert [h.to_state for h in queue.history("rekey-orders", rows[0][0])] == \
        ["pending", "in_progress", "pending", "in_progress", "system_exception"]


def test_an_operator_fixes_and_retries_one_item_and_skips_another(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 3)
    rows[0][1] = rows[1][1] = "C013"  # closed account: BILLSYS refuses both
    write_orders_workbook(path, rows)
    first = run(project, path, billing.url)
    assert {i.reference for i in first.items if i.outcome == "business_exception"} == {rows[0][0], rows[1][0]}

    listed = backroom("queue", "list", "--state", "review", cwd=project)
    assert rows[0][0] in listed.stdout and "Customer account C013 is closed" in listed.stdout
    assert "just now" in listed.stdout or " min " in listed.stdout   # an item of this run is minutes old, not days
    assert backroom("queue", "retry", rows[0][0], "--bot", "rekey-orders", "--set", "customer=C001",
                    "--by", "alice", cwd=project).returncode == 0
    assert backroom("queue", "skip", rows[1][0], "--bot", "rekey-orders", "--reason", "account closed for good",
                    "--by", "bob", cwd=project).returncode == 0
    bad = backroom("queue", "retry", rows[2][0], "--bot", "rekey-orders", "--set", "quantity=ten", cwd=project)
    assert bad.returncode == 2 and "quantity must be a whole number" in bad.stderr

    second = run(project, path, billing.url)
    assert second.exit_code == ExitCode.OK, second.items  # done or decided by a person
    keyed = {o["reference"]: o for o in orders_in_db(billing.settings.db_path)}
    assert keyed[rows[0][0]]["customer_code"] == "C001" and rows[1][0] not in keyed
    shown = backroom("queue", "show", rows[0][0], "--bot", "rekey-orders", cwd=project).stdout
    assert "user:alice" in shown and "retry with customer=C001" in shown
    shown = backroom("queue", "show", rows[1][0], "--bot", "rekey-orders", cwd=project).stdout
    assert "user:bob" in shown and "account closed for good" in shown
    summary = backroom("queue", cwd=project).stdout
    assert "rekey-orders" in summary


def test_a_bots_own_business_rule_sends_an_item_to_review(project, billing, tmp_path):
    (project / "bots" / "rekey-orders" / "bot.py").write_text(
        "from runner import BusinessException\n\n\n"
        "def check_item(item):\n"
        "    total = item.data['quantity'] * item.data['unit_price']\n"
        "    if total > 100000:\n"
        "        raise BusinessException(f'order total {total:,.2f} is over the 100,000.00 limit: a supervisor approves it')\n")
    path, rows = make_orders(tmp_path / "orders.xlsx", 8)
    result = run(project, path, billing.url)
    from decimal import Decimal
    over = {r[0] for r in rows if r[3] * Decimal(repr(r[4])) > 100000}
    assert over, "the sample must contain an order over the limit"
    refused = {i.reference: i for i in result.items if i.outcome == "business_exception"}
    assert set(refused) == over
    assert all("over the 100,000.00 limit" in i.message and i.attempts == 1 for i in refused.values())
    assert {o["reference"] for o in orders_in_db(billing.settings.db_path)} == {r[0] for r in rows} - over


def test_an_error_in_bot_code_names_its_line(project, billing, tmp_path):
    (project / "bots" / "rekey-orders" / "bot.py").write_text("import os\n\nLIMIT = 100 / 0\n")
    path, _ = make_orders(tmp_path / "orders.xlsx", 1)
    import pytest
    from runner.errors import BotDefinitionError
    with pytest.raises(BotDefinitionError, match=r"bots/rekey-orders/bot.py:3: ZeroDivisionError"):
        run(project, path, billing.url)


def test_an_items_age_reads_as_a_person_says_it():
    from runner.work_queue import age_text

    assert [age_text(s) for s in (5, 59, 60, 3599, 3600, 86399, 86400, 3 * 86400 + 5)] == \
        ["just now", "just now", "1 min", "59 min", "1 h", "23 h", "1 day", "3 days"]


def test_a_runner_whose_lease_ran_out_leaves_the_item_to_the_runner_that_took_it_back(project, secrets_env, tmp_path):
    """Screens slower than the lease: another runner takes the order back while this one waits on a page.
    This one never touches it again (no save), says so, and goes on with the next order in the queue."""
    from concurrent.futures import ThreadPoolExecutor

    from runner.intake.workbook import read_workbook
    from runner.project.bot import load_bot

    from .conftest import wait_until

    config = project / "backroom.yaml"
    config.write_text(config.read_text().replace("lease_s: 300", "lease_s: 0.5"))
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 1, seed=76)
    later, later_rows = make_orders(tmp_path / "later.xlsx", 1, seed=77)
    first, second = rows[0][0], later_rows[0][0]
    queue = open_queue(load_settings(project).queue_url, project)
    with start_billing(tmp_path, delay_ms=600) as app, ThreadPoolExecutor(1) as pool:
        running = pool.submit(start_run, RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                                    app_urls={"billing": app.url}))
        taken = []

        def take_back() -> bool:   # a runner on another machine, claiming once the run's lease has run out
            if not queue.items("rekey-orders", [ItemState.IN_PROGRESS]):
                return running.done()   # not claimed by the run yet: the order is the run's to take first
            claimed = queue.claim("rekey-orders", "node-2:4242:r9", 600, "r9")
            taken.extend([claimed] if claimed else [])
            return bool(taken) or running.done()

        wait_until(take_back, 60, "the other runner to take the order back")
        # the next order arrives while the run still waits on BILLSYS's page
        queue.intake("rekey-orders", read_workbook(later, load_bot(project, "rekey-orders").input).items, "intake:later")
        result = running.result(timeout=300)
    assert [t.reference for t in taken] == [first] and taken[0].recovered
    assert [o["reference"] for o in orders_in_db(app.settings.db_path)] == [second]   # the first never saved by it
    assert queue.get("rekey-orders", second).state == ItemState.DONE
    mine = [c.to_state for c in queue.history("rekey-orders", first) if c.run_id == result.run_id]
    assert mine == ["in_progress"]   # the run changed nothing after it lost the lease
    assert queue.get("rekey-orders", first).state == ItemState.IN_PROGRESS   # the other runner's now
    queue.close()
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    lost = [e for e in events if e.get("outcome") == "lease_lost"]
    assert [e["item"] for e in lost] == [first] and "node-2:4242:r9" in lost[0]["message"]
    assert result.exit_code == ExitCode.ITEMS_FAILED and "internal error" not in result.message
