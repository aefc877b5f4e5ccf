"""Desktop programs started and stopped as a person would: a launcher that starts the program in the
background and exits, a program that quits when its window is closed (and so clears its in-use
mark), one that asks to save and is killed only after its close time-out. Checked in LEDGER/AR's
own files: its database and the in-use mark it keeps while open."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from runner import ExitCode, RunRequest, start_run

from .conftest import make_payments


def launcher(folder: Path, body: str) -> str:
    """A launcher script, as legacy programs ship them; returns the command that runs it."""
    script = folder / "ledger-launcher.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return f"sh {script}"


def run(project: Path, tmp_path: Path, command: str, reference: str):
    workbook = make_payments(tmp_path / f"{reference}.xlsx", [[reference, "C1001", 12.5, dt.date(2026, 11, 2)]])
    return start_run(RunRequest(bot="post-payments", input_path=workbook, project=project,
                                app_commands={"ledger": command}))


def app_events(result) -> list[dict]:
    lines = (result.run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e.get("action") in ("launch", "close_app") or e["kind"] == "app"]


def test_a_launcher_that_starts_the_program_and_exits_is_a_good_start_and_the_program_quits_cleanly(
        project, ledger, screen, tmp_path):
    command = launcher(tmp_path, f'"$1" -m runner.demo.ledger_desktop --db "{ledger.db}" &\nexit 0\n')
    result = run(project, tmp_path, command + " {python}", "BG-0001")
    assert result.exit_code == ExitCode.OK, result.message
    assert [p["payment_ref"] for p in ledger.payments()] == ["BG-0001"]
    launched = next(e for e in app_events(result) if e.get("action") == "launch")
    assert "started by its launcher" in launched["message"]
    # the run ended by closing LEDGER's window: LEDGER quit its own way and cleared its in-use mark
    assert not ledger.db.with_name(ledger.db.name + ".inuse").exists()


def test_a_launcher_that_fails_says_why_at_once(project, ledger, screen, tmp_path):
    command = launcher(tmp_path, 'echo "LEDGER/AR: licence file not found" >&2\nexit 4\n')
    result = run(project, tmp_path, command, "BAD-0001")
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "exited at start with code 4: LEDGER/AR: licence file not found" in result.message
    assert ledger.payments() == []


def test_a_program_that_asks_to_save_is_killed_only_after_its_close_time_out(project, ledger, screen, tmp_path):
    settings = project / "backroom.yaml"
    config = yaml.safe_load(settings.read_text())
    config["apps"]["ledger"]["close_timeout_s"] = 2
    settings.write_text(yaml.safe_dump(config))
    result = run(project, tmp_path, ledger.command("--ask-on-close"), "ASK-0001")
    assert result.exit_code == ExitCode.OK, result.message
    assert [p["payment_ref"] for p in ledger.payments()] == ["ASK-0001"]
    # it did not quit when its window was closed, so it was killed: its in-use mark stays, as a killed
    # program's does, and the run's log says why
    assert ledger.db.with_name(ledger.db.name + ".inuse").exists()
    log = (result.run_dir / "run.log").read_text(encoding="utf-8")
    assert "killed: it had not quit 2s after it was asked to" in log
