"""The driver interface: what the engine asks of a screen. `Screen` is what web and desktop share;
`WebScreen` and `DesktopScreen` add what only one of them offers. A step declares which it needs
(engine/steps), so a recipe asking a desktop app for a web step is refused when it is loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ..errors import SelectorNotFound
from ..project.selector_map import Selector
from .web_writes import ActingStep, SeenWrite

POLL_SECONDS = 0.05
# One look at the screen: a function that tells, for a selector, what matched and what was tried.
Look = Callable[[Selector], tuple["Resolution | None", list[str]]]


@dataclass(frozen=True)
class Resolution:
    """Which candidate of a selector's chain found the element."""

    selector: str
    candidate: str
    index: int
    tried: tuple[str, ...] = ()

    @property
    def healed(self) -> bool:
        return self.index > 0


@dataclass
class DialogEvent:
    kind: str          # alert, confirm, prompt, beforeunload
    message: str
    action: str        # accepted, dismissed
    expected: str | None = None
    armed: bool = True

    @property
    def matches_expectation(self) -> bool:
        return self.armed and (self.expected is None or self.expected in self.message)


@dataclass
class ScreenshotRequest:
    fmt: str = "jpeg"
    quality: int = 70
    # a regular expression (JavaScript syntax) for secret values standing as words of their own: text on
    # the screen that matches is painted over where the driver can locate text (the web)
    secret_pattern: str | None = None
    # something the application showed had a secret in it: a driver that cannot locate text (the
    # desktop) paints over the window in front for this picture
    secret_shown: bool = False


@dataclass
class Picture:
    """A screenshot as a driver hands it over: encoded, now or once the screen has given it. The browser
    encodes while the engine goes on with steps that only look (reads, waits); `data()` waits for it."""

    painted: list[str] = field(default_factory=list)   # what was painted over besides the secret fields
    encoded: bytes | None = None
    later: Callable[[], bytes] | None = None

    def data(self) -> bytes:
        if self.encoded is None:
            assert self.later is not None, "a picture with neither its bytes nor a way to get them"
            self.encoded, self.later = self.later(), None
        return self.encoded


def wait_for_any(selectors: list[Selector], visible: bool, timeout_ms: int, new_look: Callable[[], Look]) -> Resolution:
    """Poll until one of the selectors is shown (or, with visible=False, one is gone).

    `new_look()` is called once per round, so a driver can capture the screen once and
    try every selector against that one picture."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        look = new_look()
        last_tried: list[str] = []
        for selector in selectors:
            resolution, tried = look(selector)
            if visible and resolution is not None:
                return resolution
            if not visible and resolution is None:
                return Resolution(selector.name, "gone", 0)
            last_tried += tried
        if time.monotonic() >= deadline:
            names = ", ".join(s.name for s in selectors)
            state = "appear" if visible else "disappear"
            raise SelectorNotFound(f"waited {timeout_ms / 1000:g}s for {names} to {state}: " + "; ".join(last_tried),
                                   selector=names)
        time.sleep(POLL_SECONDS)


class Screen(Protocol):
    """What every screen offers, web or desktop; one per run. `begin_item`/`end_item` keep work items
    apart from each other."""

    kind: str

    def start(self) -> None: ...
    def stop(self) -> list[str]: ...   # notes on what was closed, and how (a program killed after its time-out)
    def begin_item(self) -> None: ...
    def end_item(self, clean: bool = True) -> list[str]: ...  # notes on what was reset after a failure

    def click(self, selector: Selector, timeout_ms: int, double: bool = False) -> Resolution: ...
    # slow=True types one character at a time, for a second try after a read-back found the field wrong
    def fill(self, selector: Selector, text: str, timeout_ms: int, secret: bool = False,
             slow: bool = False) -> Resolution: ...
    def select(self, selector: Selector, option: str, timeout_ms: int, slow: bool = False) -> Resolution: ...
    # windows: for a key pressed without a target, the window titles that must be in front (desktop)
    def press(self, selector: Selector | None, key: str, timeout_ms: int,
              windows: tuple[str, ...] = ()) -> Resolution | None: ...
    def take_waits(self) -> list[str]: ...  # what the last action waited for (a covered target, a window)
    def wait_for_any(self, selectors: list[Selector], visible: bool, timeout_ms: int) -> Resolution: ...
    def read(self, selector: Selector, attribute: str | None, timeout_ms: int) -> tuple[str, Resolution]: ...
    # What a control holds now: a field's text, [value, label] of a choice, a check box's state; None when
    # the control gave nothing to read (a desktop field with no text to copy)
    def read_back(self, selector: Selector, kind: str, timeout_ms: int) -> str | list[str] | bool | None: ...
    def find_now(self, selector: Selector) -> Resolution | None: ...
    def settle(self, timeout_ms: int) -> None: ...
    # the screen as it is now, secret fields painted over (and text holding a secret, or a whole window: the
    # picture says so); the encoded bytes may follow while the next look-only step runs
    def screenshot(self, request: ScreenshotRequest) -> Picture: ...


class WebScreen(Screen, Protocol):
    """What only a web page offers: addresses, a DOM to search for text and read a check box or a whole
    table from, file uploads, pop-up windows and the browser's dialogs."""

    def open(self, url: str, timeout_ms: int) -> None: ...
    def check(self, selector: Selector, checked: bool, timeout_ms: int) -> Resolution: ...
    def upload(self, selector: Selector, paths: list[Path], timeout_ms: int) -> Resolution: ...
    def switch_to(self, window: str, timeout_ms: int) -> None: ...  # "main" or "popup"
    def read_table(self, selector: Selector, timeout_ms: int) -> tuple[list[dict[str, str]], Resolution]: ...
    # the words of the row, card or message an element stands in
    def text_around(self, selector: Selector, timeout_ms: int) -> str: ...
    def wait_for_text(self, text: str, visible: bool, timeout_ms: int) -> None: ...
    def text_on_screen(self, text: str) -> bool: ...
    def arm_dialog(self, accept: bool, expect: str | None, prompt_text: str | None) -> None: ...
    def take_dialog_events(self) -> list[DialogEvent]: ...
    # the requests the pages send: which write, the commit point told before it goes out (drivers/web_writes.py)
    def watch_writes(self, on_commit: Callable[[SeenWrite], None] | None) -> None: ...
    def acting(self, step: ActingStep) -> None: ...
    def take_writes(self) -> tuple[list[SeenWrite], BaseException | None]: ...


class DesktopScreen(Screen, Protocol):
    """A desktop driver also starts and closes the programs it drives."""

    def launch(self, app: str, window: str | None, timeout_ms: int) -> str: ...
    def close_app(self, app: str) -> str: ...


# a selector map's kind -> what its screen can do; a step needs one of these (engine/steps)
SCREEN_PROTOCOLS: dict[str, type] = {"web": WebScreen, "desktop": DesktopScreen}


def offers(kind: str, capability: type) -> bool:
    """Whether a screen of this kind has the capability (Screen, WebScreen or DesktopScreen)."""
    return capability in SCREEN_PROTOCOLS[kind].__mro__
