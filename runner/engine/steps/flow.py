"""Steps that steer the recipe: call another recipe, stop the item when the screen says so (fail_if),
finish it when the work is already in the application (complete_if), take a picture, answer the
browser's next dialog."""

from __future__ import annotations

from typing import cast

from ...drivers.base import WebScreen
from ...errors import BusinessException, SystemException
from ...project.templating import as_text, uses_name
from ..attempt import AlreadyDone
from .registry import StepRun, handles


@handles("call")
def call(run: StepRun) -> None:
    for key, raw in run.args.with_.items():
        run.state.variables[key], _ = run.render(raw)
    run.event.value = run.args.recipe
    run.engine.run_recipe(run.engine.book[run.args.recipe], run.state)
    run.engine.flush_pending(run.state)


@handles("screenshot")
def screenshot(run: StepRun) -> None:
    run.event.value = run.args.name   # the picture itself is taken by the engine, as for every step


@handles("accept_dialog", "dismiss_dialog", needs=WebScreen)
def answer_dialog(run: StepRun) -> None:
    a = run.args
    screen: WebScreen = run.screen
    expect, _ = run.render(a.expect)
    prompt, shown = run.render(a.prompt_text)
    screen.arm_dialog(run.step.action == "accept_dialog", expect, prompt)
    run.event.value = as_text(shown) if a.prompt_text is not None else None
    run.event.message = f"armed for the next dialog{f' expecting {expect!r}' if expect else ''}"


@handles("fail_if")
def fail_if(run: StepRun) -> None:
    a, event = run.args, run.event
    if a.visible:
        selector = run.selector(a.visible)
        if run.screen.find_now(selector) is None:
            event.message = f"{a.visible} not shown"
            return
        # only a message that shows the text needs it read (on a desktop that means copying it)
        text = run.screen.read(selector, None, run.engine.timeout_ms)[0] if uses_name(a.message, "text") else a.visible
    else:
        # the whole screen's text: a web page only (the recipe loader refuses it on a desktop app)
        if not cast(WebScreen, run.screen).text_on_screen(a.text):
            event.message = f"{a.text!r} not shown"
            return
        text = a.text
    _, shown = run.render(a.message, {"text": text})
    cls = BusinessException if a.kind == "business" else SystemException
    raise cls(as_text(shown), "A person must look at this item: see the screenshot.", step=run.step.where)


@handles("complete_if")
def complete_if(run: StepRun) -> None:
    a, event = run.args, run.event
    found = run.screen.find_now(run.selector(a.visible))
    if found is None:
        event.message = f"{a.visible} not shown: not done yet"
        return
    run.note(found)
    values = {}
    for variable, target in a.read.items():
        values[variable], _ = run.screen.read(run.selector(target), None, run.engine.timeout_ms)
    event.value = ", ".join(f"{k}={v}" for k, v in values.items()) or None
    for variable, value in values.items():  # what a look-up finds is held to the same rule as a key read
        run.engine.refuse_if_taken(run.step, run.recipe, run.state, event, a.read[variable], variable, value,
                                   repr(value), "it was not completed")
    raise AlreadyDone(values, a.message)
