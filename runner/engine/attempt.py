"""What one attempt at one work item carries: its state while the steps run, its result, and the hooks
through which the queue hears of it (lease kept alive, a commit about to happen, a key already taken)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..audit.events import AuditEvent
from ..drivers.web_writes import SeenWrite
from ..intake.work_item import WorkItem
from .readback import TypedValue


@dataclass
class AttemptState:
    """What one attempt at one work item has gathered so far."""

    item: WorkItem
    attempt: int
    variables: dict[str, Any] = field(default_factory=dict)
    pending: list[AuditEvent] = field(default_factory=list)  # events waiting for a deferred screenshot
    last_shot: tuple[str, str] | None = None  # (file, sha256) of the latest capture
    screen_changed: bool = True               # an action ran since that capture
    typed: list[TypedValue] = field(default_factory=list)  # values put in since the last commit, read again before it
    secret_shown: bool = False                # the app showed a secret on this screen (in a message, a field read)
    in_flight: Any = None                     # the picture the screen is still giving (engine/evidence.py)
    outbox: list[AuditEvent] = field(default_factory=list)  # events written once that picture is stored
    commit_write: SeenWrite | None = None     # the first request of this attempt that may have written a record


class AlreadyDone(Exception):
    """Raised by `complete_if`: the item's work is already in the legacy system."""

    def __init__(self, variables: dict[str, Any], message: str):
        super().__init__(message)
        self.variables = variables
        self.message = message


@dataclass
class AttemptResult:
    variables: dict[str, Any]
    already_done: bool = False   # found by the verify recipe, not keyed again
    message: str = ""


class ItemHooks:
    """What the queue needs to hear while an item is worked. The default does nothing."""

    def heartbeat(self) -> None:
        pass

    def before_commit(self, where: str, app: str, write: str = "") -> None:
        """The attempt is about to change `app`: a step marked `commits: true` at `where`, or a request the browser
        is about to send (`write`: its method and address)."""

    def key_taken(self, variable: str, value: str) -> str | None:
        """The reference of another item of this bot that already read `value` into `variable`."""
        return None
