"""Chain of custody for one work item: everything that happened to it, across runs and people.

Three sources, merged by time: the runs' events (each screen, the values keyed, the selector that
found each element, screenshots), the queue's history (intake, claims, retries, review decisions and
who took them), and the item as it stands (its state and what the system answered: confirmation or
invoice number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..work_queue import open_queue, queue_exists
from .events import read_events
from .verify import bot_folders, run_dirs


@dataclass
class CustodyEntry:
    at: str                    # ISO time, UTC
    source: str                # run <id> | queue
    who: str                   # the run, the intake file or the person
    what: str
    detail: str = ""
    screenshot: str | None = None   # relative to the project


@dataclass
class ItemCustody:
    bot: str
    reference: str
    entries: list[CustodyEntry] = field(default_factory=list)
    state: str = ""
    result: dict = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def _describe(event: dict) -> tuple[str, str]:
    kind, action = event.get("kind"), event.get("action")
    if kind == "step":
        what = f"{action} {event.get('target') or ''}".strip()
        parts = [f"value {event['value']}" if event.get("value") is not None else "",
                 f"found by {event['selector']}" + (" (healed)" if event.get("healed") else "") if event.get("selector") else "",
                 event.get("message") or "", event.get("step") or ""]
        return f"{what}: {event.get('outcome')}", "; ".join(p for p in parts if p)
    what = f"{kind} {event.get('outcome')}"
    if event.get("attempt"):
        what += f" (attempt {event['attempt']})"
    return what, event.get("message") or ""


def item_custody(project: Path, logs_dir: str, queue_url: str, reference: str,
                 bot: str | None = None) -> list[ItemCustody]:
    """The item's history in every bot that has it (or in the one named)."""
    logs = Path(project) / logs_dir
    bots = [bot] if bot else [p.name for p in bot_folders(logs)]
    found: list[ItemCustody] = []
    queue = open_queue(queue_url, Path(project)) if queue_exists(queue_url, Path(project)) else None
    try:
        for name in bots:
            custody = ItemCustody(name, reference)
            bot_dir = logs / name
            for run_dir in run_dirs(bot_dir) if bot_dir.is_dir() else []:
                events = [e for e in read_events(run_dir) if e.get("item") == reference]
                if events:
                    custody.runs.append(run_dir.name)
                for event in events:
                    what, detail = _describe(event)
                    shot = f"{logs_dir}/{name}/{run_dir.name}/{event['screenshot']}" if event.get("screenshot") else None
                    custody.entries.append(CustodyEntry(event.get("started", ""), f"run {run_dir.name}",
                                                        f"run {run_dir.name}", what, detail, shot))
            if queue is not None:
                item = queue.get(name, reference)
                if item is not None:
                    custody.state, custody.result = item.state.value, dict(item.result or {})
                    for change in queue.history(name, reference):
                        custody.entries.append(CustodyEntry(
                            _iso(change.at), "queue", change.actor,
                            f"{change.from_state or 'new'} -> {change.to_state}", change.message))
            if custody.entries:
                custody.entries.sort(key=lambda e: e.at)
                found.append(custody)
    finally:
        if queue is not None:
            queue.close()
    return found
