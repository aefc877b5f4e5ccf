"""When to take a screenshot, by policy.

- changed (default): after every step that changed the screen. Consecutive input steps
  (fill, select, check) share one screenshot taken when the run of inputs ends, so the
  picture shows every value they typed; open, click and press get their own after the
  screen has settled.
- every: after every step, inputs included, each on its own.
- key: only steps marked `key_step: true` and `screenshot` steps.
- failures: only `screenshot` steps.
Every policy captures the screen when a step fails. A step that did nothing to the screen
since the last picture (a wait, a read) shares that picture instead of taking an identical one.
"""

from __future__ import annotations

from enum import Enum

from ..project.recipe import Step

INPUT_ACTIONS = {"fill", "select", "check", "upload"}
NAVIGATING_ACTIONS = {"open", "click", "press", "switch_to", "launch", "close_app"}
SCREEN_ACTIONS = INPUT_ACTIONS | NAVIGATING_ACTIONS  # steps that act on the screen


class Shot(Enum):
    NONE = "none"
    NOW = "now"        # capture right after this step
    DEFER = "defer"    # capture when the current run of input steps ends


def plan_screenshot(policy: str, step: Step) -> Shot:
    if step.action == "screenshot":
        return Shot.NOW
    if step.screenshot is not None:  # an explicit per-step choice wins over the policy
        return (Shot.DEFER if step.action in INPUT_ACTIONS and policy == "changed" else Shot.NOW) \
            if step.screenshot else Shot.NONE
    if step.key_step and policy in ("changed", "every", "key"):
        return Shot.NOW
    if policy == "every":
        return Shot.NOW if step.action != "call" else Shot.NONE
    if policy == "changed":
        if step.action in INPUT_ACTIONS:
            return Shot.DEFER
        if step.action in NAVIGATING_ACTIONS:
            return Shot.NOW
    return Shot.NONE


def ends_input_run(step: Step) -> bool:
    """A deferred screenshot is taken before any step that is not itself an input."""
    return step.action not in INPUT_ACTIONS
