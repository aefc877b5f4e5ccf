"""Steps that read the application: a field into a variable (a key read must make sense), a whole
table across its pages, and assertions on what is shown."""

from __future__ import annotations

import time
from typing import cast

from ...drivers.base import POLL_SECONDS, WebScreen
from ...errors import AssertionFailed, SystemException
from ...project.templating import MASK, as_text
from ..proofs import extract
from .registry import StepRun, handles


@handles("read")
def read(run: StepRun) -> None:
    a, event = run.args, run.event
    selector = run.selector(a.target)
    value, resolution = run.screen.read(selector, a.attribute, run.timeout)
    if run.step.key_step and not value.strip():
        # the record's number is shown once the application has given it (a web client fills it in after the
        # save's answer): looked at again until it shows something, up to the step's time-out
        deadline = time.monotonic() + run.timeout / 1000
        while not value.strip() and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            value, resolution = run.screen.read(selector, a.attribute, run.timeout)
    run.note(resolution)
    event.value = MASK if selector.secret else value
    if run.step.key_step:
        if resolution.healed:   # found by a fallback: believed only where the item's own values stand with it
            run.engine.healed_key_in_place(run.step, run.recipe, run.state, event, selector, resolution)
        value = run.engine.key_read(run.step, run.recipe, run.state, event, value, selector.secret)
    elif a.pattern is not None:
        value = extract(value, a.pattern, a.target, selector.secret)
    run.state.variables[a.into] = value
    event.value = MASK if selector.secret else value
    if not selector.secret and run.engine.trail.redactor.scrub(as_text(value)) != as_text(value):
        run.state.secret_shown = True


@handles("read_table", needs=WebScreen)
def read_table(run: StepRun) -> None:
    """Read a table, following its "next page" link until there is none; rows of all pages in order."""
    a = run.args
    screen: WebScreen = run.screen
    selector = run.selector(a.target)
    next_link = run.selector(a.next) if a.next else None
    rows: list[dict[str, str]] = []
    pages = 0
    previous = None
    while True:
        page_rows, resolution = screen.read_table(selector, run.timeout)
        deadline = time.monotonic() + run.timeout / 1000
        while previous is not None and page_rows == previous:  # the next page has not replaced this one yet
            if time.monotonic() > deadline:
                raise SystemException(f"{a.target}: the next page did not load", "The item will be retried.")
            time.sleep(0.1)
            page_rows, resolution = screen.read_table(selector, run.timeout)
        run.note(resolution)
        rows.extend(page_rows)
        pages += 1
        previous = page_rows
        if next_link is None or screen.find_now(next_link) is None:
            break
        if pages >= a.max_pages:
            raise SystemException(f"{a.target}: more than {a.max_pages} pages", "Raise max_pages in the recipe.")
        screen.click(next_link, run.timeout)
        run.after_navigation()
        run.engine.hooks.heartbeat()
    run.state.variables[a.into] = rows
    run.event.value = f"{len(rows)} row{'s' if len(rows) != 1 else ''} from {pages} page{'s' if pages != 1 else ''}"


@handles("assert_text")
def assert_text(run: StepRun) -> None:
    a = run.args
    expected, shown = run.render(a.equals if a.equals is not None else a.contains)
    expected = as_text(expected)
    run.event.value = as_text(shown)
    if a.target:
        actual, resolution = run.screen.read(run.selector(a.target), None, run.timeout)
        run.note(resolution)
        ok = actual == expected if a.equals is not None else expected in actual
    else:
        actual = "(the screen)"
        # the whole screen's text: a web page only (the recipe loader refuses it on a desktop app)
        ok = cast(WebScreen, run.screen).text_on_screen(expected)
    if not ok:
        how = "to be" if a.equals is not None else "to contain"
        raise AssertionFailed(f"expected {a.target or 'the screen'} {how} {as_text(shown)!r}, found {actual!r}",
                              "Look at the screenshot: the application shows something else.")
