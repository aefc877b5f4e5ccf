"""`backroom record desktop`: record a recipe by using a desktop application once.

Clicks and keys are captured from the X server (pynput, through the RECORD extension), so the
application itself is untouched. A sampler keeps the last pictures of the screen; for each click the
picture from just before it shows the control as it was. A click followed by typing is an input
field: it is found by its label (an anchor picture and the offset to the field), the typed text
becomes a fill step. Any other click is a control found by its own picture. Templates are saved
beside the selector map (selectors/<app>/<screen>/), elements the map already has are reused.

Recorder keys (they never reach the recipe): Ctrl+Shift+F9 adds a checkpoint screenshot,
Ctrl+Shift+F10 makes the next click read that field, Ctrl+Shift+F8 takes back the last step,
Ctrl+Shift+F12 stops (as does Ctrl-C).
"""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..drivers.screen_match import Box, ScreenImage, find_template, load_template
from ..drivers.x_windows import ShownWindow, window_at, windows_on_screen
from ..project.selector_map import DEFAULT_CONFIDENCE, SelectorMap
from ..project.settings import Settings
from .base import Recorder
from .model import RecordedElement, RecordedStep
from .screen_crop import control_box, crop, is_flat, label_box, landmark_near, search_region, unique_box
from .screen_words import tesseract_missing, words_in
from .session import RecordingSession
from .values import ValueMatcher, snake

SAMPLE_EVERY_S = 0.08
DOUBLE_CLICK_S, DOUBLE_CLICK_PX = 0.5, 4   # a second click this soon and this near is the same click again
NAMED_KEYS = {"enter": "Enter", "tab": "Tab", "esc": "Escape", "page_up": "PageUp", "page_down": "PageDown",
              "up": "Up", "down": "Down", "home": "Home", "end": "End", "delete": "Delete"}
MODIFIERS = {"ctrl": "Control", "ctrl_l": "Control", "ctrl_r": "Control", "alt": "Alt", "alt_l": "Alt",
             "alt_r": "Alt", "alt_gr": "Alt", "shift": "Shift", "shift_l": "Shift", "shift_r": "Shift"}
EDITING_KEYS = {"home", "end", "left", "right", "delete", "insert"}   # moving in a field being typed into
RECORDER_KEYS = {"F8": "undo", "F9": "checkpoint", "F10": "read", "F12": "stop"}  # with Ctrl+Shift


def candidate_dict(candidate) -> dict:
    """A desktop map candidate as the map file writes it."""
    if candidate.strategy == "point":
        return {"point": list(candidate.point)}
    out: dict = {candidate.strategy: candidate.value}
    if candidate.offset is not None:
        out["offset"] = list(candidate.offset)
    if candidate.region is not None:
        out["region"] = list(candidate.region)
    return out


def field_hint(template: str, app: str) -> str:
    """A field's name from what was typed into it: {{ item.account }} -> account, a secret -> password."""
    found = re.search(r"\{\{\s*(?:item|secrets|app)\.([A-Za-z_]\w*)", template)
    return found.group(1).removeprefix(f"{app}_") if found else "field"


class ScreenSampler(threading.Thread):
    """The last pictures of the screen and the windows on it, so a click is matched with the screen as
    it was just before it (by the time a click is reported, the program may have reacted to it)."""

    def __init__(self):
        super().__init__(name="screen-sampler", daemon=True)
        self.frames: collections.deque[tuple[float, np.ndarray, list]] = collections.deque(maxlen=24)
        self.halt = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        import mss

        x = _open_x()
        with mss.MSS() as grabber:
            monitor = grabber.monitors[1] if len(grabber.monitors) > 1 else grabber.monitors[0]
            while not self.halt.is_set():
                taken = time.monotonic()
                windows = windows_on_screen(x, titled_only=True) if x is not None else []
                self.frames.append((taken, np.asarray(grabber.grab(monitor)).copy(), windows))
                self.ready.set()
                self.halt.wait(SAMPLE_EVERY_S)
        if x is not None:
            x.close()

    def before(self, moment: float) -> tuple[np.ndarray, list]:
        frames = list(self.frames)
        earlier = [(f, w) for t, f, w in frames if t < moment]
        return earlier[-1] if earlier else frames[0][1:]


def _open_x():
    if not os.environ.get("DISPLAY"):
        return None
    from Xlib import display as xdisplay

    return xdisplay.Display(os.environ["DISPLAY"])


@dataclass
class Press:
    """A click waiting to be told apart: a field (typing follows) or a control."""

    point: tuple[int, int]
    screen: np.ndarray
    shown: ShownWindow | None   # the window clicked in, as it was
    text: str = ""
    read: bool = False
    moment: float = 0.0     # when the (last) click was
    clicks: int = 1         # 2: a double-click; 3: a triple-click (selects a field's text)

    @property
    def window(self) -> str:
        return self.shown.title if self.shown is not None else ""

    def again(self, point: tuple[int, int], moment: float) -> bool:
        """Whether a click is this one clicked again (a double or triple click), not a new click."""
        near = abs(point[0] - self.point[0]) <= DOUBLE_CLICK_PX and abs(point[1] - self.point[1]) <= DOUBLE_CLICK_PX
        return near and not self.text and not self.read and moment - self.moment <= DOUBLE_CLICK_S


class DesktopRecorder(Recorder):
    def __init__(self, settings: Settings, session: RecordingSession, matcher: ValueMatcher, app: str,
                 selector_map: SelectorMap | None, launcher: Callable[[], None] | None, main_window: str,
                 say: Callable[[str], None] = print):
        super().__init__(settings, session, matcher, selector_map, say)
        self.app = app
        self.launcher = launcher
        self.main_window = main_window
        self.events: queue.Queue = queue.Queue()
        self.sampler = ScreenSampler()
        self.pending: Press | None = None
        self.read_next = False
        self.modifiers: set[str] = set()
        self.template_dir = session.map_path.parent / app
        self.counts: collections.Counter = collections.Counter()
        self.main: ShownWindow | None = None  # the app's main window: any other window is a screen of its own
        self.last_window: int | None = None   # the window of the last step: a step in another is a new screen
        self.cannot_read = tesseract_missing()
        if self.cannot_read:
            say(f"  {self.cannot_read}: controls are named control_1, control_2...; rename them in the map")

    # -- capture ---------------------------------------------------------------------------------
    def run(self) -> str:
        from pynput import keyboard, mouse  # needs the display: imported only now

        previous = signal.signal(signal.SIGINT, self._interrupt)
        if self.launcher is not None:
            self.launcher()
            self.recording.add(RecordedStep("launch", self.app, "starts the app unless it is running"))
        self.sampler.start()
        self.sampler.ready.wait(5)
        mouse_listener = mouse.Listener(on_click=self._on_click)
        key_listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        mouse_listener.start()
        key_listener.start()
        mouse_listener.wait()
        key_listener.wait()
        self.session.save()
        self.say("Recording: use the application. Ctrl+Shift+F9 checkpoint, Ctrl+Shift+F10 then click a field "
                 "to read it, Ctrl+Shift+F8 undo the last step, Ctrl+Shift+F12 or Ctrl-C to stop.")
        try:
            while not self.stopped.is_set():
                try:
                    self._handle(*self.events.get(timeout=0.1))
                except queue.Empty:
                    continue
            while not self.events.empty():  # keys and clicks that came before the stop
                self._handle(*self.events.get_nowait())
            self._settle_pending()
        finally:
            mouse_listener.stop()
            key_listener.stop()
            self.sampler.halt.set()
            signal.signal(signal.SIGINT, previous)
            self.session.save()
        return self.why_stopped

    def _on_click(self, x, y, button, pressed) -> None:
        if pressed and button.name == "left":
            moment = time.monotonic()
            # the screen as it was is taken now: the steps before this click may take longer to write
            # (pictures, OCR) than the sampler keeps its pictures
            self.events.put(("click", (int(x), int(y)), moment, self.sampler.before(moment)))

    def _key_name(self, key) -> str | None:
        name = getattr(key, "name", None)
        if name is None:
            return getattr(key, "char", None)
        return name

    def _on_press(self, key) -> None:
        name = self._key_name(key)
        if name in MODIFIERS:
            self.modifiers.add(MODIFIERS[name])
            return
        self.events.put(("key", (name, frozenset(self.modifiers)), time.monotonic(), None))
        if name and name.upper() == "F12" and {"Control", "Shift"} <= self.modifiers:
            self.stop("Ctrl+Shift+F12")

    def _on_release(self, key) -> None:
        name = self._key_name(key)
        if name in MODIFIERS:
            self.modifiers.discard(MODIFIERS[name])

    # -- steps -----------------------------------------------------------------------------------
    def _handle(self, kind: str, data, moment: float, seen: tuple[np.ndarray, list] | None) -> None:
        try:
            if kind == "click":
                if self.pending is not None and self.pending.again(data, moment):
                    self.pending.clicks += 1
                    self.pending.moment = moment
                    return
                self._settle_pending()
                screen, windows = seen or self.sampler.before(moment)
                self.pending = Press(data, screen, window_at(windows, data), read=self.read_next, moment=moment)
                self.read_next = False
                if self.pending.read:
                    self._settle_pending()
            else:
                self._key(*data)
            self.session.save()
        except Exception as exc:  # a defect here must not end the builder's session
            self.could_not_record("click" if kind == "click" else "key", exc)

    def _key(self, name: str | None, modifiers: frozenset) -> None:
        if name is None:
            return
        upper = name.upper()
        if {"Control", "Shift"} <= modifiers and upper in RECORDER_KEYS:
            command = RECORDER_KEYS[upper]
            if command == "checkpoint":
                self._settle_pending()
                self.checkpoint("Ctrl+Shift+F9")
            elif command == "undo":
                self._settle_pending()
                self.undo("Ctrl+Shift+F8")
            elif command == "read":
                self.read_next = True
                self.say("  click the field to read")
            return
        if self.pending is not None and modifiers == {"Control"} and name.lower() == "a":
            return  # select all before typing: the typing that follows is a fill, which replaces the text
        typed = len(name) == 1 and not (modifiers & {"Control", "Alt"})
        if typed and self.pending is not None:
            self.pending.text += name
            return
        if name == "backspace" and self.pending is not None:
            self.pending.text = self.pending.text[:-1]
            return
        if name in EDITING_KEYS and self.pending is not None and not modifiers & {"Control", "Alt"}:
            return  # a fill replaces the field's text, so selecting or moving in it is not a step
        if name == "space" and self.pending is not None and not (modifiers & {"Control", "Alt"}):
            self.pending.text += " "
            return
        self._settle_pending()
        key = NAMED_KEYS.get(name) or (upper if len(name) <= 3 and upper.startswith("F") else name)
        if len(name) == 1:
            key = name.upper() if modifiers & {"Control", "Alt"} else name
        combo = "+".join(sorted(m for m in modifiers if m != "Shift" or len(name) > 1) + [key])
        comment = "" if not typed else "typed without clicking a field first: click the field for a fill step"
        self.recording.add(RecordedStep("press", combo, comment))
        self.say(f"  press {combo}")

    def _settle_pending(self) -> None:
        press, self.pending = self.pending, None
        if press is None:
            return
        if press.read:
            element = self._element(press, field=True, hint="value")
            step = RecordedStep("read", {"target": element.name, "into": self.recording.variable(element.element)},
                                "Ctrl+Shift+F10")
        elif press.text:
            match = self.matcher.typed(press.text, False, "field")
            element = self._element(press, field=True, hint=field_hint(match.template, self.app))
            secret = match.template.startswith("{{ secrets.")
            element.secret = element.secret or secret
            step = RecordedStep("fill", {"target": element.name, "value": match.template}, match.comment,
                                password=secret and "password" in match.template, form=press.window)
        else:
            element = self._element(press, field=False, hint="control")
            if press.clicks == 2:
                step = RecordedStep("click", {"target": element.name, "double": True}, form=press.window)
            else:
                step = RecordedStep("click", element.name, "clicked three times: recorded as one click"
                                    if press.clicks > 2 else "", form=press.window)
        window = press.shown.id if press.shown is not None else None
        if window != self.last_window and element.screen != "main":
            # a window that opened (a dialog): the replay waits for it, then acts in it
            self.recording.add(RecordedStep("wait_for", element.name, f"the window {press.window!r} opened"))
        self.last_window = window
        self.recording.add(step)
        self.say(f"  {step.action} {element.name}")

    # -- elements --------------------------------------------------------------------------------
    def _screen_name(self, shown: ShownWindow | None) -> str:
        """The app's main window is "main" (whatever its title becomes); another window (a dialog) is named
        from the words of its title that the main window's title does not have."""
        if shown is None or not shown.title:
            return "main"
        if self.main is None and shown.title.startswith(self.main_window):
            self.main = shown
        if self.main is None or shown.id == self.main.id:
            return "main"
        own = [part for part in shown.title.split(" - ") if part not in self.main.title.split(" - ")]
        name = snake(own[0] if own else shown.title)
        if not shown.title.startswith(self.main_window):   # a run must know the window to wait for
            self.session.screen_windows.setdefault(name, shown.title)
        return name

    def _element(self, press: Press, field: bool, hint: str) -> RecordedElement:
        box = control_box(press.screen, press.point)
        reused = self._reused(press.screen, box)
        if reused is not None:
            return self.session.reuse(reused)
        screen = self._screen_name(press.shown)
        confidence = DEFAULT_CONFIDENCE
        label = label_box(press.screen, box)
        if field and label is not None:
            words = self._words(press.screen, label)
            name = snake(words) if words else hint
            return self._found_by(press, screen, name, unique_box(press.screen, label, confidence), box.center,
                                  "label", "field, found by its label")
        if is_flat(press.screen, box):
            # an empty area (a text editor's page): found from the nearest thing that looks like nothing else
            landmark = landmark_near(press.screen, press.point, press.shown.box if press.shown else None, confidence)
            if landmark is not None:
                name = hint if field else self._button_name(press.screen, None, label)
                return self._found_by(press, screen, name, landmark, press.point,
                                      "anchor", "found from the picture beside it, by an offset")
        box = unique_box(press.screen, box, confidence)
        name = hint if field else self._button_name(press.screen, box, label)
        picture = self._save(press.screen, box, screen, name)
        candidates = [{"image": picture, "region": search_region(box, press.screen)}, {"image": picture}]
        description = "field" if field else (f"see selectors/{self.app}/{picture}" +
                                             ("; rename to what it is" if name.startswith("control_") else ""))
        return self.session.new_element(screen, name, candidates, (), description=description)

    def _found_by(self, press: Press, screen: str, name: str, anchor: Box, target: tuple[int, int],
                  anchor_kind: str, description: str) -> RecordedElement:
        """An element found from another picture (its label, a landmark) and the offset from it."""
        picture = self._save(press.screen, anchor, screen, f"{name}_{anchor_kind}")
        offset = [target[0] - anchor.center[0], target[1] - anchor.center[1]]
        candidates = [{"anchor": picture, "offset": offset, "region": search_region(anchor, press.screen)},
                      {"anchor": picture, "offset": offset}, {"point": list(target)}]
        return self.session.new_element(screen, name, candidates, (), description=description)

    def _words(self, screen: np.ndarray, box: Box | None) -> str:
        """The words on the box, read by Tesseract; '' when there are none or they cannot be read."""
        if box is None or self.cannot_read:
            return ""
        try:
            return words_in(screen, box)
        except Exception as exc:  # OCR is for names only: a failure must not lose the step
            self.cannot_read = f"reading words failed ({exc})"
            self.say(f"  {self.cannot_read}: later controls are named control_1, control_2...")
            return ""

    def _button_name(self, screen: np.ndarray, face: Box | None, label: Box | None) -> str:
        """A control's name: the words on its face, else its label's, else control_<n> to rename."""
        words = self._words(screen, face) or self._words(screen, label)
        if words:
            return snake(words)
        self.counts["control"] += 1
        return f"control_{self.counts['control']}"

    def _save(self, screen: np.ndarray, box: Box, folder: str, name: str) -> str:
        relative = Path(folder) / f"{name}.png"
        n = 2
        while (self.template_dir / relative).exists():
            relative, n = Path(folder) / f"{name}_{n}.png", n + 1
        path = self.template_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), crop(screen, box))
        return relative.as_posix()

    def _reused(self, screen: np.ndarray, box: Box) -> RecordedElement | None:
        """An element of the map (or recorded before) that is at this place on this screen."""
        image = ScreenImage(screen)
        inside = Box(box.x - 4, box.y - 4, box.width + 8, box.height + 8)
        for element in self.session.all_elements():
            first = next((c for c in element.candidates if "image" in c or "anchor" in c), None)
            if first is None:
                continue
            path = self.template_dir / (first.get("image") or first.get("anchor"))
            if not path.is_file():
                continue
            haystack = image.crop(Box(*first["region"])) if first.get("region") else image
            found, _ = find_template(haystack, load_template(path, True), DEFAULT_CONFIDENCE)
            if len(found) != 1:
                continue
            x, y = found[0].box.center
            dx, dy = first.get("offset") or (0, 0)
            px, py = x + dx, y + dy
            if inside.x <= px < inside.x + inside.width and inside.y <= py < inside.y + inside.height:
                return element
        return None
