"""Every action a person takes on the console, and every one refused, as an audit event with their name.

One JSON line per action in logs/console/actions.jsonl, appended and flushed before the
answer goes back, so the record exists even if the console dies the next moment. Sign-in
attempts are recorded with the name typed, never the password.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..audit.events import now_iso


@dataclass
class PersonAction:
    person: str                    # the signed-in user, or the name typed at a failed sign-in
    action: str                    # sign_in, sign_out, start_run, stop_run, retry, skip, add_user, ...
    outcome: str                   # done, refused, failed
    target: str = ""               # bot/reference, bot/run, user name, job name
    detail: str = ""
    roles: str = ""
    address: str = ""
    at: str = field(default_factory=now_iso)


class ActionLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record(self, action: PersonAction) -> None:
        line = json.dumps(asdict(action), ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()

    def read(self, person: str | None = None, limit: int | None = None) -> list[PersonAction]:
        """Newest first."""
        if not self.path.exists():
            return []
        with self._lock, open(self.path, encoding="utf-8") as handle:
            actions = [PersonAction(**json.loads(line)) for line in handle if line.strip()]
        actions.reverse()
        if person:
            actions = [a for a in actions if a.person == person]
        return actions[:limit] if limit else actions
