"""Selector maps: `selectors/<app>.yaml` names each element of one app once.

Each element has an ordered chain of candidate locators. At run time the first
candidate that matches exactly one element wins; a later winner is a "heal".
Web maps locate elements in the page (role, label, text, CSS, XPath); desktop maps
locate them on the screen: an image template stored beside the map in
`selectors/<app>/`, an anchor image plus an offset, or fixed coordinates as a last resort.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cssselect
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import SelectorMapError
from .templating import TemplateProblem, is_template, references
from .yaml_source import display_path, load_yaml, validate

WEB_STRATEGIES = ("role", "label", "text", "placeholder", "title", "css", "xpath")
DESKTOP_STRATEGIES = ("image", "anchor", "point")
STRATEGIES = {"web": WEB_STRATEGIES, "desktop": DESKTOP_STRATEGIES}
DEFAULT_CONFIDENCE = 0.9


_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _check_css(css: str) -> None:
    """CSS the browser could not parse is refused here, not by the run. Playwright's own pseudo-classes
    (:has-text(), :visible) parse as functions; `>>` chains are checked part by part."""
    for part in _TEMPLATE.sub("x", css).split(">>"):
        try:
            cssselect.parse(part)
        except cssselect.SelectorSyntaxError as exc:
            raise ValueError(f"css {css!r} does not parse: {exc}") from None


def _check_xpath(xpath: str) -> None:
    try:
        etree.XPath(_TEMPLATE.sub("x", xpath))
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"xpath {xpath!r} does not parse: {exc}") from None


class _CandidateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = None
    name: str | None = None
    exact: bool = True
    label: str | None = None
    text: str | None = None
    placeholder: str | None = None
    title: str | None = None
    css: str | None = None
    xpath: str | None = None
    image: str | None = None                               # a template file under selectors/<app>/
    anchor: str | None = None                              # a template beside the element ...
    offset: tuple[int, int] | None = None                  # ... and the element's centre from the anchor's centre
    point: tuple[int, int] | None = None                   # fixed screen coordinates: the last resort
    region: tuple[int, int, int, int] | None = None        # x, y, width, height to search in (faster)
    confidence: float | None = Field(default=None, gt=0, le=1)
    grayscale: bool = True                                 # colour themes change; shapes do not

    @field_validator("offset", "point", "region", mode="before")
    @classmethod
    def numbers_in_place(cls, value, info):
        """In words, not pydantic's tuple positions: "offset needs two numbers, x and y"."""
        wanted = {"offset": ("two", "dx and dy", "[120, 0]"), "point": ("two", "x and y", "[640, 400]"),
                  "region": ("four", "x, y, width and height", "[0, 0, 800, 600]")}[info.field_name]
        count = 4 if info.field_name == "region" else 2
        if value is not None and (not isinstance(value, (list, tuple)) or len(value) != count
                                  or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            raise ValueError(f"{info.field_name} needs {wanted[0]} whole numbers, {wanted[1]}, such as {wanted[2]}; "
                             f"got {value!r}")
        return value

    @model_validator(mode="after")
    def one_strategy(self):
        known = WEB_STRATEGIES + DESKTOP_STRATEGIES
        chosen = [s for s in known if getattr(self, s) is not None]
        if len(chosen) != 1:
            raise ValueError(f"a candidate needs exactly one of {', '.join(known)}; found {chosen or 'none'}")
        if self.name is not None and chosen[0] != "role":
            raise ValueError("'name' goes only with 'role'")
        if (self.offset is not None) != (chosen[0] == "anchor"):
            raise ValueError("'offset' goes with 'anchor', and an anchor needs an offset [dx, dy]")
        if chosen[0] not in ("image", "anchor") and (self.region or self.confidence is not None):
            raise ValueError("'region' and 'confidence' go only with 'image' or 'anchor'")
        if self.region is not None and (self.region[2] <= 0 or self.region[3] <= 0):
            raise ValueError("region is [x, y, width, height] with a positive width and height")
        if self.css is not None:
            _check_css(self.css)
        if self.xpath is not None:
            _check_xpath(self.xpath)
        return self


class _ElementSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    find: list[_CandidateSpec] = Field(min_length=1)
    frame: str | list[str] | None = None
    secret: bool = False
    description: str = ""


class _ScreenSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: str | list[str]               # the start of the title of the window this screen shows in (or several)


class _MapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app: str
    kind: Literal["web", "desktop"] = "web"
    description: str = ""
    busy_texts: list[str] = []
    window: str | None = None             # desktop: the start of the main window's title
    screens: dict[str, _ScreenSpec] = {}  # desktop: screens shown in another window (dialogs)
    sign_on_screens: list[str] = []      # screens that sign on, besides those named login, sign_on, logon...
    confidence: float = Field(default=DEFAULT_CONFIDENCE, gt=0, le=1)  # desktop: default match confidence
    elements: dict[str, dict[str, _ElementSpec]]

    @model_validator(mode="after")
    def fits_kind(self):
        if self.kind == "desktop" and self.busy_texts:
            raise ValueError("busy_texts need text on the screen: a desktop map lists its busy dialogs as elements")
        if self.kind == "web" and (self.window or self.screens):
            raise ValueError("'window' and 'screens' belong to desktop maps")
        return self


_CSS_INDEX = re.compile(r":(nth-child|nth-of-type|nth-last-child|nth-last-of-type)\([^)]*\)|:(first|last)-(child|of-type)")
_ROW_INDEX = re.compile(r"(^|[\s>+~])(tr|li)(\[[^\]]*\])*" + _CSS_INDEX.pattern)


def is_positional(candidate: Candidate) -> bool:
    """A locator that finds an element by where it stands (the third row, the second cell of the first row, a
    path of tags): it finds another record's element as soon as the page holds one more row. One that picks a
    row by the item's own values, or an element by its label, id or class, is not."""
    if candidate.strategy == "point":
        return True
    value = candidate.value
    if "{{" in value:
        return False   # templated with the item's own values
    if candidate.strategy == "css":
        if _ROW_INDEX.search(value):
            return True   # a row or list entry chosen by its number
        return not re.search(r"[#.\[]|:(has|is|where|not)\(", _CSS_INDEX.sub("", value))
    if candidate.strategy == "xpath":
        if re.search(r"(\btr|\bli|\))\[\s*(\d+|last\(\)[^\]]*|position\(\)[^\]]*)\s*\]", value):
            return True   # a row, a list entry or the n-th of what a search found
        predicates = re.findall(r"\[([^\]]*)\]", value)
        return all(re.fullmatch(r"\s*(\d+|last\(\)(\s*-\s*\d+)?|position\(\)\s*=\s*\d+)\s*", p) for p in predicates)
    return False   # role, label, text, placeholder, title; pictures and anchors on the desktop


# screens that sign on by their name alone; a map names others under sign_on_screens
SIGN_ON_SCREENS = frozenset({"login", "log_in", "logon", "log_on", "sign_on", "signon", "sign_in", "signin"})


@dataclass(frozen=True)
class Candidate:
    strategy: str
    value: str
    name: str | None = None
    exact: bool = True
    # desktop candidates
    image_path: Path | None = None
    offset: tuple[int, int] | None = None
    point: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None
    confidence: float = DEFAULT_CONFIDENCE
    grayscale: bool = True

    def describe(self) -> str:
        if self.strategy == "role":
            return f"role={self.value}" + (f" name={self.name!r}" if self.name is not None else "")
        if self.strategy == "point":
            return f"point={list(self.point)}"
        if self.strategy not in DESKTOP_STRATEGIES:
            return f"{self.strategy}={self.value!r}"
        text = f"{self.strategy}={self.value}"
        if self.offset is not None:
            text += f" offset={list(self.offset)}"
        if self.region is not None:
            text += f" region={list(self.region)}"
        return text


@dataclass(frozen=True)
class Selector:
    name: str
    candidates: tuple[Candidate, ...]
    frame: tuple[str, ...] = ()
    secret: bool = False
    source: str = ""
    windows: tuple[str, ...] = ()   # desktop: the window its screen shows in must be in front (title starts)
    item_fields: frozenset[str] = frozenset()  # a web locator may name the item: "the row of {{ item.ref }}"

    @property
    def templated(self) -> bool:
        return any(is_template(c.value) or is_template(c.name) for c in self.candidates)

    @property
    def screen(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass
class SelectorMap:
    app: str
    kind: str
    path: Path
    busy_texts: list[str] = field(default_factory=list)
    selectors: dict[str, Selector] = field(default_factory=dict)
    window: str | None = None
    screen_windows: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sign_on_screens: frozenset[str] = SIGN_ON_SCREENS

    def signs_on(self, screen: str) -> bool:
        """Whether a screen is the sign-on: what its form sends opens a session, it writes no record."""
        return screen in self.sign_on_screens

    def windows_of(self, screen: str | None) -> tuple[str, ...]:
        """The window titles a screen shows in: its own (a dialog's), else the main window's."""
        if screen in self.screen_windows:
            return self.screen_windows[screen]
        return (self.window,) if self.window else ()

    @property
    def template_dir(self) -> Path:
        return self.path.parent / self.app

    def __contains__(self, name: str) -> bool:
        return name in self.selectors

    def get(self, name: str) -> Selector:
        try:
            return self.selectors[name]
        except KeyError:
            raise SelectorMapError(f"selectors/{self.path.name}: no element named '{name}'") from None


def load_selector_map(path: Path) -> SelectorMap:
    path = Path(path)
    where = display_path(path, base=path.parent.parent)
    data = load_yaml(path, SelectorMapError, where)
    spec = validate(_MapSpec, data, where, SelectorMapError)
    if spec.app != path.stem:
        raise SelectorMapError(f"{where}:{data.line_of('app')}: app '{spec.app}' must match the file name '{path.stem}'")
    result = SelectorMap(app=spec.app, kind=spec.kind, path=path, busy_texts=list(spec.busy_texts), window=spec.window,
                         sign_on_screens=SIGN_ON_SCREENS | frozenset(spec.sign_on_screens))
    for screen in spec.sign_on_screens:
        if screen not in spec.elements:
            raise SelectorMapError(f"{where}:{data.line_of('sign_on_screens')}: sign-on screen '{screen}' has no "
                                   f"elements", f"Screens with elements: {', '.join(spec.elements)}")
    for screen, screen_spec in spec.screens.items():
        if screen not in spec.elements:
            raise SelectorMapError(f"{where}:{data['screens'].line_of(screen)}: screen '{screen}' has no elements",
                                   f"Screens with elements: {', '.join(spec.elements)}")
        titles = screen_spec.window if isinstance(screen_spec.window, list) else [screen_spec.window]
        result.screen_windows[screen] = tuple(titles)
    allowed = STRATEGIES[spec.kind]
    for screen, elements in spec.elements.items():
        for element, element_spec in elements.items():
            name = f"{screen}.{element}"
            frame = element_spec.frame
            if frame and spec.kind == "desktop":
                raise SelectorMapError(f"{where}:{data['elements'][screen].line_of(element)}: {name}: "
                                       "'frame' belongs to web maps")
            frames = tuple([frame] if isinstance(frame, str) else (frame or []))
            candidates = []
            for index, c in enumerate(element_spec.find):
                strategy = next(s for s in WEB_STRATEGIES + DESKTOP_STRATEGIES if getattr(c, s) is not None)
                line = data["elements"][screen][element]["find"].line_of(index)
                if strategy not in allowed:
                    raise SelectorMapError(f"{where}:{line}: {name}: '{strategy}' is for "
                                           f"{'desktop' if spec.kind == 'web' else 'web'} maps; a {spec.kind} map "
                                           f"uses {', '.join(allowed)}")
                candidates.append(_candidate(c, strategy, result, spec.confidence, f"{where}:{line}"))
            line = data["elements"][screen].line_of(element)
            fields: set[str] = set()
            for candidate in candidates:
                for text in (candidate.value, candidate.name):
                    if is_template(text):
                        try:
                            refs = references(text)
                        except TemplateProblem as exc:
                            raise SelectorMapError(f"{where}:{line}: {name}: {exc}") from None
                        if refs.secrets:
                            raise SelectorMapError(f"{where}:{line}: {name}: a locator cannot use a secret")
                        fields |= refs.item_fields
            result.selectors[name] = Selector(name, tuple(candidates), frames, element_spec.secret, f"{where}:{line}",
                                              result.windows_of(screen) if spec.kind == "desktop" else (),
                                              frozenset(fields))
    return result


def _candidate(c: _CandidateSpec, strategy: str, owner: SelectorMap, default_confidence: float, where: str) -> Candidate:
    if strategy == "point":
        return Candidate("point", "", point=tuple(c.point))
    if strategy not in DESKTOP_STRATEGIES:
        return Candidate(strategy, getattr(c, strategy), c.name, c.exact)
    relative = getattr(c, strategy)
    image = (owner.template_dir / relative).resolve()
    if not image.is_relative_to(owner.template_dir.resolve()):
        raise SelectorMapError(f"{where}: {relative!r} is outside selectors/{owner.app}/")
    if not image.is_file():
        raise SelectorMapError(f"{where}: template image selectors/{owner.app}/{relative} not found",
                               "Templates live beside the map, in selectors/<app>/; capture the control again.")
    return Candidate(strategy, relative, image_path=image, offset=tuple(c.offset) if c.offset else None,
                     region=tuple(c.region) if c.region else None,
                     confidence=c.confidence if c.confidence is not None else default_confidence, grayscale=c.grayscale)
