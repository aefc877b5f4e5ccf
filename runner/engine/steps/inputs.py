"""Steps that put a value into the application: each is read back before the item goes on
(engine/proofs.py), typed again once, slowly, if the field does not hold it."""

from __future__ import annotations

from pathlib import Path

from ...drivers.base import WebScreen
from ...errors import BusinessException
from ...project.templating import MASK, TemplateProblem, as_bool, as_text
from ..readback import TypedValue
from .registry import StepRun, handles


@handles("fill")
def fill(run: StepRun) -> None:
    a, screen = run.args, run.screen
    selector = run.selector(a.target)
    value, shown = run.render(a.value)
    text = as_text(value)
    # a value made from a secret is one, whether or not the field is marked secret
    secret = selector.secret or a.secret or as_text(shown) != text
    run.event.value = MASK if secret else as_text(shown)
    run.note(screen.fill(selector, text, run.timeout, secret=secret))
    typed = run.engine.expected_value(run.step, run.recipe, run.state, selector, "fill", text, as_text(shown), secret)
    run.engine.verify_input(run.step, run.recipe, run.state, run.event, typed,
                            lambda: screen.fill(selector, text, run.timeout, secret=secret, slow=True))


@handles("select")
def select(run: StepRun) -> None:
    a, screen = run.args, run.screen
    selector = run.selector(a.target)
    value, shown = run.render(a.option)
    option = as_text(value)
    run.event.value = as_text(shown)
    run.note(screen.select(selector, option, run.timeout))
    typed = run.engine.expected_value(run.step, run.recipe, run.state, selector, "select", option, as_text(shown),
                                      False)
    run.engine.verify_input(run.step, run.recipe, run.state, run.event, typed,
                            lambda: screen.select(selector, option, run.timeout, slow=True))


@handles("check", needs=WebScreen)
def check(run: StepRun) -> None:
    screen: WebScreen = run.screen
    selector = run.selector(run.args.target)
    value, _ = run.render(run.args.checked)
    try:
        checked = as_bool(value)
    except TemplateProblem as exc:
        raise BusinessException(f"{run.step.where}: {exc}", step=run.step.where) from None
    run.event.value = "checked" if checked else "unchecked"
    run.note(screen.check(selector, checked, run.timeout))
    typed = TypedValue(selector, "check", checked, shown=run.event.value)
    run.engine.verify_input(run.step, run.recipe, run.state, run.event, typed,
                            lambda: screen.check(selector, checked, run.timeout))


@handles("upload", needs=WebScreen)
def upload(run: StepRun) -> None:
    screen: WebScreen = run.screen
    value, _ = run.render(run.args.files)
    names = value if isinstance(value, (list, tuple)) else [value]
    paths = [Path(as_text(n)) for n in names if as_text(n)]
    missing = [str(p) for p in paths if not p.is_file()]
    if not paths or missing:
        raise BusinessException(f"{run.step.where}: file to upload not found: {', '.join(missing) or 'no file given'}",
                                step=run.step.where)
    run.event.value = ", ".join(p.name for p in paths)
    run.note(screen.upload(run.selector(run.args.target), paths, run.timeout))
