"""Several desktop workers at once: each a process with a virtual screen and a LEDGER/AR of its own, all
posting into the one LEDGER database, all writing into the run's one trail.

Checked in LEDGER's own database: every payment posted once, for its amount.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from runner import ExitCode, RunRequest, load_settings, start_run
from runner.audit.signing import load_verifier
from runner.audit.verify import verify_run

from .conftest import make_payments, wait_until

ACCOUNTS = ["C1001", "C1002", "C1003", "C1004", "C1005", "C1006", "C1007", "C1008"]


def events_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_two_desktop_workers_post_each_payment_once_on_screens_of_their_own(project, ledger, screen, tmp_path):
    rows = [[f"PAR-{n:02d}", account, 10 + n, date(2026, 11, 2)] for n, account in enumerate(ACCOUNTS, 1)]
    workbook = make_payments(tmp_path / "payments.xlsx", rows)
    before = os.environ["DISPLAY"]
    # C1003's first posting finds its record locked: a retry, by whichever worker claims it again
    result = start_run(RunRequest(bot="post-payments", input_path=workbook, project=project, workers=2,
                                  virtual_display=True, app_commands={"ledger": ledger.command("--lock-once", "C1003")}))

    assert os.environ["DISPLAY"] == before
    assert result.exit_code == ExitCode.OK, [(i.reference, i.outcome, i.message) for i in result.items]
    posted = ledger.payments()
    assert sorted(p["payment_ref"] for p in posted) == [r[0] for r in rows]   # each once
    by_ref = {p["payment_ref"]: p for p in posted}
    for ref, account, amount, _ in rows:
        assert by_ref[ref]["account"] == account
        assert Decimal(by_ref[ref]["amount_cents"]) / 100 == Decimal(amount)

    events = events_of(result.run_dir)
    started = [e for e in events if e["kind"] == "item" and e["outcome"] == "started"]
    leases = {e["data"]["lease"] for e in started}
    # the run's own lane and a worker process (its own process id in its lease) both posted
    assert len(leases) == 2 and any(lease.endswith("#2") for lease in leases), leases
    assert len({lease.split(":")[1] for lease in leases}) == 2
    by_lease = {lease: [e["item"] for e in started if e["data"]["lease"] == lease] for lease in leases}
    assert all(by_lease.values()), by_lease
    # one chain: numbered once each, every picture on disk under its hash, sealed and verified clean
    assert sorted(e["seq"] for e in events) == list(range(1, len(events) + 1))
    done = [e for e in events if e["kind"] == "item" and e["outcome"] == "done"]
    assert sorted(e["item"] for e in done) == [r[0] for r in rows]
    worker_steps = [e for e in events if e["kind"] == "step" and e.get("screenshot")
                    and e["item"] in by_lease[next(lease for lease in leases if lease.endswith("#2"))]]
    assert worker_steps
    verified = verify_run(result.run_dir, load_verifier(load_settings(project), project))
    assert verified.ok and not verified.findings, verified.findings
    # the worker's log lines are in the run's log, under the item they are about
    log = (result.run_dir / "run.log").read_text(encoding="utf-8")
    retried = next(e for e in events if e["kind"] == "item" and e["outcome"] == "retrying")
    assert f"[{retried['item']}]" in log and "retrying in" in log


def test_desktop_workers_need_a_screen_each_which_virtual_display_gives(project, ledger, screen, tmp_path):
    workbook = make_payments(tmp_path / "payments.xlsx", [["ONE-1", "C1001", 5.00, date(2026, 11, 2)],
                                                          ["ONE-2", "C1002", 6.00, date(2026, 11, 2)]])
    command = [sys.executable, "-m", "runner.cli", "run", "post-payments", "--input", str(workbook), "--workers", "2",
               "--app-command", f"ledger={ledger.command()}"]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == ExitCode.BAD_INPUT, done.stdout + done.stderr
    assert "--workers 2" in done.stderr and "a screen of its own" in done.stderr and "--virtual-display" in done.stderr
    assert ledger.payments() == []

    # as the README shows it: a virtual screen for each worker
    done = subprocess.run(command + ["--virtual-display"], cwd=project, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert sorted(p["payment_ref"] for p in ledger.payments()) == ["ONE-1", "ONE-2"]


def test_a_worker_process_killed_mid_item_loses_nothing_and_keys_nothing_twice(project, ledger, screen, tmp_path):
    rows = [[f"KIL-{n:02d}", account, 20 + n, date(2026, 11, 3)] for n, account in enumerate(ACCOUNTS[:6], 1)]
    workbook = make_payments(tmp_path / "payments.xlsx", rows)
    request = RunRequest(bot="post-payments", input_path=workbook, project=project, workers=2, virtual_display=True,
                         app_commands={"ledger": ledger.command()})
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("result", start_run(request)), daemon=True)
    runner.start()
    logs = project / "logs" / "post-payments"

    def worker_typing() -> dict | None:   # worker 2 is filling in LEDGER's posting screen for an item it holds
        for path in logs.glob("*/events.jsonl") if logs.exists() else []:
            events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]
            held = {e["item"]: e["data"]["lease"] for e in events if e["kind"] == "item" and e["outcome"] == "started"
                    and e["data"]["lease"].endswith("#2")}
            if any(e["kind"] == "step" and e.get("action") == "fill" and (e.get("target") or "").startswith("post.")
                   and e.get("item") in held for e in events):
                return held
        return None

    wait_until(lambda: worker_typing() is not None or not runner.is_alive(), 240, "worker 2 typing an item")
    held = worker_typing()
    assert held, "worker 2 never got an item"
    pid = int(next(iter(held.values())).split(":")[1])
    os.kill(pid, signal.SIGKILL)
    runner.join(300)
    first = outcome["result"]
    assert first.exit_code != ExitCode.OK
    assert "worker 2 stopped unexpectedly" in first.message
    # the dead worker's screen and its LEDGER/AR went with it: no program is left running on the database
    wait_until(lambda: not programs_on(ledger.db), 30, "the dead worker's programs to quit")
    posted_once = [p["payment_ref"] for p in ledger.payments()]
    assert len(posted_once) == len(set(posted_once))   # nothing twice, even in the run that lost a worker

    # the next run takes back what the dead worker held (its lease's process is gone) and finishes the rest
    again = start_run(RunRequest(bot="post-payments", input_path=workbook, project=project,
                                 app_commands={"ledger": ledger.command()}))
    assert again.exit_code == ExitCode.OK, [(i.reference, i.outcome, i.message) for i in again.items]
    posted = ledger.payments()
    assert sorted(p["payment_ref"] for p in posted) == [r[0] for r in rows]   # each exactly once
    done_first = {e["item"] for e in events_of(first.run_dir) if e["kind"] == "item" and e["outcome"] == "done"}
    cut_short = sorted(item for item in held if item not in done_first)   # the item worker 2 died on
    assert len(cut_short) == 1, (held, done_first)
    recovered = [e["item"] for e in events_of(again.run_dir) if e["kind"] == "item" and e["outcome"] == "started"
                 and e["data"]["recovered"]]
    assert recovered == cut_short
    # the first run's evidence is whole: sealed, and it says why it stopped
    verified = verify_run(first.run_dir, load_verifier(load_settings(project), project))
    assert verified.ok and not verified.findings, verified.findings


def programs_on(db: Path) -> list[int]:
    """Processes of LEDGER/AR started on `db`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(db).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_virtual_display_not_yet_listening_is_waited_for_not_a_crash(screen):
    from runner.drivers.display import _wait_until_accepting
    from runner.errors import DisplayError

    # xvfbwrapper's display numbers are high: before the server's socket exists, python-xlib tries TCP
    # port 6000 + n, which is out of range. That is "not yet", said as a DisplayError after the wait.
    try:
        _wait_until_accepting(":1999999999", 0.3)
    except DisplayError as exc:
        assert "did not accept connections within 0.3s" in str(exc)
    else:
        raise AssertionError("a display nobody serves was called ready")
    _wait_until_accepting(screen, 5)   # the session's screen answers at once
