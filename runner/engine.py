"""The engine: runs a recipe's steps for one work item through a driver, one audit event per step.

Each step runs inside `_reported`, a status-reporter context manager that stamps start
and duration, maps exceptions to outcomes, takes screenshots by policy and writes the
event. Failures become StepFailure subclasses that name the step and the selector;
whether the item is retried is decided by the caller (run.py).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, cast

from .audit.events import AuditEvent, AuditTrail, sha256_file
from .audit.screenshots import SCREEN_ACTIONS, Shot, ends_input_run, plan_screenshot
from .drivers.base import DesktopScreen, Driver, Resolution, ScreenshotRequest, WebScreen
from .errors import (AppUnreachableError, AssertionFailed, BackroomError, BusinessException, StepFailure,
                     SystemException)
from .proofs import Proofs, extract
from .readback import TypedValue
from .recipe import Recipe, RecipeBook, Step
from .secrets import masked_secrets
from .selector_map import SelectorMap
from .settings import Settings
from .templating import MASK, TemplateProblem, as_bool, as_text, is_template, render, uses_name
from .work_item import WorkItem


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

    def before_commit(self, step: Step, app: str) -> None:
        pass

    def key_taken(self, variable: str, value: str) -> str | None:
        """The reference of another item of this bot that already read `value` into `variable`."""
        return None


class Engine(Proofs):
    def __init__(self, drivers: dict[str, Driver] | Driver, book: RecipeBook, maps: dict[str, SelectorMap],
                 settings: Settings, trail: AuditTrail, secrets: dict[str, str], apps: dict[str, dict], policy: str):
        # one driver per kind of screen (web, desktop); each recipe uses its app's kind
        self.drivers = drivers if isinstance(drivers, dict) else {drivers.kind: drivers}
        self.driver: Driver = next(iter(self.drivers.values()))
        self.book = book
        self.maps = maps
        self.settings = settings
        self.trail = trail
        self.secrets = secrets
        self.masked = masked_secrets(secrets)
        self.apps = apps
        self.policy = policy
        self.timeout_ms = int(settings.action_timeout_s * 1000)
        self.hooks = ItemHooks()
        self.nav_timeout_ms = int(settings.navigation_timeout_s * 1000)
        # how the values typed in this run held up: read back, retyped, refused, rechecked before commits
        self.tally: dict[str, int] = {}
        self._state: AttemptState | None = None   # the attempt being worked (templated locators name its item)
        self._secret_pattern = trail.redactor.js_pattern()

    # -- public -----------------------------------------------------------
    def run_item(self, item: WorkItem, recipe_names: list[str], attempt: int, verify: str | None = None,
                 hooks: ItemHooks | None = None) -> AttemptResult:
        """Run the recipes for one item on a clean screen (a fresh browser context; desktop apps
        restarted after an item that failed).

        With `verify`, that recipe runs first; if it finds the work already done in the
        legacy system (`complete_if`), the item is completed from the screen, not keyed again.
        """
        state = AttemptState(item, attempt)
        self._state = state
        self.hooks = hooks or ItemHooks()
        for driver in self.drivers.values():
            driver.begin_item()
        clean = False
        try:
            if verify is not None:
                try:
                    self._run_recipe(self.book[verify], state)
                except AlreadyDone as done:
                    state.variables.update(done.variables)
                    clean = True
                    return AttemptResult(state.variables, True, done.message)
            for name in recipe_names:
                self._run_recipe(self.book[name], state)
            self._flush_pending(state)
            clean = True
        finally:
            for driver in self.drivers.values():
                for note in driver.end_item(clean):
                    self._emit(state, AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="app",
                                                 outcome="reset", item=item.reference, attempt=attempt, message=note))
        return AttemptResult(state.variables)

    # -- recipes and steps -------------------------------------------------
    def _context(self, recipe: Recipe, state: AttemptState, masked: bool, extra: dict | None = None) -> dict:
        return {
            "item": state.item.data,
            "vars": state.variables,
            "secrets": self.masked if masked else self.secrets,
            "app": self.apps.get(recipe.app, {}),
            "run": {"id": self.trail.run_id},
            **(extra or {}),
        }

    def _render(self, value: Any, recipe: Recipe, state: AttemptState, step: Step, extra: dict | None = None) -> tuple[Any, Any]:
        """The real value for the screen and the masked one for the audit trail."""
        try:
            return (render(value, self._context(recipe, state, False, extra)),
                    render(value, self._context(recipe, state, True, extra)))
        except TemplateProblem as exc:
            raise BusinessException(f"{step.where}: {exc}", "Check the work item's data.", step=step.where) from None

    def _run_recipe(self, recipe: Recipe, state: AttemptState) -> None:
        previous = self.driver
        self.driver = self.drivers[self.maps[recipe.app].kind]
        try:
            self._run_steps(recipe, state)
            if self.driver is not previous:
                self._flush_pending(state)  # this screen's pending picture, before the other screen is current
        finally:
            self.driver = previous

    def _run_steps(self, recipe: Recipe, state: AttemptState) -> None:
        for step in recipe.steps:
            if ends_input_run(step):
                self._flush_pending(state)
            if step.when is not None and not self._condition_holds(step, recipe, state):
                self._emit(state, AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="step",
                                             outcome="skip", item=state.item.reference, attempt=state.attempt,
                                             recipe=recipe.name, step=step.where, action=step.action,
                                             target=step.target, message="condition not met", duration_ms=0))
                continue
            with self._reported(step, recipe, state) as event:
                self._perform(step, recipe, state, event)

    def _condition_holds(self, step: Step, recipe: Recipe, state: AttemptState) -> bool:
        cond = step.when
        if cond.visible:
            return self.driver.find_now(self._selector(recipe, cond.visible)) is not None
        if cond.hidden:
            return self.driver.find_now(self._selector(recipe, cond.hidden)) is None
        value, _ = self._render("{{ " + cond.expression + " }}", recipe, state, step)
        return as_bool(value)

    @contextmanager
    def _reported(self, step: Step, recipe: Recipe, state: AttemptState) -> Iterator[AuditEvent]:
        event = AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="step", outcome="pass",
                           item=state.item.reference, attempt=state.attempt, recipe=recipe.name,
                           step=step.where, action=step.action, target=step.target)
        started = time.perf_counter()
        if step.action in SCREEN_ACTIONS:
            state.screen_changed = True
            state.secret_shown = False
        self.hooks.heartbeat()
        try:
            if step.commits:
                self._recheck_before_commit(step, state, event)
                self.hooks.before_commit(step, recipe.app)
            yield event
            self._check_dialogs(step, event)
            self._note_waits(event)
        except AlreadyDone as done:
            event.duration_ms = round((time.perf_counter() - started) * 1000, 1)
            event.message = done.message
            self._capture(state, event)
            self._flush_pending(state, reuse=event)
            self._emit(state, event)
            raise
        except BaseException as exc:
            event.duration_ms = round((time.perf_counter() - started) * 1000, 1)
            failure = self._as_failure(exc, step, recipe)
            if getattr(failure, "masked", False):
                state.secret_shown = True
            event.outcome = "fail"
            event.message = failure.message
            self._note_waits(event)
            event.data = {**(event.data or {}), "exception": getattr(failure, "kind", type(failure).__name__)}
            self._capture(state, event, fresh=True)
            self._flush_pending(state, reuse=event)
            self._emit(state, event)
            if event.screenshot and isinstance(failure, StepFailure):
                failure.screenshot = (event.screenshot, event.screenshot_sha256)  # for the item's review
            if failure is exc:
                raise
            raise failure from None
        event.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        shot = plan_screenshot(self.policy, step)
        if shot is Shot.DEFER:
            state.pending.append(event)
            return
        if shot is Shot.NOW:
            # navigating steps have settled in _after_navigation; a screenshot step always takes a new picture
            self._capture(state, event, fresh=step.action == "screenshot")
        self._emit(state, event)

    def _as_failure(self, exc: BaseException, step: Step, recipe: Recipe) -> BaseException:
        if isinstance(exc, KeyboardInterrupt) or isinstance(exc, AppUnreachableError):
            return exc
        if isinstance(exc, BackroomError) and not isinstance(exc, StepFailure):
            return exc
        message = exc.message if isinstance(exc, BackroomError) else str(exc).strip().splitlines()[0]
        prefix = f"{step.where}: {step.describe()}"
        # A business exception's message is written for the person who reviews the item; the
        # step's place is in the event. Everything else says where it happened.
        if not message.startswith(step.where) and not isinstance(exc, BusinessException):
            message = f"{prefix}: {message}"
        # masked here, where it is made: the queue, the terminal, the review page and the event all take it from here
        masked = self.trail.redactor.scrub(message)
        shown_secret, message = masked != message, masked
        busy = self._busy_text(recipe)
        if busy and not isinstance(exc, BusinessException):
            return SystemException(f"{prefix}: the application said {busy!r}", "The item will be retried.",
                                   step=step.where, selector=step.target or "")
        cls = type(exc) if isinstance(exc, StepFailure) else SystemException
        failure = cls(message, getattr(exc, "hint", None) or None, step=step.where, selector=step.target or "")
        failure.masked = shown_secret  # what the app said held a secret: so may the screen
        return failure

    def _busy_text(self, recipe: Recipe) -> str | None:
        for text in self.maps[recipe.app].busy_texts:
            try:
                if self.driver.text_on_screen(text):
                    return text
            except Exception:  # noqa: BLE001 - a broken page is not a busy page
                return None
        return None

    def _note_waits(self, event: AuditEvent) -> None:
        """A desktop step that had to wait for a covered target or for its window to come to the front says so."""
        waits = self.driver.take_waits()
        if waits:
            event.data = {**(event.data or {}), "waited": waits}
            self.tally["waited"] = self.tally.get("waited", 0) + len(waits)

    def _check_dialogs(self, step: Step, event: AuditEvent) -> None:
        dialogs = self.driver.take_dialog_events()
        if not dialogs:
            return
        event.data = {**(event.data or {}), "dialogs": [
            {"type": d.kind, "message": d.message, "action": d.action} for d in dialogs]}
        for dialog in dialogs:
            if not dialog.matches_expectation:
                expected = f" (expected {dialog.expected!r})" if dialog.expected else " (no dialog was expected)"
                raise SystemException(f"the application asked {dialog.message!r}{expected}; it was dismissed",
                                      "Check the screen in the screenshot; nothing was confirmed.")

    # -- evidence ----------------------------------------------------------
    def _capture(self, state: AttemptState, event: AuditEvent, fresh: bool = False) -> None:
        if not fresh and not state.screen_changed and state.last_shot:
            # Nothing was done on the screen since the last picture (a wait, a read): it is this one too.
            event.screenshot, event.screenshot_sha256 = state.last_shot
            return
        ext = "jpg" if self.settings.screenshot_format == "jpeg" else "png"
        relative = f"screenshots/{_safe(state.item.reference)}-a{state.attempt}-{event.seq:06d}.{ext}"
        path = self.trail.run_dir / relative
        try:
            painted = self.driver.screenshot(ScreenshotRequest(
                path, self.settings.screenshot_format, self.settings.screenshot_quality,
                secret_pattern=self._secret_pattern, secret_shown=state.secret_shown))
        except Exception as exc:  # noqa: BLE001 - evidence failing must not hide the step's own outcome
            event.data = {**(event.data or {}), "screenshot_error": str(exc).splitlines()[0] if str(exc) else repr(exc)}
            return
        if painted:
            event.data = {**(event.data or {}), "painted_over": painted}
        event.screenshot = relative
        event.screenshot_sha256 = sha256_file(path)
        state.last_shot, state.screen_changed = (relative, event.screenshot_sha256), False

    def _flush_pending(self, state: AttemptState, reuse: AuditEvent | None = None) -> None:
        if not state.pending:
            return
        pending, state.pending = state.pending, []
        if reuse is not None and reuse.screenshot:
            shot, digest = reuse.screenshot, reuse.screenshot_sha256
        else:
            self._capture(state, pending[-1])
            shot, digest = pending[-1].screenshot, pending[-1].screenshot_sha256
        for event in pending:
            event.screenshot, event.screenshot_sha256 = shot, digest
            self._emit(state, event)

    def _emit(self, state: AttemptState, event: AuditEvent) -> None:
        self.trail.emit(event)

    # -- actions -----------------------------------------------------------
    def _selector(self, recipe: Recipe, name: str):
        selector = self.maps[recipe.app].get(name)
        if not selector.templated or self._state is None:
            return selector
        # a locator that names the item ("the row of {{ item.order_ref }}"): filled in for this item
        context = {"item": self._state.item.data, "vars": self._state.variables}

        def fill(text):
            return as_text(render(text, context)) if is_template(text) else text

        try:
            candidates = tuple(replace(c, value=fill(c.value), name=fill(c.name)) for c in selector.candidates)
        except TemplateProblem as exc:
            raise BusinessException(f"{selector.source}: {name}: {exc}", "Check the work item's data.") from None
        return replace(selector, candidates=candidates)

    def _note(self, event: AuditEvent, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        event.selector = resolution.candidate
        event.healed = resolution.healed
        if resolution.healed:
            event.data = {**(event.data or {}), "healed_from": list(resolution.tried)}
            self.trail.log.bind(item=event.item).warning(
                f"selector {resolution.selector} healed at {event.step}: matched {resolution.candidate} "
                f"after {'; '.join(resolution.tried)}")

    def _perform(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent) -> None:
        a = step.args
        timeout = step.timeout_ms or self.timeout_ms
        driver = self.driver
        match step.action:
            case "open":
                url, shown = self._render(a.url, recipe, state, step)
                event.value = as_text(shown)
                driver.open(as_text(url), step.timeout_ms or self.nav_timeout_ms)
                self._after_navigation(recipe)
            case "click":
                self._note(event, driver.click(self._selector(recipe, a.target), timeout, a.double))
                self._after_navigation(recipe)
            case "fill":
                selector = self._selector(recipe, a.target)
                value, shown = self._render(a.value, recipe, state, step)
                text = as_text(value)
                # a value made from a secret is one, whether or not the field is marked secret
                secret = selector.secret or a.secret or as_text(shown) != text
                event.value = MASK if secret else as_text(shown)
                self._note(event, driver.fill(selector, text, timeout, secret=secret))
                typed = self._expected(step, recipe, state, selector, "fill", text, as_text(shown), secret)
                self._verify_input(step, recipe, state, event, typed,
                                   lambda: driver.fill(selector, text, timeout, secret=secret, slow=True))
            case "select":
                selector = self._selector(recipe, a.target)
                value, shown = self._render(a.option, recipe, state, step)
                event.value = as_text(shown)
                self._note(event, driver.select(selector, as_text(value), timeout))
                typed = self._expected(step, recipe, state, selector, "select", as_text(value), as_text(shown), False)
                self._verify_input(step, recipe, state, event, typed,
                                   lambda: driver.select(selector, as_text(value), timeout, slow=True))
            case "check":
                selector = self._selector(recipe, a.target)
                value, _ = self._render(a.checked, recipe, state, step)
                try:
                    checked = as_bool(value)
                except TemplateProblem as exc:
                    raise BusinessException(f"{step.where}: {exc}", step=step.where) from None
                event.value = "checked" if checked else "unchecked"
                self._note(event, driver.check(selector, checked, timeout))
                typed = TypedValue(selector, "check", checked, shown=event.value)
                self._verify_input(step, recipe, state, event, typed, lambda: driver.check(selector, checked, timeout))
            case "upload":
                self._upload(step, recipe, state, event, timeout)
            case "switch_to":
                event.value = a.window
                cast(WebScreen, driver).switch_to(a.window, timeout)
                self._after_navigation(recipe)
            case "press":
                selector = self._selector(recipe, a.target) if a.target else None
                event.value = a.key
                windows = self.maps[recipe.app].windows_of(a.screen)
                self._note(event, driver.press(selector, a.key, timeout, windows=windows))
                self._after_navigation(recipe)
            case "wait_for":
                visible = a.state == "visible"
                if a.text is not None:
                    text, shown = self._render(a.text, recipe, state, step)
                    event.value = as_text(shown)
                    driver.wait_for_text(as_text(text), visible, timeout)
                else:
                    names = a.any or [a.target]
                    resolution = driver.wait_for_any([self._selector(recipe, n) for n in names], visible, timeout)
                    event.target = resolution.selector
                    self._note(event, resolution if visible else None)
            case "read":
                selector = self._selector(recipe, a.target)
                value, resolution = driver.read(selector, a.attribute, timeout)
                self._note(event, resolution)
                event.value = MASK if selector.secret else value
                if step.key_step:
                    value = self._key_read(step, recipe, state, event, value, selector.secret)
                elif a.pattern is not None:
                    value = extract(value, a.pattern, a.target, selector.secret)
                state.variables[a.into] = value
                event.value = MASK if selector.secret else value
                if not selector.secret and self.trail.redactor.scrub(as_text(value)) != as_text(value):
                    state.secret_shown = True
            case "read_table":
                self._read_table(step, recipe, state, event, timeout)
            case "assert_text":
                self._assert_text(step, recipe, state, event, timeout)
            case "accept_dialog" | "dismiss_dialog":
                expect, _ = self._render(a.expect, recipe, state, step)
                prompt, shown = self._render(a.prompt_text, recipe, state, step)
                driver.arm_dialog(step.action == "accept_dialog", expect, prompt)
                event.value = as_text(shown) if a.prompt_text is not None else None
                event.message = f"armed for the next dialog{f' expecting {expect!r}' if expect else ''}"
            case "screenshot":
                event.value = a.name
            case "call":
                for key, raw in a.with_.items():
                    state.variables[key], _ = self._render(raw, recipe, state, step)
                event.value = a.recipe
                self._run_recipe(self.book[a.recipe], state)
                self._flush_pending(state)
            case "fail_if":
                self._fail_if(step, recipe, state, event)
            case "complete_if":
                self._complete_if(step, recipe, state, event)
            case "launch":
                window = a.window or self.apps.get(recipe.app, {}).get("window") or self.maps[recipe.app].window
                event.value = window
                desktop = cast(DesktopScreen, driver)  # recipe validation admits launch on desktop apps only
                event.message = desktop.launch(recipe.app, window, step.timeout_ms or self.nav_timeout_ms)
                self._after_navigation(recipe)
            case "close_app":
                event.message = cast(DesktopScreen, driver).close_app(recipe.app)
            case _:
                raise SystemException(f"{step.where}: no driver support for '{step.action}'")

    def _upload(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, timeout: int) -> None:
        value, shown = self._render(step.args.files, recipe, state, step)
        names = value if isinstance(value, (list, tuple)) else [value]
        paths = [Path(as_text(n)) for n in names if as_text(n)]
        missing = [str(p) for p in paths if not p.is_file()]
        if not paths or missing:
            raise BusinessException(f"{step.where}: file to upload not found: {', '.join(missing) or 'no file given'}",
                                    step=step.where)
        event.value = ", ".join(p.name for p in paths)
        self._note(event, cast(WebScreen, self.driver).upload(self._selector(recipe, step.args.target), paths, timeout))

    def _after_navigation(self, recipe: Recipe) -> None:
        """Let the screen load, then stop at once on a "system busy" page instead of timing out later."""
        self.driver.settle(self.nav_timeout_ms)
        busy = self._busy_text(recipe)
        if busy:
            raise SystemException(f"the application said {busy!r}", "The item will be retried.")

    def _read_table(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, timeout: int) -> None:
        """Read a table, following its "next page" link until there is none; rows of all pages in order."""
        a = step.args
        screen = cast(WebScreen, self.driver)  # recipe validation admits read_table on web apps only
        selector = self._selector(recipe, a.target)
        next_link = self._selector(recipe, a.next) if a.next else None
        rows, pages, previous = [], 0, None
        while True:
            page_rows, resolution = screen.read_table(selector, timeout)
            deadline = time.monotonic() + timeout / 1000
            while previous is not None and page_rows == previous:  # the next page has not replaced this one yet
                if time.monotonic() > deadline:
                    raise SystemException(f"{a.target}: the next page did not load", "The item will be retried.")
                time.sleep(0.1)
                page_rows, resolution = screen.read_table(selector, timeout)
            self._note(event, resolution)
            rows.extend(page_rows)
            pages += 1
            previous = page_rows
            if next_link is None or screen.find_now(next_link) is None:
                break
            if pages >= a.max_pages:
                raise SystemException(f"{a.target}: more than {a.max_pages} pages", "Raise max_pages in the recipe.")
            screen.click(next_link, timeout)
            self._after_navigation(recipe)
            self.hooks.heartbeat()
        state.variables[a.into] = rows
        event.value = f"{len(rows)} row{'s' if len(rows) != 1 else ''} from {pages} page{'s' if pages != 1 else ''}"

    def _assert_text(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, timeout: int) -> None:
        a = step.args
        expected, shown = self._render(a.equals if a.equals is not None else a.contains, recipe, state, step)
        expected = as_text(expected)
        event.value = as_text(shown)
        if a.target:
            actual, resolution = self.driver.read(self._selector(recipe, a.target), None, timeout)
            self._note(event, resolution)
            ok = actual == expected if a.equals is not None else expected in actual
        else:
            actual = "(the screen)"
            ok = self.driver.text_on_screen(expected)
        if not ok:
            how = "to be" if a.equals is not None else "to contain"
            raise AssertionFailed(f"expected {a.target or 'the screen'} {how} {as_text(shown)!r}, found {actual!r}",
                                  "Look at the screenshot: the application shows something else.")

    def _complete_if(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent) -> None:
        a = step.args
        found = self.driver.find_now(self._selector(recipe, a.visible))
        if found is None:
            event.message = f"{a.visible} not shown: not done yet"
            return
        self._note(event, found)
        values = {}
        for variable, target in a.read.items():
            values[variable], _ = self.driver.read(self._selector(recipe, target), None, self.timeout_ms)
        event.value = ", ".join(f"{k}={v}" for k, v in values.items()) or None
        for variable, value in values.items():  # what a look-up finds is held to the same rule as a key read
            self._refuse_if_taken(step, recipe, state, event, a.read[variable], variable, value, repr(value),
                                  "it was not completed")
        raise AlreadyDone(values, a.message)

    def _fail_if(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent) -> None:
        a = step.args
        if a.visible:
            selector = self._selector(recipe, a.visible)
            found = self.driver.find_now(selector)
            if found is None:
                event.message = f"{a.visible} not shown"
                return
            # only a message that shows the text needs it read (on a desktop that means copying it)
            text = self.driver.read(selector, None, self.timeout_ms)[0] if uses_name(a.message, "text") else a.visible
        else:
            if not self.driver.text_on_screen(a.text):
                event.message = f"{a.text!r} not shown"
                return
            text = a.text
        message, shown = self._render(a.message, recipe, state, step, {"text": text})
        cls = BusinessException if a.kind == "business" else SystemException
        raise cls(as_text(shown), "A person must look at this item: see the screenshot.", step=step.where)


def _safe(reference: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in reference)[:60] or "item"
