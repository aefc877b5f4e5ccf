"""Reading back what was typed: the proof that a field holds what the work item says.

After every `fill`, `select` and `check` the driver reads the control again (a web input's
value, the selected option, the checked state; a desktop field's text through the
clipboard) and this module compares it with what was meant. A mismatch is typed again
once, more slowly; a second one stops the item. Before a step that commits, every value
typed on that screen is read once more, so a field changed after it was typed (an
autocompletion that replaced it, a click that landed on a pop-up list) never gets saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..project.selector_map import Selector
from ..project.templating import MASK

# What a masked field (a password box) shows instead of its characters when it is copied.
MASK_CHARACTERS = set("*•●·x")


@dataclass(frozen=True)
class TypedValue:
    """One value put into a control: what the control must hold now."""

    selector: Selector
    kind: str            # fill, select, check
    expected: Any        # text for fill/select, a bool for check
    secret: bool = False
    shown: str = ""      # the expected value as the audit trail may show it (masked for secrets)
    typed: Any = None    # with `expect:`, what was typed: the field may hold it until it reformats it

    def accepts(self, text: str) -> bool:
        return text == _text(self.expected) or (self.typed is not None and text == _text(self.typed))

    @property
    def screen(self) -> str:
        return self.selector.name.split(".", 1)[0]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    how: str = "read back"   # read back | length (a masked field: only its length can be seen)
    found: str = ""          # what the control holds, as the audit trail may show it


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")


def judge(typed: TypedValue, found: Any) -> Verdict:
    """Does the control hold what was meant? `found` is what the driver read: text for a field, the
    value and labels of the selected option for a choice, a bool for a check box."""
    if typed.kind == "check":
        return Verdict(bool(found) == bool(typed.expected), found="checked" if found else "unchecked")
    if typed.kind == "select":
        options = [_text(f).strip() for f in (found if isinstance(found, (list, tuple)) else [found])]
        shown = options[1] if len(options) > 1 and options[1] else (options[0] if options else "")
        return Verdict(_text(typed.expected).strip() in options, found=shown if not typed.secret else MASK)
    expected, text = _text(typed.expected), _text(found)
    if not typed.secret:
        return Verdict(typed.accepts(text), found=text)
    if typed.accepts(text):
        return Verdict(True, found=MASK)
    # A password box copies as one mask character per character typed: its length is all it shows.
    masked = bool(text) and len(set(text)) == 1 and text[0] in MASK_CHARACTERS
    if masked and len(text) == len(expected):
        return Verdict(True, how="length", found=MASK)
    return Verdict(False, found=f"{len(text)} character{'s' if len(text) != 1 else ''}")


def mismatch(typed: TypedValue, verdict: Verdict, retyped: bool) -> str:
    """The message for a control that does not hold what was meant (secrets never shown)."""
    name = typed.selector.name
    if typed.secret:
        meant = f"the secret ({len(_text(typed.expected))} characters)"
        found = f"something else ({verdict.found})" if verdict.found != MASK else "something else"
    else:
        meant, found = repr(typed.shown), repr(verdict.found)
    again = " after it was typed again, more slowly" if retyped else ""
    return f"'{name}' holds {found}{again}; it should hold {meant}"
