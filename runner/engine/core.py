"""The engine: runs a recipe's steps for one work item through a driver, one audit event per step.

Each step runs inside `_reported`, a status-reporter context manager that stamps start
and duration, maps exceptions to outcomes, takes screenshots by policy and writes the
event; what the step does is its handler's (engine/steps/). Failures become StepFailure
subclasses that name the step and the selector; whether the item is retried is decided
by the run (run/keying.py).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator, cast

from ..audit.events import AuditEvent, Trail
from ..audit.screenshots import SCREEN_ACTIONS, Shot, ends_input_run, plan_screenshot
from ..drivers.base import Resolution, Screen, WebScreen, offers
from ..drivers.web_writes import ActingStep, SeenWrite, WriteRules
from ..errors import AppUnreachableError, BackroomError, BusinessException, StepFailure, SystemException
from ..intake.work_item import WorkItem
from ..project.recipe import Recipe, RecipeBook, Step
from ..project.secrets import masked_secrets
from ..project.selector_map import Selector, SelectorMap
from ..project.settings import Settings
from ..project.templating import TemplateProblem, as_bool, as_text, is_template, render
from .attempt import AlreadyDone, AttemptResult, AttemptState, ItemHooks
from .evidence import Evidence
from .proofs import Proofs
from .steps import HANDLERS, StepRun


class Engine(Proofs, Evidence):
    def __init__(self, drivers: dict[str, Screen] | Screen, book: RecipeBook, maps: dict[str, SelectorMap],
                 settings: Settings, trail: Trail, secrets: dict[str, str], apps: dict[str, dict], policy: str):
        # one driver per kind of screen (web, desktop); each recipe uses its app's kind
        self.drivers = drivers if isinstance(drivers, dict) else {drivers.kind: drivers}
        self.driver: Screen = next(iter(self.drivers.values()))
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
        self._write_rules = {app: WriteRules.of_app(settings_of) for app, settings_of in apps.items()}
        web = self.drivers.get("web")
        if web is not None:   # the browser tells of every write the pages send, before it goes out
            cast(WebScreen, web).watch_writes(self._on_write)

    # -- public -----------------------------------------------------------
    def run_item(self, item: WorkItem, recipe_names: list[str], attempt: int, verify: str | None = None,
                 hooks: ItemHooks | None = None) -> AttemptResult:
        """Run the recipes for one item: on the screen the last clean item left, or a clean one after an
        item that failed (a fresh browser context; desktop apps restarted).

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
                    self.run_recipe(self.book[verify], state)
                except AlreadyDone as done:
                    state.variables.update(done.variables)
                    clean = True
                    return AttemptResult(state.variables, True, done.message)
            for name in recipe_names:
                self.run_recipe(self.book[name], state)
            self.flush_pending(state)
            clean = True
        finally:
            self.settle_pictures(state)   # before a failed item's screen is closed
            for driver in self.drivers.values():
                for note in driver.end_item(clean):
                    self.emit(state, AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="app",
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

    def render_value(self, value: Any, recipe: Recipe, state: AttemptState, step: Step,
                     extra: dict | None = None) -> tuple[Any, Any]:
        """The real value for the screen and the masked one for the audit trail."""
        try:
            return (render(value, self._context(recipe, state, False, extra)),
                    render(value, self._context(recipe, state, True, extra)))
        except TemplateProblem as exc:
            raise BusinessException(f"{step.where}: {exc}", "Check the work item's data.", step=step.where) from None

    def run_recipe(self, recipe: Recipe, state: AttemptState) -> None:
        previous = self.driver
        self.driver = self.drivers[self.maps[recipe.app].kind]
        try:
            self._run_steps(recipe, state)
            if self.driver is not previous:
                self.flush_pending(state)  # this screen's pending picture, before the other screen is current
                self.settle_pictures(state)
        finally:
            self.driver = previous

    def _run_steps(self, recipe: Recipe, state: AttemptState) -> None:
        for step in recipe.steps:
            if ends_input_run(step):
                self.flush_pending(state)
            if step.when is not None and not self._condition_holds(step, recipe, state):
                self.emit(state, AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="step",
                                             outcome="skip", item=state.item.reference, attempt=state.attempt,
                                             recipe=recipe.name, step=step.where, action=step.action,
                                             target=step.target, message="condition not met", duration_ms=0))
                continue
            with self._reported(step, recipe, state) as event:
                self._perform(step, recipe, state, event)

    def _condition_holds(self, step: Step, recipe: Recipe, state: AttemptState) -> bool:
        cond = step.when
        assert cond is not None
        if cond.visible:
            return self.driver.find_now(self.selector_for(recipe, cond.visible)) is not None
        if cond.hidden:
            return self.driver.find_now(self.selector_for(recipe, cond.hidden)) is None
        value, _ = self.render_value("{{ " + (cond.expression or "") + " }}", recipe, state, step)
        return as_bool(value)

    @contextmanager
    def _reported(self, step: Step, recipe: Recipe, state: AttemptState) -> Iterator[AuditEvent]:
        event = AuditEvent(run=self.trail.run_id, seq=self.trail.next_seq(), kind="step", outcome="pass",
                           item=state.item.reference, attempt=state.attempt, recipe=recipe.name,
                           step=step.where, action=step.action, target=step.target)
        started = time.perf_counter()
        acts = step.action in SCREEN_ACTIONS
        self.hooks.heartbeat()
        try:
            if step.commits:
                self._recheck_before_commit(step, state, event)
                self.hooks.before_commit(step.where, recipe.app)
            if acts:   # the picture of the screen before this step is in hand before the step changes it
                self.settle_pictures(state)
                state.screen_changed = True
                state.secret_shown = False
                web = self._web()
                if web is not None:
                    web.acting(self._acting_step(step, recipe))
            yield event
            self._check_dialogs(step, event)
            self._note_writes(event, raising=True)
            self._note_waits(event)
        except AlreadyDone as done:
            event.duration_ms = round((time.perf_counter() - started) * 1000, 1)
            event.message = done.message
            self._note_writes(event, raising=False)
            self.capture(state, [event])
            self.flush_pending(state, reuse=event)
            self.emit(state, event)
            self.settle_pictures(state)
            raise
        except BaseException as exc:
            event.duration_ms = round((time.perf_counter() - started) * 1000, 1)
            failure = self._as_failure(exc, step, recipe)
            if getattr(failure, "masked", False):
                state.secret_shown = True
            event.outcome = "fail"
            event.message = failure.message if isinstance(failure, BackroomError) else \
                "interrupted" if isinstance(failure, KeyboardInterrupt) else str(failure)
            self._note_writes(event, raising=False)
            self._note_waits(event)
            event.data = {**(event.data or {}), "exception": getattr(failure, "kind", type(failure).__name__)}
            self.capture(state, [event], fresh=True)
            self.flush_pending(state, reuse=event)
            self.emit(state, event)
            self.settle_pictures(state)   # the failure's picture is named on the item it fails
            if event.screenshot and event.screenshot_sha256 and isinstance(failure, StepFailure):
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
            self.capture(state, [event], fresh=step.action == "screenshot")
        self.emit(state, event)

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

    def _web(self) -> WebScreen | None:
        """The current screen when it is a web page (text to search, browser dialogs), else None."""
        return cast(WebScreen, self.driver) if offers(self.driver.kind, WebScreen) else None

    def _busy_text(self, recipe: Recipe) -> str | None:
        web = self._web()
        if web is None:
            return None   # a desktop screen's text cannot be searched: its busy screens are elements
        for text in self.maps[recipe.app].busy_texts:
            try:
                if web.text_on_screen(text):
                    return text
            except Exception:  # noqa: BLE001 - a broken page is not a busy page
                return None
        return None

    # -- writes: what the browser says the pages sent ------------------------
    def _acting_step(self, step: Step, recipe: Recipe) -> ActingStep:
        screen = (step.target or "").split(".", 1)[0]
        return ActingStep(step.where, step.describe(), recipe.app, signs_on=self.maps[recipe.app].signs_on(screen),
                          harmless=step.writes_nothing, rules=self._write_rules.get(recipe.app, WriteRules()))

    def _on_write(self, write: SeenWrite) -> None:
        """A request that may write a record, before the browser sends it: the first of an attempt is its commit
        point, recorded in the queue first (a lease another runner took back stops it going out)."""
        state = self._state
        if state is None or state.commit_write is not None:
            return
        write.commit = True
        state.commit_write = write
        self.hooks.before_commit(write.sent_by, write.app, self.trail.redactor.scrub(write.describe()))

    def _note_writes(self, event: AuditEvent, raising: bool) -> None:
        web = self._web()
        if web is None:
            return
        writes, error = web.take_writes()
        if writes:
            scrub = self.trail.redactor.scrub
            event.data = {**(event.data or {}), "writes": [w.as_data(scrub) for w in writes]}
        if error is not None and raising:
            raise error

    def _note_waits(self, event: AuditEvent) -> None:
        """A desktop step that had to wait for a covered target or for its window to come to the front says so."""
        waits = self.driver.take_waits()
        if waits:
            event.data = {**(event.data or {}), "waited": waits}
            self.tally["waited"] = self.tally.get("waited", 0) + len(waits)

    def _check_dialogs(self, step: Step, event: AuditEvent) -> None:
        web = self._web()
        dialogs = web.take_dialog_events() if web is not None else []
        if not dialogs:
            return
        event.data = {**(event.data or {}), "dialogs": [
            {"type": d.kind, "message": d.message, "action": d.action} for d in dialogs]}
        for dialog in dialogs:
            if not dialog.matches_expectation:
                expected = f" (expected {dialog.expected!r})" if dialog.expected else " (no dialog was expected)"
                raise SystemException(f"the application asked {dialog.message!r}{expected}; it was dismissed",
                                      "Check the screen in the screenshot; nothing was confirmed.")

    # -- actions -----------------------------------------------------------
    def selector_for(self, recipe: Recipe, name: str) -> Selector:
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

    def note(self, event: AuditEvent, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        event.selector = resolution.candidate
        event.healed = resolution.healed
        if resolution.healed:
            event.data = {**(event.data or {}), "healed_from": list(resolution.tried)}
            self.trail.log.bind(item=event.item).warning(
                f"selector {resolution.selector} healed at {event.step}: matched {resolution.candidate} "
                f"after {'; '.join(resolution.tried)}")

    def after_navigation(self, recipe: Recipe) -> None:
        """Let the screen load, then stop at once on a "system busy" page instead of timing out later."""
        self.driver.settle(self.nav_timeout_ms)
        busy = self._busy_text(recipe)
        if busy:
            raise SystemException(f"the application said {busy!r}", "The item will be retried.")

    def _perform(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent) -> None:
        HANDLERS[step.action].run(StepRun(self, step, recipe, state, event, self.driver))

