"""What the engine proves after it acts, so a green run means the legacy system holds what the input says.

Every value put into a control is read back (typed again slowly once when it differs); the values of a
screen are read once more before its commit step; a key read (the number the system gave the record)
must be present, fit its pattern and belong to no other item. Mixed into the Engine, whose driver,
hooks, trail and templating these use.
"""

from __future__ import annotations

import re
from typing import Any, cast

from ..audit.events import AuditEvent, Trail
from ..drivers.base import Resolution, Screen, WebScreen, offers
from ..errors import BusinessException, SystemException
from ..project.recipe import Recipe, Step
from ..project.selector_map import Selector
from ..project.templating import MASK, as_text
from .attempt import AttemptState, ItemHooks
from .readback import TypedValue, Verdict, judge, mismatch


def extract(value: str, pattern: str, target: str, secret: bool) -> str:
    """The part of a read value a recipe wants: the pattern's first group, or all it matched."""
    found = re.search(pattern, value)
    if found is None:
        shown = MASK if secret else repr(value)
        raise SystemException(f"{target} shows {shown}, which does not match {pattern!r}",
                              "The screen shows something other than expected: see the screenshot.")
    return found.group(1) if found.groups() else found.group(0)


class Proofs:
    """The engine's checks that what was keyed is right (mixed into Engine, which provides these)."""

    apps: dict[str, dict]
    tally: dict[str, int]
    timeout_ms: int
    trail: Trail
    driver: Screen
    hooks: ItemHooks

    def render_value(self, value: Any, recipe: Recipe, state: AttemptState, step: Step,
                     extra: dict | None = None) -> tuple[Any, Any]:
        raise NotImplementedError

    # -- reading back what was typed ---------------------------------------
    def expected_value(self, step: Step, recipe: Recipe, state: AttemptState, selector, kind: str, typed: str,
                  shown: str, secret: bool) -> TypedValue:
        """What the control must hold: the `expect:` template when the field reformats what is typed."""
        if step.args.expect is None:
            return TypedValue(selector, kind, typed, secret, MASK if secret else shown)
        expected, expected_shown = self.render_value(step.args.expect, recipe, state, step)
        return TypedValue(selector, kind, as_text(expected), secret, MASK if secret else as_text(expected_shown),
                          typed=typed)

    def verification_on(self, step: Step, recipe: Recipe) -> bool:
        return step.verify and self.apps.get(recipe.app, {}).get("verify", True)

    def _count(self, what: str) -> None:
        self.tally[what] = self.tally.get(what, 0) + 1

    def verify_input(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, typed: TypedValue,
                      again) -> None:
        """Read the control back; a mismatch is typed again once, slowly; a second one stops the item."""
        if not self.verification_on(step, recipe):
            event.verified = "off"
            self._count("off")
            return
        timeout = step.timeout_ms or self.timeout_ms
        verdict = self._read_back(typed, timeout)
        if verdict.ok:
            event.verified = verdict.how
        else:
            first = verdict.found
            self.trail.log.bind(item=state.item.reference).warning(
                f"{step.where}: {mismatch(typed, verdict, retyped=False)}: typing it again, slowly")
            again()
            verdict = self._read_back(typed, timeout)
            if not verdict.ok:
                self._count("refused")
                event.data = {**(event.data or {}), "read_back": [first, verdict.found]}
                raise SystemException(f"{step.where}: {mismatch(typed, verdict, retyped=True)}",
                                      "The application does not keep what is typed into this field: look at the "
                                      "screenshot. A field that reformats its value needs 'expect:' on the step.",
                                      step=step.where, selector=typed.selector.name)
            self._count("retyped")
            event.verified = "retyped"
            event.data = {**(event.data or {}), "read_back": [first, verdict.found]}
        self._count("verified")
        state.typed = [t for t in state.typed if t.selector.name != typed.selector.name] + [typed]

    def _read_back(self, typed: TypedValue, timeout: int) -> Verdict:
        found = self.driver.read_back(typed.selector, typed.kind, timeout)
        if found is None and typed.accepts(""):
            return Verdict(True, found="")  # an empty field has nothing to copy: that is what was meant
        if found is None:
            raise SystemException(f"nothing could be copied from '{typed.selector.name}' to read it back",
                                  "The field may not allow selecting its text: see the screenshot. A field that "
                                  "cannot be read back needs 'verify: false' on its step (backroom check lists it).",
                                  selector=typed.selector.name)
        return judge(typed, found)

    def _recheck_before_commit(self, step: Step, state: AttemptState, event: AuditEvent) -> None:
        """Every value typed on the committing step's screen must still be there: a field changed after it was
        typed (an autocompletion, a click that landed on a pop-up list) is never saved."""
        screen = (step.target or "").split(".", 1)[0]
        due = [t for t in state.typed if t.screen == screen]
        state.typed = []
        for typed in due:
            verdict = self._read_back(typed, step.timeout_ms or self.timeout_ms)
            if not verdict.ok:
                self._count("changed")
                raise SystemException(f"{mismatch(typed, verdict, retyped=False)}: it changed after it was typed, "
                                      f"so {step.target} was not clicked",
                                      "Nothing was saved; the item will be retried. Look at the screenshot for what "
                                      "changed the field.", step=step.where, selector=typed.selector.name)
        if due:
            self._count("rechecked")
            event.data = {**(event.data or {}), "rechecked": [t.selector.name for t in due]}

    # -- key reads: the number the legacy system gave the record -------------------
    def key_read(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, raw: str,
                  secret: bool) -> str:
        """The value a key read keeps. One that is empty, does not fit its pattern or repeats another item's value is
        not believed: the record may be in the application under another number, so a person looks first."""
        a = step.args
        shown = MASK if secret else repr(raw)
        if not raw.strip():
            self._refuse_key(step, recipe, state, event, f"{a.target} shows nothing", f"{a.into} was not accepted")
        if a.pattern is not None and re.search(a.pattern, raw) is None:
            self._refuse_key(step, recipe, state, event, f"{a.target} shows {shown}, which does not match "
                             f"{a.pattern!r}", f"{a.into} was not accepted")
        value = extract(raw, a.pattern, a.target, secret) if a.pattern is not None else raw
        self.refuse_if_taken(step, recipe, state, event, a.target, a.into, value, shown, f"{a.into} was not accepted")
        return value

    def healed_key_in_place(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent,
                            selector: Selector, resolution: Resolution) -> None:
        """A key read found by a fallback candidate may have found another record's number (the second row of the
        first page, once the item's row moved to another): it is believed only when the row, card or message it
        stands in also shows one of the item's own values."""
        if not offers(self.driver.kind, WebScreen):
            return   # a desktop screen has no rows to read around an element (yet)
        around = cast(WebScreen, self.driver).text_around(selector, step.timeout_ms or self.timeout_ms)
        shown = " ".join(around.split()).casefold()
        own = [t for t in (" ".join(as_text(v).split()) for v in state.item.data.values()
                           if not isinstance(v, bool)) if len(t) >= 3]
        if any(t.casefold() in shown for t in own):
            event.data = {**(event.data or {}), "healed_key": "found beside the item's own values"}
            return
        self._refuse_key(step, recipe, state, event, f"{step.args.target} was found only by a fallback "
                         f"({resolution.candidate}), in a place that shows none of {state.item.reference}'s values: "
                         "it may be another record's number", f"{step.args.into} was not accepted")

    def refuse_if_taken(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, target: str,
                         variable: str, value: str, shown: str, outcome: str) -> None:
        holder = self.hooks.key_taken(variable, value) if value else None
        if holder is not None:
            self._refuse_key(step, recipe, state, event, f"{target} shows {shown}, which item {holder} already has: "
                             f"{state.item.reference} and {holder} cannot both be right", outcome)

    def _refuse_key(self, step: Step, recipe: Recipe, state: AttemptState, event: AuditEvent, problem: str,
                    outcome: str) -> None:
        self._count("key_refused")
        event.data = {**(event.data or {}), "key_read": problem}
        raise BusinessException(f"{problem}; {outcome}. Check {recipe.app} for {state.item.reference} before "
                                "deciding", "Look the record up in the application; correct or skip the item with "
                                "its number.", step=step.where, selector=getattr(step.args, "target", None) or "")

