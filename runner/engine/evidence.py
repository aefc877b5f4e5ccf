"""Screenshots as evidence, kept off the critical path.

A picture is asked for when a step has changed the screen (audit/screenshots.py says which); the browser
encodes it while the engine goes on with steps that only look (waits, reads, checks). Before the next step
that acts on the screen, the picture is settled: hashed, written under the run's screenshots/ folder, and
only then are the events that name it written, in order. An event never names a picture that is not on
disk, and a screen that did not change is not stored twice: the events share the picture before.
Mixed into the Engine, which provides the driver, settings and trail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..audit.events import AuditEvent, Trail
from ..drivers.base import Picture, Screen, ScreenshotRequest
from ..project.settings import Settings


@dataclass
class PictureInFlight:
    """A picture asked for and not yet in hand, and the events that will name it."""

    picture: Picture
    relative: str                    # its file under the run's folder, if it is new
    events: list[AuditEvent]


class Evidence:
    """The engine's screenshots (mixed into Engine, which provides these)."""

    driver: Screen
    settings: Settings
    trail: Trail
    _secret_pattern: str | None

    def capture(self, state, events: list[AuditEvent], fresh: bool = False) -> None:
        """Give these events the picture of the screen as it is now. Nothing was done on the screen since the
        last picture (a wait, a read): they share that one, unless `fresh` asks for a new look."""
        if not fresh and not state.screen_changed:
            if state.in_flight is not None:
                state.in_flight.events.extend(events)
                return
            if state.last_shot:
                for event in events:
                    event.screenshot, event.screenshot_sha256 = state.last_shot
                return
        self.settle_pictures(state)   # one picture at a time: they are stored in the order they were taken
        ext = "jpg" if self.settings.screenshot_format == "jpeg" else "png"
        relative = f"screenshots/{safe_name(state.item.reference)}-a{state.attempt}-{events[-1].seq:06d}.{ext}"
        try:
            picture = self.driver.screenshot(ScreenshotRequest(
                self.settings.screenshot_format, self.settings.screenshot_quality,
                secret_pattern=self._secret_pattern, secret_shown=state.secret_shown))
        except Exception as exc:  # noqa: BLE001 - evidence failing must not hide the step's own outcome
            _note_failure(events, exc)
            return
        if picture.painted:
            for event in events:
                event.data = {**(event.data or {}), "painted_over": picture.painted}
        state.in_flight = PictureInFlight(picture, relative, list(events))
        state.screen_changed = False

    def settle_pictures(self, state) -> None:
        """Wait for the picture in flight, store it, and write the events held back for it, in order."""
        flight, state.in_flight = state.in_flight, None
        if flight is not None:
            try:
                data = flight.picture.data()
            except Exception as exc:  # noqa: BLE001 - the browser went away mid-picture: said on each event
                _note_failure(flight.events, exc)
                state.last_shot, state.screen_changed = None, True
            else:
                digest = hashlib.sha256(data).hexdigest()
                if state.last_shot is None or state.last_shot[1] != digest:
                    (self.trail.run_dir / flight.relative).write_bytes(data)
                    state.last_shot = (flight.relative, digest)
                # else the screen looked exactly as in the last picture: the events name that one
                for event in flight.events:
                    event.screenshot, event.screenshot_sha256 = state.last_shot
        held, state.outbox = state.outbox, []
        for event in held:
            self.trail.emit(event)

    def emit(self, state, event: AuditEvent) -> None:
        """Write an event; behind a picture in flight it waits with the others, so the trail stays in order."""
        if state.in_flight is not None:
            state.outbox.append(event)
        else:
            self.trail.emit(event)

    def flush_pending(self, state, reuse: AuditEvent | None = None) -> None:
        """The events of a run of inputs get one picture, taken after the last of them (or the picture of
        `reuse`, the step that failed after them)."""
        if not state.pending:
            return
        pending, state.pending = state.pending, []
        if reuse is not None and state.in_flight is not None and any(e is reuse for e in state.in_flight.events):
            state.in_flight.events.extend(pending)
        elif reuse is not None and reuse.screenshot:
            for event in pending:
                event.screenshot, event.screenshot_sha256 = reuse.screenshot, reuse.screenshot_sha256
        else:
            self.capture(state, pending)
        for event in pending:
            self.emit(state, event)


def _note_failure(events: list[AuditEvent], exc: BaseException) -> None:
    said = str(exc).splitlines()[0] if str(exc) else repr(exc)
    for event in events:
        event.data = {**(event.data or {}), "screenshot_error": said}


def safe_name(reference: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in reference)[:60] or "item"
