"""`RunnerService`: a long-running runner that works its bots' items as they arrive in the queue.

Input still enters through `backroom run`, `backroom queue add`, the console or a scheduled job; a
runner takes what is due. It registers itself in the queue (name, host, bots, version) and beats every
`heartbeat_s` from a thread of its own, saying what it is working on, so the console can tell a live
runner from a lost one. Each time a bot has a due item it starts a run of the queued items (one run,
one sealed piece of evidence, until the bot's queue is drained), holding the bot's lock on this machine
like any run. A run that fails for an outside reason (the app is down) is not started again at once:
that bot waits, longer each time, up to `MAX_BACK_OFF_S`.

Stopping: `stop()` (SIGTERM, Ctrl-C) lets the current item finish, ends the run with its evidence,
marks the runner stopped and returns; a second request stops the item too (it is given back).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from ..errors import BackroomError, ConfigurationError
from ..project.bot import load_bot
from ..project.settings import load_settings
from ..run import BotBusyError, RunRequest, bot_lock, new_run_id, start_queued_run
from ..run.notices import NOTICED_OUTCOMES, OUTCOME_FOR_EXIT, RunNotice, tell
from ..run.prepare import prepare_bot
from ..run.records import Progress
from ..work_queue import RunnerRecord, WorkQueue, open_queue

MAX_BACK_OFF_S = 300.0   # the longest a bot waits after its runs kept failing for an outside reason


def backroom_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backroom")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class WorkerOptions:
    bots: list[str]
    project: Path = Path(".")
    name: str = field(default_factory=socket.gethostname)
    poll_s: float = 2.0              # how often an idle runner looks for due items
    heartbeat_s: float = 10.0        # how often it says it is alive; lost after 3 missed
    virtual_display: bool = False    # each run on a virtual screen (desktop bots, unattended)
    app_urls: dict[str, str] = field(default_factory=dict)
    app_commands: dict[str, str | list[str]] = field(default_factory=dict)


class RunnerService:
    def __init__(self, options: WorkerOptions):
        self.options = options
        self.project = Path(options.project)
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.stopping = threading.Event()
        self.stop_reason = ""
        self._working: tuple[str | None, str | None, str | None] = (None, None, None)   # bot, reference, run
        self._changed = threading.Event()          # what it works on changed: beat now, not at the next beat
        self._done = threading.Event()             # the service has stopped: no more heartbeats
        self.not_before: dict[str, float] = {}     # a bot whose runs failed waits until then (monotonic)
        self.failures: dict[str, int] = {}
        self.runs: list[str] = []                  # the runs this service made, oldest first
        self.on_the_screen: set[str] = set()       # desktop bots worked on this machine's own screen

    # -- starting and stopping ---------------------------------------------------------------------
    def check(self) -> None:
        """Everything a run of each bot would refuse (but its input), before the runner registers."""
        for bot in self.options.bots:
            if load_bot(self.project, bot).kind == "reconcile":
                raise ConfigurationError(f"bot '{bot}' reconciles a statement given to each run: a runner service "
                                         "works queued items", "Leave it out of --bot; run it with backroom run or a "
                                         "schedule.")
            prepared = prepare_bot(self.project, bot, self.options.app_urls, self.options.app_commands)
            if not self.options.virtual_display and any(m.kind == "desktop" for m in prepared.maps.values()):
                self.on_the_screen.add(bot)

    def stop(self, reason: str) -> None:
        """Stop after the current item; asked again, the caller stops the item too (KeyboardInterrupt)."""
        if not self.stopping.is_set():
            self.stop_reason = reason
            logger.info(f"runner {self.options.name}: {reason}: stopping after the current item")
        self.stopping.set()
        self._changed.set()

    def serve(self) -> None:
        self.check()
        settings = load_settings(self.project)
        queue = open_queue(settings.queue_url, self.project)
        beat: threading.Thread | None = None
        try:
            queue.register_runner(RunnerRecord(self.options.name, self.host, self.pid, list(self.options.bots),
                                               backroom_version(), self.options.heartbeat_s))
            logger.info(f"runner {self.options.name} on {self.host} started: works {', '.join(self.options.bots)}")
            beat = threading.Thread(target=self._beat, args=(settings.queue_url,), name="runner-heartbeat", daemon=True)
            beat.start()
            self._work(queue)
        finally:
            self.stopping.set()
            self._done.set()
            self._changed.set()
            if beat is not None:
                beat.join(timeout=self.options.heartbeat_s + 5)
            try:
                queue.runner_stopped(self.options.name, self.host, self.pid, self.stop_reason or "stopped")
            finally:
                queue.close()
            logger.info(f"runner {self.options.name} stopped ({self.stop_reason or 'stopped'}); "
                        f"{len(self.runs)} run(s) made")

    @property
    def working(self) -> tuple[str | None, str | None, str | None]:
        return self._working

    @working.setter
    def working(self, now: tuple[str | None, str | None, str | None]) -> None:
        if now != self._working:
            self._working = now
            self._changed.set()

    # -- the work ------------------------------------------------------------------------------------
    def _work(self, queue: WorkQueue) -> None:
        while not self.stopping.is_set():
            worked = False
            for bot in self.options.bots:
                if self.stopping.is_set():
                    break
                # due items, and items of runners that stopped (killed, their machine gone), which no run may be
                # left to take back
                if time.monotonic() < self.not_before.get(bot, 0.0) or not queue.has_claimable(bot):
                    continue
                worked = self._run(bot) or worked
            if not worked:
                self.stopping.wait(self.options.poll_s)   # idle: look again, or stop at once when asked

    def _run(self, bot: str) -> bool:
        """One run of the bot's queued items; whether it worked any."""
        run_id = new_run_id()
        request = RunRequest(bot=bot, input_path=None, project=self.project, started_by=f"runner:{self.options.name}",
                             runner=self.options.name, run_id=run_id, virtual_display=self.options.virtual_display,
                             app_urls=self.options.app_urls, app_commands=self.options.app_commands,
                             stopped_by=f"runner {self.options.name}")

        def progress(p: Progress) -> None:
            self.working = (bot, p.current, run_id)

        self.working = (bot, None, None)
        started = time.time()
        try:
            # its own lock: runs started by a person or a schedule work the same queue beside it; but one screen
            # is one run's, so a desktop bot without a virtual screen takes the bot's lock
            with bot_lock(self.project, bot, None if bot in self.on_the_screen else self.options.name):
                result = start_queued_run(request, on_progress=progress, should_stop=self.stopping.is_set)
        except BotBusyError:
            return False   # another run has this screen (or this runner's name): it works the same queue
        except BackroomError as exc:
            self._back_off(bot, f"run {run_id} of {bot} stopped: {exc.message}")
            outcome = OUTCOME_FOR_EXIT.get(exc.exit_code, "crashed")
            self._notify(bot, outcome if outcome in NOTICED_OUTCOMES else "crashed", exc.message, started,
                         int(exc.exit_code), None)
            return True
        except Exception as exc:  # noqa: BLE001 - a defect in one run must not end the service
            logger.opt(exception=exc).error(f"run {run_id} of {bot}: internal error")
            self._back_off(bot, f"run {run_id} of {bot}: internal error: {exc!r}")
            self._notify(bot, "crashed", f"internal error: {exc!r}", started, None, None)
            return True
        finally:
            self.working = (None, None, None)
        if result is None:
            return False   # another runner took the item first: no run was made
        self.runs.append(result.run_id)
        logger.info(f"run {result.run_id} of {bot}: {result.counts.text()}; evidence in {result.run_dir}")
        if result.exit_code not in (0, 1) and not self.stopping.is_set():   # it stopped early, not as asked
            self._back_off(bot, f"run {result.run_id} of {bot} stopped: {result.message}")
        else:
            self.failures.pop(bot, None)
        outcome = OUTCOME_FOR_EXIT.get(result.exit_code, "crashed")
        if outcome in NOTICED_OUTCOMES and not (outcome != "items_for_review" and self.stopping.is_set()):
            self._notify(bot, outcome, result.message or result.counts.text(), started, int(result.exit_code),
                         str((self.project / result.run_dir).resolve()))   # a path anyone reading it can open
        return True

    def _notify(self, bot: str, outcome: str, message: str, started: float, exit_code: int | None,
                run_dir: str | None) -> None:
        """Items for review are told every time (each needs a person); a failure only when it starts a streak,
        not at every try of a back-off, until a run goes well again."""
        if outcome != "items_for_review" and self.failures.get(bot, 0) > 1:
            return
        if outcome != "items_for_review":
            message += "; tried again with growing waits, told again only after a run goes well"
        notice = RunNotice(f"runner {self.options.name}", f"runner:{self.options.name}", bot, outcome, message,
                           started, time.time(), exit_code, None, run_dir)
        logger.info(f"runner {self.options.name}: notice for {bot} ({outcome}): {tell(self.project, notice)}")

    def _back_off(self, bot: str, message: str) -> None:
        self.failures[bot] = self.failures.get(bot, 0) + 1
        wait = min(MAX_BACK_OFF_S, self.options.poll_s * 2 ** self.failures[bot])
        self.not_before[bot] = time.monotonic() + wait
        logger.error(f"{message}; {bot} is tried again in {wait:g} s")

    # -- the heartbeat ---------------------------------------------------------------------------------
    def _beat(self, queue_url: str) -> None:
        """Say every heartbeat_s that this runner is alive and what it works on, over a connection of its own."""
        queue: WorkQueue | None = None
        try:
            while True:   # while stopping too: the item it finishes first may take longer than a few beats
                self._changed.wait(self.options.heartbeat_s)
                self._changed.clear()
                if self._done.is_set():
                    break
                try:
                    if queue is None:
                        queue = open_queue(queue_url, self.project)
                    bot, reference, run_id = self.working
                    saying = f"{self.stop_reason}: stopping after the current item" if self.stopping.is_set() else ""
                    seen = queue.runner_seen(self.options.name, self.host, self.pid, bot, reference, run_id, saying)
                    if not seen and self.stop_reason != "name taken over":
                        logger.error(f"runner {self.options.name}: the name was taken by another runner while this "
                                     "one was not seen; stopping")
                        self.stop("name taken over")
                except BackroomError as exc:   # the queue's server away: the next beat tries again
                    logger.warning(f"runner {self.options.name}: heartbeat not recorded: {exc.message}")
        finally:
            if queue is not None:
                queue.close()
