"""What the web and the desktop recorders share: the recording's files, the value matcher, and how
a recording is stopped (its own control, Ctrl-C, or the application going away)."""

from __future__ import annotations

import threading
import traceback
from datetime import datetime
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

    def undo(self, how: str) -> None:
        """The last step taken back (a mis-click), with the elements only it used."""
        step = self.recording.undo()
        if step is None:
            self.say("  nothing to undo")
            return
        self.session.save()
        self.say(f"  undone ({how}): {step.action} {step.target or (step.args if isinstance(step.args, str) else '')}"
                 .rstrip())

    def could_not_record(self, what: str, exc: BaseException) -> None:
        """Nothing is lost silently: the action becomes a TODO line in the recipe where it happened, the
        builder sees one line, the details go to the logs folder, and the recording carries on."""
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.recording.add(RecordedStep("todo", f"the recorder could not capture this {what}: {why}"))
        log = self.session.recipe_path.parent.parent / self.settings.logs_dir / "recorder.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as out:
                out.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {self.session.recipe_path.name}: could not record "
                          f"a {what}\n{traceback.format_exc()}\n")
        except OSError:
            pass   # the details are a help, not the record: the TODO in the recipe is
        self.say(f"  could not record that {what}: {why} (a TODO marks it in the recipe; details in "
                 f"{self.settings.logs_dir}/recorder.log)")
        try:
            self.session.save()
        except Exception:  # noqa: BLE001 - the next action saves again
            pass

    def _interrupt(self, signum, frame) -> None:
        """Ctrl-C: stop after the action being recorded; the files are written as always."""
        self.stop("Ctrl-C")
