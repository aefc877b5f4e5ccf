"""A watched inbox: `when: whenever a file arrives` starts the job's bot on each file that lands in its
inbox, once per file, oldest first, under the same rules as a job on the clock (one run of a bot at a
time, its time limit, its notices, a paused job left alone).

The folder is looked at every few seconds rather than waited on for the system's change notices:
those do not arrive from a network share, which is where other systems drop their exports. A file
is taken only once it has stopped changing for a moment (one still being copied is not read half
written); Excel's lock files and hidden files are never taken. Each file taken is remembered with
its size and time (logs/scheduler.sqlite3), so a restart does not run it again and a file replaced
by a new one with the same name is run again; a file that landed while the scheduler was down is
run when it starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import Job
from .state import SchedulerState

SETTLE_S = 2.0   # unchanged this long: the copy into the inbox is finished


@dataclass(frozen=True)
class Arrival:
    path: Path
    size: int
    mtime_ns: int


class InboxWatch:
    def __init__(self, state: SchedulerState, settle_s: float = SETTLE_S, clock: Callable[[], float] = time.monotonic):
        self.state, self.settle_s, self.clock = state, settle_s, clock
        self._seen: dict[Path, tuple[int, int, float]] = {}   # a file -> its size and time, and since when so

    def arrived(self, job: Job) -> list[Arrival]:
        """The files in the job's inbox that stopped changing and were never run, oldest first."""
        now, found = self.clock(), []
        for path in job.inbox_files():
            try:
                stat = path.stat()
            except OSError:
                continue   # gone between the listing and the look (moved on by someone)
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
            seen = self._seen.get(path)
            if seen is None or seen[:2] != (size, mtime_ns):
                self._seen[path] = (size, mtime_ns, now)   # new, or still being written: look again later
                continue
            if now - seen[2] < self.settle_s or self.state.arrival_taken(job.name, path.name, size, mtime_ns):
                continue
            found.append(Arrival(path, size, mtime_ns))
        return sorted(found, key=lambda a: (a.mtime_ns, a.path.name))
