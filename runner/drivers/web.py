"""Web driver over Playwright's sync API: one browser per run; the page and session are kept between clean
work items, and a fresh context follows a failed one."""

from __future__ import annotations

import base64
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..errors import AppUnreachableError, BrowserLaunchError, SelectorNotFound, SystemException
from ..project.selector_map import Candidate, Selector
from ..project.settings import Settings
from .base import POLL_SECONDS, DialogEvent, Resolution, ScreenshotRequest, wait_for_any
from .web_locators import locate

SECRET_MARK = "data-backroom-secret"
# Injected into every frame of every page: password fields and the fields a recipe marked
# secret are painted over, so no screenshot can show what was typed into them. Doing it
# in CSS costs nothing per screenshot (Playwright's own mask option resolves every mask
# locator on every shot).
_MASK_SCRIPT = """
(() => {
  const css = 'input[type=password], [%s] { color: transparent !important; background: #ff00ff !important;'
    + ' text-shadow: none !important; caret-color: transparent !important; -webkit-text-fill-color: transparent !important; }';
  const add = () => {
    const style = document.createElement('style');
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  };
  if (document.documentElement) add(); else document.addEventListener('DOMContentLoaded', add);
})();
""" % SECRET_MARK
# Text on a page that holds a secret (an error message repeating what was typed, a field not marked
# secret): painted over for one picture with boxes laid over the page, taken away after the capture.
_PAINT_SECRET_TEXT = """
source => {
  const body = document.body;
  if (!body) return 0;
  const re = new RegExp(source, 'gu');
  let painted = 0;
  const paint = r => {
    if (r.width <= 0 || r.height <= 0) return;
    const box = document.createElement('div');
    box.setAttribute('data-backroom-paint', '');
    box.style.cssText = `position:fixed;left:${r.left - 2}px;top:${r.top - 2}px;width:${r.width + 4}px;`
      + `height:${r.height + 4}px;background:#ff00ff;z-index:2147483647;pointer-events:none`;
    document.documentElement.appendChild(box);
    painted += 1;
  };
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    if (!text || !text.trim()) continue;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex += 1; continue; }
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      for (const r of range.getClientRects()) paint(r);
    }
  }
  for (const field of document.querySelectorAll('input, textarea')) {
    if (field.type === 'password' || field.hasAttribute('%s')) continue;
    re.lastIndex = 0;
    if (field.value && re.test(field.value)) paint(field.getBoundingClientRect());
  }
  return painted;
}
""" % SECRET_MARK
_UNPAINT = "() => document.querySelectorAll('[data-backroom-paint]').forEach(e => e.remove())"
_UNREACHABLE = ("ERR_CONNECTION_REFUSED", "ERR_NAME_NOT_RESOLVED", "ERR_ADDRESS_UNREACHABLE",
                "ERR_CONNECTION_RESET", "ERR_INTERNET_DISCONNECTED", "ERR_CONNECTION_TIMED_OUT", "ERR_UNSAFE_PORT")


_TEXT_IN_ALL_FRAMES = """
text => {
  let blocked = false;
  const look = w => {
    try {
      if (w.document.body && w.document.body.textContent.includes(text)) return true;
    } catch (e) { blocked = true; return false; }
    for (let i = 0; i < w.frames.length; i++) if (look(w.frames[i])) return true;
    return false;
  };
  return look(window) ? true : (blocked ? null : false);
}
"""


_TABLE_SCRIPT = """t => {
  const rows = Array.from(t.rows);
  const headIndex = rows.findIndex(r => r.querySelector('th'));
  const width = Math.max(0, ...rows.map(r => r.cells.length));
  const headers = headIndex >= 0 ? Array.from(rows[headIndex].cells).map(c => c.innerText.trim()) : [];
  for (let i = headers.length; i < width; i++) headers.push('Column ' + (i + 1));
  return rows.filter((r, i) => i > headIndex && !r.querySelector('th'))
             .map(r => Object.fromEntries(Array.from(r.cells).map((c, i) => [headers[i], c.innerText.trim()])));
}"""


# A control's value as the page holds it (not as a script may show it elsewhere).
_VALUE_SCRIPT = "e => ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName) ? e.value : e.innerText"
_SELECTED_SCRIPT = """e => e.selectedIndex < 0 ? [] :
  [e.value, e.selectedOptions[0].label.trim(), e.selectedOptions[0].text.trim()]"""
SLOW_KEY_MS = 40


def frame_css(frame: str) -> str:
    """A frame given by name ("main") or by a CSS selector for its <frame>/<iframe> element."""
    if any(ch in frame for ch in "[#.=> "):
        return frame
    return f'frame[name="{frame}"], iframe[name="{frame}"]'


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class WebDriver:
    kind = "web"

    def __init__(self, settings: Settings, keep_screen: bool = True):
        self.settings = settings
        # after a clean item the next continues on the same page and session (no new context, no
        # sign-on check); a failed item's screen could be anywhere, so the next starts afresh
        self.keep_screen = keep_screen
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._storage_state: Any = None   # cookies and storage of the item before: the session carries over
        self._armed: tuple[bool, str | None, str | None] | None = None
        self._dialogs: list[DialogEvent] = []
        self._cdp: Any = None
        self._pages: list[Page] = []   # the item's windows: the first, then the pop-ups it opened
        self._typed_into: dict[str, tuple[Locator, Resolution]] = {}  # this item's inputs, read back later

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        options = self.settings.browser.launch_options()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(**options)
        except PlaywrightError as exc:
            self._playwright.stop()
            self._playwright = None
            where = options.get("executable_path") or options.get("channel") or "Playwright's Chromium"
            raise BrowserLaunchError(f"could not start the browser ({where}): {first_line(exc)}") from None

    def stop(self) -> list[str]:
        self._close_context()
        if self._browser:
            self._browser.close()
        if self._playwright:
            self._playwright.stop()
        self._browser = self._playwright = None
        return []

    def begin_item(self) -> None:
        """The screen the last clean item left, or a fresh context (the first item, after a failed one, or
        with clean_screen: per_item); a fresh context carries the signed-on session over in its storage."""
        self._armed = None
        self._dialogs = []
        self._typed_into = {}
        if self._context is not None and self._page is not None and not self._page.is_closed():
            for extra in self._pages[1:]:   # the last item's pop-ups: this item starts in the first window
                if not extra.is_closed():
                    extra.close()
            self._pages = [self._page]
            return
        self._close_context()
        browser = self._browser
        assert browser is not None, "begin_item before start"
        b = self.settings.browser
        self._context = browser.new_context(
            viewport={"width": b.viewport_width, "height": b.viewport_height},
            storage_state=self._storage_state,
        )
        self._context.set_default_timeout(self.settings.action_timeout_s * 1000)
        self._context.set_default_navigation_timeout(self.settings.navigation_timeout_s * 1000)
        self._context.add_init_script(_MASK_SCRIPT)
        self._pages = []
        self._context.on("page", self._on_page)
        self._page = self._context.new_page()
        self._cdp = None

    def end_item(self, clean: bool = True) -> list[str]:
        if self._context is None or clean and self.keep_screen:
            return []
        self._close_context()
        return ["browser context closed after the failed item: the next item starts on a fresh one"] \
            if not clean and self.keep_screen else []

    def _close_context(self) -> None:
        if self._context is None:
            return
        try:
            self._storage_state = self._context.storage_state()
            self._context.close()
        except PlaywrightError:   # the browser went away: nothing left to close
            self._storage_state = None
        self._context = self._page = None
        self._pages = []

    @property
    def page(self) -> Page:
        if self._page is None:
            raise SystemException("no browser page is open (begin_item was not called)")
        if self._page.is_closed():
            # a pop-up that closed itself (a look-up window after the pick) hands back to the first window
            still_open = [p for p in self._pages if not p.is_closed()]
            if still_open:
                self._page, self._cdp = still_open[0], None
        return self._page

    def _on_page(self, page: Page) -> None:
        page.on("dialog", self._on_dialog)
        self._pages.append(page)

    def switch_to(self, window: str, timeout_ms: int) -> None:
        """Act in the first window again, or in the newest pop-up window (waiting for it to open)."""
        if window == "main":
            self._page = self._pages[0]
        else:
            deadline = time.monotonic() + timeout_ms / 1000
            while True:
                popups = [p for p in self._pages[1:] if not p.is_closed()]
                if popups:
                    break
                if time.monotonic() >= deadline:
                    raise SelectorNotFound(f"no pop-up window opened within {timeout_ms / 1000:g}s")
                self._pages[0].wait_for_timeout(POLL_SECONDS * 1000)
            self._page = popups[-1]
            try:
                self._page.wait_for_load_state("load", timeout=timeout_ms)
            except PlaywrightTimeout:
                pass  # a slow pop-up: the next step's own wait covers it
        self._cdp = None  # screenshots come from the window now in use

    # -- dialogs ---------------------------------------------------------
    def arm_dialog(self, accept: bool, expect: str | None, prompt_text: str | None) -> None:
        self._armed = (accept, expect, prompt_text)

    def _on_dialog(self, dialog) -> None:
        armed, self._armed = self._armed, None
        if armed is None:
            # An unexpected dialog: dismiss it (the safe choice) and let the engine report it.
            self._dialogs.append(DialogEvent(dialog.type, dialog.message, "dismissed", armed=False))
            dialog.dismiss()
            return
        accept, expect, prompt_text = armed
        if expect is not None and expect not in dialog.message:
            # Not the question the recipe was written for: never confirm it.
            dialog.dismiss()
            self._dialogs.append(DialogEvent(dialog.type, dialog.message, "dismissed", expect))
            return
        if accept:
            dialog.accept(prompt_text) if prompt_text is not None else dialog.accept()
        else:
            dialog.dismiss()
        self._dialogs.append(DialogEvent(dialog.type, dialog.message, "accepted" if accept else "dismissed", expect))

    def take_dialog_events(self) -> list[DialogEvent]:
        events, self._dialogs = self._dialogs, []
        return events

    # -- finding elements ------------------------------------------------
    def _locator(self, selector: Selector, candidate: Candidate) -> Locator:
        root: Page | Any = self.page   # a FrameLocator inside frames: the same get_by_* methods
        for frame in selector.frame:
            root = root.frame_locator(frame_css(frame))
        return locate(root, candidate.strategy, candidate.value, candidate.name, candidate.exact)

    def _try_chain(self, selector: Selector, visible: bool = False) -> tuple[Locator | None, Resolution | None, list[str]]:
        tried = []
        for index, candidate in enumerate(selector.candidates):
            locator = self._locator(selector, candidate)
            try:
                count = locator.count()
                if count == 1 and visible and not locator.is_visible():
                    tried.append(f"{candidate.describe()}: found but hidden")
                    continue
            except PlaywrightError as exc:  # a frame navigating away mid-query: look again
                tried.append(f"{candidate.describe()}: {first_line(exc)}")
                continue
            if count == 1:
                return locator, Resolution(selector.name, candidate.describe(), index, tuple(tried)), tried
            tried.append(f"{candidate.describe()}: {count} matches")
        return None, None, tried

    def _resolve(self, selector: Selector, timeout_ms: int, visible: bool = False) -> tuple[Locator, Resolution]:
        if len(selector.candidates) == 1 and not visible:
            # Nothing to fall back to: let Playwright's own strict, auto-waiting action find it (one round trip less).
            candidate = selector.candidates[0]
            return self._locator(selector, candidate), Resolution(selector.name, candidate.describe(), 0)
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            locator, resolution, tried = self._try_chain(selector, visible)
            if locator is not None and resolution is not None:
                return locator, resolution
            if time.monotonic() >= deadline:
                raise SelectorNotFound(
                    f"'{selector.name}' not found within {timeout_ms / 1000:g}s: " + "; ".join(tried),
                    selector=selector.name,
                )
            time.sleep(POLL_SECONDS)

    def find_now(self, selector: Selector) -> Resolution | None:
        return self._try_chain(selector, visible=True)[1]

    # -- actions ---------------------------------------------------------
    @contextmanager
    def _acting(self, resolution: Resolution, timeout_ms: int):
        """Playwright's errors, told in terms of the selector map."""
        try:
            yield
        except PlaywrightTimeout:
            raise SelectorNotFound(f"'{resolution.selector}' ({resolution.candidate}) was not found or not ready "
                                   f"within {timeout_ms / 1000:g}s", selector=resolution.selector) from None
        except PlaywrightError as exc:
            if "strict mode violation" in str(exc):
                raise SelectorNotFound(f"'{resolution.selector}' ({resolution.candidate}) matches more than one "
                                       "element", "Make the selector more specific in the selector map.",
                                       selector=resolution.selector) from None
            raise

    def open(self, url: str, timeout_ms: int) -> None:
        self._typed_into = {}  # another page: its inputs are found afresh
        try:
            self.page.goto(url, wait_until="load", timeout=timeout_ms)
        except PlaywrightError as exc:
            text = str(exc)
            if any(code in text for code in _UNREACHABLE):
                raise AppUnreachableError(f"cannot reach {url}: {next(c for c in _UNREACHABLE if c in text)}") from None
            raise

    def click(self, selector: Selector, timeout_ms: int, double: bool = False) -> Resolution:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            (locator.dblclick if double else locator.click)(timeout=timeout_ms)
        return resolution

    def fill(self, selector: Selector, text: str, timeout_ms: int, secret: bool = False,
             slow: bool = False) -> Resolution:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            if secret:  # masked before the value is typed, so no screenshot ever shows it
                locator.evaluate(f"e => e.setAttribute('{SECRET_MARK}', '')", timeout=timeout_ms)
            if slow and text:
                # key by key, as a clerk types: scripts that lose characters of a fast burst keep these
                locator.fill("", timeout=timeout_ms)
                keys = text
                if ("\n" in text or "\r" in text) and locator.evaluate("e => e.tagName") != "TEXTAREA":
                    # Enter in a one-line field submits its form: its line breaks, which it cannot hold
                    # anyway, are left out (and the read-back that follows reports the difference)
                    keys = text.replace("\r", "").replace("\n", "")
                locator.press_sequentially(keys, delay=SLOW_KEY_MS, timeout=timeout_ms + SLOW_KEY_MS * len(keys))
            else:
                locator.fill(text, timeout=timeout_ms)
        self._typed_into[selector.name] = (locator, resolution)
        return resolution

    def read_back(self, selector: Selector, kind: str, timeout_ms: int) -> str | list[str] | bool:
        # the element this item just typed into, as found then: no second walk down the selector's chain
        locator, resolution = self._typed_into.get(selector.name) or self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            if kind == "check":
                return locator.is_checked(timeout=timeout_ms)
            if kind == "select":
                return locator.evaluate(_SELECTED_SCRIPT, timeout=timeout_ms)
            try:  # one call in the browser, less than half of what an evaluate costs
                return locator.input_value(timeout=timeout_ms)
            except PlaywrightError as exc:
                if "strict mode violation" in str(exc) or isinstance(exc, PlaywrightTimeout):
                    raise
                return locator.evaluate(_VALUE_SCRIPT, timeout=timeout_ms)  # not a form field: its text

    def select(self, selector: Selector, option: str, timeout_ms: int, slow: bool = False) -> Resolution:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            locator.select_option(option, timeout=timeout_ms)  # matches an option's value or its label
        self._typed_into[selector.name] = (locator, resolution)
        return resolution

    def upload(self, selector: Selector, paths: list[Path], timeout_ms: int) -> Resolution:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            locator.set_input_files([str(p) for p in paths], timeout=timeout_ms)
        return resolution

    def check(self, selector: Selector, checked: bool, timeout_ms: int) -> Resolution:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            locator.set_checked(checked, timeout=timeout_ms)
        self._typed_into[selector.name] = (locator, resolution)
        return resolution

    def take_waits(self) -> list[str]:
        return []  # Playwright waits for an element to be uncovered and ready itself

    def press(self, selector: Selector | None, key: str, timeout_ms: int,
              windows: tuple[str, ...] = ()) -> Resolution | None:
        if selector is None:
            self.page.keyboard.press(key)
            return None
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            locator.press(key, timeout=timeout_ms)
        return resolution

    def wait_for_any(self, selectors: list[Selector], visible: bool, timeout_ms: int) -> Resolution:
        def look(selector: Selector):
            _, resolution, tried = self._try_chain(selector, visible=visible)
            return resolution, tried

        return wait_for_any(selectors, visible, timeout_ms, lambda: look)

    def text_on_screen(self, text: str) -> bool:
        try:  # one round trip for the page and all its same-origin frames
            found = self.page.evaluate(_TEXT_IN_ALL_FRAMES, text)
        except PlaywrightError:
            found = None
        if found is not None:
            return found
        for frame in self.page.frames:  # cross-origin frames, or a page in the middle of navigating
            try:
                if frame.evaluate("t => !!document.body && document.body.textContent.includes(t)", text):
                    return True
            except PlaywrightError:  # a frame that is navigating away has no text to show
                continue
        return False

    def wait_for_text(self, text: str, visible: bool, timeout_ms: int) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while self.text_on_screen(text) != visible:
            if time.monotonic() >= deadline:
                raise SelectorNotFound(f"text {text!r} did not {'appear' if visible else 'disappear'} "
                                       f"within {timeout_ms / 1000:g}s")
            time.sleep(POLL_SECONDS)

    def read(self, selector: Selector, attribute: str | None, timeout_ms: int) -> tuple[str, Resolution]:
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            if attribute:
                value = locator.get_attribute(attribute, timeout=timeout_ms) or ""
            else:
                value = locator.evaluate(_VALUE_SCRIPT, timeout=timeout_ms)
        return str(value).strip(), resolution

    def read_table(self, selector: Selector, timeout_ms: int) -> tuple[list[dict[str, str]], Resolution]:
        """Every body row of a table as {header text: cell text}; headers from its <th> row."""
        locator, resolution = self._resolve(selector, timeout_ms)
        with self._acting(resolution, timeout_ms):
            rows = locator.evaluate(_TABLE_SCRIPT, timeout=timeout_ms)
        return rows, resolution

    def settle(self, timeout_ms: int) -> None:
        """Let navigations that a step started finish loading, so a screenshot shows the result."""
        for frame in self.page.frames:
            try:
                frame.wait_for_load_state("load", timeout=timeout_ms)
            except PlaywrightError:
                continue

    # -- evidence --------------------------------------------------------
    def screenshot(self, request: ScreenshotRequest) -> list[str]:
        """The viewport as the clerk would see it: secret fields are already painted over by _MASK_SCRIPT;
        text holding a secret is painted over for this picture."""
        painted = self._paint_secret_text(request.secret_pattern) if request.secret_pattern else {}
        try:
            self._capture(request)
        finally:
            for frame in painted:
                try:
                    frame.evaluate(_UNPAINT)
                except PlaywrightError:
                    pass
        total = sum(painted.values())
        return [f"{total} place(s) on the page showing a secret painted over"] if total else []

    def _paint_secret_text(self, pattern: str) -> dict:
        painted = {}
        for frame in self.page.frames:
            try:
                count = frame.evaluate(_PAINT_SECRET_TEXT, pattern)
            except PlaywrightError:  # a frame navigating away: nothing of it is in the picture
                continue
            if count:
                painted[frame] = count
        return painted

    def _capture(self, request: ScreenshotRequest) -> None:
        params: dict[str, Any] = {"format": request.fmt, "optimizeForSpeed": True}
        if request.fmt == "jpeg":
            params["quality"] = request.quality
        try:
            if self._cdp is None:
                assert self._context is not None
                self._cdp = self._context.new_cdp_session(self.page)
            data = self._cdp.send("Page.captureScreenshot", params)["data"]
        except PlaywrightError:  # not a Chromium-family browser: Playwright's slower portable path
            options: dict[str, Any] = {"path": str(request.path), "type": request.fmt, "animations": "allow", "caret": "initial"}
            if request.fmt == "jpeg":
                options["quality"] = request.quality
            self.page.screenshot(**options)
            return
        request.path.write_bytes(base64.b64decode(data))
