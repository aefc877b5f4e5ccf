"""Recipes: `recipes/<name>.yaml`, the reviewable steps that do one work item on one app.

The parsed model (Recipe, Step) is kept apart from execution (engine.py) and from
results (audit/). Loading validates everything a run would trip over later: unknown
steps, missing arguments, selector names not in the map, recipes that call unknown
recipes or themselves, template syntax and unknown item fields, each reported as
`recipes/<file>.yaml:<line>: <what is wrong>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import RecipeError, SelectorMapError
from .selector_map import SelectorMap, is_positional
from .keys import key_problem
from .templating import TemplateProblem, is_template, references
from .yaml_source import LocatedDict, display_path, load_yaml, validate


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenArgs(_Args):
    url: str


class ClickArgs(_Args):
    target: str
    double: bool = False


class FillArgs(_Args):
    target: str
    value: Any
    secret: bool = False
    expect: Any = None          # what the field shows after typing, when it reformats the value


class SelectArgs(_Args):
    target: str
    option: Any
    expect: Any = None          # the option the control shows afterwards, when it differs from `option`


class CheckArgs(_Args):
    target: str
    checked: Any = True


class PressArgs(_Args):
    key: str
    target: str | None = None
    screen: str | None = None   # desktop, without a target: the screen whose window must be in front (default: main)


class WaitForArgs(_Args):
    target: str | None = None
    text: str | None = None
    any: list[str] | None = None
    state: Literal["visible", "hidden"] = "visible"

    @model_validator(mode="after")
    def one_goal(self):
        if sum(x is not None for x in (self.target, self.text, self.any)) != 1:
            raise ValueError("wait_for needs exactly one of target, text, any")
        return self


class UploadArgs(_Args):
    target: str                 # the file input
    files: Any                  # a path or a list of paths (relative to the project), usually "{{ item.<field> }}"


class SwitchToArgs(_Args):
    window: Literal["main", "popup"]   # popup: the newest window the application opened


class ReadArgs(_Args):
    target: str
    into: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    attribute: str | None = None
    pattern: str | None = None  # a regular expression: keep its first group (or the whole match)

    @model_validator(mode="after")
    def pattern_compiles(self):
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {exc}") from None
        return self


class ReadTableArgs(_Args):
    target: str                 # the table
    into: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    next: str | None = None     # the "next page" link: followed until it is gone
    max_pages: int = Field(default=500, ge=1)


class LaunchArgs(_Args):
    app: str
    window: str | None = None   # title to wait for; default: the selector map's window


class CloseAppArgs(_Args):
    app: str


class AssertTextArgs(_Args):
    target: str | None = None
    equals: Any = None
    contains: Any = None

    @model_validator(mode="after")
    def one_check(self):
        if (self.equals is None) == (self.contains is None):
            raise ValueError("assert_text needs exactly one of equals, contains")
        return self


class DialogArgs(_Args):
    expect: str | None = None
    prompt_text: str | None = None


class ScreenshotArgs(_Args):
    name: str = "checkpoint"


class CallArgs(_Args):
    recipe: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class FailIfArgs(_Args):
    visible: str | None = None
    text: str | None = None
    message: str
    kind: Literal["business", "system"] = "business"

    @model_validator(mode="after")
    def one_condition(self):
        if (self.visible is None) == (self.text is None):
            raise ValueError("fail_if needs exactly one of visible, text")
        return self


class CompleteIfArgs(_Args):
    visible: str
    read: dict[str, str] = Field(default_factory=dict)  # variable -> target to read from the screen
    message: str = "already in the application: completed from what the screen shows"


# action -> (argument model, the argument a plain scalar stands for)
ACTIONS: dict[str, tuple[type[_Args], str]] = {
    "open": (OpenArgs, "url"),
    "click": (ClickArgs, "target"),
    "fill": (FillArgs, "target"),
    "select": (SelectArgs, "target"),
    "check": (CheckArgs, "target"),
    "upload": (UploadArgs, "target"),
    "switch_to": (SwitchToArgs, "window"),
    "press": (PressArgs, "key"),
    "wait_for": (WaitForArgs, "target"),
    "read": (ReadArgs, "target"),
    "read_table": (ReadTableArgs, "target"),
    "assert_text": (AssertTextArgs, "target"),
    "accept_dialog": (DialogArgs, "expect"),
    "dismiss_dialog": (DialogArgs, "expect"),
    "screenshot": (ScreenshotArgs, "name"),
    "call": (CallArgs, "recipe"),
    "fail_if": (FailIfArgs, "visible"),
    "complete_if": (CompleteIfArgs, "visible"),
    "launch": (LaunchArgs, "app"),
    "close_app": (CloseAppArgs, "app"),
}
# The kinds of screen each action works on: a desktop screen has no page to open, no DOM to read a
# check box's state or a table from, no text to search and no browser dialogs; a web page starts no
# program. The engine's step handlers are registered against this (engine/steps/registry.py).
_WEB_ONLY = {"open", "check", "upload", "switch_to", "accept_dialog", "dismiss_dialog", "read_table"}
_DESKTOP_ONLY = {"launch", "close_app"}
STEP_SCREENS: dict[str, frozenset[str]] = {
    action: frozenset({"web"} if action in _WEB_ONLY else {"desktop"} if action in _DESKTOP_ONLY
                      else {"web", "desktop"}) for action in ACTIONS}
COMMON_KEYS = {"name", "when", "timeout", "screenshot", "key_step", "commits", "verify"}
# Steps that put a value into a control; each is read back unless `verify: false`.
INPUT_ACTIONS = ("fill", "select", "check")
# Steps whose effect shows on the screen; the default screenshot policy captures after these.
SCREEN_CHANGING = {"open", "click", "fill", "select", "check", "upload", "switch_to", "press", "call", "launch",
                   "close_app"}


class _When(_Args):
    visible: str | None = None
    hidden: str | None = None
    expression: str | None = Field(default=None, alias="if")

    @model_validator(mode="after")
    def one_condition(self):
        if sum(x is not None for x in (self.visible, self.hidden, self.expression)) != 1:
            raise ValueError("when needs exactly one of visible, hidden, if")
        return self


@dataclass(frozen=True)
class Condition:
    visible: str | None = None
    hidden: str | None = None
    expression: str | None = None


@dataclass(frozen=True)
class Step:
    action: str
    args: Any  # the validated argument model
    where: str  # recipes/<file>.yaml:<line>
    index: int
    label: str = ""
    when: Condition | None = None
    timeout_ms: int | None = None
    screenshot: bool | None = None
    key_step: bool = False
    commits: bool = False  # this step changes the legacy system (submits, posts, saves)
    writes_nothing: bool = False  # commits: false: what it sends changes nothing that matters (a search form)
    verify: bool = True    # read the control back after a fill, select or check

    @property
    def target(self) -> str | None:
        return getattr(self.args, "target", None)

    def selector_names(self) -> list[str]:
        names = [getattr(self.args, a, None) for a in ("target", "visible", "next")]
        names += list(getattr(self.args, "any", None) or [])
        names += list((getattr(self.args, "read", None) or {}).values()) if self.action == "complete_if" else []
        if self.when:
            names += [self.when.visible, self.when.hidden]
        return [n for n in names if n]

    def describe(self) -> str:
        return self.label or f"{self.action} {self.target or ''}".strip()


@dataclass
class Recipe:
    name: str
    app: str
    path: Path
    steps: list[Step]
    description: str = ""
    item_fields: set[str] = field(default_factory=set)
    field_places: dict[str, str] = field(default_factory=dict)   # item field -> the first step that uses it
    secrets: set[str] = field(default_factory=set)


def _parse_step(raw: Any, index: int, where_file: str, line: int) -> Step:
    where = f"{where_file}:{line}"
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: a step must be a mapping such as 'click: order.save', got {raw!r}")
    actions = [k for k in raw if k in ACTIONS]
    unknown = [k for k in raw if k not in ACTIONS and k not in COMMON_KEYS]
    if unknown:
        known = ", ".join(sorted(ACTIONS))
        raise RecipeError(f"{where_file}:{raw.line_of(unknown[0])}: unknown step '{unknown[0]}' (steps are: {known})")
    if len(actions) != 1:
        raise RecipeError(f"{where}: a step needs exactly one action, found {actions or 'none'}")
    action = actions[0]
    model, primary = ACTIONS[action]
    value = raw[action]
    args_data = value if isinstance(value, dict) else {primary: value}
    if isinstance(value, dict):
        args = validate(model, value, where_file, RecipeError)
    else:
        located = LocatedDict(args_data)
        located.line, located.key_lines = raw.line_of(action), {primary: raw.line_of(action)}
        args = validate(model, located, where_file, RecipeError)
    when = None
    if "when" in raw:
        w = validate(_When, raw["when"], where_file, RecipeError) if isinstance(raw["when"], dict) else None
        if w is None:
            w = _When.model_validate({"if": raw["when"]})
        when = Condition(w.visible, w.hidden, w.expression)
    verify = raw.get("verify", True)
    if not isinstance(verify, bool):
        raise RecipeError(f"{where_file}:{raw.line_of('verify')}: verify is true or false, got {verify!r}")
    if "verify" in raw and action not in INPUT_ACTIONS:
        raise RecipeError(f"{where_file}:{raw.line_of('verify')}: verify goes with {', '.join(INPUT_ACTIONS)} "
                          f"steps (what they typed is read back), not with '{action}'")
    commits = raw.get("commits")
    if commits is not None and not isinstance(commits, bool):
        raise RecipeError(f"{where_file}:{raw.line_of('commits')}: commits is true (this step saves) or false (what "
                          f"it sends changes nothing, a search form), got {commits!r}")
    timeout = raw.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise RecipeError(f"{where_file}:{raw.line_of('timeout')}: timeout is in seconds and must be positive")
    return Step(
        action=action, args=args, where=where, index=index, label=str(raw.get("name", "")),
        when=when, timeout_ms=int(timeout * 1000) if timeout else None,
        screenshot=raw.get("screenshot"), key_step=bool(raw.get("key_step", False)) or commits is True,
        commits=commits is True, writes_nothing=commits is False, verify=verify,
    )


def _template_strings(step: Step) -> list[str]:
    values = [v for v in step.args.model_dump(by_alias=True).values()]
    flat: list[Any] = []
    for v in values:
        flat.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [v])
    if step.when and step.when.expression:
        flat.append("{{ " + step.when.expression + " }}")
    return [v for v in flat if is_template(v)]


def parse_recipe(path: Path, map_for_app: Callable[[str], SelectorMap] | None) -> Recipe:
    path = Path(path)
    where_file = display_path(path, base=path.parent.parent)
    data = load_yaml(path, RecipeError, where_file)
    if not isinstance(data, dict) or "steps" not in data:
        raise RecipeError(f"{where_file}:1: a recipe is a mapping with 'app' and 'steps'")
    allowed = {"name", "app", "description", "steps"}
    for key in data:
        if key not in allowed:
            raise RecipeError(f"{where_file}:{data.line_of(key)}: unknown key '{key}' "
                              f"(a recipe has {', '.join(sorted(allowed))})")
    app = data.get("app")
    if not isinstance(app, str):
        raise RecipeError(f"{where_file}:1: 'app' is required: the selector map's name, e.g. app: billing")
    selector_map = None
    if map_for_app is not None:
        try:
            selector_map = map_for_app(app)
        except SelectorMapError as exc:
            if "file not found" not in exc.message:
                raise
            raise RecipeError(f"{where_file}:{data.line_of('app')}: app '{app}' has no selector map "
                              f"(selectors/{app}.yaml)", "Create the selector map or correct 'app'.") from None
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RecipeError(f"{where_file}:{data.line_of('steps')}: 'steps' must be a non-empty list")
    steps = [_parse_step(raw, i, where_file, raw_steps.line_of(i)) for i, raw in enumerate(raw_steps)]
    recipe = Recipe(name=str(data.get("name", path.stem)), app=app, path=path, steps=steps,
                    description=str(data.get("description", "")))
    for step in steps:
        if selector_map is not None:
            _check_fits_kind(step, selector_map, app)
            _check_press_screen(step, selector_map)
            if step.action == "press" and not is_template(step.args.key):
                problem = key_problem(step.args.key, selector_map.kind)
                if problem:
                    raise RecipeError(f"{step.where}: {problem}",
                                      "Keys are named as on the web: Enter, Tab, Escape, F3, ArrowDown, Control+S "
                                      "(a desktop app also takes Ctrl, Esc, Up).")
            for name in step.selector_names():
                if name not in selector_map:
                    raise RecipeError(
                        f"{step.where}: selector '{name}' is not in selectors/{selector_map.path.name}",
                        "Add it to the selector map, or correct the name in the recipe.",
                    )
                if step.action == "read" and step.key_step and name == step.target and \
                        all(is_positional(c) for c in selector_map.get(name).candidates):
                    raise RecipeError(
                        f"{step.where}: key read {name} is found only by its position in the page "
                        f"({selector_map.get(name).candidates[0].describe()}): once the page holds another row it "
                        "reads another record's number",
                        f"In selectors/{selector_map.path.name}, find it by the item's own values (its row), the "
                        "message it is shown in, its label or its id.")
                used = selector_map.get(name).item_fields
                recipe.item_fields |= used
                for name_used in used:
                    recipe.field_places.setdefault(name_used, step.where)
        for text in _template_strings(step):
            try:
                refs = references(text)
            except TemplateProblem as exc:
                raise RecipeError(f"{step.where}: {exc}") from None
            recipe.item_fields |= refs.item_fields
            for name_used in refs.item_fields:
                recipe.field_places.setdefault(name_used, step.where)
            recipe.secrets |= refs.secrets
    return recipe


def _check_press_screen(step: Step, selector_map: SelectorMap) -> None:
    if step.action != "press" or step.args.screen is None:
        return
    screens = sorted({s.screen for s in selector_map.selectors.values()})
    if selector_map.kind != "desktop":
        raise RecipeError(f"{step.where}: 'screen' on a press is for desktop apps, whose windows can be in front")
    if step.args.screen not in screens:
        raise RecipeError(f"{step.where}: screen '{step.args.screen}' is not in selectors/{selector_map.path.name}",
                          f"Screens: {', '.join(screens)}")


def _check_fits_kind(step: Step, selector_map: SelectorMap, app: str) -> None:
    kind = selector_map.kind
    if kind not in STEP_SCREENS[step.action]:
        other = "web" if kind == "desktop" else "desktop"
        raise RecipeError(f"{step.where}: '{step.action}' is a {other} step; app '{app}' is a {kind} app",
                          "See the README's list of steps for each kind of screen.")
    if step.action in ("launch", "close_app") and step.args.app != app:
        raise RecipeError(f"{step.where}: {step.action} '{step.args.app}' in a recipe for app '{app}'",
                          "A recipe drives one app: call a recipe of the other app instead.")
    if kind == "desktop":
        a = step.args
        needs_text = ((step.action == "wait_for" and a.text is not None)
                      or (step.action == "assert_text" and a.target is None)
                      or (step.action == "fail_if" and a.text is not None))
        if needs_text:
            raise RecipeError(f"{step.where}: a desktop screen's text cannot be searched",
                              "Use an element (an image of the text) or read a field into a variable.")


@dataclass
class RecipeBook:
    """Every recipe a bot needs, loaded and cross-checked before the run starts."""

    recipes: dict[str, Recipe]

    def __getitem__(self, name: str) -> Recipe:
        return self.recipes[name]

    @property
    def secrets(self) -> set[str]:
        return set().union(*(r.secrets for r in self.recipes.values()))


def load_recipe_book(recipes_dir: Path, roots: list[str], map_for_app: Callable[[str], SelectorMap]) -> RecipeBook:
    recipes: dict[str, Recipe] = {}

    def visit(name: str, chain: tuple[str, ...], called_from: str | None) -> None:
        if name in chain:
            raise RecipeError(f"{called_from}: recipe '{name}' calls itself through {' -> '.join(chain + (name,))}")
        if name in recipes:
            return
        path = Path(recipes_dir) / f"{name}.yaml"
        if not path.exists():
            place = f"{called_from}: " if called_from else ""
            raise RecipeError(f"{place}recipe '{name}' not found: {display_path(path, Path(recipes_dir).parent)} does not exist")
        recipe = parse_recipe(path, map_for_app)
        recipes[name] = recipe
        for step in recipe.steps:
            if step.action == "call":
                visit(step.args.recipe, chain + (name,), step.where)

    for root in roots:
        visit(root, (), None)
    return RecipeBook(recipes)

