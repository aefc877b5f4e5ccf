"""Audit events: one JSON line per step, item and run milestone, written through loguru.

Each run gets its own loguru sink, filtered by the run id bound to the record, so
several runs in one process never mix. Secret values are masked in free text (messages,
values, an app's words in data) before a record is written; structured fields never are.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from ..console_log import configure_console_log
from ..project.secrets import Redactor

EVENTS_FILE = "events.jsonl"
# data keys that hold hashes, file names, workbook places and locators, never an app's text
STRUCTURED_DATA = frozenset({"sha256", "file", "source", "healed_from", "input", "bot", "apps"})
RUN_LOG_FILE = "run.log"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_anchor(run_id: str) -> str:
    """What the first event of a run points back to: ties the chain to this run, so events cannot be
    moved into another run's file."""
    return sha256_text(f"backroom-run:{run_id}")


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):   # Python 3.11: reads straight into the hash, no copies
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()


@dataclass
class AuditEvent:
    run: str
    seq: int
    kind: str                      # run, item, step, intake
    outcome: str                   # pass, fail, skip, done, business_exception, system_exception, ...
    item: str | None = None        # the work item's reference
    attempt: int | None = None
    recipe: str | None = None
    step: str | None = None        # recipes/<file>.yaml:<line>
    action: str | None = None
    target: str | None = None      # the selector name
    selector: str | None = None    # the candidate that matched
    healed: bool = False
    value: str | None = None       # masked
    verified: str | None = None    # for values put into a control: read back, length, retyped, off
    message: str | None = None
    started: str = field(default_factory=now_iso)
    duration_ms: float | None = None
    screenshot: str | None = None  # relative to the run folder
    screenshot_sha256: str | None = None
    data: dict | None = None
    prev: str | None = None        # SHA-256 of the event line before this one (the run's anchor for the first)

    def to_json(self) -> str:
        record = {k: v for k, v in asdict(self).items() if v is not None and v is not False}
        return json.dumps(record, ensure_ascii=False, default=str)


class Trail(Protocol):
    """What the engine writes through: the run's AuditTrail, or a worker process's line to it."""
    run_id: str
    run_dir: Path
    redactor: Redactor
    log: Any

    def next_seq(self) -> int: ...
    def emit(self, event: AuditEvent) -> AuditEvent: ...


class AuditTrail:
    """Writes a run's events.jsonl itself, one flushed line per event, each chained to the one before;
    hands out sequence numbers. run.log, for people, goes through loguru (masked)."""

    def __init__(self, run_id: str, run_dir: Path, redactor: Redactor):
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.redactor = redactor
        self.seq = 0
        self.written = 0
        self.last_hash = run_anchor(run_id)   # each event carries the hash of the line before it
        self._written_digest = hashlib.sha256()   # of every byte written: sealing compares the file with it
        self._chain_lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.events_path = self.run_dir / EVENTS_FILE
        self.screenshots_dir = self.run_dir / "screenshots"
        self.screenshots_dir.mkdir(parents=True, exist_ok=True)
        configure_console_log()
        self._events = open(self.events_path, "ab")   # bytes: what is hashed is what is on disk, on any OS
        self.log = logger.patch(self._scrub).bind(run=run_id, item="-")
        self._sinks = [
            logger.add(self.run_dir / RUN_LOG_FILE, level="INFO", encoding="utf-8",
                       format="{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <7} [{extra[item]}] {message}",
                       filter=lambda r: r["extra"].get("run") == run_id),
        ]

    def _scrub(self, record) -> None:
        record["message"] = self.redactor.scrub(record["message"])

    def next_seq(self) -> int:
        with self._chain_lock:   # several workers of one run number their events from one count
            self.seq += 1
            return self.seq

    def emit(self, event: AuditEvent) -> AuditEvent:
        # Free text only: a hash, a reference, a run id or a file name is never masked, or a clean run
        # would verify as altered and an item could not be found by its reference.
        if event.value is not None:
            event.value = self.redactor.scrub(event.value)
        if event.message is not None:
            event.message = self.redactor.scrub(event.message)
        if event.data:
            event.data = {key: value if key in STRUCTURED_DATA else self.redactor.scrub_data(value)
                          for key, value in event.data.items()}
        with self._chain_lock:
            event.prev = self.last_hash
            line = event.to_json()  # hashed exactly as written
            self.last_hash = sha256_text(line)
            data = (line + "\n").encode("utf-8")
            self._events.write(data)
            self._written_digest.update(data)
            self._events.flush()   # a killed run leaves every event it emitted (the last one whole or torn)
            self.written += 1
        return event

    @property
    def written_sha256(self) -> str:
        """SHA-256 of everything this trail wrote to events.jsonl, in order."""
        with self._chain_lock:
            return self._written_digest.hexdigest()

    def close(self) -> None:
        for sink in self._sinks:
            logger.remove(sink)
        self._sinks = []
        with self._chain_lock:
            self._events.close()


def read_events(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / EVENTS_FILE
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
