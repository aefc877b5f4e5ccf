"""One candidate locator as Playwright's Locator: the run and the recorder build it the same way, so a
candidate the recorder kept is found by the run exactly as the recorder tested it."""

from __future__ import annotations

from typing import Any, cast

from playwright.sync_api import Locator


def locate(root: Any, strategy: str, value: str, name: str | None = None, exact: bool = True) -> Locator:
    """The locator for one candidate under a page, a frame or a frame locator (all offer get_by_*)."""
    match strategy:
        case "role":
            role = cast(Any, value)   # a role name, checked when the selector map is loaded
            return root.get_by_role(role, name=name, exact=exact) if name is not None else root.get_by_role(role)
        case "label":
            return root.get_by_label(value, exact=exact)
        case "text":
            return root.get_by_text(value, exact=exact)
        case "placeholder":
            return root.get_by_placeholder(value, exact=exact)
        case "title":
            return root.get_by_title(value, exact=exact)
        case "css":
            return root.locator(value)
        case "xpath":
            return root.locator(f"xpath={value}")
    raise ValueError(f"unknown strategy {strategy}")


def the_one(locator: Locator) -> tuple[Locator | None, int]:
    """The element a candidate means, and how many it matches. One match is it; of several, the one a person can
    see among hidden copies (a web client that keeps a field twice, text and number, and shows one; a list
    behind a dialog) is it too. Two visible ones are ambiguous: none."""
    count = locator.count()
    if count == 1:
        return locator, 1
    if count > 1:
        shown = locator.filter(visible=True)
        if shown.count() == 1:
            return shown, count
    return None, count
