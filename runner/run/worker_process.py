"""Desktop workers in processes of their own: pyautogui drives the one display of the process it runs in,
so a desktop bot's second and further workers each run in a process with a virtual screen of its own and
its own copies of the programs, as a second runner on another machine would.

A worker process claims and works items like a worker thread (its own engine, queue connection and lease)
and sends the run what it would write to the run's trail: the run hands out the sequence numbers, writes
the events into its one chain and its one log, and counts the items. The worker writes its own pictures,
each before the event naming it is sent, so an event never names a picture that is not on disk.
Ctrl-C is the run's: a worker process ignores it and, like every worker, stops after the item it is on.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from loguru import logger

from ..audit.events import AuditEvent
from ..drivers.display import stop_abandoned_display, virtual_display
from ..engine.core import Engine
from ..errors import SystemException
from ..project.secrets import Redactor
from ..work_queue import WorkQueue, open_queue
from .prepare import prepare_bot
from .records import ItemResult, PreparedRun, RunRequest
from .session import make_drivers, start_all, stop_all, why_stopped

# a worker's work, as a module-level function (a process is handed it by name): the lane's session,
# engine, queue connection, lease owner, how to start its screens, and the run's tally
ProcessWork = Callable[[Any, Engine, WorkQueue, str, Callable[[], None], Any], None]

SPAWN = multiprocessing.get_context("spawn")   # a fresh interpreter: no display or browser inherited


def shared_stop_flag() -> Any:
    """The run's "stop after the current item", seen by the run's threads and its worker processes alike."""
    return SPAWN.Event()


@dataclass
class WorkerOrder:
    """What a worker process is told: which run, where its evidence goes, which worker it is."""
    request: RunRequest
    run_id: str
    run_dir: Path
    queue_url: str | Path
    policy: str
    number: int


class WorkerProcess:
    """The run's side of one worker process: starts it and answers it until it ends."""

    def __init__(self, session: Any, number: int, work: ProcessWork, tally: Any):
        self.session, self.number, self.tally = session, number, tally
        self.failure: BaseException | None = None
        self.engine_tally: dict[str, int] = {}
        self.display = ""   # the worker's virtual screen, stopped here if the worker dies without stopping it
        self._conn, child_end = SPAWN.Pipe()
        # who asked the run to stop is the run's to say: its asker stays here (a worker is stopped by the run)
        order = WorkerOrder(replace(session.request, stop_asker=None), session.run_id, session.run_dir,
                            session.queue_url, session.policy, number)
        self.process = SPAWN.Process(target=work_in_process, args=(order, work, child_end, tally.stopping),
                                     name=f"{session.run_id}-worker-{number}", daemon=True)
        self.process.start()
        child_end.close()   # the worker's end lives in the worker: its exit is our end of file
        self._ended = False
        self.thread = threading.Thread(target=self._serve, name=f"{session.run_id}-worker-{number}-trail",
                                       daemon=True)
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self) -> None:
        self.thread.join()

    def _serve(self) -> None:
        session = self.session
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "seq":
                self._conn.send(session.trail.next_seq())
            elif kind == "event":
                session.trail.emit(message[1])
            elif kind == "log":
                _, level, item, text = message
                session.log.bind(item=item).log(level, text)
            elif kind == "started":
                self.tally.started(message[1], message[2])
            elif kind == "finished":
                self.tally.finished(message[1], message[2])
            elif kind == "display":
                self.display = message[1]
            elif kind == "ended":
                self._ended = True
                self.engine_tally, self.failure = message[1], message[2]
        self.process.join()
        self._conn.close()
        if not self._ended:
            if self.display:
                stop_abandoned_display(self.display)   # its programs quit with their screen
            self.failure = SystemException(
                f"worker {self.number} stopped unexpectedly (exit code {self.process.exitcode}); an item it held "
                "is given back by the next run (its lease)")
        if self.failure is not None:
            self.tally.stopping.set()


# -- inside the worker process ------------------------------------------------------------------

class _Channel:
    """The worker's end of its pipe: one message at a time, whichever thread sends it."""

    def __init__(self, conn: Any):
        self.conn, self.lock = conn, threading.Lock()

    def send(self, *message: Any) -> None:
        with self.lock:
            self.conn.send(message)

    def ask(self, *message: Any) -> Any:
        with self.lock:
            self.conn.send(message)
            return self.conn.recv()


class ForwardedTrail:
    """The engine's trail in a worker process: numbers and events come from and go to the run's trail."""

    def __init__(self, run_id: str, run_dir: Path, redactor: Redactor, channel: _Channel):
        self.run_id, self.run_dir, self.redactor, self.channel = run_id, run_dir, redactor, channel
        self.log = logger.patch(self._scrub).bind(run=run_id, item="-")

    def _scrub(self, record) -> None:
        record["message"] = self.redactor.scrub(record["message"])

    def next_seq(self) -> int:
        return self.channel.ask("seq")

    def emit(self, event: AuditEvent) -> AuditEvent:
        self.channel.send("event", event)   # masked again, chained and written by the run
        return event


class _RunStopping:
    """The run's stop flag, seen from a worker process: also set when the run itself is gone (killed), so an
    orphaned worker claims nothing more."""

    def __init__(self, flag: Any):
        self.flag, self.run_pid = flag, os.getppid()

    def is_set(self) -> bool:
        return self.flag.is_set() or os.getppid() != self.run_pid

    def wait(self, timeout: float) -> bool:
        return self.flag.wait(timeout) or self.is_set()

    def set(self) -> None:
        self.flag.set()


class ForwardedTally:
    """The run's tally, seen from a worker process."""

    def __init__(self, channel: _Channel, stopping: Any):
        self.channel, self.stopping = channel, _RunStopping(stopping)

    def started(self, lane: str, reference: str) -> None:
        self.channel.send("started", lane, reference)

    def finished(self, lane: str, result: ItemResult) -> None:
        self.channel.send("finished", lane, result)


class WorkerSession:
    """What a worker's work needs of its run (RunSession's counterpart in a worker process)."""

    def __init__(self, order: WorkerOrder, prepared: PreparedRun, trail: ForwardedTrail):
        self.request, self.prepared, self.trail = order.request, prepared, trail
        self.bot, self.settings = prepared.bot, prepared.settings
        self.run_id, self.run_dir, self.number = order.run_id, order.run_dir, order.number
        self.message = ""
        self.log = trail.log

    def emit(self, kind: str, outcome: str, **fields) -> None:
        self.trail.emit(AuditEvent(run=self.run_id, seq=self.trail.next_seq(), kind=kind, outcome=outcome, **fields))

    def why_stopped(self, exc: BaseException) -> str:
        return why_stopped(exc, self.trail.redactor)


def work_in_process(order: WorkerOrder, work: ProcessWork, conn: Any, stopping: Any) -> None:
    """A worker process's life: its own screen, programs, engine and lease, until the queue is drained or the
    run says stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the run decides when its workers stop
    channel = _Channel(conn)
    logger.remove()   # every line goes to the run's log (and its console), once
    logger.add(lambda line: channel.send("log", line.record["level"].name, line.record["extra"].get("item", "-"),
                                         str(line).rstrip("\n")),
               level="INFO", format="{message}")
    engine_tally: dict[str, int] = {}
    failure: BaseException | None = None
    try:
        request = order.request
        project = Path(request.project)
        prepared = prepare_bot(project, request.bot, request.app_urls, request.app_commands, headed=request.headed)
        redactor = Redactor()
        redactor.add(*prepared.secrets.values())
        trail = ForwardedTrail(order.run_id, order.run_dir, redactor, channel)
        session = WorkerSession(order, prepared, trail)
        with virtual_display(*prepared.settings.desktop.display_size) as display:
            channel.send("display", display)
            drivers = make_drivers(prepared, project, attended=False)
            engine = Engine(drivers, prepared.book, prepared.maps, prepared.settings, trail, prepared.secrets,
                            prepared.apps, order.policy)
            queue = open_queue(order.queue_url, project)
            started: list[bool] = []

            def start_drivers() -> None:   # with the worker's first item (each item asks)
                if not started:
                    started.append(True)
                    start_all(drivers)

            try:
                work(session, engine, queue, queue.new_owner(f"{order.run_id}#{order.number}"), start_drivers,
                     ForwardedTally(channel, stopping))
            finally:
                for note in stop_all(drivers):
                    session.emit("app", "closed", message=f"worker {order.number}: {note}")
                queue.close()
                engine_tally = dict(engine.tally)
    except BaseException as exc:  # noqa: BLE001 - said by the run, which stops its other workers
        failure = exc
    try:
        pickle.dumps(failure)
    except Exception:  # noqa: BLE001 - an exception that cannot travel is said in words
        failure = SystemException(f"worker {order.number}: {type(failure).__name__}: {failure}")
    try:
        channel.send("ended", engine_tally, failure)
    except OSError:
        pass   # the run is gone: nobody is left to tell
    conn.close()
