"""What the web and the desktop recorders share: the recording's files, the value matcher, and how
a recording is stopped (its own control, Ctrl-C, or the application going away)."""

from __future__ import annotations

import threading
from typing import Callable

from ..project.selector_map import SelectorMap
from ..project.settings import Settings
from .model import RecordedStep
from .session import RecordingSession
from .values import ValueMatcher


class Recorder:
    def __init__(self, settings: Settings, session: RecordingSession, matcher: ValueMatcher,
                 selector_map: SelectorMap | None, say: Callable[[str], None] = print):
        self.settings = settings
        self.session = session
        self.recording = session.recording
        self.matcher = matcher
        self.map = selector_map
        self.say = say
        self.stopped = threading.Event()
        self.why_stopped = "stopped"

    def stop(self, why: str) -> None:
        self.why_stopped = why
        self.stopped.set()

    def checkpoint(self, how: str) -> None:
        """A screenshot step the builder marked: numbered, so each checkpoint's picture has its own name."""
        self.recording.checkpoints += 1
        name = f"checkpoint-{self.recording.checkpoints}"
        self.recording.add(RecordedStep("screenshot", name, f"a checkpoint screenshot, {how}"))
        self.say(f"  screenshot {name}")

    def _interrupt(self, signum, frame) -> None:
        """Ctrl-C: stop after the action being recorded; the files are written as always."""
        self.stop("Ctrl-C")
