"""Is the scheduler running? Read from its heartbeat in logs/scheduler.sqlite3 (service.py beats every
few seconds from a thread of its own, also while a run takes an hour), for `backroom scheduler status`
and the console's status strip."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..project.settings import logs_folder
from ..work_queue import age_text
from .service import BEAT_S, STATE_FILE
from .state import SchedulerState

LOST_AFTER_S = 3 * BEAT_S


def _ago(seconds: float) -> str:
    said = age_text(seconds)
    return said if said == "just now" else f"{said} ago"


@dataclass(frozen=True)
class SchedulerLife:
    status: str          # running, stopped, lost, never
    host: str = ""
    pid: int = 0
    heard_ago_s: float = 0.0
    doing: str = ""      # what runs now, or next
    also_running: tuple[str, ...] = ()   # other schedulers of this project running at once: "host (pid N)"

    def text(self) -> str:
        if self.status == "running":
            said = f"running on {self.host} (pid {self.pid})" + (f"; {self.doing}" if self.doing else "")
            if self.also_running:
                said += (f"; also running on {', '.join(self.also_running)}: one scheduler per project is enough "
                         "(each bot still runs once at a time), stop the others")
            return said
        if self.status == "stopped":
            return f"stopped ({_ago(self.heard_ago_s)})"
        if self.status == "lost":
            return (f"not running: last heard of {_ago(self.heard_ago_s)} on {self.host} (pid {self.pid}), "
                    "without saying it stopped")
        return "has not run for this project"


def _process_gone(host: str, pid: int) -> bool:
    if host != socket.gethostname() or pid <= 0:
        return False   # another machine's process: only its heartbeat can tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _status(row, now: float) -> str:
    heard = max(0.0, now - row["beat"])
    return "stopped" if row["stopped"] else \
        "lost" if heard > LOST_AFTER_S or _process_gone(row["host"], row["pid"]) else "running"


def scheduler_life(project: Path, now: float) -> SchedulerLife:
    path = logs_folder(Path(project)) / STATE_FILE
    if not path.exists():
        return SchedulerLife("never")
    state = SchedulerState(path)
    try:
        rows = state.beats()
    finally:
        state.close()
    if not rows:
        return SchedulerLife("never")
    judged = [(row, _status(row, now)) for row in rows]
    running = [row for row, status in judged if status == "running"]
    row, status = (running[0], "running") if running else judged[0]   # a running one, else the newest heard of
    return SchedulerLife(status, row["host"], row["pid"], max(0.0, now - row["beat"]), row["next_text"],
                         tuple(f"{other['host']} (pid {other['pid']})" for other in running[1:]))
