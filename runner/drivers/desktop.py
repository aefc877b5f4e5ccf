"""Desktop driver: legacy desktop programs driven with pyautogui, controls found by image.

What a clerk does, a bot does: look at the screen, click, type, copy a value. Controls
are found with OpenCV template matching (screen_match.py) through the selector map's
candidate chain; the screen is captured with mss, which grabs a search region alone in
a fraction of a millisecond. Values are read by selecting a field's text and copying it
through the clipboard, which also types what a keyboard layout cannot.

pyautogui's settings are chosen, not inherited: a short pause after each action (the
screen is watched for stillness instead), and the fail-safe (mouse slammed into a screen
corner stops the run) on only where a person can see the screen.
"""

from __future__ import annotations

import io
import os
import signal
import string
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .display import check_display
from ..errors import DesktopAppError, SelectorNotFound, SystemException
from ..project.selector_map import Candidate, Selector
from ..project.settings import AppSettings, DesktopSettings, Settings
from . import clipboard
from .base import POLL_SECONDS, Picture, Resolution, ScreenshotRequest, wait_for_any
from .screen_match import Box, ScreenImage, find_template, load_template
from .x_windows import (ShownWindow, ask_to_close, focused_window, pointer_held, shown_by_id, title_matches,
                        titled_windows, window_at, window_pid, windows_on_screen)

SLOW_KEY_S = 0.04           # between keys when a field is typed again after its read-back was wrong
STILL_SECONDS = 0.03        # two captures this far apart that are equal: the screen has settled
CLIPBOARD_WAIT_S = 2.0
POPUP_PATIENCE_S = 1.0      # how long a pop-up in the way of a click may take to close by itself
POPUP_MIN_PX = 8            # smaller override-redirect windows are a toolkit's helpers, never seen
SECRET_BOX = (260, 30)      # painted over around a field a secret was typed into
TYPEABLE = set(string.ascii_letters + string.digits + string.punctuation + " \n\t")
# Recipe key names (as on the web: "Enter", "Control+S", "F3") to pyautogui's.
KEY_NAMES = {"control": "ctrl", "escape": "esc", "arrowleft": "left", "arrowright": "right", "arrowup": "up",
             "arrowdown": "down", "meta": "win", "return": "enter", "del": "delete", "spacebar": "space"}


class NothingCopied(SystemException):
    """Selecting a field's text and copying it left the clipboard as it was."""


def key_combo(key: str) -> list[str]:
    """'Control+Shift+S' -> ['ctrl', 'shift', 's']."""
    parts = [p.strip().lower() for p in key.split("+") if p.strip()] if key != "+" else ["+"]
    return [KEY_NAMES.get(p, p) for p in parts]


def load_pyautogui(desktop: DesktopSettings, attended: bool):
    import pyautogui

    if sys.platform == "linux":
        from pyautogui import _pyautogui_x11 as x11
        from Xlib.display import Display

        # pyautogui connects to the X server once, when imported; a run on a new
        # (virtual) display in the same process needs a connection to that one.
        if x11._display.get_display_name() != os.environ.get("DISPLAY"):
            x11._display = Display(os.environ["DISPLAY"])
    pyautogui.PAUSE = desktop.pause_s
    pyautogui.MINIMUM_DURATION = 0
    pyautogui.FAILSAFE = {"on": True, "off": False}.get(desktop.failsafe, attended)
    return pyautogui


class DesktopDriver:
    kind = "desktop"

    def __init__(self, settings: Settings, apps: dict[str, AppSettings], project: Path, attended: bool = True):
        self.settings = settings
        self.apps = apps
        self.project = Path(project)
        self.attended = attended  # a person may be watching (not a virtual display this run started)
        # loaded by start(): pyautogui, an mss grabber and the X display (typed Any: none ships type hints)
        self._gui: Any = None
        self._grabber: Any = None
        self._x: Any = None
        self._has_window_manager = True
        self._processes: dict[str, subprocess.Popen] = {}
        self._windows: dict[str, str | None] = {}   # each app this run started: its main window's title
        # and the ids of the windows that title found at launch: the same windows whatever their titles
        # become (an editor marks unsaved work with '*' and shows the saved file's name)
        self._opened: dict[str, set[int]] = {}
        self._secret_fields: dict[str, Selector] = {}   # the fields a secret was typed into, this item
        self._in_field: str | None = None   # the field the keyboard cursor is in after typing into it
        self._waits: list[str] = []         # what the last step waited for before it clicked or typed
        self._closed_popup = False          # Escape was pressed to close a pop-up holding the mouse, this step
        self._held_since = 0.0              # when a pop-up was first seen holding the mouse, this step
        # the last picture: what it was asked with, the screen it showed, its notes and its encoded bytes
        self._last_picture: tuple[Any, np.ndarray, tuple[str, ...], bytes] | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        check_display()
        import mss

        self._gui = load_pyautogui(self.settings.desktop, self.attended)
        self._grabber = mss.MSS()
        if sys.platform == "linux":
            from Xlib.display import Display

            self._x = Display(os.environ["DISPLAY"])
            root = self._x.screen().root
            self._has_window_manager = bool(root.get_full_property(self._x.intern_atom("_NET_SUPPORTING_WM_CHECK"), 0))

    def stop(self) -> list[str]:
        closed = {name: self.close_app(name) for name in list(self._processes)}
        notes = [f"{name}: {how}" for name, how in closed.items() if how != "not running"]
        if self._grabber is not None:
            self._grabber.close()
        if self._x is not None:
            self._x.close()
        self._grabber = self._x = None
        return notes

    def begin_item(self) -> None:
        self._secret_fields = {}

    def end_item(self, clean: bool = True) -> list[str]:
        """After a failed item, close the apps this run started: the next item starts them again
        from their first screen instead of inheriting a half-filled form or an open dialog."""
        self._secret_fields = {}
        notes = []
        if not clean:
            for name, process in list(self._processes.items()):
                if process.poll() is None:
                    self.close_app(name)
                    notes.append(f"{name} closed after the failed item, so the next one starts from its first screen")
        return notes

    # -- applications ----------------------------------------------------
    def launch(self, app: str, window: str | None, timeout_ms: int) -> str:
        """Start the app unless it is running; wait for its main window, whether the command stays (the
        program itself) or exits at once with code 0 (a launcher that starts it in the background)."""
        process = self._processes.get(app)
        if app in self._processes and (process is not None and process.poll() is None or
                                       window and self._window_shown(window)):
            return "already running"
        if window and self._window_shown(window):
            return "already open (started outside this run)"
        config = self.apps[app]
        command = config.command_line()
        with tempfile.TemporaryFile() as output:  # what the app or its launcher says if it fails to start
            try:
                process = subprocess.Popen(command, cwd=self.project, stdin=subprocess.DEVNULL,
                                           stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise DesktopAppError(f"cannot start {app}: {exc} (command: {' '.join(command)})") from None
            self._processes[app] = process
            self._windows[app] = window
            if not window:
                return f"started (pid {process.pid}); no window title to wait for"
            deadline = time.monotonic() + min(timeout_ms / 1000, config.start_timeout_s)
            while not self._window_shown(window):
                code = process.poll()
                if code not in (None, 0):
                    output.seek(0)
                    tail = output.read().decode(errors="replace").strip().splitlines()[-1:]
                    self._processes.pop(app, None)
                    self._windows.pop(app, None)
                    raise DesktopAppError(f"{app} exited at start with code {code}" + (f": {tail[0]}" if tail else ""))
                if time.monotonic() >= deadline:
                    self.close_app(app)
                    launcher = " (its command exited at once, code 0)" if code == 0 else ""
                    raise DesktopAppError(f"{app} started{launcher} but no window titled {window!r} appeared within "
                                          f"{config.start_timeout_s:g}s")
                time.sleep(POLL_SECONDS)
        if self._x is not None:
            self._opened[app] = {w.id for w in titled_windows(self._x, window)}
        if process.poll() == 0:
            return f"started by its launcher (pid {process.pid}, exited); window {window!r} shown"
        return f"started (pid {process.pid})"

    def close_app(self, app: str) -> str:
        """Quit the app as a person would: close its windows (the program saves and clears its lock files,
        or asks), wait for it to go, and kill it only after the app's close_timeout_s. Returns what happened."""
        if app not in self._processes:
            return "not running"
        process = self._processes.pop(app)
        title = self._windows.pop(app, None)
        opened = self._opened.pop(app, set())
        windows = titled_windows(self._x, title) if title and self._x is not None else []
        if self._x is not None:
            windows += [w for w in shown_by_id(self._x, opened) if w.id not in {v.id for v in windows}]
        if process.poll() is not None and not windows:
            return "not running"
        owners = {pid for w in windows if (pid := window_pid(self._x, w))}
        asked = sum(ask_to_close(self._x, w) for w in windows)
        if not asked and process.poll() is None:
            process.terminate()   # no window that takes a close request: the program's own signal to quit
        timeout = (self.apps.get(app) or AppSettings()).close_timeout_s
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None and not (title and self._window_shown(title)) and not self._still_shown(opened):
                return "quit (its window was closed)" if asked else "quit"
            time.sleep(POLL_SECONDS)
        self._kill(process, owners)
        gone_by = time.monotonic() + 5
        while (title and self._window_shown(title) or self._still_shown(opened)) and time.monotonic() < gone_by:
            time.sleep(POLL_SECONDS)
        return f"killed: it had not quit {timeout:g}s after it was asked to (a dialog may be asking to save)"

    def _kill(self, process: subprocess.Popen, owners: set[int]) -> None:
        """The program and what it started, at once; then wait until its windows are gone, so the next
        launch does not take a closing window for an open one."""
        if process.poll() is None:
            try:
                if os.name == "nt":
                    process.kill()
                else:
                    os.killpg(process.pid, signal.SIGKILL)   # it was started in a session of its own
            except ProcessLookupError:
                pass
        for pid in owners - {process.pid}:   # a program its launcher left running
            try:
                os.kill(pid, signal.SIGKILL if os.name != "nt" else signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _still_shown(self, ids: set[int]) -> bool:
        return bool(ids) and self._x is not None and bool(shown_by_id(self._x, ids))

    def _ours(self, title: str | None, window_id: int | None, windows: tuple[str, ...]) -> bool:
        """Whether a window is one a screen shows in: by its title, or as a window that title found when
        its app started (whose title has changed since)."""
        return title_matches(title, windows) or window_id is not None and window_id in self._opened_ids(windows)

    def _opened_ids(self, windows: tuple[str, ...]) -> set[int]:
        """The ids of the windows launch saw open for the apps whose main window is one of `windows`."""
        return set().union(*(self._opened.get(app, set()) for app, title in self._windows.items() if title in windows))

    def _window_shown(self, title: str) -> bool:
        if self._x is None:  # Windows and macOS: pyautogui knows the windows there
            finder = getattr(self._gui, "getWindowsWithTitle", None)
            return bool(finder and any(w.title.startswith(title) for w in finder(title)))
        from Xlib import X, error as xerror

        def shown(window, depth: int) -> bool:
            try:
                name = window.get_wm_name()
                if isinstance(name, bytes):
                    name = name.decode("latin-1")
                if name and name.startswith(title) and window.get_attributes().map_state == X.IsViewable:
                    return True
                if depth < 2:  # under a window manager the app's window is a grandchild of the root
                    return any(shown(child, depth + 1) for child in window.query_tree().children)
            except xerror.XError:  # a window closing while we look
                return False
            return False

        return shown(self._x.screen().root, 0)

    # -- the screen ------------------------------------------------------
    def _grab(self, region: tuple[int, int, int, int] | None = None) -> ScreenImage:
        monitor = self._grabber.monitors[1] if len(self._grabber.monitors) > 1 else self._grabber.monitors[0]
        screen = Box(monitor["left"], monitor["top"], monitor["width"], monitor["height"])
        area = screen if region is None else Box(*region).clipped_to(screen)
        if area is None:  # a region entirely off this screen
            return ScreenImage(np.zeros((0, 0, 4), np.uint8), (region or (0, 0))[:2])
        shot = self._grabber.grab({"left": area.x, "top": area.y, "width": area.width, "height": area.height})
        return ScreenImage(np.asarray(shot), (area.x, area.y))

    def _locate(self, candidate: Candidate, full: ScreenImage | None,
                whole: Callable[[], ScreenImage]) -> tuple[tuple[int, int] | None, str]:
        """Where this candidate points on the screen now, or None and why not."""
        if candidate.strategy == "point":
            return candidate.point, ""
        assert candidate.image_path is not None   # an image candidate: the selector map checked it has one
        template = load_template(candidate.image_path, candidate.grayscale)
        if candidate.region is not None:  # a region alone is cheaper to grab than to cut from the screen
            haystack = full.crop(Box(*candidate.region)) if full is not None else self._grab(candidate.region)
        else:
            haystack = whole()
        matches, best = find_template(haystack, template, candidate.confidence)
        if len(matches) > 1:
            return None, f"{len(matches)} places match"
        if not matches:
            return None, f"not found (best {best:.2f} < {candidate.confidence:g})"
        x, y = matches[0].box.center
        dx, dy = candidate.offset or (0, 0)
        return (x + dx, y + dy), ""

    def _try_chain(self, selector: Selector, full: ScreenImage | None = None, visibility: bool = False):
        tried: list[str] = []
        captured: list[ScreenImage] = [full] if full is not None else []

        def whole() -> ScreenImage:  # the whole screen, captured once per look at the chain
            if not captured:
                captured.append(self._grab())
            return captured[0]

        for index, candidate in enumerate(selector.candidates):
            if visibility and candidate.strategy == "point":
                continue  # fixed coordinates cannot tell whether something is shown
            point, why = self._locate(candidate, full, whole)
            if point is not None:
                return point, Resolution(selector.name, candidate.describe(), index, tuple(tried)), tried
            tried.append(f"{candidate.describe()}: {why}")
        return None, None, tried

    def _resolve(self, selector: Selector, timeout_ms: int) -> tuple[tuple[int, int], Resolution]:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            point, resolution, tried = self._try_chain(selector)
            if point is not None:
                return point, resolution
            if time.monotonic() >= deadline:
                raise SelectorNotFound(f"'{selector.name}' not found on the screen within {timeout_ms / 1000:g}s: "
                                       + "; ".join(tried), selector=selector.name)
            time.sleep(POLL_SECONDS)

    def find_now(self, selector: Selector) -> Resolution | None:
        return self._try_chain(selector, visibility=True)[1]

    # -- mouse and keyboard ----------------------------------------------
    @contextmanager
    def _operator_can_stop(self) -> Iterator[None]:
        try:
            yield
        except self._gui.FailSafeException:
            raise KeyboardInterrupt("the mouse was moved to a screen corner (pyautogui fail-safe)") from None

    def _click_at(self, point: tuple[int, int], clicks: int = 1) -> None:
        self._in_field = None
        with self._operator_can_stop():
            self._gui.click(point[0], point[1], clicks=clicks, interval=0.05)
        self._focus_window_under_pointer()

    def _focus_window_under_pointer(self) -> None:
        """Click-to-focus where no window manager does it (a bare Xvfb screen).

        Without one, the keyboard focus is wherever X last put it; a program that has not
        been given the focus may drop the keys typed right after a click, and does so
        under load. Giving the clicked window the focus is what a window manager would do."""
        if self._x is None or self._has_window_manager:
            return
        from Xlib import X, error as xerror

        try:
            child = self._x.screen().root.query_pointer().child
            if child:
                child.set_input_focus(X.RevertToPointerRoot, X.CurrentTime)
                self._x.sync()
        except xerror.XError:  # the window went away between the click and now
            pass

    def _keys(self, *combo: str, pause: bool = True) -> None:
        for key in combo:
            if not self._gui.isValidKey(key):
                raise SystemException(f"unknown key {key!r}", "Use names such as Enter, Tab, F3, Control+S.")
        with self._operator_can_stop():
            if len(combo) > 1:
                self._gui.hotkey(*combo, _pause=pause)
            else:
                self._gui.press(combo[0], _pause=pause)

    def _select_field_text(self, pause: bool = True) -> None:
        self._keys("end", pause=pause)
        self._keys("shift", "home", pause=pause)

    def _type(self, text: str, secret: bool, slow: bool = False) -> None:
        if set(text) <= TYPEABLE:
            with self._operator_can_stop():
                self._gui.write(text, interval=SLOW_KEY_S if slow else 0)
            return
        # Characters the keyboard layout has no key for (é, €, ß): paste them.
        clipboard.copy(text)
        self._keys("ctrl", "v")
        if secret:
            clipboard.copy("")

    def click(self, selector: Selector, timeout_ms: int, double: bool = False) -> Resolution:
        point, resolution = self._target(selector, timeout_ms)
        self._click_at(point, 2 if double else 1)
        return resolution

    # -- the right window, the right spot -----------------------------------
    def _target(self, selector: Selector, timeout_ms: int) -> tuple[tuple[int, int], Resolution]:
        """Find the element, and find it again until nothing else (a pop-up list, another window) covers it."""
        deadline = time.monotonic() + timeout_ms / 1000
        started = time.monotonic()
        self._closed_popup, self._held_since = False, 0.0
        while True:
            point, resolution = self._resolve(selector, max(int((deadline - time.monotonic()) * 1000), 0))
            over = self._window_over(point, selector.windows)
            if over is None and self._popup_in_the_way(point):
                over = "a pop-up that would take the click (a list the typing opened)"
            if over is None:
                if time.monotonic() - started > POLL_SECONDS:
                    self._waits.append(f"waited {time.monotonic() - started:.1f}s for {selector.name} to be uncovered")
                return point, resolution
            if time.monotonic() >= deadline:
                raise SystemException(f"'{selector.name}' is covered by {over} at {list(point)}; nothing was clicked",
                                      "Something stayed over the element (a pop-up list, another window): see the "
                                      "screenshot.", selector=selector.name)
            time.sleep(POLL_SECONDS)

    def _popup_in_the_way(self, point: tuple[int, int]) -> bool:
        """Whether a pop-up elsewhere would take the click for itself, to close (a completion list that typing
        into a field opened, say): one that holds the mouse, or one shown away from the spot. Most close by
        themselves in a moment; one still open after POPUP_PATIENCE_S is closed with Escape, once, as a
        person would. A click into the pop-up itself is what it waits for, so that one is never in the way."""
        if self._x is None:
            return False
        shown = windows_on_screen(self._x)
        top = window_at(shown, point)
        if top is not None and top.popup:
            return False
        popups = [w for w in shown if w.popup and w.box.width >= POPUP_MIN_PX and w.box.height >= POPUP_MIN_PX
                  and w.box.x + w.box.width > 0 and w.box.y + w.box.height > 0]
        if not popups and not pointer_held(self._x):
            return False
        now = time.monotonic()
        self._held_since = self._held_since or now
        if now - self._held_since >= POPUP_PATIENCE_S and not self._closed_popup:
            self._closed_popup = True
            self._keys("escape")
            self._waits.append("closed a pop-up that was in the way (Escape) before clicking")
        return True

    def _window_over(self, point: tuple[int, int], windows: tuple[str, ...]) -> str | None:
        """What covers the point when it is not a window of the element's screen (None: the spot is clear)."""
        if self._x is None or not windows:
            return None
        top = window_at(windows_on_screen(self._x), point)
        if top is None or (not top.popup and self._ours(top.title, top.id, windows)):
            return None
        if top.popup:
            return "a pop-up (a list or a menu)"
        return f"the window {top.title!r}" if top.title else "an untitled window"

    def _keyboard_to(self, windows: tuple[str, ...], what: str, timeout_ms: int) -> None:
        """Wait until the window in front, the one that gets the keys, is one of `windows`."""
        if self._x is None or not windows:
            return
        started = time.monotonic()
        deadline = started + timeout_ms / 1000
        while True:
            title, window_id = focused_window(self._x) or (None, None)
            if self._ours(title, window_id, windows):
                break
            if not title and not self._has_window_manager:   # none, or a toolkit's untitled helper window
                self._give_focus_back(windows)
            if time.monotonic() >= deadline:
                shown = repr(title) if title else "none"
                raise SystemException(f"{what}: the window in front is {shown}, not {windows[0]!r}; nothing was typed",
                                      "A dialog may still be open or another program in front: see the screenshot.")
            time.sleep(POLL_SECONDS)
        if time.monotonic() - started > POLL_SECONDS:
            self._waits.append(f"waited {time.monotonic() - started:.1f}s for {windows[0]!r} to be in front "
                               f"before {what}")

    def _give_focus_back(self, windows: tuple[str, ...]) -> None:
        """With no window manager, a closed dialog leaves the keyboard with no window at all: give it to the
        screen's window, as a window manager gives it back to the window the dialog belonged to."""
        from Xlib import X, error as xerror

        candidates = shown_by_id(self._x, self._opened_ids(windows))
        candidates += [w for title in windows for w in titled_windows(self._x, title)]
        if candidates:
            try:
                candidates[0].set_input_focus(X.RevertToPointerRoot, X.CurrentTime)
                self._x.sync()
            except xerror.XError:   # it closed meanwhile: the next look finds another or times out
                pass

    def take_waits(self) -> list[str]:
        waits, self._waits = self._waits, []
        return waits

    def fill(self, selector: Selector, text: str, timeout_ms: int, secret: bool = False,
             slow: bool = False) -> Resolution:
        point, resolution = self._target(selector, timeout_ms)
        self._click_at(point)
        self._keyboard_to(selector.windows, f"typing into {selector.name}", timeout_ms)
        self._select_field_text()
        self._keys("backspace")
        if secret:  # recorded before typing, so no screenshot can catch the value
            self._secret_fields[selector.name] = selector
        if text:
            self._type(text, secret, slow)
        self._in_field = selector.name
        return resolution

    def select(self, selector: Selector, option: str, timeout_ms: int, slow: bool = False) -> Resolution:
        """A legacy combo box: click it, type the option's text, confirm."""
        point, resolution = self._target(selector, timeout_ms)
        self._click_at(point)
        self._keyboard_to(selector.windows, f"choosing in {selector.name}", timeout_ms)
        self._type(option, secret=False, slow=slow)
        self._keys("enter")
        self._in_field = selector.name
        return resolution

    def read_back(self, selector: Selector, kind: str, timeout_ms: int) -> str | list[str] | bool | None:
        """The field's text, copied (without a click when the cursor is still in it after typing); None when
        nothing could be copied, as from an empty field, which has no text to select."""
        if kind == "check":
            raise SystemException("'check' cannot see a desktop check box's state: click it instead")
        if self._in_field != selector.name:
            self._click_into(selector, timeout_ms)
        try:
            return self._copy_field(selector.name, "")
        except NothingCopied:
            return None

    def press(self, selector: Selector | None, key: str, timeout_ms: int,
              windows: tuple[str, ...] = ()) -> Resolution | None:
        self._in_field = None
        resolution = None
        if selector is not None:
            point, resolution = self._target(selector, timeout_ms)
            self._click_at(point)
            windows = selector.windows
        self._keyboard_to(windows, f"pressing {key}", timeout_ms)
        self._keys(*key_combo(key))
        return resolution

    def wait_for_any(self, selectors: list[Selector], visible: bool, timeout_ms: int) -> Resolution:
        def new_look():
            screen = self._grab()  # one capture per round serves every candidate of every selector

            def look(selector: Selector):
                _, resolution, tried = self._try_chain(selector, screen, visibility=True)
                return resolution, tried
            return look

        return wait_for_any(selectors, visible, timeout_ms, new_look)

    def read(self, selector: Selector, attribute: str | None, timeout_ms: int) -> tuple[str, Resolution]:
        """Select the field's text and copy it, as a clerk would."""
        if attribute:
            raise SystemException(f"'{selector.name}': desktop fields have no attributes to read")
        resolution = self._click_into(selector, timeout_ms)
        return self._copy_field(selector.name, resolution.candidate).strip(), resolution

    def _click_into(self, selector: Selector, timeout_ms: int) -> Resolution:
        """Click a field to copy from it, once its window has the keyboard."""
        point, resolution = self._target(selector, timeout_ms)
        self._click_at(point)
        self._keyboard_to(selector.windows, f"copying {selector.name}", timeout_ms)
        return resolution

    def _copy_field(self, name: str, where: str) -> str:
        """Select the focused field's text and copy it through the clipboard."""
        sentinel = f"backroom-nothing-copied-{time.monotonic_ns()}"
        clipboard.copy(sentinel)  # so a failed copy is seen as one, never mistaken for an old value
        # xclip takes the clipboard in a process of its own: until it has, the app's copy could be overtaken
        self._wait_for_clipboard(lambda value: value == sentinel)
        for pause in (False, True):  # a second try with pauses, for a machine too busy for the first
            # no pause between these keys: the X server delivers them in order, and the clipboard is waited for
            self._select_field_text(pause=pause)
            self._keys("ctrl", "c", pause=pause)
            value = self._wait_for_clipboard(lambda value: value != sentinel)
            if value is not None:
                return value.rstrip("\n")
        raise NothingCopied(f"nothing could be copied from '{name}'" + (f" ({where})" if where else ""),
                            "The field may not allow selecting its text; check the screenshot. "
                            "A field that cannot be read back needs 'verify: false' on its step.")

    @staticmethod
    def _wait_for_clipboard(done: Callable[[str], bool]) -> str | None:
        deadline = time.monotonic() + CLIPBOARD_WAIT_S
        while not done(value := clipboard.paste()):
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)
        return value

    # -- evidence --------------------------------------------------------
    def settle(self, timeout_ms: int) -> None:
        """Wait until the screen stops changing (the app has repainted), at most the configured time."""
        deadline = time.monotonic() + min(timeout_ms, self.settings.desktop.settle_ms) / 1000
        time.sleep(STILL_SECONDS)
        previous = self._grab().bgra
        while time.monotonic() < deadline:
            time.sleep(STILL_SECONDS)
            current = self._grab().bgra
            if np.array_equal(previous, current):
                return
            previous = current

    def screenshot(self, request: ScreenshotRequest) -> Picture:
        """The whole screen, with the secret fields found on this picture painted over. A field is
        looked for on the picture itself, so its mask follows it and never covers what another screen
        shows in its old place. Text cannot be located here: when the application showed something
        with a secret in it, the window in front is painted over for this picture. A screen that has
        not changed since the last picture is not encoded again."""
        from PIL import Image, ImageDraw

        shot = self._grab()
        asked = (request, tuple(self._secret_fields), shot.bgra.shape)
        last = self._last_picture
        if last is not None and last[0] == asked and np.array_equal(last[1], shot.bgra):
            return Picture(list(last[2]), encoded=last[3])
        image = Image.fromarray(shot.bgra[:, :, 2::-1])  # BGRA -> RGB
        draw = ImageDraw.Draw(image)
        notes = []
        for selector in self._secret_fields.values():
            point = self._try_chain(selector, full=shot, visibility=True)[0]
            if point is not None:
                w, h = SECRET_BOX
                draw.rectangle((point[0] - w // 2, point[1] - h // 2, point[0] + w // 2, point[1] + h // 2),
                               fill="#ff00ff")
        if request.secret_shown:
            window = self._window_in_front()
            if window is not None:
                box = window.box
                draw.rectangle((box.x, box.y, box.x + box.width, box.y + box.height), fill="#ff00ff")
                notes.append(f"window {window.title or '(untitled)'!r} painted over: it showed a secret")
        options = {"quality": request.quality} if request.fmt == "jpeg" else {}
        encoded = io.BytesIO()
        image.save(encoded, format="JPEG" if request.fmt == "jpeg" else "PNG", **options)
        self._last_picture = (asked, shot.bgra, tuple(notes), encoded.getvalue())
        return Picture(notes, encoded=encoded.getvalue())

    def _window_in_front(self) -> ShownWindow | None:
        titled = [w for w in windows_on_screen(self._x, titled_only=True) if not w.popup]
        return titled[-1] if titled else None
