"""The runs under logs/: who started each, on what, how it ended and how long it took.

Read from each run's own events (its first and last run events), so the list is the evidence
itself, not a second bookkeeping that could disagree with it. Only the head and the tail of
events.jsonl are read: a reconciliation's file can hold a hundred thousand lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..work_queue.counts import ItemCounts
from .events import EVENTS_FILE

RUN_FOLDER = re.compile(r"\d{8}-\d{6}-[0-9a-z]+|[0-9A-Za-z][0-9A-Za-z-]{0,63}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
OUTCOME_TEXT = {"success": "every item done", "finished_with_exceptions": "finished, items for review",
                "interrupted": "stopped", "aborted": "stopped early", "running": "running",
                "ended_without_record": "ended without a last record"}
_TAIL_BYTES = 64 * 1024


@dataclass
class RunSummary:
    bot: str
    run_id: str
    folder: Path
    started: datetime | None = None
    finished: datetime | None = None
    outcome: str = "running"     # success, finished_with_exceptions, interrupted, aborted, running, ...
    message: str = ""
    started_by: str = ""
    input: str = ""
    counts: ItemCounts | None = None   # None: the run has not ended (or ended without its last event)
    has_report: bool = False

    @property
    def counts_text(self) -> str:
        return self.counts.text() if self.counts is not None else ""

    @property
    def outcome_text(self) -> str:
        return OUTCOME_TEXT.get(self.outcome, self.outcome.replace("_", " "))

    @property
    def duration_s(self) -> float | None:
        if self.started and self.finished:
            return (self.finished - self.started).total_seconds()
        return None


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _head_and_tail(path: Path) -> tuple[dict | None, list[dict]]:
    with open(path, "rb") as handle:
        first = handle.readline()
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read().splitlines()
    if size > _TAIL_BYTES:
        tail = tail[1:]  # the first line of the window may be cut
    events = []
    for line in tail:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line being written as we read
    try:
        head = json.loads(first) if first.strip() else None
    except ValueError:
        head = None
    return head, events


def summarize_run(folder: Path, live: bool = False) -> RunSummary:
    """One run's summary; `live` says the run may still be writing (its bot's lock is held)."""
    folder = Path(folder)
    summary = RunSummary(bot=folder.parent.name, run_id=folder.name, folder=folder,
                         has_report=(folder / "report.html").exists())
    path = folder / EVENTS_FILE
    if not path.exists():
        summary.outcome = "running" if live else "ended_without_record"
        return summary
    head, tail = _head_and_tail(path)
    if head and head.get("kind") == "run":
        data = head.get("data") or {}
        summary.started = _time(head.get("started"))
        summary.started_by = str(data.get("started_by", ""))
        summary.input = Path(str(data.get("input", ""))).name
    last = next((e for e in reversed(tail) if e.get("kind") == "run" and e.get("outcome") != "started"), None)
    if last is not None:
        summary.outcome = last["outcome"]
        summary.message = last.get("message") or ""
        summary.finished = _time(last.get("started"))
        summary.counts = ItemCounts.from_data((last.get("data") or {}).get("counts"))
    elif not live:
        summary.outcome = "ended_without_record"
        summary.message = "the runner stopped without writing its last event (killed?)"
    return summary


def list_runs(logs: Path, bot: str | None = None, running: Callable[[Path], bool] = lambda run_dir: False,
              limit: int | None = None) -> list[RunSummary]:
    """Runs newest first; `running(run_dir)`: whether that run is going now (unfinished, not killed)."""
    logs = Path(logs)
    folders = []
    for bot_folder in sorted(logs.iterdir()) if logs.is_dir() else []:
        if not bot_folder.is_dir() or (bot and bot_folder.name != bot) or not NAME.fullmatch(bot_folder.name):
            continue
        folders += [f for f in bot_folder.iterdir() if f.is_dir() and RUN_FOLDER.fullmatch(f.name)
                    and (f / EVENTS_FILE).exists()]
    folders.sort(key=lambda f: f.name, reverse=True)
    if limit is not None:
        folders = folders[:limit]
    return [summarize_run(f, live=running(f)) for f in folders]


def find_run(logs: Path, bot: str, run_id: str) -> Path | None:
    """The run folder for a bot and run id from a URL or a menu, or None; never a path outside logs/,
    and never a folder of logs/ that is not a run's (uploads, locks, the console's own files)."""
    if not NAME.fullmatch(bot) or not RUN_FOLDER.fullmatch(run_id):
        return None
    folder = Path(logs) / bot / run_id
    return folder if (folder / EVENTS_FILE).is_file() else None
