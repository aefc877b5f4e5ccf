"""One scheduled run: its own `backroom run` process, under a lock per bot and a time limit.

The lock is a file lock the operating system drops when its holder dies, so two schedulers
started by mistake never run the same bot at once and a crashed one never blocks the next
night. A run that passes its limit is asked to stop (Ctrl-C: it gives its item back to the
queue), then killed with its whole process group (the browser included). A run that crashes
is reported; the scheduler goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from ..errors import ExitCode
from ..run import lock_path
from ..project.settings import logs_folder
from .config import Job

STOP_GRACE_S = 30.0     # after Ctrl-C, how long a run may take to give its item back before it is killed

OUTCOME_FOR_EXIT = {ExitCode.OK: "success", ExitCode.ITEMS_FAILED: "items_for_review",
                    ExitCode.BAD_INPUT: "bad_input", ExitCode.ENVIRONMENT: "environment",
                    ExitCode.INTERRUPTED: "stopped"}
FAILED_OUTCOMES = {"bad_input", "environment", "timed_out", "crashed"}


@dataclass
class RunOutcome:
    job: str
    bot: str
    outcome: str            # success, items_for_review, bad_input, environment, timed_out, crashed, stopped,
                            # locked (another run of the bot was going), no_input (the inbox was empty)
    message: str
    started: float
    finished: float
    exit_code: int | None = None
    input: str | None = None
    run_dir: str | None = None

    @property
    def needs_notice(self) -> bool:
        return self.outcome in FAILED_OUTCOMES or self.outcome == "items_for_review"


def run_job(job: Job, project: Path, should_stop: Callable[[], bool] = lambda: False,
            python: str = sys.executable, poll_s: float = 0.2) -> RunOutcome:
    project = Path(project)
    started = time.time()

    def outcome(kind: str, message: str, **extra) -> RunOutcome:
        return RunOutcome(job.name, job.bot, kind, message, started, time.time(), **extra)

    lock = FileLock(lock_path(project, job.bot))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return outcome("locked", f"another run of {job.bot} is still going; this one was not started")
    started = time.time()   # a run starts when it holds its bot's lock: its record never overlaps another's
    try:
        input_path = job.input_path()
        if input_path is None:
            return outcome("no_input", f"no file matching {job.pattern} in {job.inbox}; nothing to run")
        before = _run_dirs(project, job.bot)
        command = [python, "-m", "runner.cli", "run", job.bot, "--input", str(input_path)]
        if job.virtual_display:
            command.append("--virtual-display")
        log = logs_folder(project) / "scheduler-runs.log"
        with log.open("a", encoding="utf-8") as output:
            output.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} {job.name}: {' '.join(command[1:])}\n")
            output.flush()
            process = subprocess.Popen(command, cwd=project, stdout=output, stderr=subprocess.STDOUT,
                                       env={**os.environ, "BACKROOM_STARTED_BY": f"scheduler:{job.name}"},
                                       **_OWN_GROUP)
            code, how = _wait(process, job.max_run_time.total_seconds(), should_stop, poll_s)
        new_dirs = sorted(_run_dirs(project, job.bot) - before)
        extra = {"exit_code": code, "input": str(input_path), "run_dir": str(new_dirs[-1]) if new_dirs else None}
        if how == "timed_out":
            return outcome("timed_out", f"still running after its limit of {job.max_run_time}; stopped", **extra)
        if how == "stopped":
            return outcome("stopped", "the scheduler was stopping; the run was asked to stop and did", **extra)
        try:
            kind = OUTCOME_FOR_EXIT[ExitCode(code)]
        except (ValueError, KeyError):   # killed by a signal, or an internal error (70)
            kind = None
        if kind is not None:
            return outcome(kind, _message(kind, code), **extra)
        return outcome("crashed", f"the run ended abnormally (exit code {code}); see {log}",
                       **extra)
    finally:
        lock.release()


def _message(kind: str, code: int) -> str:
    return {"success": "every item done", "items_for_review": "finished; some items wait for a person",
            "bad_input": "refused its input or definition (exit 2)",
            "environment": "could not reach the application or the screen (exit 3)",
            "stopped": "stopped (exit 130)"}.get(kind, f"exit code {code}")


def _wait(process: subprocess.Popen, limit_s: float, should_stop: Callable[[], bool], poll_s: float):
    """Wait for the run; past its limit, or when the scheduler stops, Ctrl-C it, then kill it."""
    deadline = time.monotonic() + limit_s
    while process.poll() is None:
        if time.monotonic() >= deadline:
            _stop(process)
            return process.returncode, "timed_out"
        if should_stop():
            _stop(process)
            return process.returncode, "stopped"
        time.sleep(poll_s)
    return process.returncode, "finished"


# The run gets its own process group, so stopping it reaches its browser and nothing else.
_OWN_GROUP = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt"
              else {"start_new_session": True})


def _stop(process: subprocess.Popen) -> None:
    try:
        if os.name == "nt":
            process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(process.pid, signal.SIGINT)  # the run releases its item, writes its report
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True)
        else:
            os.killpg(process.pid, signal.SIGKILL)  # the browser goes with it
        process.wait()
    except ProcessLookupError:
        process.wait()


def _run_dirs(project: Path, bot: str) -> set[Path]:
    folder = logs_folder(project) / bot
    return {p for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
