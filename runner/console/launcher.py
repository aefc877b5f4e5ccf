"""Runs started from the console: each in a child process of its own (it holds the bot's lock),
watched by a thread that keeps its latest progress for the run page."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from loguru import logger

from ..project.settings import logs_folder
from ..run import ChildEnded, ChildRun, Progress, RunRequest, new_run_id
from ..run.notices import NOTICED_OUTCOMES, RunNotice, judge_ended, tell


@dataclass
class Launch:
    bot: str
    run_id: str
    person: str
    input_name: str
    started: float = field(default_factory=time.time)
    progress: Progress | None = None
    ended: ChildEnded | None = None
    child: ChildRun | None = None

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def error(self) -> str:
        if self.ended is None or self.ended.error is None:
            return ""
        return self.ended.error.message


class Launcher:
    def __init__(self, project: Path, on_end: Callable[[Launch], None] = lambda launch: None):
        self.project = Path(project)
        self.on_end = on_end
        self._launches: dict[tuple[str, str], Launch] = {}
        self._lock = threading.Lock()

    def start(self, bot: str, input_path: Path, person: str, virtual_display: bool = False) -> Launch:
        run_id = new_run_id()
        request = RunRequest(bot=bot, input_path=input_path, project=self.project, run_id=run_id,
                             started_by=f"console:{person}", virtual_display=virtual_display)
        launch = Launch(bot, run_id, person, input_path.name)
        launch.child = ChildRun(request)
        with self._lock:
            self._launches[(bot, run_id)] = launch
        threading.Thread(target=self._watch, args=(launch,), name=f"watch-{bot}-{run_id}", daemon=True).start()
        return launch

    def _watch(self, launch: Launch) -> None:
        while True:
            message = launch.child.next_message(timeout=0.5)
            if isinstance(message, ChildEnded):
                launch.ended = message
                self.on_end(launch)
                self._tell(launch)
                return
            if message is not None:
                launch.progress = message

    def _tell(self, launch: Launch) -> None:
        """A run that failed or left items for review is noticed like a scheduled one: the person who started it
        may have closed the page. One they stopped themselves is not."""
        outcome, message, code = judge_ended(launch.ended)
        if outcome not in NOTICED_OUTCOMES:
            return
        run_dir = logs_folder(self.project) / launch.bot / launch.run_id
        notice = RunNotice(f"console run by {launch.person}", f"console:{launch.person}", launch.bot, outcome, message,
                           launch.started, time.time(), code, launch.input_name,
                           str(run_dir) if run_dir.is_dir() else None)
        logger.info(f"console run {launch.bot}/{launch.run_id}: notice {tell(self.project, notice)}")

    def get(self, bot: str, run_id: str) -> Launch | None:
        with self._lock:
            return self._launches.get((bot, run_id))

    def active(self) -> list[Launch]:
        with self._lock:
            return [launch for launch in self._launches.values() if launch.running]

    def stop_all(self) -> None:
        """The console is shutting down: ask each run to stop after its current item."""
        for launch in self.active():
            launch.child.stop_after_current_item(by="the console, shutting down")
