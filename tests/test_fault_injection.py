"""Kill the runner with SIGKILL at random moments, over and over, with "system busy" pages switched on,
then drain the queue with two runners at once: every order must end up in BILLSYS exactly once, and
every item done or in review with a reason."""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from runner import load_settings
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db, start_billing
from .test_resilience import allow_attempts

KILLS = 10


def order_count(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM orders").fetchone()[0]


def queue_open_items(project) -> int:
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        return len(queue.items("rekey-orders", [ItemState.PENDING, ItemState.IN_PROGRESS]))
    finally:
        queue.close()


# One long run: with 80 orders ten kills still land while most are waiting. Each further seed costs
# over a minute of every suite run for little more coverage (kill points alternate already).
@pytest.mark.parametrize("seed, orders", [(11, 80)])
def test_killed_runners_lose_nothing_and_key_nothing_twice(project, secrets_env, tmp_path, seed, orders):
    rng = random.Random(seed)
    allow_attempts(project, 8, backoff=0.1)
    path, rows = make_orders(tmp_path / "orders.xlsx", orders, seed=seed)
    env = {**os.environ, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
           "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
    with start_billing(tmp_path, busy_rate=0.05, seed=seed) as app:
        db = app.settings.db_path
        command = [sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(path),
                   "--app-url", f"billing={app.url}", "--screenshots", "failures"]

        def start():
            # its own process group, so the kill takes the browser down with it, as a crash would
            return subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)

        kills = after_submit = 0
        while kills < KILLS:
            runner = start()
            if kills % 2:  # wait for BILLSYS to save an order, then kill before the runner records it
                before = order_count(db)
                deadline = time.monotonic() + 90
                while runner.poll() is None and order_count(db) == before and time.monotonic() < deadline:
                    time.sleep(0.005)
                hit = order_count(db) > before
            else:
                time.sleep(rng.uniform(0.5, 4.0))
                hit = False
            if runner.poll() is not None:
                break  # the queue drained before this kill
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
            kills += 1
            after_submit += hit
        for _ in range(5):  # restart until the queue is drained: two runners at once share the queue
            if queue_open_items(project) == 0:
                break
            runners = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True) for _ in range(2)]
            for runner in runners:
                output, _ = runner.communicate(timeout=900)
                assert runner.returncode in (0, 1), output

    assert kills == KILLS and after_submit >= 3, (kills, after_submit)
    keyed = collections.Counter(o["reference"] for o in orders_in_db(db))
    assert set(keyed) <= {r[0] for r in rows}
    duplicates = {ref: n for ref, n in keyed.items() if n > 1}
    assert not duplicates, f"keyed twice: {duplicates}"
    queue = open_queue(load_settings(project).queue_url, project)
    items = queue.items("rekey-orders")
    assert len(items) == orders
    for item in items:
        if item.state == ItemState.DONE:
            assert keyed[item.reference] == 1
            assert item.result["vars"]["confirmation"] == next(o["confirmation"] for o in orders_in_db(db)
                                                                if o["reference"] == item.reference)
        else:
            assert item.state in (ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION), item
            assert item.last_error
    missing = {r[0] for r in rows} - set(keyed)
    assert all(queue.get("rekey-orders", ref).state != ItemState.DONE for ref in missing)
    recovered = [h for i in items for h in queue.history("rekey-orders", i.reference) if "recovered from" in h.message]
    assert recovered, "killed runners' items were taken back by the next run"
    queue.close()
