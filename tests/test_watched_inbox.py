"""`when: whenever a file arrives`: a bot starts on each file that lands in its inbox, once per file,
oldest first, never while another run of the bot goes, never on a file still being copied, and never
twice across a restart. First the rules with the scheduler's own loop, then the real scheduler
process keying real files into a real BILLSYS."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.scheduler.arrivals import InboxWatch
from runner.scheduler.config import load_schedules
from runner.scheduler.runs import RunOutcome
from runner.scheduler.service import Scheduler
from runner.scheduler.state import SchedulerState

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db, start_billing, wait_until

WATCHED = ("time_zone: UTC\n"
           "jobs:\n"
           "  - name: orders as they arrive\n"
           "    bot: rekey-orders\n"
           "    when: whenever a file arrives\n"
           "    input: {newest_in: inbox/orders, pattern: \"*.xlsx\"}\n"
           "    max_run_time: 5m\n")


class Runs:
    """Stands in for the child run in the rules test: which files each run was given, and what it says."""

    def __init__(self):
        self.files: list[str] = []
        self.answer = "success"

    def __call__(self, job, project, should_stop):
        now = time.time()
        if self.answer == "locked":
            return RunOutcome(job.name, job.bot, "locked", "another run of rekey-orders holds its lock", now, now)
        self.files.append(job.input_file.name)
        return RunOutcome(job.name, job.bot, self.answer, "", now, now, input=str(job.input_file))


def _drop(folder: Path, name: str, content: bytes = b"x", mtime: float | None = None) -> Path:
    path = folder / name
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _scheduler(project: Path, runs: Runs) -> Scheduler:
    scheduler = Scheduler(project, load_schedules(project), runner=runs,
                          state=SchedulerState(project / "logs" / "scheduler.sqlite3"))
    scheduler.watch = InboxWatch(scheduler.state, settle_s=0.0)   # a file unchanged between two looks has settled
    return scheduler


def test_each_file_runs_once_oldest_first_and_a_busy_bot_or_a_restart_loses_none(project, monkeypatch):
    (project / "schedules.yaml").write_text(WATCHED)
    inbox = project / "inbox" / "orders"
    inbox.mkdir(parents=True)
    runs = Runs()
    scheduler = _scheduler(project, runs)
    assert scheduler.next_runs() == {"orders as they arrive": None}   # no clock time: a file starts it
    _drop(inbox, "late.xlsx", mtime=2_000_000_000)
    _drop(inbox, "early.xlsx", mtime=1_900_000_000)
    _drop(inbox, "~$early.xlsx")          # Excel's lock file
    _drop(inbox, ".partial.xlsx")         # a hidden file being copied in
    _drop(inbox, "notes.txt")             # not the pattern
    scheduler.watch_inboxes()
    assert runs.files == []               # first seen: it may still be growing
    scheduler.watch_inboxes()
    assert runs.files == ["early.xlsx", "late.xlsx"]
    scheduler.watch_inboxes()
    assert runs.files == ["early.xlsx", "late.xlsx"]   # each once

    # a file still being written is looked at again until it stops changing
    growing = _drop(inbox, "growing.xlsx", b"1")
    scheduler.watch_inboxes()
    growing.write_bytes(b"12")
    os.utime(growing, (time.time() + 5, time.time() + 5))
    scheduler.watch_inboxes()
    assert "growing.xlsx" not in runs.files
    scheduler.watch_inboxes()
    assert runs.files[-1] == "growing.xlsx"

    # another run holds the bot: the file waits, and is run once the bot is free
    monkeypatch.setattr("runner.scheduler.service.BUSY_RETRY_S", 0.0)
    runs.answer = "locked"
    _drop(inbox, "while-busy.xlsx")
    scheduler.watch_inboxes()
    scheduler.watch_inboxes()
    assert "while-busy.xlsx" not in runs.files
    runs.answer = "items_for_review"
    scheduler.watch_inboxes()
    assert runs.files.count("while-busy.xlsx") == 1

    # a restart remembers what it ran; a file replaced under the same name is a new file
    scheduler.state.close()
    again = _scheduler(project, runs)
    _drop(inbox, "early.xlsx", b"a new export", mtime=2_100_000_000)
    again.watch_inboxes()
    again.watch_inboxes()
    assert runs.files.count("early.xlsx") == 2 and runs.files.count("late.xlsx") == 1
    assert runs.files.count("while-busy.xlsx") == 1

    # a paused job leaves its files in the inbox
    again.state.pause("orders as they arrive", "maria", time.time(), "month end")
    _drop(inbox, "held.xlsx")
    again.watch_inboxes()
    again.watch_inboxes()
    assert "held.xlsx" not in runs.files
    again.state.resume("orders as they arrive")
    again.watch_inboxes()
    again.watch_inboxes()
    assert runs.files[-1] == "held.xlsx"
    reasons = {row[0] for row in again.state.conn.execute("SELECT reason FROM runs")}
    assert reasons == {"arrival"}
    again.state.close()


def test_a_watched_job_needs_an_inbox_and_the_phrase_names_its_line(project):
    (project / "schedules.yaml").write_text(WATCHED.replace("{newest_in: inbox/orders, pattern: \"*.xlsx\"}",
                                                            "{file: bots/rekey-orders/sample/orders.xlsx}"))
    schedules = load_schedules(project)
    assert schedules.jobs == []
    assert schedules.problems == ["schedules.yaml:5: job 'orders as they arrive': 'whenever a file arrives' watches an "
                                  "inbox folder; give it as input: {newest_in: FOLDER, pattern: \"*.xlsx\"}"]
    (project / "schedules.yaml").write_text(WATCHED.replace("whenever a file arrives", "whenever a fax arrives"))
    problems = load_schedules(project).problems   # a phrase it does not know: its line, and phrases that work
    assert problems[0].startswith("schedules.yaml:5: job 'orders as they arrive': 'whenever a fax arrives' is not")
    assert "whenever a file arrives" in problems[0]


@pytest.mark.web
def test_the_scheduler_keys_each_file_dropped_in_the_inbox_into_billsys_once(project, secrets_env, tmp_path):
    (project / "schedules.yaml").write_text(WATCHED)
    inbox = project / "inbox" / "orders"
    inbox.mkdir(parents=True)
    first, first_rows = make_orders(tmp_path / "monday.xlsx", 3, seed=81)
    second, second_rows = make_orders(tmp_path / "tuesday.xlsx", 2, seed=82)
    with start_billing(tmp_path) as app:
        env = {**os.environ, "BACKROOM_APP_BILLING_URL": app.url, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
               "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
        scheduler = subprocess.Popen([sys.executable, "-m", "runner.cli", "scheduler", "--poll", "0.2"], cwd=project,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            os.replace(first, inbox / first.name)        # a file lands, as another system's export would
            wait_until(lambda: len(orders_in_db(app.settings.db_path)) == 3, 120, "monday's orders in BILLSYS",
                       scheduler)
            os.replace(second, inbox / second.name)
            wait_until(lambda: len(orders_in_db(app.settings.db_path)) == 5, 120, "tuesday's orders in BILLSYS",
                       scheduler)
            wait_until(lambda: len(_arrivals(project)) == 2, 60, "both files taken", scheduler)
        finally:
            scheduler.send_signal(signal.SIGTERM)
            output = scheduler.communicate(timeout=90)[0]
        keyed = sorted(o["reference"] for o in orders_in_db(app.settings.db_path))
    assert scheduler.returncode == 0, output
    assert keyed == sorted(r[0] for r in first_rows + second_rows)   # each once, none missing
    assert [(name, outcome) for name, outcome, _ in _arrivals(project)] == [("monday.xlsx", "success"),
                                                                            ("tuesday.xlsx", "success")]
    assert all(run_dir and (Path(run_dir) / "report.html").exists() for _, _, run_dir in _arrivals(project))
    said = (project / "logs" / "scheduler.log").read_text()
    assert "orders as they arrive: monday.xlsx arrived in" in said and "tuesday.xlsx arrived in" in said


def _arrivals(project: Path) -> list[tuple]:
    with sqlite3.connect(project / "logs" / "scheduler.sqlite3") as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'arrivals'").fetchone() is None:
            return []
        return conn.execute("SELECT file, outcome, run_dir FROM arrivals ORDER BY taken").fetchall()
