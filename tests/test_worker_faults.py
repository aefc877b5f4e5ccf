"""Four runner services on one PostgreSQL queue against one BILLSYS with its busy faults on, SIGKILLed
fifty times (each with its browser) and started again: most kills at a random moment (starting,
keying, saving, sealing), every fourth just after BILLSYS saved an order and before the runner recorded
it, the worst moment. No order is lost, none is keyed twice, BILLSYS holds each exactly as the input
says, and every item's history is whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from runner.work_queue import ItemState, open_queue

from .conftest import make_orders, orders_in_db, start_billing, wait_until
from .postgres_server import postgres_database
from .test_read_back_web import assert_orders_match

pytestmark = [pytest.mark.web, pytest.mark.postgres, pytest.mark.slow]
KILLS = 50
WORKERS = 4


def start_worker(project: Path, name: str, app_url: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner.cli", "worker", "--bot", "rekey-orders", "--name", name,
                             "--poll", "0.2", "--heartbeat", "1", "--app-url", f"billing={app_url}"], cwd=project,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def moved_on(queue, changes: int) -> None:
    """Wait until the runners have made `changes` more changes of state (a claim, a finish, a retry), so a kill
    lands just after one of them: while a runner starts, keys or seals; or until nothing is left to work."""
    before = len(queue.changes_since(0))
    wait_until(lambda: len(queue.changes_since(0)) >= before + changes
               or not queue.items("rekey-orders", [ItemState.PENDING, ItemState.IN_PROGRESS]),
               120, f"the runners to make {changes} more change(s) of state")


def saved_not_recorded(queue, billsys_db: Path, workers: dict, deadline_s: float) -> str | None:
    """The runner whose order BILLSYS has just saved while the queue still has it in progress; None when none
    was seen in time (the queue drained, or every runner was between orders)."""
    deadline = time.monotonic() + deadline_s
    pids = {str(process.pid): name for name, process in workers.items()}
    while time.monotonic() < deadline:
        saved = {o["reference"] for o in orders_in_db(billsys_db)}
        for item in queue.items("rekey-orders", [ItemState.IN_PROGRESS]):
            owner = (item.lease_owner or "::").split(":")[1]
            if item.reference in saved and owner in pids:
                return pids[owner]
        if not queue.items("rekey-orders", [ItemState.PENDING, ItemState.IN_PROGRESS]):
            return None
    return None


def test_fifty_random_kills_of_four_runners_lose_nothing_and_key_nothing_twice(project, secrets_env, tmp_path):
    # busy screens fail items now and then, and kills add attempts: enough retries that every order gets done
    bot_file = project / "bots" / "rekey-orders" / "bot.yaml"
    bot = yaml.safe_load(bot_file.read_text())
    bot["retry"] = {"attempts": 10, "backoff_seconds": 0.2}
    bot_file.write_text(yaml.safe_dump(bot))
    url = postgres_database()
    env = {**os.environ, "BACKROOM_QUEUE_URL": url}
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 16, seed=74)
    chance = random.Random(2026)
    with start_billing(tmp_path, busy_rate=0.05, delay_ms=60) as app:
        added = subprocess.run([sys.executable, "-m", "runner.cli", "queue", "add", "rekey-orders", "--input",
                                str(workbook)], cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stdout + added.stderr
        workers = {f"f{n}": start_worker(project, f"f{n}", app.url, env) for n in range(1, WORKERS + 1)}
        queue = open_queue(url)
        kills_while_keying = after_save = 0
        try:
            for kill in range(KILLS):
                victim = None
                if kill % 4 == 3:   # the order is in BILLSYS, the queue does not know yet: kill the runner keying it
                    victim = saved_not_recorded(queue, app.settings.db_path, workers, deadline_s=60)
                    after_save += victim is not None
                else:   # the next kill lands after the queue has moved on by one to three changes of state
                    moved_on(queue, chance.randint(1, 3))
                name = victim or chance.choice(sorted(workers))
                held = {i.lease_owner.split(":")[1] for i in queue.items("rekey-orders", [ItemState.IN_PROGRESS])
                        if i.lease_owner}
                kills_while_keying += str(workers[name].pid) in held
                os.killpg(workers[name].pid, signal.SIGKILL)   # the runner and its browser
                workers[name].wait(30)
                workers[name] = start_worker(project, name, app.url, env)

            def all_done() -> bool:
                return all(i.state == ItemState.DONE for i in queue.items("rekey-orders"))

            wait_until(all_done, 600, "the runners to finish every order after the kills")
            items = queue.items("rekey-orders")
            histories = {i.reference: queue.history("rekey-orders", i.reference) for i in items}
        finally:
            for process in workers.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
            queue.close()
        assert kills_while_keying >= 10, f"only {kills_while_keying} of {KILLS} kills landed on a runner holding an item"
        assert after_save >= 3, f"only {after_save} kills landed between an order's save and its record"
        print(f"{KILLS} kills: {kills_while_keying} of a runner holding an item, {after_save} after a save")
        # nothing lost, nothing twice: BILLSYS holds each order once, as the input says
        assert sorted(i.reference for i in items) == sorted(r[0] for r in rows)
        assert_orders_match(app.settings.db_path, rows)
    # every item's history is whole: from intake to done, each change starting where the last one ended,
    # one claim per attempt, and each order taken back from a killed runner said to be recovered
    recoveries = 0
    for item in items:
        changes = histories[item.reference]
        assert (changes[0].from_state, changes[0].to_state) == (None, "pending"), item.reference
        assert changes[-1].to_state == "done", item.reference
        for before, after in zip(changes, changes[1:]):
            assert after.from_state == before.to_state, (item.reference, before, after)
        # one attempt per claim, but for a claim given back untouched (a runner that could not start its browser
        # or its run gives the item back, not counted as an attempt); a retry after a failure keeps its attempt
        claims = sum(c.to_state == "in_progress" for c in changes)
        given_back = sum(c.from_state == "in_progress" and c.to_state == "pending" and c.message.startswith("run ")
                         for c in changes)
        assert claims - given_back == item.attempts, (item.reference, [(c.from_state, c.to_state, c.actor, c.message)
                                                                       for c in changes])
        recoveries += sum("recovered from" in c.message for c in changes)
    assert recoveries >= 1
