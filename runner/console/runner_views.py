"""The Runners page: every runner service that works the queue (backroom worker), whether it is alive,
when it was last seen, what it is working on. A runner that stopped beating without saying it stopped
(killed, its machine gone) is shown as lost, and its item as waiting for recovery until another runner
takes it back."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template

from ..errors import BackroomError
from ..work_queue import ItemState, RunnerRecord, age_text, open_queue
from .context import allowed, console

runners = Blueprint("runners", __name__)


@dataclass
class RunnerRow:
    runner: RunnerRecord
    seen: str            # "just now", "3 min" ago
    working: str         # bot / references, or "" when idle
    note: str            # what became of a lost runner's item


def runner_rows() -> list[RunnerRow]:
    c = console()
    queue = open_queue(c.settings.queue_url, c.project)
    try:
        rows = []
        for runner in queue.runners():
            working = f"{runner.bot} / {runner.reference}" if runner.bot and runner.reference else \
                (f"{runner.bot} (starting a run)" if runner.bot else "")
            rows.append(RunnerRow(runner, age_text(runner.seen_ago), working, _lost_item_note(queue, runner)))
        return rows
    finally:
        queue.close()


def _lost_item_note(queue, runner: RunnerRecord) -> str:
    """A lost runner's items: still claimed (waiting for recovery), or already taken back by another runner."""
    if runner.status != "lost":
        return ""
    # its leases name its host and process, whether or not a heartbeat said what it was on before it died
    mine = f"{runner.host}:{runner.pid}:"
    held = [i for i in queue.items(None, [ItemState.IN_PROGRESS]) if (i.lease_owner or "").startswith(mine)]
    notes = [f"{i.reference} waits for recovery: the next claim takes it back when its lease runs out" for i in held]
    for bot, change in queue.changes_since(runner.last_seen):
        if f"recovered from {mine}" in change.message and (item := queue.get(bot, change.reference)) is not None:
            notes.append(f"{change.reference} taken back: now {item.state.value.replace('_', ' ')}")
    return "; ".join(notes)


def _page(template: str):
    try:
        rows, problem = runner_rows(), ""
    except BackroomError as exc:   # the queue's server away, or tables older than this console
        rows, problem = [], exc.message
    return render_template(template, rows=rows, problem=problem)


@runners.route("/runners")
@allowed("view", "runners")
def runner_list():
    return _page("console/runners.html")


@runners.route("/runners/rows")
@allowed("view", "runners")
def runner_table():
    """The table alone, which the page fetches again every few seconds."""
    return _page("console/runner_rows.html")
