"""`backroom worker`, the runner service: it works a bot's items as they arrive in the queue (put there by
`backroom queue add`), says it is alive in the queue, stops after its current item on SIGTERM, and a
runner killed mid-item is shown lost on the console's Runners page until the next runner takes its item
back and keys it once. On a real BILLSYS with real Chromium; the queue on PostgreSQL and on SQLite."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from runner.console import console_in_thread
from runner.console.users import UserStore
from runner.project.settings import BrowserSettings
from runner.work_queue import ItemState, RunRecord, open_queue

from .conftest import make_orders, orders_in_db, start_billing, wait_until
from .postgres_server import postgres_database
from .test_read_back_web import assert_orders_match

pytestmark = pytest.mark.web
CLI = [sys.executable, "-m", "runner.cli"]


def start_worker(project: Path, name: str, app_url: str, *before: str) -> subprocess.Popen:
    """A runner service in a process group of its own (its browser in it), as a service manager starts one."""
    return subprocess.Popen([*CLI, *before, "worker", "--bot", "rekey-orders", "--name", name, "--poll", "0.2",
                             "--heartbeat", "0.5", "--app-url", f"billing={app_url}"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def queue_add(project: Path, workbook: Path, *before: str) -> str:
    done = subprocess.run([*CLI, *before, "queue", "add", "rekey-orders", "--input", str(workbook)], cwd=project,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def states(queue) -> dict[str, ItemState]:
    return {i.reference: i.state for i in queue.items("rekey-orders")}


def runner_named(queue, name: str):
    return next((r for r in queue.runners() if r.name == name), None)


def test_a_runner_tells_the_chat_channel_once_per_failure_streak_and_at_each_run_leaving_review(
        project, secrets_env, tmp_path, webhook, monkeypatch):
    """Nobody watches a runner service: a run that fails, or leaves items for a person, is posted to the
    webhook set under notify: in backroom.yaml. A failing application is told once, not at each try of the
    back-off."""
    from runner.demo.sample_orders import write_orders_workbook

    with (project / "backroom.yaml").open("a") as settings:
        settings.write("notify: {webhook: {url_secret: chat_webhook}}\n")
    monkeypatch.setenv("BACKROOM_SECRET_CHAT_WEBHOOK", f"{webhook.url}/hooks/ops")
    rows = [["SO-9300001", "C001", "WID-100", 2, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9300002", "C013", "WID-100", 1, "12.50", "2026-12-01", "Normal", False, ""]]   # a closed account
    book = write_orders_workbook(tmp_path / "orders.xlsx", rows)
    with socket.socket() as probe:   # where BILLSYS will be: nothing answers there yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue_add(project, book)
    worker = start_worker(project, "night-9", f"http://127.0.0.1:{port}")
    queue = open_queue(f"sqlite:///{project / 'logs' / 'queue.sqlite3'}")
    try:
        wait_until(lambda: len(queue.runs("rekey-orders")) >= 3, 120, "three runs failing on the closed port", worker)
        assert [b["outcome"] for b in webhook.bodies()] == ["environment"]
        told = webhook.bodies()[0]
        assert (told["bot"], told["started_by"]) == ("rekey-orders", "runner:night-9")
        assert told["text"].startswith("Backroom: runner night-9 (rekey-orders) could not reach the application\n")
        assert "told again only after a run goes well" in told["message"]
        with start_billing(tmp_path, port=port) as app:
            wait_until(lambda: states(queue) == {"SO-9300001": ItemState.DONE,
                                                 "SO-9300002": ItemState.BUSINESS_EXCEPTION}, 120,
                       "the orders worked once BILLSYS answers", worker)
            wait_until(lambda: len(webhook.received) >= 2, 30, "the review notice", worker)
            assert [o["reference"] for o in orders_in_db(app.settings.db_path)] == ["SO-9300001"]
        review = webhook.bodies()[1]
        assert (review["outcome"], review["exit_code"]) == ("items_for_review", 1)
        assert "backroom queue list --state review --bot rekey-orders" in review["text"]
        assert review["report"].endswith("report.html") and Path(review["report"]).exists()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=120)
        queue.close()
    assert len(webhook.received) == 2


@pytest.mark.postgres
def test_a_runner_works_items_as_they_arrive_and_stops_after_its_item_on_sigterm(project, secrets_env, tmp_path):
    url = postgres_database()
    first_book, first_rows = make_orders(tmp_path / "monday.xlsx", 3, seed=71)
    second_book, second_rows = make_orders(tmp_path / "tuesday.xlsx", 4, seed=72)
    queue_url = ("--queue-url", url)
    # slow screens, so that SIGTERM arrives while an item is being keyed
    with start_billing(tmp_path, delay_ms=120) as app:
        worker = start_worker(project, "night-1", app.url, *queue_url)
        queue = open_queue(url)
        try:
            wait_until(lambda: runner_named(queue, "night-1") is not None, 60, "the runner to register", worker)
            assert runner_named(queue, "night-1").bots == ["rekey-orders"]
            assert "3 new item(s)" in queue_add(project, first_book, *queue_url)
            wait_until(lambda: set(states(queue).values()) == {ItemState.DONE}, 180, "monday's orders keyed", worker)
            assert_orders_match(app.settings.db_path, first_rows)
            assert runner_named(queue, "night-1").status == "alive"

            # more input arrives; SIGTERM once the runner is on its first item
            assert "4 new item(s)" in queue_add(project, second_book, *queue_url)
            second = [r[0] for r in second_rows]

            def working_on() -> list[str]:
                return [ref for ref in second if states(queue)[ref] == ItemState.IN_PROGRESS]

            wait_until(lambda: bool(working_on()), 60, "the runner to take tuesday's first order", worker)
            [current] = working_on()
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0, output
            assert "SIGTERM received: stopping after the current item" in output
            # the item it was on was finished, not given back; nothing after it was started
            after = states(queue)
            assert after[current] == ItemState.DONE
            assert all(after[ref] == ItemState.PENDING for ref in second if ref != current), after
            for ref in second:
                if ref != current:
                    assert [c.to_state for c in queue.history("rekey-orders", ref)] == ["pending"]
            keyed = {o["reference"] for o in orders_in_db(app.settings.db_path)}
            assert keyed == {r[0] for r in first_rows} | {current}   # each once (assert_orders_match counts)
            assert_orders_match(app.settings.db_path, [*first_rows, *(r for r in second_rows if r[0] == current)])

            stopped = runner_named(queue, "night-1")
            assert (stopped.status, stopped.message, stopped.reference) == ("stopped", "SIGTERM received", None)
            runs = queue.runs("rekey-orders")
            assert runs and {r.runner for r in runs} == {"night-1"}
            assert all(r.outcome == "success" and r.logs_dir == str((project / "logs").resolve()) for r in runs)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            queue.close()

    # the run registry names every run: one not in this logs folder is reported, not silently unseen
    verify = [*CLI, *queue_url, "audit", "verify", "--all"]
    done = subprocess.run(verify, cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    moved = runs[-1]
    (project / "logs" / "rekey-orders" / moved.run_id).rename(tmp_path / "elsewhere")
    done = subprocess.run(verify, cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "300"})
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"not in logs: rekey-orders/{moved.run_id}: the run registry lists it (runner night-1, success)" in \
        " ".join(done.stdout.split())


def test_a_killed_runner_is_shown_lost_until_the_next_one_takes_its_item_back(project, secrets_env, tmp_path):
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 2, seed=73)
    store = UserStore(project / "logs" / "console" / "users.sqlite3")
    store.add("olga", ["operator"], "olga-operates-42")
    store.close()
    with start_billing(tmp_path, delay_ms=120) as app:
        queue_add(project, workbook)
        queue = open_queue("sqlite:///logs/queue.sqlite3", project)
        first = start_worker(project, "day-1", app.url)
        second = None
        try:
            wait_until(lambda: ItemState.IN_PROGRESS in states(queue).values(), 90, "day-1 to take an order", first)
            held = next(ref for ref, state in states(queue).items() if state == ItemState.IN_PROGRESS)
            wait_until(lambda: runner_named(queue, "day-1").reference == held, 30, "day-1 to say what it works on", first)
            os.killpg(first.pid, signal.SIGKILL)   # the runner and its browser, mid-item
            first.wait(30)
            with console_in_thread(project) as console, sync_playwright() as p:
                browser = p.chromium.launch(**BrowserSettings().launch_options())
                page = browser.new_page()
                page.goto(console.url + "/runners")
                page.fill("input[name=name]", "olga")
                page.fill("input[name=password]", "olga-operates-42")
                page.click("button[type=submit]")
                row = page.locator("#runners tr[data-runner='day-1']")
                # three heartbeats missed: lost, and its order waits for recovery (the table refreshes by itself)
                expect(row.locator(".status")).to_have_text("lost", timeout=20_000)
                expect(row.locator(".note")).to_contain_text(f"{held} waits for recovery")
                expect(row.locator(".working")).to_contain_text(f"rekey-orders / {held}")

                second = start_worker(project, "day-2", app.url)
                wait_until(lambda: set(states(queue).values()) == {ItemState.DONE}, 180, "day-2 to key both", second)
                expect(row.locator(".note")).to_contain_text(f"{held} taken back: now done", timeout=20_000)
                expect(page.locator("#runners tr[data-runner='day-2'] .status")).to_have_text("alive")
                # a run another machine's runner wrote to a disk of its own is listed where the runs are, not unseen
                queue.record_run(RunRecord("rekey-orders", "20261126-010203-beef", "node-2", "node-2",
                                           "/var/backroom/logs", "success"))
                page.goto(console.url + "/runs")
                elsewhere = page.locator("#runs-elsewhere tr[data-run='20261126-010203-beef']")
                expect(elsewhere).to_contain_text("/var/backroom/logs on node-2")
                expect(page.locator("#runs-elsewhere tr[data-run]")).to_have_count(1)   # the runs here are not
                browser.close()
            # taken back as a recovery: looked up in BILLSYS before anything was keyed again; each order once
            assert any("recovered" in c.message for c in queue.history("rekey-orders", held))
            assert_orders_match(app.settings.db_path, rows)
            second.send_signal(signal.SIGTERM)
            second.communicate(timeout=120)
            assert second.returncode == 0
            assert {r.name: r.status for r in queue.runners()} == {"day-1": "lost", "day-2": "stopped"}
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
            queue.close()


def test_a_runner_refuses_a_bot_it_cannot_work_before_it_registers(project, tmp_path):
    for bot, said in (("reconcile-accounts", "reconciles a statement given to each run"),
                      ("no-such-bot", "no-such-bot")):
        done = subprocess.run([*CLI, "worker", "--bot", bot], cwd=project, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "200"})
        assert done.returncode == 2 and said in " ".join(done.stderr.split()), done.stdout + done.stderr
    queue = open_queue("sqlite:///logs/queue.sqlite3", project)
    try:
        assert queue.runners() == []
    finally:
        queue.close()
