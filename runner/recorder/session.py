"""One recording's files: the recipe being written and the selector map it adds to.

Both are saved after every recorded step (atomically), so a recording stopped in any way keeps
what was done. Names are unique: an element is written to the map once, a second element with the
same label gets a numbered name.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RecipeError
from ..project.recipe import parse_recipe
from ..project.selector_map import SelectorMap, load_selector_map
from .model import RecordedElement, Recording
from .writer import map_with_elements, map_with_screens, new_map_text, recipe_text, write_atomically


def element_from_map(selector, to_dict) -> RecordedElement:
    screen, _, element = selector.name.partition(".")
    return RecordedElement(screen, element, [to_dict(c) for c in selector.candidates], tuple(selector.frame),
                           selector.secret, new=False)


@dataclass
class RecordingSession:
    recording: Recording
    recipe_path: Path
    map_path: Path
    name: str
    description: str
    map_description: str = ""
    window: str | None = None                      # desktop maps: the main window's title
    screen_windows: dict[str, str] = field(default_factory=dict)   # desktop: a dialog's screen and its title
    existing: dict[str, RecordedElement] = field(default_factory=dict)
    reused: set[str] = field(default_factory=set)
    _map_text: str | None = None
    _map_written: list = field(default_factory=list)   # the new elements as the map file last had them

    @classmethod
    def open(cls, recording: Recording, recipe_path: Path, map_path: Path, name: str, description: str,
             selector_map: SelectorMap | None, to_dict, window: str | None = None) -> "RecordingSession":
        session = cls(recording, recipe_path, map_path, name, description, window=window)
        if selector_map is not None:
            session._map_text = map_path.read_text(encoding="utf-8")
            session.existing = {s.name: element_from_map(s, to_dict) for s in selector_map.selectors.values()}
        return session

    # -- elements --------------------------------------------------------------------------------
    def element(self, name: str) -> RecordedElement | None:
        return self.recording.elements.get(name) or self.existing.get(name)

    def reuse(self, element: RecordedElement) -> RecordedElement:
        """Note that the recording used an element the map already had."""
        if not element.new:
            self.reused.add(element.name)
        return element

    def all_elements(self) -> list[RecordedElement]:
        return list(self.existing.values()) + list(self.recording.elements.values())

    def new_element(self, screen: str, element: str, candidates: list[dict[str, Any]], frames: tuple[str, ...],
                    description: str = "", **extra) -> RecordedElement:
        name, n = element, 2
        while self.element(f"{screen}.{name}") is not None:
            name, n = f"{element}_{n}", n + 1
        made = RecordedElement(screen, name, candidates, frames, description=description, **extra)
        self.recording.elements[made.name] = made
        return made

    # -- files -----------------------------------------------------------------------------------
    def map_text(self) -> str:
        base = self._map_text
        if base is None:
            base = new_map_text(self.recording.app, self.recording.kind, self.map_description, self.window)
        if self.screen_windows:
            base = map_with_screens(base, self.screen_windows)
        return map_with_elements(base, self.recording.new_elements())

    def save(self) -> None:
        snapshot = copy.deepcopy(self.recording)
        snapshot.mark_sign_on()
        added = [(e.name, e.secret) for e in snapshot.new_elements()] + sorted(self.screen_windows.items())
        if added != self._map_written:  # the map changes only when an element is added (or marked secret)
            write_atomically(self.map_path, self.map_text())
            self._map_written = added
        write_atomically(self.recipe_path, recipe_text(snapshot, self.name, self.description))

    def check(self) -> None:
        """Read both files back as a run would: a recording that cannot run is reported now."""
        selector_map = load_selector_map(self.map_path)
        try:
            parse_recipe(self.recipe_path, lambda app: selector_map)
        except RecipeError as exc:
            raise RecipeError(f"the recorded recipe does not load: {exc.message}",
                              "Edit the recipe where the message says, or record again.") from None
