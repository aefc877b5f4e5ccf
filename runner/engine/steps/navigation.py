"""Steps that move about the application: open a page, click, press a key, wait, switch window,
start and close a desktop program."""

from __future__ import annotations

from typing import cast

from ...drivers.base import DesktopScreen, WebScreen
from ...project.templating import as_text
from .registry import StepRun, handles


@handles("open", needs=WebScreen)
def open_page(run: StepRun) -> None:
    url, shown = run.render(run.args.url)
    run.event.value = as_text(shown)
    screen: WebScreen = run.screen
    screen.open(as_text(url), run.step.timeout_ms or run.engine.nav_timeout_ms)
    run.after_navigation()


@handles("click")
def click(run: StepRun) -> None:
    run.note(run.screen.click(run.selector(run.args.target), run.timeout, run.args.double))
    run.after_navigation()


@handles("press")
def press(run: StepRun) -> None:
    a = run.args
    selector = run.selector(a.target) if a.target else None
    run.event.value = a.key
    windows = run.engine.maps[run.recipe.app].windows_of(a.screen)
    run.note(run.screen.press(selector, a.key, run.timeout, windows=windows))
    run.after_navigation()


@handles("wait_for")
def wait_for(run: StepRun) -> None:
    a = run.args
    visible = a.state == "visible"
    if a.text is not None:
        text, shown = run.render(a.text)
        run.event.value = as_text(shown)
        # text can be searched on a web page only: the recipe loader refuses it on a desktop app
        cast(WebScreen, run.screen).wait_for_text(as_text(text), visible, run.timeout)
        return
    names = a.any or [a.target]
    resolution = run.screen.wait_for_any([run.selector(n) for n in names], visible, run.timeout)
    run.event.target = resolution.selector
    run.note(resolution if visible else None)


@handles("switch_to", needs=WebScreen)
def switch_to(run: StepRun) -> None:
    run.event.value = run.args.window
    screen: WebScreen = run.screen
    screen.switch_to(run.args.window, run.timeout)
    run.after_navigation()


@handles("launch", needs=DesktopScreen)
def launch(run: StepRun) -> None:
    app = run.recipe.app
    window = run.args.window or run.engine.apps.get(app, {}).get("window") or run.engine.maps[app].window
    run.event.value = window
    screen: DesktopScreen = run.screen
    run.event.message = screen.launch(app, window, run.step.timeout_ms or run.engine.nav_timeout_ms)
    run.after_navigation()


@handles("close_app", needs=DesktopScreen)
def close_app(run: StepRun) -> None:
    screen: DesktopScreen = run.screen
    run.event.message = screen.close_app(run.recipe.app)
