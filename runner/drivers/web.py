"""Web driver over Playwright's sync API: one browser per run; the page and session are kept between clean
work items, and a fresh context follows a failed one."""

from __future__ import annotations

import base64
import time
from contextlib import contextmanager
from functools import reduce
from pathlib import Path
from typing import Any, Callable, Literal

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..errors import AppUnreachableError, BrowserLaunchError, SelectorNotFound, SystemException
from ..project.selector_map import Candidate, Selector
from ..project.settings import Settings
from .base import POLL_SECONDS, DialogEvent, Picture, Resolution, ScreenshotRequest
from .web_capture import MASK_SCRIPT, PAINT_SECRET_TEXT, SECRET_MARK, UNPAINT, send_later
from .web_locators import locate, the_one
from .web_writes import ActingStep, SeenWrite, WriteRules

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


# true once the text is (or is not) shown, or when a frame of another origin cannot be searched from the page
_TEXT_SETTLED = ("([text, want]) => { const found = (" + _TEXT_IN_ALL_FRAMES
                 + ")(text); return found === null || found === want; }")


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
# the row, card or message an element stands in: where a record's number and its own values are shown together;
# a row of a record's own table (label and value rows, no column headers) stands in that table, a list's row alone
_AROUND_SCRIPT = """e => { const box = e.closest('tr, [role=row], li, article, [role=article], dl, fieldset, form, '
  + '[class*=card], [class*=record], [class*=message], [role=alert], [role=status]') || e.parentElement || e;
  const table = box.tagName === 'TR' ? box.closest('table') : null;
  const list = table && Array.from(table.rows).some(r => r.cells.length > 1
    && Array.from(r.cells).every(c => c.tagName === 'TH'));
  return table && !list ? table.innerText : box.innerText; }"""
SLOW_KEY_MS = 40
# After a step that wrote: how long no request may be waiting for its answer before the next step acts. The
# requests waited for are those that carry data or a page (never a picture, a font, or a stream that never ends),
# and only while younger than a long poll.
QUIET_S = 0.15
LONG_POLL_S = 10.0
ANSWERS_AWAITED = frozenset({"document", "xhr", "fetch"})
WaitState = Literal["attached", "visible", "hidden"]


def frame_css(frame: str) -> str:
    """A frame given by name ("main") or by a CSS selector for its <frame>/<iframe> element."""
    if any(ch in frame for ch in "[#.=> "):
        return frame
    return f'frame[name="{frame}"], iframe[name="{frame}"]'


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class _SeveralMatch(SelectorNotFound):
    """A lone candidate that Playwright's strict action found more than once."""


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
        # every request of the item's pages passes here: the writes among them, and who is told of a commit point
        self._acting_step: ActingStep | None = None
        self._rules = WriteRules()
        self._writes: list[SeenWrite] = []
        self._write_error: BaseException | None = None
        self._on_commit: Callable[[SeenWrite], None] | None = None
        self._leaving = False    # a step's `open` is leaving the page: its "Leave this page?" is answered yes
        self._in_flight: dict[Any, float] = {}   # requests sent and not yet answered, by when they were sent

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
        self._acting_step, self._writes, self._write_error = None, [], None
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
        self._context.add_init_script(MASK_SCRIPT)
        self._context.route("**/*", self._on_request)   # held until it is known whether it writes
        self._in_flight = {}
        self._context.on("requestfinished", self._answered)
        self._context.on("requestfailed", self._answered)
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

    # -- requests: which of them write ----------------------------------
    def watch_writes(self, on_commit: Callable[[SeenWrite], None] | None) -> None:
        """`on_commit` hears of each write that may be a record (not the sign-on, not a harmless post) before the
        request goes on; when it raises, the request is not sent and the error is handed back by take_writes."""
        self._on_commit = on_commit

    def acting(self, step: ActingStep) -> None:
        """The step about to act: the requests that follow until the next acting step are its."""
        self._acting_step, self._rules = step, step.rules

    def take_writes(self) -> tuple[list[SeenWrite], BaseException | None]:
        """The writes the last step sent; when it sent one, only once the application has answered it and what
        the page asked after it: a web client that saves in the background (JSON-RPC) is not clicked on
        again while its record is being written, which it would refuse (a concurrent change) or lose."""
        writes, self._writes = self._writes, []
        error, self._write_error = self._write_error, None
        if writes and error is None:
            self._wait_for_answers(self.settings.action_timeout_s * 1000)
        return writes, error

    def _answered(self, request) -> None:
        self._in_flight.pop(request, None)

    def _wait_for_answers(self, timeout_ms: float, only_if_busy: bool = False, quiet_s: float = QUIET_S) -> None:
        """Until no request of the item's pages is waiting for its answer, and none has started for a moment
        (the page asks again after an answer: a saved record read back). A stream that never ends (server-sent
        events) and a request that has waited longer than a long poll does are not waited for; one still
        unanswered at the timeout is left to the next step's waits. `only_if_busy`: no wait at all when nothing
        is waiting (the cost of a step on an idle page stays nothing); `quiet_s`: how long nothing may have been
        asked before the page counts as answered."""
        now = time.monotonic()
        for request in [r for r, sent in self._in_flight.items() if now - sent > 3 * LONG_POLL_S]:
            del self._in_flight[request]   # its answer was never told (the page went away)
        if only_if_busy and not any(now - sent < LONG_POLL_S for sent in self._in_flight.values()):
            return
        deadline = now + timeout_ms / 1000
        quiet_since = None
        while time.monotonic() < deadline:
            if self._page is None or self._page.is_closed():
                return
            now = time.monotonic()
            if any(now - sent < LONG_POLL_S for sent in self._in_flight.values()):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= quiet_s:
                return
            self._page.wait_for_timeout(POLL_SECONDS * 1000)   # lets Playwright deliver the answers

    def _on_request(self, route, request) -> None:
        if request.resource_type in ANSWERS_AWAITED:
            self._in_flight[request] = time.monotonic()
        step = self._acting_step
        rules = step.rules if step is not None else self._rules
        try:
            body = None
            if rules.reads_body:
                raw = request.post_data_buffer
                body = raw.decode("utf-8", "replace") if raw else None
            writes = rules.is_write(request.method, request.url, request.resource_type, body)
        except Exception:  # noqa: BLE001 - a request that cannot be judged is taken for a write (the safe side)
            writes = True
        if not writes:
            self._go_on(route)
            return
        seen = SeenWrite(request.method.upper(), request.url, step.where if step else "", step.describe if step else "",
                         step.app if step else "", sign_on=bool(step and step.signs_on),
                         harmless=bool(step and step.harmless))
        self._writes.append(seen)
        if self._on_commit is not None and not seen.sign_on and not seen.harmless:
            try:
                self._on_commit(seen)
            except BaseException as exc:  # noqa: BLE001 - handed to the engine after the step's browser call
                seen.blocked = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._write_error = self._write_error or exc
                try:
                    route.abort("blockedbyclient")
                except PlaywrightError:
                    pass
                return
        self._go_on(route)

    @staticmethod
    def _go_on(route) -> None:
        try:
            route.continue_()
        except PlaywrightError:   # the page closed meanwhile: nothing left to send it
            pass

    # -- dialogs ---------------------------------------------------------
    def arm_dialog(self, accept: bool, expect: str | None, prompt_text: str | None) -> None:
        self._armed = (accept, expect, prompt_text)

    def _on_dialog(self, dialog) -> None:
        if dialog.type == "beforeunload" and self._leaving:
            # "Leave this page?" as a step's `open` leaves it: the recipe means to go (a web client that asks
            # on every unload, as Tryton's does, would otherwise keep the run on the last item's page)
            self._dialogs.append(DialogEvent(dialog.type, dialog.message, "accepted"))
            dialog.accept()
            return
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
        tried: list[str] = []
        for index, candidate in enumerate(selector.candidates):
            if index == 1 and len(selector.candidates) > 2 and self._none_attached(selector, after=1):
                # the first missed and so do all the others (a sign-on form or an error line that is not
                # there): one round trip for the rest of the chain, not one each
                return None, None, tried + [f"{c.describe()}: 0 matches" for c in selector.candidates[1:]]
            try:
                locator, count = the_one(self._locator(selector, candidate))
                if locator is not None and count == 1 and visible and not locator.is_visible():
                    tried.append(f"{candidate.describe()}: found but hidden")
                    continue
            except PlaywrightError as exc:  # a frame navigating away mid-query: look again
                tried.append(f"{candidate.describe()}: {first_line(exc)}")
                continue
            if locator is not None:
                return locator, Resolution(selector.name, candidate.describe(), index, tuple(tried)), tried
            tried.append(f"{candidate.describe()}: {count} matches" + (" (more than one shown)" if count else ""))
        return None, None, tried

    def _any_candidate(self, selector: Selector, after: int = 0) -> Locator:
        """One locator for the candidates of a selector's chain from `after` on (they share its frame)."""
        locators = [self._locator(selector, candidate) for candidate in selector.candidates[after:]]
        return reduce(Locator.or_, locators[1:], locators[0])

    def _none_attached(self, selector: Selector, after: int) -> bool:
        try:
            return self._any_candidate(selector, after).count() == 0
        except PlaywrightError:   # a frame navigating away: the candidates are tried one by one
            return False

    def _browser_wait(self, selectors: list[Selector], state: WaitState, timeout_ms: float) -> bool:
        """Let the browser wait until one of the selectors' candidates reaches `state` (Playwright's auto-waiting,
        one round trip) instead of asking again every few milliseconds. False when it cannot: selectors in
        different frames share no locator, and 'hidden' of several means 'one of them gone', which no locator says."""
        if len({s.frame for s in selectors}) != 1 or state == "hidden" and len(selectors) > 1:
            return False
        anything = reduce(Locator.or_, [self._any_candidate(s) for s in selectors])
        try:
            anything.first.wait_for(state=state, timeout=max(1.0, timeout_ms))
        except PlaywrightError:   # timed out, or a frame went away mid-wait: the caller looks once more
            pass
        return True

    def _wait_for_chain(self, selectors: list[Selector], timeout_ms: int,
                        state: WaitState) -> tuple[Locator | None, Resolution]:
        """Look at every selector's chain; until one is found (or, not visible, one is gone), let the browser wait
        for the next change and look once more. Returns (locator, resolution) or raises with what was tried."""
        deadline = time.monotonic() + timeout_ms / 1000
        browser_waited = False
        while True:
            tried: list[str] = []
            for selector in selectors:
                locator, resolution, chain = self._try_chain(selector, visible=state == "visible")
                if state == "hidden" and resolution is None:
                    return None, Resolution(selector.name, "gone", 0)
                if state != "hidden" and resolution is not None:
                    return locator, resolution
                tried += chain
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                names = ", ".join(s.name for s in selectors)
                what = f"'{names}' not found within {timeout_ms / 1000:g}s" if state == "attached" else \
                    f"waited {timeout_ms / 1000:g}s for {names} to {'disappear' if state == 'hidden' else 'appear'}"
                raise SelectorNotFound(f"{what}: " + "; ".join(tried), selector=names)
            # the browser's wait ends at once when the state already holds but the chain is not satisfied (two
            # matches, say): then the page is given a moment before the next look
            if browser_waited or not self._browser_wait(selectors, state, remaining_ms):
                self.page.wait_for_timeout(min(POLL_SECONDS * 1000, remaining_ms))
                browser_waited = False
            else:
                browser_waited = True

    def _resolve(self, selector: Selector, timeout_ms: int, visible: bool = False) -> tuple[Locator, Resolution]:
        if len(selector.candidates) == 1 and not visible:
            # Nothing to fall back to: let Playwright's own strict, auto-waiting action find it (one round trip less).
            candidate = selector.candidates[0]
            return self._locator(selector, candidate), Resolution(selector.name, candidate.describe(), 0)
        locator, resolution = self._wait_for_chain([selector], timeout_ms, "visible" if visible else "attached")
        assert locator is not None   # found, not gone
        return locator, resolution

    def find_now(self, selector: Selector) -> Resolution | None:
        # what a page shows while it still waits for an answer is not what it will show: a sign-on that asks
        # for the password once the user name is answered, a dialog the answer opens. The step before may
        # only just have asked: the page is given one look's time to ask
        self._wait_for_answers(self.settings.action_timeout_s * 1000, quiet_s=POLL_SECONDS)
        return self._try_chain(selector, visible=True)[1]

    # -- actions ---------------------------------------------------------
    @contextmanager
    def _acting(self, resolution: Resolution, timeout_ms: int):
        """Playwright's errors, told in terms of the selector map. Nothing is typed, clicked or read while the
        application is still answering what the page asked (a web client that fills a form's other fields
        from the one just left, and would overwrite what is typed meanwhile)."""
        # one more look once all is answered: a page asks its next question at once
        self._wait_for_answers(timeout_ms, only_if_busy=True, quiet_s=POLL_SECONDS)
        try:
            yield
        except PlaywrightTimeout:
            raise SelectorNotFound(f"'{resolution.selector}' ({resolution.candidate}) was not found or not ready "
                                   f"within {timeout_ms / 1000:g}s", selector=resolution.selector) from None
        except PlaywrightError as exc:
            if "strict mode violation" in str(exc):
                raise _SeveralMatch(f"'{resolution.selector}' ({resolution.candidate}) matches more than one "
                                    "element", "Make the selector more specific in the selector map.",
                                    selector=resolution.selector) from None
            raise

    def _act(self, selector: Selector, timeout_ms: int, action: Callable[[Locator], Any]) -> tuple[Any, Locator, Resolution]:
        """Find the element and act on it: (what the action returned, the element's locator, how it was found). A
        lone candidate is left to Playwright's own strict action (one round trip less); when it matches several
        (a field the page keeps twice, one hidden), it is looked up as a chain is, where the one shown wins."""
        locator, resolution = self._resolve(selector, timeout_ms)
        try:
            with self._acting(resolution, timeout_ms):
                return action(locator), locator, resolution
        except _SeveralMatch:
            if len(selector.candidates) != 1:
                raise
        found, resolution = self._wait_for_chain([selector], timeout_ms, "attached")
        assert found is not None   # found, not gone
        with self._acting(resolution, timeout_ms):
            return action(found), found, resolution

    def open(self, url: str, timeout_ms: int) -> None:
        self._typed_into = {}  # another page: its inputs are found afresh
        self._leaving = True
        try:
            self.page.goto(url, wait_until="load", timeout=timeout_ms)
        except PlaywrightError as exc:
            text = str(exc)
            if any(code in text for code in _UNREACHABLE):
                raise AppUnreachableError(f"cannot reach {url}: {next(c for c in _UNREACHABLE if c in text)}") from None
            raise
        finally:
            self._leaving = False

    def click(self, selector: Selector, timeout_ms: int, double: bool = False) -> Resolution:
        return self._act(selector, timeout_ms, lambda found: (found.dblclick if double else found.click)(
            timeout=timeout_ms))[2]

    def fill(self, selector: Selector, text: str, timeout_ms: int, secret: bool = False,
             slow: bool = False) -> Resolution:
        def type_into(locator: Locator) -> None:
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

        _, locator, resolution = self._act(selector, timeout_ms, type_into)
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
        # matches an option's value or its label
        _, locator, resolution = self._act(selector, timeout_ms, lambda found: found.select_option(
            option, timeout=timeout_ms))
        self._typed_into[selector.name] = (locator, resolution)
        return resolution

    def upload(self, selector: Selector, paths: list[Path], timeout_ms: int) -> Resolution:
        return self._act(selector, timeout_ms, lambda found: found.set_input_files(
            [str(p) for p in paths], timeout=timeout_ms))[2]

    def check(self, selector: Selector, checked: bool, timeout_ms: int) -> Resolution:
        _, locator, resolution = self._act(selector, timeout_ms, lambda found: found.set_checked(
            checked, timeout=timeout_ms))
        self._typed_into[selector.name] = (locator, resolution)
        return resolution

    def take_waits(self) -> list[str]:
        return []  # Playwright waits for an element to be uncovered and ready itself

    def press(self, selector: Selector | None, key: str, timeout_ms: int,
              windows: tuple[str, ...] = ()) -> Resolution | None:
        if selector is None:
            self.page.keyboard.press(key)
            return None
        return self._act(selector, timeout_ms, lambda found: found.press(key, timeout=timeout_ms))[2]

    def wait_for_any(self, selectors: list[Selector], visible: bool, timeout_ms: int) -> Resolution:
        return self._wait_for_chain(selectors, timeout_ms, "visible" if visible else "hidden")[1]

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
        page_said_so = False
        while self.text_on_screen(text) != visible:
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                raise SelectorNotFound(f"text {text!r} did not {'appear' if visible else 'disappear'} "
                                       f"within {timeout_ms / 1000:g}s")
            if page_said_so:   # the page could not search a frame of another origin: those are looked at again
                self.page.wait_for_timeout(min(POLL_SECONDS * 1000, remaining_ms))
                page_said_so = False
                continue
            try:  # the page watches for the text itself, frame by frame, until it is (or is not) there
                self.page.wait_for_function(_TEXT_SETTLED, arg=[text, visible], timeout=max(1.0, remaining_ms))
                page_said_so = True
            except PlaywrightTimeout:
                continue
            except PlaywrightError:   # the page navigated mid-wait: look again after a moment
                self.page.wait_for_timeout(min(POLL_SECONDS * 1000, remaining_ms))

    def read(self, selector: Selector, attribute: str | None, timeout_ms: int) -> tuple[str, Resolution]:
        value, _, resolution = self._act(selector, timeout_ms, lambda found: (
            found.get_attribute(attribute, timeout=timeout_ms) or "") if attribute else
            found.evaluate(_VALUE_SCRIPT, timeout=timeout_ms))
        return str(value).strip(), resolution

    def text_around(self, selector: Selector, timeout_ms: int) -> str:
        """The words of the row, card or message an element stands in (for a key read found by a fallback)."""
        return str(self._act(selector, timeout_ms, lambda found: found.evaluate(
            _AROUND_SCRIPT, timeout=timeout_ms))[0] or "")

    def read_table(self, selector: Selector, timeout_ms: int) -> tuple[list[dict[str, str]], Resolution]:
        """Every body row of a table as {header text: cell text}; headers from its <th> row."""
        rows, _, resolution = self._act(selector, timeout_ms, lambda found: found.evaluate(
            _TABLE_SCRIPT, timeout=timeout_ms))
        return rows, resolution

    def settle(self, timeout_ms: int) -> None:
        """Let navigations that a step started finish loading, so a screenshot shows the result."""
        for frame in self.page.frames:
            try:
                frame.wait_for_load_state("load", timeout=timeout_ms)
            except PlaywrightError:
                continue

    # -- evidence --------------------------------------------------------
    def screenshot(self, request: ScreenshotRequest) -> Picture:
        """The viewport as the clerk would see it: secret fields are already painted over (MASK_SCRIPT). The
        browser encodes the picture while the engine goes on, unless text holding a secret had to be painted
        over for it: then the paint stays only until the picture is taken."""
        painted = self._paint_secret_text(request.secret_pattern) if request.secret_pattern else {}
        total = sum(painted.values())
        notes = [f"{total} place(s) on the page showing a secret painted over"] if total else []
        if not painted:
            return Picture(notes, later=self._capture(request))
        try:
            return Picture(notes, encoded=self._capture(request)())
        finally:
            for frame in painted:
                try:
                    frame.evaluate(UNPAINT)
                except PlaywrightError:
                    pass

    def _paint_secret_text(self, pattern: str) -> dict:
        painted = {}
        for frame in self.page.frames:
            try:
                count = frame.evaluate(PAINT_SECRET_TEXT, pattern)
            except PlaywrightError:  # a frame navigating away: nothing of it is in the picture
                continue
            if count:
                painted[frame] = count
        return painted

    def _capture(self, request: ScreenshotRequest) -> Callable[[], bytes]:
        params: dict[str, Any] = {"format": request.fmt, "optimizeForSpeed": True}
        if request.fmt == "jpeg":
            params["quality"] = request.quality
        try:
            if self._cdp is None:
                assert self._context is not None
                self._cdp = self._context.new_cdp_session(self.page)
        except PlaywrightError:  # not a Chromium-family browser: Playwright's slower portable path, at once
            options: dict[str, Any] = {"type": request.fmt, "animations": "allow", "caret": "initial"}
            if request.fmt == "jpeg":
                options["quality"] = request.quality
            data = self.page.screenshot(**options)
            return lambda: data
        answer = send_later(self._cdp, "Page.captureScreenshot", params)
        return lambda: base64.b64decode(answer()["data"])
