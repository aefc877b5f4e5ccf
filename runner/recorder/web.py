"""`backroom record web`: record a recipe by using a web application once in a visible browser.

capture.js, in every frame, reports each action with candidate locators it has already tested for
uniqueness in the live document. Here each action becomes a recipe step: the element is named from
its label and written once into the selector map (an element the map already has is reused), typed
values become templates (values.py), dialogs become accept/dismiss steps before the action that
raised them, and a second window becomes `switch_to: popup`. The recipe and the map are saved after
every step, so stopping the recorder in any way (its toolbar, Ctrl-C, closing the browser) keeps
everything recorded so far.
"""

from __future__ import annotations

import json
import re
import signal
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Locator, Page, sync_playwright

from ..drivers.web_locators import locate, the_one
from ..drivers.web_writes import WriteRules
from ..errors import BrowserLaunchError, ConfigurationError
from ..project.selector_map import WEB_STRATEGIES, Candidate, SelectorMap, is_positional
from ..project.settings import Settings
from .base import Recorder
from .key_pattern import KeyPattern, key_pattern
from .model import RecordedElement, RecordedStep
from .session import RecordingSession
from .values import ValueMatcher, snake

CAPTURE_SCRIPT = (Path(__file__).parent / "capture.js").read_text(encoding="utf-8")
MARK = "__backroom_record__"  # capture.js's console messages start with it
MAX_CANDIDATES = 4


def as_candidate(found: dict[str, Any]) -> Candidate:
    """A candidate as capture.js offers it, as the selector map will hold it."""
    strategy = next(s for s in WEB_STRATEGIES if s in found)
    return Candidate(strategy, str(found[strategy]), found.get("name"))


def candidate_dict(candidate) -> dict[str, Any]:
    """A selector map candidate in the form capture.js and the map file use."""
    if candidate.strategy == "role":
        return {"role": candidate.value, **({"name": candidate.name} if candidate.name is not None else {})}
    return {candidate.strategy: candidate.value}


TITLE_SEPARATORS = (" - ", " | ", " :: ", " — ", " – ")


def screen_name(doc_title: str, path: str, frames: tuple[str, ...], seen_titles: frozenset[str] = frozenset(),
                heading: str = "") -> str:
    """A screen's name from the page's own words, never from a record's data: the page's part of its title
    ('BILLSYS 4.2 - Order entry' -> order_entry; 'New Issue - Roundup issue tracker' -> new_issue, once
    another title showed which part is the site's, or the page's heading says it), else the frame's name,
    else the url's last part.
    What a title says of one record ('Issue 12: printer jams') is cut to its kind ('issue')."""
    for separator in TITLE_SEPARATORS:
        if separator in doc_title:
            first, _, last = doc_title.partition(separator)
            for part in (first, last):   # the part the page's own heading repeats is the page's
                if heading and part.strip() and part.strip().lower() in heading.lower():
                    return _page_words(part)
            others = [t for t in seen_titles if t != doc_title]
            site_first = any(t.startswith(first) for t in others) and not any(t.endswith(last) for t in others)
            words = _page_words(last if site_first else first if any(t.endswith(last) for t in others) else last)
            if words:
                return words
            break   # the page's part of the title is all record ('#2 (HD-7 Scanner offline)'): its address says more
    if frames and not any(c in frames[-1] for c in "[#.= "):
        return snake(frames[-1])
    # the address's last part that is a word, not a record's number: /ticket/2 -> ticket
    words = [w for p in path.split("/") if re.search(r"[A-Za-z]", w := re.sub(r"\d+", "", p.rsplit(".", 1)[0]))]
    return snake(words[-1]) if words else "home"


def _page_words(title_part: str) -> str:
    """The kind of page a title part names, without the record it shows: 'Issue 12: printer jams' -> issue;
    '' when no word is left ('#2 ()', once the record's values are taken out)."""
    kind = re.sub(r"\d+", " ", title_part.split(":", 1)[0])
    if not re.search(r"[A-Za-z]{3}", kind):
        kind = re.sub(r"\d+", " ", title_part)
    return snake(kind) if re.search(r"[A-Za-z]{3}", kind) else ""


@dataclass
class WebRecordOptions:
    url: str
    app_url: str | None          # the app's configured url: recorded urls under it become {{ app.url }}
    remote_debugging_port: int | None = None


class WebRecorder(Recorder):
    def __init__(self, settings: Settings, session: RecordingSession, matcher: ValueMatcher,
                 options: WebRecordOptions, selector_map: SelectorMap | None, say: Callable[[str], None] = print):
        super().__init__(settings, session, matcher, selector_map, say)
        self.options = options
        self.pages: list[Page] = []
        self.current_page = 0
        self.inbox: list[tuple[Page | None, dict]] = []
        self.navigated: list[Frame] = []     # frames with a new document since the last tick
        self.titles_seen: set[str] = set()   # the pages' titles so far: the part they share is the site's name
        app = settings.apps.get(session.recording.app)
        self.write_rules = WriteRules.of_app(app.model_dump() if app else {})
        self.steps_at_last_write = 0         # where the recording stood when the page last wrote

    # -- the browser ---------------------------------------------------------------------------
    def run(self) -> str:
        previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            with sync_playwright() as playwright, ExitStack() as stack:
                options = self.settings.browser.launch_options()
                options["headless"] = False
                args = [a for a in options.get("args", []) if not a.startswith("--headless")]
                if self.options.remote_debugging_port is not None:
                    # lets another program (a test, an assistive tool) drive the recording browser
                    args.append(f"--remote-debugging-port={self.options.remote_debugging_port}")
                options["args"] = args
                profile = tempfile.TemporaryDirectory(prefix="backroom-record-")
                stack.callback(profile.cleanup)
                quiet_profile(Path(profile.name))   # (Playwright's own flags turn translation off)
                try:
                    # a persistent context is an ordinary browser window (and the one a debugging client sees)
                    context = playwright.chromium.launch_persistent_context(profile.name, no_viewport=True, **options)
                except PlaywrightError as exc:
                    raise BrowserLaunchError(f"could not start the recording browser: {str(exc).splitlines()[0]}",
                                             "A visible browser needs a display: run it on a desktop, "
                                             "or set DISPLAY.") from None
                context.add_init_script(f"window.__backroomKnown = {json.dumps(self._known())};")
                context.add_init_script(CAPTURE_SCRIPT)
                context.on("console", self._on_console)
                context.on("request", self._on_request)
                for page in context.pages:
                    self._on_page(page)
                context.on("page", self._on_page)
                page = context.pages[0] if context.pages else context.new_page()
                self.recording.add(RecordedStep("open", self._templated_url(self.options.url)))
                self.session.save()
                try:
                    page.goto(self.options.url, wait_until="load")
                except PlaywrightError as exc:
                    self.say(f"could not open {self.options.url}: {str(exc).splitlines()[0]}")
                self.say("Recording: use the application; stop with the toolbar's Stop button, Ctrl-C, "
                         "or by closing the browser.")
                self._wait_until_stopped(context)
                try:
                    context.close()
                except PlaywrightError:
                    pass
        except PlaywrightError as exc:
            if not self.stopped.is_set():  # the browser went away: what was recorded is kept
                logger.debug(f"recording ended by the browser: {exc}")
                self.why_stopped = "the browser closed"
        finally:
            signal.signal(signal.SIGINT, previous)
            self.session.save()
        return self.why_stopped

    def _wait_until_stopped(self, context) -> None:
        ticks = 0
        try:
            while not self.stopped.is_set():
                open_pages = [p for p in context.pages if not p.is_closed()]
                if not open_pages:
                    self.why_stopped = "the browser closed"
                    return
                open_pages[0].wait_for_timeout(100)  # lets Playwright deliver the page's events
                self._drain()
                ticks += 1
                fresh, self.navigated = self.navigated, []
                self._inject([f for p in open_pages for f in p.frames] if ticks % 10 == 0 else fresh)
        finally:
            self._drain()  # what arrived before the stop is recorded too

    def _inject(self, frames: list[Frame]) -> None:
        """Capture in documents the recorder's init scripts did not reach: a pop-up another program
        connected to the browser let run first, and now and then a frame of a frameset under load.
        Frames that just navigated are looked at on the next tick, every frame once a second."""
        for frame in frames:
            try:
                if not frame.is_detached() and not frame.evaluate("() => !!document.__backroomRecorder"):
                    frame.evaluate(f"() => {{ window.__backroomKnown = {json.dumps(self._known())}; }}")
                    frame.evaluate(CAPTURE_SCRIPT)
            except PlaywrightError:
                continue  # navigating again: the next document is looked at in its turn

    def _drain(self) -> None:
        while self.inbox:
            page, event = self.inbox.pop(0)
            try:
                self._handle(page, event)
                self.session.save()
            except Exception as exc:  # a defect here must not end the builder's session
                self.could_not_record(str(event.get("kind") or "action"), exc)

    def _on_page(self, page: Page) -> None:
        self.pages.append(page)
        page.on("dialog", lambda dialog: None)  # the builder answers it; capture.js records the answer
        page.on("framenavigated", lambda frame: self.navigated.append(frame))

    # -- known elements --------------------------------------------------------------------------
    def _known(self) -> list[dict]:
        if self.map is None:
            return []
        return [{"name": s.name, "frames": list(s.frame), "candidates": [candidate_dict(c) for c in s.candidates]}
                for s in self.map.selectors.values()]

    def _templated_url(self, url: str) -> str:
        base = (self.options.app_url or "").rstrip("/")
        if base and url.startswith(base):
            return "{{ app.url }}" + url[len(base):]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and (not base or not urlsplit(base).path.strip("/")):
            # recorded against another copy of the app (a test system): the app's url stands for it
            return "{{ app.url }}" + url[len(f"{parts.scheme}://{parts.netloc}"):]
        return url

    # -- events ----------------------------------------------------------------------------------
    def _on_console(self, message) -> None:
        # Only queued here: handling calls Playwright, and a callback that waits on Playwright lets
        # the next event's callback run first, which would put the steps out of order.
        text = message.text
        if not text.startswith(MARK) or message.type != "debug":
            return
        try:
            event = json.loads(text[len(MARK):])
        except ValueError:
            return
        if event.get("kind") == "toolbar" and event.get("command") == "stop":
            self.stop("the toolbar's Stop button")
        self.inbox.append((message.page, event))

    def _on_request(self, request) -> None:
        """A request that can change data, queued with the actions (in the order the browser told them)."""
        try:
            if not self.write_rules.is_write(request.method, request.url, request.resource_type,
                                             request.post_data if self.write_rules.reads_body else None):
                return
        except Exception:  # noqa: BLE001 - a request that cannot be judged is taken for a write
            pass
        self.inbox.append((None, {"kind": "write", "method": request.method.upper(), "url": request.url}))

    def _write_seen(self, event: dict) -> None:
        """The first write after the sign-on marks the step that sent it as the one that saves."""
        steps = self.recording.steps
        since, self.steps_at_last_write = self.steps_at_last_write, len(steps)
        if self.recording.first_write:
            return
        acting = [s for s in steps if s.action in ("click", "press", "fill", "select", "check", "upload")]
        if not acting:
            return   # the first page's own requests: nothing the builder did
        step = acting[-1]
        element = self.session.element(step.target) if step.target else None
        signs_on = (element is not None and element.screen == "login") or any(s.password for s in steps[since:])
        if signs_on:
            return
        step.commits = True
        self.recording.first_write = f"{event['method']} {event['url']}"
        self.say(f"  {step.action} {step.target or ''}: the browser sent {event['method']} "
                 f"{urlsplit(event['url']).path}, so this step saves (commits: true)")

    def _page_index(self, page: Page | None) -> int:
        if page is None:
            return self.current_page
        if page not in self.pages:
            self.pages.append(page)
        return self.pages.index(page)

    def _handle(self, page: Page | None, event: dict) -> None:
        kind = event.get("kind")
        if kind == "write":
            self._write_seen(event)
            return
        if kind == "toolbar":
            self._toolbar(event.get("command"), page, str(event.get("id") or ""), event)
            return
        index = self._page_index(page)
        if index != self.current_page:
            self.recording.add(RecordedStep("switch_to", "main" if index == 0 else "popup",
                                            "the window that opened" if index else ""))
            self.current_page = index
        if kind == "dialog":
            self._dialog(event, index)
            return
        frames = tuple(event.get("frames") or ())
        info = event.get("element")
        element = self._element(info, frames, frame_at(page, frames), verify=kind in ("fill", "select", "check", "read"),
                                reading=kind == "read") if info else None
        if kind == "fill" and (info or {}).get("password"):
            # a password is only compared with the known secrets, then dropped: never written or shown
            event = {**event, "value": event.pop("secret", None)}
        step = self._step(kind, event, element, info or {}, page)
        if kind == "read" and page is not None and not page.is_closed():
            # the read is done: no frame stays in read mode (the toolbar's request may have reached some
            # frames only after the builder's click), or the next click would be taken for a read
            # (only that read's: the builder may already have asked for the next one)
            self._in_frames(page, "id => { if (window.__backroomReadId === id || window.__backroomReadId === undefined)"
                                  " { window.__backroomMode = null; window.__backroomReadDone = id; } }",
                            event.get("readId"))
        if step is None:
            return
        step.page, step.frames = index, frames
        step.form = f"{index}:{'/'.join(frames)}:{info.get('path')}:{info.get('form')}" if info else ""
        self.recording.add(step)
        self.say(f"  {step.action} {step.target or (step.args if isinstance(step.args, str) else '')}".rstrip())

    def _step(self, kind: str, event: dict, element: RecordedElement | None, info: dict,
              page: Page | None = None) -> RecordedStep | None:
        target = element.name if element else None
        match kind:
            case "click":
                last = self.recording.steps[-1] if self.recording.steps else None
                if event.get("double") and last is not None and last.action == "click" and last.target == target:
                    self.recording.steps.pop()   # its first click, now the double-click's
                    return RecordedStep("click", {"target": target, "double": True})
                return RecordedStep("click", target)
            case "fill":
                password = bool(info.get("password"))
                match = self.matcher.typed(event.get("value"), password, element.element)
                if match.template.startswith("{{ secrets."):
                    element.secret = True
                return RecordedStep("fill", {"target": target, "value": match.template}, match.comment,
                                    password=password)
            case "select":
                match = self.matcher.chosen(str(event.get("value") or ""), str(event.get("label") or ""))
                return RecordedStep("select", {"target": target, "option": match.template}, match.comment)
            case "check":
                if info.get("type") == "radio":
                    return RecordedStep("check", target)
                match = self.matcher.checked(bool(event.get("checked")))
                value: Any = match.template if match.template.startswith("{{") else match.template == "true"
                return RecordedStep("check", {"target": target, "checked": value}, match.comment)
            case "press":
                args = {"key": event.get("key")}
                if target:
                    args["target"] = target
                return RecordedStep("press", args if target else event.get("key"))
            case "upload":
                match = self.matcher.uploaded(list(event.get("files") or []))
                return RecordedStep("upload", {"target": target, "files": match.template}, match.comment)
            case "read":
                if element.new and all(is_positional(as_candidate(c)) for c in element.candidates):
                    return self._refuse_positional_read(element)
                into = self.recording.variable(element.element)
                return self._read_step(target, into, str(event.get("value") or info.get("text") or ""), page,
                                       str(info.get("address") or ""))
        return None

    def _refuse_positional_read(self, element: RecordedElement) -> RecordedStep:
        """A value found only by its place in the page reads another record's as soon as the page holds one more
        row: not recorded; the builder reads it where it stands beside the record's own values."""
        del self.recording.elements[element.name]
        self.say(f"  not recorded: the value picked can only be found by its place in the page "
                 f"({next(iter(element.candidates[0].values()))}); read it beside the record's own values (its row "
                 "in a list, the message shown after saving)")
        return RecordedStep("todo", "a read was not recorded: the value picked can be found only by its place in "
                            "the page; read it where the record's own values are shown with it")

    def _read_step(self, target: str | None, into: str, text: str, page: Page | None,
                   address: str = "") -> RecordedStep:
        """A read; the first after the save is the key read: the record's number, kept out of the words around it."""
        args: dict[str, Any] = {"target": target, "into": into}
        step = RecordedStep("read", args, "picked from the toolbar", read_value=" ".join(text.split()))
        if not self.recording.committed or any(s.key_step for s in self.recording.steps):
            return step
        step.key_step = True
        # the address the value was read at (the page may have moved on by the time the read is handled)
        if not address and page is not None and not page.is_closed():
            address = page.url
        found = key_pattern(text, address)
        if found is None:
            step.comment = "the record's number (key_step): no number in what it showed; add a pattern"
            self.say(f"  read {target}: {text!r} holds no number; the key read keeps it whole (add a pattern)")
            return step
        self._keep_with(step, found.pattern, found.kept, " ".join(text.split()), page)
        return step

    def _keep_with(self, step: RecordedStep, pattern: str, kept: str, text: str, page: Page | None) -> None:
        """The key read keeps what `pattern` finds; the terminal and the toolbar say so, where it can be changed."""
        step.args["pattern"] = pattern
        step.read_value, step.shown = kept, text
        explained = KeyPattern(pattern, kept).explain(text)
        step.comment = f"the record's number: {explained[:90]}"
        self.say(f"  read {step.target} into {step.args['into']}: {explained}; change the pattern in the toolbar "
                 "or the recipe if another part is the number")
        self._show_key(page, {"kept": kept, "text": text, "pattern": pattern})

    def _show_key(self, page: Page | None, info: dict) -> None:
        if page is not None and not page.is_closed():
            self._in_frames(page, "info => window.__backroomShowKey && window.__backroomShowKey(info)", info)

    def _change_pattern(self, pattern: str, page: Page | None) -> None:
        """The builder's own pattern for the key read, checked against what the screen showed."""
        step = next((s for s in reversed(self.recording.steps) if s.key_step), None)
        if step is None:
            return
        try:
            found = re.search(pattern, step.shown or "")
        except re.error as exc:
            found, problem = None, f"not a pattern: {exc}"
        else:
            problem = f"{pattern!r} finds nothing in {step.shown!r}" if found is None else ""
        if found is None:
            self.say(f"  pattern not changed: {problem}")
            self._show_key(page, {"problem": problem, "pattern": pattern})
            return
        self._keep_with(step, pattern, found.group(1) if found.groups() else found.group(0), step.shown or "", page)

    def _dialog(self, event: dict, page: int) -> None:
        accepted = bool(event.get("accepted"))
        args: dict[str, Any] = {"expect": event.get("message") or None}
        if event.get("type") == "prompt" and accepted:
            args["prompt_text"] = self.matcher.typed(str(event.get("answer") or ""), False, "prompt").template
        args = {k: v for k, v in args.items() if v is not None}
        step = RecordedStep("accept_dialog" if accepted else "dismiss_dialog", args or "", page=page,
                            comment=f"the {event.get('type')} the next step raises")
        # The page reports the dialog after the click that raised it; the recipe arms it before.
        steps = self.recording.steps
        at = len(steps)
        while at > 0 and steps[at - 1].action not in ("click", "press"):
            at -= 1
        steps.insert(at - 1 if at > 0 else len(steps), step)
        self.say(f"  {step.action} {args.get('expect', '')}")

    def _toolbar(self, command: str | None, page: Page | None, request: str = "", event: dict | None = None) -> None:
        if command == "checkpoint":
            self.checkpoint("marked from the toolbar")
        elif command == "undo":
            self.undo("the toolbar's Undo button")
        elif command == "pattern":
            self._change_pattern(str((event or {}).get("pattern") or ""), page)
        elif command == "read" and page is not None:
            # only frames of another origin, which the toolbar's own script cannot reach, and only while the
            # request is not made already (capture.js marks it done): a late copy never takes the next click
            self._in_frames(page, "id => { let reachable = false; try { reachable = !!window.top.document; }"
                                  " catch (e) {} if (!reachable && window.__backroomReadDone !== id) {"
                                  " window.__backroomMode = 'read'; window.__backroomReadId = id; } }", request)

    @staticmethod
    def _in_frames(page: Page, script: str, arg=None) -> None:
        for frame in page.frames:
            try:
                frame.evaluate(script, arg)
            except PlaywrightError:
                continue

    # -- elements --------------------------------------------------------------------------------
    def _row_of_the_item(self, info: dict, reading: bool) -> dict | None:
        """A cell in the row that shows the sample item (a list of records, a search dialog's matches): a locator
        templated with the item's value, so each item's run reads or picks its own row. A value read is found by
        the row's other cells, never by itself; a row picked may be picked by what the clicked cell says."""
        row = info.get("row") or {}
        cells, index = row.get("cells") or [], row.get("index")
        if index is None or len(cells) < 2:
            return None
        order = ([index] if not reading else []) + [p for p in range(len(cells)) if p != index]
        for position in order:
            text = cells[position]
            template = self.matcher.item_template(text) if text else None
            if template and "'" not in template:
                return {"xpath": f"//tr[td[normalize-space()='{template}']]/*[{index + 1}]"}
        return None

    def _as_item_locator(self, candidate: dict) -> dict | None:
        """A locator that names the sample's own value (the customer picked from a search dialog by its name) finds
        each item's own: it is templated, as a typed value is. One that holds the value inside other words would
        find the sample's record on every run: dropped."""
        templated = dict(candidate)
        for key, value in candidate.items():
            if key == "role" or not isinstance(value, str) or not self.matcher.mentions_item(value):
                continue
            template = self.matcher.item_template(value)
            if template is None or "'" in template:
                return None
            templated[key] = template
        return templated

    @staticmethod
    def _read_name(info: dict, label: str) -> str:
        """A value read is named after its label or column, else its class or tag: never after what it says."""
        own = str(info.get("text") or "").strip()
        if own and (own in label or label in own or re.search(r"\d", label)):
            classes = [c for c in info.get("classes") or [] if not re.search(r"\d", c)]
            return classes[0] if classes else str(info.get("tag") or "value")
        return label

    def _element(self, info: dict, frames: tuple[str, ...], frame: Frame | None, verify: bool,
                 reading: bool = False) -> RecordedElement:
        self.titles_seen.add(self.matcher.without_record(str(info.get("docTitle") or "")))
        for name in info.get("known") or []:
            existing = self.session.element(name)
            if existing is not None and existing.frames == frames:
                return self.session.reuse(existing)
        candidates = [c for c in info.get("candidates") or [] if c]
        for existing in self.session.all_elements():  # the same first locator: the same element
            if existing.frames == frames and existing.candidates and existing.candidates[0] in candidates:
                return self.session.reuse(existing)
        if verify and frame is not None and still_showing(frame, info):
            candidates = [c for c in candidates if playwright_agrees(frame, c)] or candidates
        own = str(info.get("text") or "").strip()
        if reading and own:
            # a value read is found by where it stands, never by what it says this time ('#2')
            candidates = [c for c in candidates if not any(isinstance(v, str) and own in v for v in c.values())]
        if not reading:
            candidates = [c for c in map(self._as_item_locator, candidates) if c is not None]
        in_row = self._row_of_the_item(info, reading)
        if in_row is not None:   # a value in a list: found by the item's own row, not by where it was this time
            candidates = [in_row] + candidates
        structural = [c for c in candidates if "css" in c and " > " in c["css"]]
        preferred = [c for c in candidates if c not in structural]
        # the position in the page last: it survives a renamed label or button, which the others do not
        chosen = preferred[:MAX_CANDIDATES - len(structural[:1])] + structural[:1]
        title = self.matcher.without_record(str(info.get("docTitle") or ""))
        # a form with a password field is the sign-on, a screen of its own: its fields are never re-read
        # before the form a record is saved from, and what it sends is never taken for that save
        dialog = _page_words(self.matcher.without_record(str(info.get("dialog") or "")))
        # a dialog is a screen of its own, named by its title ('Search Party', 'Sales › Lines'): what is typed in it
        # is not re-read before the page behind it saves, after the dialog has gone
        screen = "login" if info.get("signOn") else dialog or \
            screen_name(title, str(info.get("path") or ""), frames, frozenset(self.titles_seen),
                        self.matcher.without_record(str(info.get("heading") or "")))
        label = str(info.get("name") or info.get("tag") or "element")
        if reading:
            label = self._read_name(info, label)
        return self.session.new_element(screen, snake(label), chosen, frames,
                                        description=f"{info.get('tag')}: {label}"[:60])


# Chromium's own bubbles ("Save password?", "Translate this page?") would cover the application
# while the builder records: the recording profile has them off from the start.
QUIET_PREFERENCES = {"credentials_enable_service": False, "profile": {"password_manager_enabled": False},
                     "translate": {"enabled": False}}


def quiet_profile(folder: Path) -> None:
    (folder / "Default").mkdir(parents=True, exist_ok=True)
    (folder / "Default" / "Preferences").write_text(json.dumps(QUIET_PREFERENCES), encoding="utf-8")


def frame_at(page: Page | None, chain: tuple[str, ...]) -> Frame | None:
    """The frame a chain of frame names (from capture.js) points at, while the page still shows it."""
    if page is None or page.is_closed():
        return None
    frame = page.main_frame
    for name in chain:
        children = frame.child_frames
        frame = next((f for f in children if f.name == name), None) or (children[0] if len(children) == 1 else None)
        if frame is None:
            return None
    return frame


def still_showing(frame: Frame, info: dict) -> bool:
    """Whether the frame still shows the page the element was on: a field's change can arrive after the
    click that left the page (the form was sent), and the next page may have a look-alike (a comment box)."""
    try:
        return urlsplit(frame.url).path == info.get("path")
    except PlaywrightError:
        return False


def playwright_agrees(frame: Frame, candidate: dict) -> bool:
    """Playwright's own engine finds exactly one element for the candidate (the runner will use it)."""
    try:
        return the_one(locator_for(frame, candidate))[0] is not None
    except PlaywrightError:
        return True  # the page moved on: capture.js's own test in the live document stands


def locator_for(frame: Frame, candidate: dict) -> Locator:
    """The candidate as Playwright's locator, built as the run builds it."""
    strategy = next(s for s in WEB_STRATEGIES if s in candidate)
    return locate(frame, strategy, candidate[strategy], candidate.get("name"))


def check_app(selector_map: SelectorMap | None, app: str, kind: str) -> None:
    if selector_map is not None and selector_map.kind != kind:
        raise ConfigurationError(f"selectors/{app}.yaml is a {selector_map.kind} map; "
                                 f"record it with `backroom record {selector_map.kind}`")
