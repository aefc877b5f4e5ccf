"""Between clean items the web screen is kept (the same page and session, no new browser context);
after a failed item, or with `clean_screen: per_item`, the next item starts on a fresh one. Shown in
real Chromium on BILLSYS by what only one browser tab keeps: its sessionStorage."""

from __future__ import annotations

import pytest

from runner import load_settings
from runner.drivers.web import WebDriver

pytestmark = pytest.mark.web

MARK = "() => sessionStorage.getItem('backroom-test-tab')"


def item_on(driver: WebDriver, url: str, clean: bool) -> str | None:
    """One item: open BILLSYS, say what this tab held, mark the tab, end the item as clean or not."""
    driver.begin_item()
    driver.page.goto(url)
    held = driver.page.evaluate(MARK)
    driver.page.evaluate("() => sessionStorage.setItem('backroom-test-tab', 'marked')")
    driver.end_item(clean)
    return held


@pytest.mark.parametrize("keep", [True, False], ids=["after_failure", "per_item"])
def test_the_next_item_continues_on_the_screen_a_clean_item_left(keep, project, billing):
    driver = WebDriver(load_settings(project), keep_screen=keep)
    driver.start()
    try:
        seen = [item_on(driver, billing.url, clean) for clean in (True, True, False, True, True)]
    finally:
        driver.stop()
    if keep:
        # items 2 and 3 continue in the tab item 1 marked; item 3 failed, so item 4 starts afresh
        assert seen == [None, "marked", "marked", None, "marked"]
    else:
        assert seen == [None] * 5
