"""What a recording holds: the elements touched and the steps taken, in the recipe's own terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..project.selector_map import SIGN_ON_SCREENS


@dataclass
class RecordedElement:
    screen: str
    element: str
    candidates: list[dict[str, Any]]            # in order of preference, as the selector map writes them
    frames: tuple[str, ...] = ()
    secret: bool = False
    description: str = ""
    new: bool = True                            # False: already in the selector map, reused

    @property
    def name(self) -> str:
        return f"{self.screen}.{self.element}"


@dataclass
class RecordedStep:
    action: str
    args: Any                                   # the value under the action key (a scalar or a mapping)
    comment: str = ""                           # a note for the person reviewing the recipe
    when: dict[str, str] | None = None
    page: int = 0                               # which window (0: the first; popups after it)
    frames: tuple[str, ...] = ()
    form: str = ""                              # the web form the step's element is in, if any
    password: bool = False                      # typed into a password field
    commits: bool = False                       # the browser saw it send the recording's first write
    key_step: bool = False                      # a read after that write: the number the record was given
    read_value: str | None = None               # what a read kept while recording (the sample item's value)
    shown: str | None = None                    # a key read: what the screen showed, its pattern's input

    @property
    def target(self) -> str | None:
        if isinstance(self.args, dict):
            return self.args.get("target")
        return self.args if self.action == "click" else None


@dataclass
class Recording:
    app: str
    kind: str                                   # web | desktop
    source: str                                 # the url or program recorded
    steps: list[RecordedStep] = field(default_factory=list)
    elements: dict[str, RecordedElement] = field(default_factory=dict)   # name -> element
    variables: set[str] = field(default_factory=set)
    checkpoints: int = 0
    first_write: str = ""                       # the request that made its step the commit point (method, url)

    def add(self, step: RecordedStep) -> None:
        last = self.steps[-1] if self.steps else None
        if (last is not None and step.action == last.action == "fill" and last.target == step.target):
            self.steps[-1] = step  # the same field typed again before anything else: keep the final value
            return
        self.steps.append(step)

    def undo(self) -> RecordedStep | None:
        """Take back the last step (a mis-click), and the new elements no other step uses."""
        if not self.steps or self.steps[-1].action == "open" and len(self.steps) == 1:
            return None
        step = self.steps.pop()
        if step.commits:   # the write it sent is taken back with it: the next one marks its step
            self.first_write = ""
        used = {s.target for s in self.steps} | {v for s in self.steps if s.when for v in s.when.values()}
        for name in [n for n, e in self.elements.items() if e.new and n not in used]:
            del self.elements[name]
        return step

    @property
    def committed(self) -> bool:
        return any(s.commits for s in self.steps)

    def read_values(self) -> dict[str, str]:
        """What the reads kept while recording, by variable: the sample item's results."""
        return {s.args["into"]: s.read_value for s in self.steps
                if s.action == "read" and isinstance(s.args, dict) and s.read_value is not None}

    def new_elements(self) -> list[RecordedElement]:
        return [e for e in self.elements.values() if e.new]

    def variable(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.variables:
            name, n = f"{wanted}_{n}", n + 1
        self.variables.add(name)
        return name

    def mark_sign_on(self) -> None:
        """Steps that sign on (the fields of a form with a password field, and the step that submits it)
        run only while that form is on the screen, so the recipe works again once signed on."""
        for index, step in enumerate(self.steps):
            if not step.password or step.when:
                continue
            start = index
            while start > 0 and self._same_form(self.steps[start - 1], step):
                start -= 1
            end = index
            while end + 1 < len(self.steps) and self._same_form(self.steps[end + 1], step):
                end += 1
            if end + 1 < len(self.steps) and self.steps[end + 1].action in ("click", "press") \
                    and self.steps[end + 1].frames == step.frames and self.steps[end + 1].page == step.page:
                end += 1
            guard = {"visible": step.target}
            # a sign-on in two steps (the user name, then a password asked for once it is answered, as Tryton
            # does): the whole sign-on hangs on its first field, which stays on the screen while the password
            # is asked for; the password box is not there yet when the user name's step is looked at
            before = start
            while before > 0 and self._signs_on(self.steps[before - 1]):
                before -= 1
            if before < start and self.steps[before].action in ("fill", "select"):
                start, guard = before, {"visible": self.steps[before].target}
            for s in self.steps[start:end + 1]:
                s.when = dict(guard)
            note = "sign-on: these steps run only while the sign-on form is showing"
            first = self.steps[start]
            first.comment = f"{note}; {first.comment}" if first.comment else note

    @staticmethod
    def _signs_on(step: RecordedStep) -> bool:
        screen = (step.target or "").split(".", 1)[0]
        return screen in SIGN_ON_SCREENS and step.action in ("fill", "select", "check", "click", "press") \
            and not step.when

    @staticmethod
    def _same_form(other: RecordedStep, step: RecordedStep) -> bool:
        return (other.action in ("fill", "select", "check") and other.page == step.page
                and other.frames == step.frames and other.form == step.form and not other.when)
