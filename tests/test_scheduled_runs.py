"""A scheduled run is a real `backroom run` process under a lock per bot and a time limit: a hanging
bot is stopped at its limit and gives its item back, a crashing bot is reported, and a second
runner of the same bot is refused until the first one's lock is gone (even when it was killed)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta

from runner import load_settings
from runner.scheduler.config import Job
from runner.run import lock_path
from runner.scheduler.runs import run_job
from runner.scheduler.when import parse_when
from runner.work_queue import ItemState, open_queue

from .conftest import ROOT, make_orders


def bot_with_rule(project, name: str, rule: str) -> str:
    """A copy of rekey-orders whose bot.py does `rule` before the first item is keyed."""
    folder = project / "bots" / name
    shutil.copytree(project / "bots" / "rekey-orders", folder)
    bot_yaml = folder / "bot.yaml"
    bot_yaml.write_text(bot_yaml.read_text().replace("name: rekey-orders", f"name: {name}"))
    (folder / "bot.py").write_text(f"import os, signal, time\n\ndef check_item(item):\n    {rule}\n")
    return name


def job(bot: str, input_file, limit_s: float) -> Job:
    return Job(f"{bot} job", bot, parse_when("every 10 seconds"), input_file, None, "*.xlsx",
               timedelta(seconds=limit_s), False, "schedules.yaml:1")


def test_a_hanging_run_is_stopped_at_its_limit_and_gives_its_item_back(project, secrets_env, tmp_path):
    bot = bot_with_rule(project, "hanging-orders", "time.sleep(3600)")
    orders, _ = make_orders(tmp_path / "orders.xlsx", 2)
    started = time.monotonic()
    outcome = run_job(job(bot, orders, limit_s=8), project)
    assert outcome.outcome == "timed_out" and "limit of 0:00:08" in outcome.message
    assert time.monotonic() - started < 8 + 40
    assert outcome.needs_notice and outcome.run_dir is not None
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        states = {i.reference: i.state for i in queue.items(bot)}
    finally:
        queue.close()
    assert set(states.values()) == {ItemState.PENDING}   # nothing left in progress, nothing lost
    events = (project / outcome.run_dir / "events.jsonl").read_text()
    assert '"started_by": "scheduler:hanging-orders job"' in events and '"outcome": "interrupted"' in events
    assert '"message": "stopped now by the scheduler (past its time limit)"' in events   # who stopped it, and why


def test_a_crashing_run_is_reported_and_does_not_take_the_caller_down(project, secrets_env, tmp_path):
    bot = bot_with_rule(project, "crashing-orders", "os.kill(os.getpid(), signal.SIGKILL)")
    orders, _ = make_orders(tmp_path / "orders.xlsx", 1)
    outcome = run_job(job(bot, orders, limit_s=120), project)
    assert outcome.outcome == "crashed" and outcome.exit_code == -signal.SIGKILL
    assert "ended abnormally" in outcome.message and outcome.needs_notice


def test_one_run_per_bot_and_a_dead_holder_releases_the_lock(project, secrets_env, tmp_path):
    bot = bot_with_rule(project, "quick-orders", "raise __import__('runner').BusinessException('checked')")
    orders, _ = make_orders(tmp_path / "orders.xlsx", 1)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from filelock import FileLock; "
                               "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(600)",
                               str(lock_path(project, bot))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = run_job(job(bot, orders, limit_s=120), project)
        assert refused.outcome == "locked" and "another run of quick-orders is still going" in refused.message
    finally:
        holder.send_signal(signal.SIGKILL)       # the holder dies without unlocking: the system lets go
        holder.wait()
    ran = run_job(job(bot, orders, limit_s=120), project)
    assert ran.outcome == "items_for_review" and ran.exit_code == 1


def test_a_project_whose_logs_live_elsewhere_keeps_everything_there(project, billing, secrets_env, tmp_path,
                                                                     monkeypatch):
    """logs_dir set in backroom.yaml: runs, locks, the queue, scheduler logs and state, and every command
    that reads them use that folder; nothing appears under logs/."""
    import os

    import yaml

    config = yaml.safe_load((project / "backroom.yaml").read_text())
    config.pop("queue")   # unset, the queue follows logs_dir
    config.update({"logs_dir": "records/logs",
                   "audit": {"private_key": "records/keys/signing-key.pem",
                             "public_key": "records/keys/signing-key.pub"}})
    (project / "backroom.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "schedules.yaml", project / "schedules.yaml")
    monkeypatch.setenv("BACKROOM_APP_BILLING_URL", billing.url)
    orders, rows = make_orders(tmp_path / "orders.xlsx", 1, seed=95)
    outcome = run_job(job("rekey-orders", orders, limit_s=120), project)
    assert outcome.outcome == "success", outcome
    logs = project / "records" / "logs"
    assert (logs / "queue.sqlite3").is_file()
    assert outcome.run_dir and (logs / "rekey-orders") in (project / outcome.run_dir).parents
    assert (logs / "locks" / "rekey-orders.lock").exists() and (logs / "scheduler-runs.log").exists()
    env = {**os.environ, "COLUMNS": "200"}
    for command in (["audit", "verify", "--all"], ["audit", "item", rows[0][0]], ["queue", "list"],
                    ["scheduler", "status"], ["bots"], ["check", "rekey-orders"]):
        done = subprocess.run([sys.executable, "-m", "runner.cli", *command], cwd=project, capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, (command, done.stdout + done.stderr)
    assert (logs / "scheduler.sqlite3").exists()   # scheduler status opened its state there
    assert not (project / "logs").exists()
