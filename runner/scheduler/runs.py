"""One scheduled run: a ChildRun (the same child process the menu and the console start), under a
time limit.

The child holds the bot's file lock, which the operating system drops when its holder dies, so two
schedulers started by mistake never run the same bot at once and a crashed one never blocks the
next night. A run that passes its limit, or is running when the scheduler stops, is asked to stop
(SIGINT: it gives its item back to the queue and seals its evidence), then killed with its whole
process group (the browser included). A run that crashes is reported; the scheduler goes on. Each
run's outcome is written to scheduler-runs.log in the logs folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..project.settings import logs_folder
from ..run import ChildEnded, ChildRun, RunRequest, new_run_id
from ..run.notices import NOTICED_OUTCOMES, RunNotice, judge_ended
from .config import Job

STOP_GRACE_S = 30.0     # after SIGINT, how long a run may take to give its item back before it is killed

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
        return self.outcome in NOTICED_OUTCOMES

    def notice(self, planned: datetime | None) -> RunNotice:
        return RunNotice(self.job, f"scheduler:{self.job}", self.bot, self.outcome, self.message, self.started,
                         self.finished, self.exit_code, self.input, self.run_dir, planned)


def run_job(job: Job, project: Path, should_stop: Callable[[], bool] = lambda: False,
            poll_s: float = 0.2) -> RunOutcome:
    project = Path(project).resolve()
    started = time.time()

    def outcome(kind: str, message: str, **extra) -> RunOutcome:
        return RunOutcome(job.name, job.bot, kind, message, started, time.time(), **extra)

    input_path = job.input_path()
    if input_path is None:
        return outcome("no_input", f"no file matching {job.pattern} in {job.inbox}; nothing to run")
    input_path = input_path if input_path.is_absolute() else project / input_path
    # the run's id is chosen here: its folder is known even if it has to be killed before it reports
    run_id = new_run_id()
    child = ChildRun(RunRequest(bot=job.bot, input_path=input_path, project=project, run_id=run_id,
                                started_by=f"scheduler:{job.name}", virtual_display=job.virtual_display))
    ended, how = _wait(child, job.max_run_time.total_seconds(), should_stop, poll_s)
    # a run starts when it holds its bot's lock, so two runs' records never overlap; one stopped before it
    # held the lock never ran: its record is the moment it ended
    started = child.holding_since if child.holding_since is not None else time.time()
    finished = child.released_at if child.holding_since is not None and child.released_at else time.time()
    run_dir = logs_folder(project) / job.bot / run_id
    judged = _judge(ended, how, job)
    result = RunOutcome(job.name, job.bot, judged[0], judged[1], started, max(finished, started), input=str(input_path),
                        **{**judged[2], "run_dir": str(run_dir) if run_dir.is_dir() else None})
    _log(project, job, result)
    return result


def _wait(child: ChildRun, limit_s: float, should_stop: Callable[[], bool], poll_s: float) -> tuple[ChildEnded, str]:
    """Wait for the run; past its limit, or when the scheduler stops, ask it to stop, then kill it."""
    deadline = time.monotonic() + limit_s
    how, kill_at = "finished", None
    while True:
        message = child.next_message(timeout=poll_s)
        if isinstance(message, ChildEnded):
            return message, how
        if kill_at is None and (time.monotonic() >= deadline or should_stop()):
            how = "timed_out" if time.monotonic() >= deadline else "stopped"
            # it releases its item and seals its evidence
            child.stop_now(by="the scheduler (past its time limit)" if how == "timed_out" else "the scheduler (stopping)")
            kill_at = time.monotonic() + STOP_GRACE_S
        elif kill_at is not None and time.monotonic() >= kill_at:
            child.kill()


def _judge(ended: ChildEnded, how: str, job: Job) -> tuple[str, str, dict]:
    """(outcome, message, the run's exit code when it has one)"""
    kind, message, code = judge_ended(ended)
    if ended.error is not None and ended.error.kind == "BotBusyError":
        return "locked", ended.error.message, {}
    if how == "timed_out":
        return "timed_out", f"still running after its limit of {job.max_run_time}; stopped", {"exit_code": code}
    if how == "stopped":
        return "stopped", "the scheduler was stopping; the run was asked to stop and did", {"exit_code": code}
    return kind, message, {"exit_code": code}


def _log(project: Path, job: Job, outcome: RunOutcome) -> None:
    """One line per run in scheduler-runs.log (the run's own log and evidence are in its folder)."""
    log = logs_folder(project) / "scheduler-runs.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {job.name}: {job.bot} on {outcome.input}: "
                  f"{outcome.outcome} (exit {outcome.exit_code}) {outcome.message}"
                  + (f" [{outcome.run_dir}]" if outcome.run_dir else "") + "\n")
