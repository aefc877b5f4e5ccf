"""Several items at once: `--workers N` (or `workers:` in bot.yaml) works a run's queue in N lanes.

The first lane works in the run's own thread, with the run's browser and engine; each other lane in a
thread of its own, with its own browser, engine, queue connection and lease, as a second runner would.
A bot that drives desktop programs has its other lanes in processes of their own, each on a screen of
its own (worker_process.py): the mouse and keyboard are one per display.
All of them write to the run's one trail, so the run keeps one report, one seal and one results workbook.
A lane that fails stops the others after the item each is on; nothing is left claimed.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..engine.core import Engine
from ..work_queue import WorkQueue
from ..work_queue.counts import ItemCounts, count_items
from .records import ItemResult, Progress
from .worker_process import ProcessWork, WorkerProcess

# one lane's work: its engine, its queue connection, its lease owner, and how to start its screens
LaneWork = Callable[[Engine, WorkQueue, str, Callable[[], None]], None]


class RunTally:
    """What the run's lanes have worked so far, kept for all of them: the results and the progress bar.
    `known` is every item the run answers for, by reference, with the outcome it has before any work
    (None: still to work); an item a lane claims that was not known (queued meanwhile) joins it."""

    def __init__(self, known: dict[str, str | None], rejected: list[ItemResult],
                 on_progress: Callable[[Progress], None] | None, unit: str = "items", rows: int = 0,
                 stopping: Any = None):
        self.rejected, self.on_progress, self.unit, self.rows = rejected, on_progress, unit, rows
        self.outcomes: dict[str, str | None] = dict(known)
        self.worked: dict[str, ItemResult] = {}
        # every lane stops after its current item (an event worker processes share, where there are any)
        self.stopping = stopping if stopping is not None else threading.Event()
        self._working: dict[str, str] = {}  # lane owner -> the reference it is on
        self._lock = threading.Lock()

    def started(self, lane: str, reference: str) -> None:
        with self._lock:
            self._working[lane] = reference
            self.outcomes.setdefault(reference, None)
            self._report()

    def finished(self, lane: str, result: ItemResult) -> None:
        with self._lock:
            self._working.pop(lane, None)
            self.worked[result.reference] = result
            self.outcomes[result.reference] = result.outcome
            self._report()

    def report(self) -> None:
        with self._lock:
            self._report()

    def counts(self) -> ItemCounts:
        return count_items(self.outcomes, self.unit, self.rows)

    def _report(self) -> None:
        if self.on_progress is None:
            return
        current = ", ".join(sorted(self._working.values())) or None
        self.on_progress(Progress(self.counts(), current))


def work_in_lanes(session: Any, queue: WorkQueue, lanes: int, work: LaneWork, tally: RunTally,
                  process_work: ProcessWork | None = None) -> None:
    """Work the queue in `lanes` lanes; the first failure of any lane is raised here once all have stopped.
    With `process_work` (a module-level function), the other lanes are worker processes doing it."""
    failures: list[BaseException] = []
    tallies: list[dict[str, int]] = []
    others: list[Any] = []   # the other lanes: threads, or worker processes
    for number in range(2, lanes + 1):
        if process_work is not None:
            others.append(WorkerProcess(session, number, process_work, tally))
            continue
        thread = threading.Thread(target=_other_lane, args=(session, number, work, tally, failures, tallies),
                                  name=f"{session.run_id}-worker-{number}", daemon=True)
        thread.start()
        others.append(thread)
    try:
        work(session.engine, queue, queue.new_owner(session.run_id), session.start_drivers)
    except BaseException as exc:  # noqa: BLE001 - an interrupt too: the other lanes stop, then it is raised
        failures.insert(0, exc)
        tally.stopping.set()
    for thread in others:
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt as exc:   # Ctrl-C while the other lanes finish their items
                tally.stopping.set()
                failures.insert(0, exc)
    for worker in others:
        if isinstance(worker, WorkerProcess):
            tallies.append(worker.engine_tally)
            if worker.failure is not None:
                failures.append(worker.failure)
    for lane_tally in tallies:   # how the values typed by every lane held up, in the run's last event
        for what, count in lane_tally.items():
            session.engine.tally[what] = session.engine.tally.get(what, 0) + count
    if failures:
        raise failures[0]


def _other_lane(session: Any, number: int, work: LaneWork, tally: RunTally, failures: list[BaseException],
                tallies: list[dict[str, int]]) -> None:
    queue = session.open_queue()
    drivers, engine = session.new_lane()
    tallies.append(engine.tally)
    try:
        work(engine, queue, queue.new_owner(f"{session.run_id}#{number}"), lambda: session.start_drivers(drivers))
    except BaseException as exc:  # noqa: BLE001 - said by the run, in its first lane's thread
        failures.append(exc)
        tally.stopping.set()
    finally:
        session.stop_drivers(drivers, who=f"worker {number}: ")
        queue.close()
