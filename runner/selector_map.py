"""Selector maps: `selectors/<app>.yaml` names each element of one app once.

Each element has an ordered chain of candidate locators. At run time the first
candidate that matches exactly one element wins; a later winner is a "heal".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import SelectorMapError
from .yaml_source import display_path, load_yaml, validate

WEB_STRATEGIES = ("role", "label", "text", "placeholder", "title", "css", "xpath")


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

    @model_validator(mode="after")
    def one_strategy(self):
        chosen = [s for s in WEB_STRATEGIES if getattr(self, s) is not None]
        if len(chosen) != 1:
            raise ValueError(f"a candidate needs exactly one of {', '.join(WEB_STRATEGIES)}; found {chosen or 'none'}")
        if self.name is not None and chosen[0] != "role":
            raise ValueError("'name' goes only with 'role'")
        return self


class _ElementSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    find: list[_CandidateSpec] = Field(min_length=1)
    frame: str | list[str] | None = None
    secret: bool = False
    description: str = ""


class _MapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app: str
    kind: Literal["web"] = "web"
    description: str = ""
    busy_texts: list[str] = []
    elements: dict[str, dict[str, _ElementSpec]]


@dataclass(frozen=True)
class Candidate:
    strategy: str
    value: str
    name: str | None = None
    exact: bool = True

    def describe(self) -> str:
        if self.strategy == "role":
            return f"role={self.value}" + (f" name={self.name!r}" if self.name is not None else "")
        return f"{self.strategy}={self.value!r}"


@dataclass(frozen=True)
class Selector:
    name: str
    candidates: tuple[Candidate, ...]
    frame: tuple[str, ...] = ()
    secret: bool = False
    source: str = ""


@dataclass
class SelectorMap:
    app: str
    kind: str
    path: Path
    busy_texts: list[str] = field(default_factory=list)
    selectors: dict[str, Selector] = field(default_factory=dict)

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
    result = SelectorMap(app=spec.app, kind=spec.kind, path=path, busy_texts=list(spec.busy_texts))
    for screen, elements in spec.elements.items():
        for element, element_spec in elements.items():
            name = f"{screen}.{element}"
            frame = element_spec.frame
            frames = tuple([frame] if isinstance(frame, str) else (frame or []))
            candidates = []
            for c in element_spec.find:
                strategy = next(s for s in WEB_STRATEGIES if getattr(c, s) is not None)
                candidates.append(Candidate(strategy, getattr(c, strategy), c.name, c.exact))
            line = data["elements"][screen].line_of(element)
            result.selectors[name] = Selector(name, tuple(candidates), frames, element_spec.secret, f"{where}:{line}")
    return result
