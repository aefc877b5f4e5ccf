"""A running run seen from outside: the step log as its trail grows, and its latest screenshot.

Read from events.jsonl alone (already masked: a secret never reaches it), from a byte offset the
reader keeps, so each look reads only what was added; a line still being written is left for the
next look. A picture is handed out only when an event names it with its SHA-256 and the file on
disk has that hash: the run is not sealed yet, and nothing else in its folder is served.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .events import EVENTS_FILE

MAX_READ_BYTES = 512 * 1024   # one look reads at most this much; the next look goes on from there
STEP_FIELDS = ("seq", "item", "recipe", "action", "target", "value", "outcome", "message", "started", "duration_ms")


@dataclass
class LiveLook:
    offset: int                         # where the next look starts
    steps: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)     # item events: started, done, to review ...
    screenshot: str | None = None       # the newest picture named by an event, relative to the run folder


def look(run_dir: Path, offset: int = 0) -> LiveLook:
    path = Path(run_dir) / EVENTS_FILE
    if not path.exists():
        return LiveLook(0)
    with open(path, "rb") as handle:
        handle.seek(max(0, offset))
        chunk = handle.read(MAX_READ_BYTES)
    complete = chunk[:chunk.rfind(b"\n") + 1]   # the last line may still be being written
    seen = LiveLook(max(0, offset) + len(complete))
    for line in complete.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("kind") == "step":
            seen.steps.append({key: event[key] for key in STEP_FIELDS if key in event})
        elif event.get("kind") in ("item", "intake"):
            seen.items.append({key: event.get(key) for key in ("seq", "item", "outcome", "message")})
        if event.get("screenshot") and event.get("screenshot_sha256"):
            seen.screenshot = event["screenshot"]
    return seen


def named_picture(run_dir: Path, name: str) -> Path | None:
    """The screenshot `name` if the run's events name it and its bytes still hash to what they say."""
    run_dir = Path(run_dir)
    wanted = None
    path = run_dir / EVENTS_FILE
    if not name.startswith("screenshots/") or ".." in Path(name).parts or not path.exists():
        return None
    with open(path, "rb") as handle:
        for line in handle:
            if name.encode() not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("screenshot") == name:
                wanted = event.get("screenshot_sha256")
    picture = run_dir / name
    if not wanted or not picture.is_file() or picture.resolve().parent != (run_dir / "screenshots").resolve():
        return None
    return picture if hashlib.sha256(picture.read_bytes()).hexdigest() == wanted else None
