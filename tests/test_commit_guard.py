"""A commit is never repeated blindly, and a key read that makes no sense is not believed.

Against the real BILLSYS in real Chromium; every check is made in BILLSYS's own database."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

from runner.demo.billing_web.faults import BillingFaults
from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, SUPERVISOR, faults_logged, make_orders, orders_in_db, start_billing


def backroom(project, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD, "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)


def without_verify_recipe(project) -> None:
    bot = project / "bots" / "rekey-orders" / "bot.yaml"
    bot.write_text(bot.read_text().replace("verify: find-order\n", ""))


def test_a_failure_after_save_goes_to_a_person_when_nothing_can_look_it_up(project, billing, tmp_path):
    without_verify_recipe(project)
    # the confirmation is never found after Save: the order is in BILLSYS, the attempt fails after committing
    selectors = project / "selectors" / "billing.yaml"
    selectors.write_text(selectors.read_text().replace('- css: "span.cnf"', '- css: "span.cnf-gone"')
                         .replace("- xpath: \"//td[starts-with(normalize-space(), 'Conf')]/following-sibling::td\"",
                                  "- xpath: \"//td[@id='no-such-cell']\""))
    settings = project / "backroom.yaml"
    settings.write_text(settings.read_text().replace("action_timeout_s: 10", "action_timeout_s: 2"))
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 3, seed=31)

    checked = backroom(project, "check", "rekey-orders")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "recipes/enter-order.yaml:" in checked.stdout and "has no verify recipe" in " ".join(checked.stdout.split())

    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))
    assert result.exit_code == ExitCode.ITEMS_FAILED
    keyed = collections.Counter(o["reference"] for o in orders_in_db(billing.settings.db_path))
    assert keyed == {r[0]: 1 for r in rows}  # saved once each: never a second time
    events = read_events(result.run_dir)
    for item in result.items:
        assert item.outcome == "business_exception" and item.attempts == 1
        assert item.message.startswith("may already be in billing: an attempt got past recipes/enter-order.yaml:")
        review = next(e for e in events if e["kind"] == "item" and e["item"] == item.reference
                      and e["outcome"] == "business_exception")
        assert review["screenshot"] and (result.run_dir / review["screenshot"]).is_file()

    # A person must say they checked BILLSYS before the item is keyed again.
    reference = rows[0][0]
    refused = backroom(project, "queue", "retry", reference, "--bot", "rekey-orders")
    assert refused.returncode == 2 and "--checked" in refused.stderr
    queue = open_queue(project / "logs" / "queue.sqlite3")
    assert queue.get("rekey-orders", reference).state == ItemState.BUSINESS_EXCEPTION
    queue.close()
    accepted = backroom(project, "queue", "retry", reference, "--bot", "rekey-orders", "--checked", "--by", "ann")
    assert accepted.returncode == 0, accepted.stderr
    queue = open_queue(project / "logs" / "queue.sqlite3")
    item = queue.get("rekey-orders", reference)
    assert item.state == ItemState.PENDING and not item.commit_started
    assert "checked by a person" in queue.history("rekey-orders", reference)[-1].message
    queue.close()


def test_a_killed_runner_item_without_verify_recipe_is_not_keyed_again(project, billing, tmp_path):
    without_verify_recipe(project)
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 2, seed=32)
    queue = open_queue(project / "logs" / "queue.sqlite3")
    from runner.intake.work_item import WorkItem

    # as a killed runner leaves it: claimed, marked as committing, lease gone
    queue.intake("rekey-orders", [WorkItem(rows[0][0], {"order_ref": rows[0][0]}, "orders.xlsx row 2")], "test")
    claimed = queue.claim("rekey-orders", "run:x:host:999999999", 300, "x")
    queue.mark_committing(claimed.id, "run:x:host:999999999")
    queue.conn.execute("UPDATE items SET lease_expires = 0")
    queue.close()
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))
    outcomes = {i.reference: (i.outcome, i.message) for i in result.items}
    assert outcomes[rows[0][0]][0] == "business_exception"
    assert outcomes[rows[0][0]][1].startswith("may already be in billing: an earlier attempt reached a step that saves")
    assert outcomes[rows[1][0]][0] == "done"
    assert [o["reference"] for o in orders_in_db(billing.settings.db_path)] == [rows[1][0]]


def test_repeated_numbers_go_to_a_person_with_both_references(project, secrets_env, tmp_path):
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 10, seed=33)
    with start_billing(tmp_path, faults=BillingFaults(repeat_ids=0.4), seed=8) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}))
        saved = {o["reference"]: o for o in orders_in_db(app.settings.db_path)}
        repeated = [f for f in faults_logged(app.settings.db_path) if f["kind"] == "repeat_ids"]
    assert len(saved) == len(orders_in_db(app.settings.db_path)) == 10  # every order saved once
    assert repeated, "BILLSYS repeated no number: raise the rate or change the seed"
    outcomes = {i.reference: i for i in result.items}
    for fault in repeated:
        reference = fault["detail"].split(" ")[0]
        shown = fault["detail"].rsplit(" ", 1)[1]
        item = outcomes[reference]
        assert item.outcome == "business_exception", item
        holder = next(ref for ref, o in saved.items() if o["confirmation"] == shown)
        assert f"'{shown}'" in item.message and holder in item.message and reference in item.message
    for item in result.items:
        if item.outcome == "done":  # every number believed is the record's own
            assert item.variables["confirmation"] == saved[item.reference]["confirmation"]
    assert sum(i.outcome == "done" for i in result.items) == 10 - len(repeated)
    report = result.report_path.read_text(encoding="utf-8")
    assert f"<b>{len(repeated)}</b>key reads refused" in report
