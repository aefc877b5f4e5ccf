"""Step kinds: one small handler per recipe action, registered with the capability it needs of the
screen (`Screen`, what web and desktop share; `WebScreen`; `DesktopScreen`).

The recipe loader refuses a step whose app's screen lacks it, with the step's file and line (project/
recipe.py, STEP_SCREENS); registering a handler checks that the two agree, so they cannot drift.
A handler receives a `StepRun`: the step, its recipe, the attempt, the event being written, the
screen (typed by the capability) and the `StepEngine`, what a step may ask of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ...audit.events import AuditEvent, Trail
from ...drivers.base import SCREEN_PROTOCOLS, Resolution, Screen, offers
from ...project.recipe import ACTIONS, STEP_SCREENS, Recipe, RecipeBook, Step
from ...project.selector_map import Selector, SelectorMap
from ..attempt import AttemptState, ItemHooks
from ..readback import TypedValue


class StepEngine(Protocol):
    """What a step handler may ask of the engine."""

    book: RecipeBook
    maps: dict[str, SelectorMap]
    apps: dict[str, dict]
    trail: Trail
    hooks: ItemHooks
    timeout_ms: int
    nav_timeout_ms: int

    def render_value(self, value: Any, recipe: Recipe, state: AttemptState, step: Step,
                     extra: dict | None = None) -> tuple[Any, Any]: ...
    def selector_for(self, recipe: Recipe, name: str) -> Selector: ...
    def note(self, event: AuditEvent, resolution: Resolution | None) -> None: ...
    def after_navigation(self, recipe: Recipe) -> None: ...
    def expected_value(self, step: Step, recipe: Recipe, state: AttemptState, selector: Selector, kind: str,
                       typed: str, shown: str, secret: bool) -> TypedValue: ...
    def verify_input(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, typed: TypedValue,
                     again: Callable[[], object]) -> None: ...
    def key_read(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, raw: str,
                 secret: bool) -> str: ...
    def healed_key_in_place(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent,
                            selector: Selector, resolution: Resolution) -> None: ...
    def refuse_if_taken(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, target: str,
                        variable: str, value: str, shown: str, outcome: str) -> None: ...
    def run_recipe(self, recipe: Recipe, state: AttemptState) -> None: ...
    def flush_pending(self, state: AttemptState, reuse: AuditEvent | None = None) -> None: ...


@dataclass
class StepRun:
    engine: StepEngine
    step: Step
    recipe: Recipe
    state: AttemptState
    event: AuditEvent
    screen: Any      # the app's screen; a handler's `needs` says which Protocol it satisfies

    @property
    def args(self) -> Any:
        return self.step.args

    @property
    def timeout(self) -> int:
        return self.step.timeout_ms or self.engine.timeout_ms

    def render(self, value: Any, extra: dict | None = None) -> tuple[Any, Any]:
        """(the value for the screen, the value for the evidence, secrets masked)"""
        return self.engine.render_value(value, self.recipe, self.state, self.step, extra)

    def selector(self, name: str) -> Selector:
        return self.engine.selector_for(self.recipe, name)

    def note(self, resolution: Resolution | None) -> None:
        self.engine.note(self.event, resolution)

    def after_navigation(self) -> None:
        self.engine.after_navigation(self.recipe)


@dataclass(frozen=True)
class StepHandler:
    action: str
    needs: type       # Screen, WebScreen or DesktopScreen
    run: Callable[[StepRun], None]


HANDLERS: dict[str, StepHandler] = {}


def handles(*actions: str, needs: type = Screen) -> Callable[[Callable[[StepRun], None]], Callable]:
    """Register a handler for recipe actions, with the screen capability it needs."""
    def register(run: Callable[[StepRun], None]) -> Callable[[StepRun], None]:
        for action in actions:
            if action not in ACTIONS:
                raise TypeError(f"{run.__name__}: '{action}' is not a recipe action")
            screens = {kind for kind in SCREEN_PROTOCOLS if offers(kind, needs)}
            if screens != set(STEP_SCREENS[action]):
                raise TypeError(f"{run.__name__}: '{action}' needs {needs.__name__} (screens {sorted(screens)}), "
                                f"but recipes admit it on {sorted(STEP_SCREENS[action])}")
            HANDLERS[action] = StepHandler(action, needs, run)
        return run
    return register

