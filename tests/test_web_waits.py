"""Web waits wait once: `wait_for`, `when: visible`, `complete_if` and a chain of candidates let the browser
wait (Playwright's auto-waiting locators) instead of asking it every 50 ms. Shown in real Chromium on pages
served on 127.0.0.1: what is found is right, and the chain is asked only a few times however long the wait."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Locator

from runner import load_settings
from runner.drivers.web import WebDriver
from runner.errors import SelectorNotFound
from runner.project.selector_map import Candidate, Selector

pytestmark = pytest.mark.web
ROOT = Path(__file__).resolve().parent.parent

# Things that arrive late, as on a slow legacy screen: a confirmation after 1.5 s, a spinner gone after 1.5 s,
# a message inside a frame after 1.5 s, two look-alike rows (ambiguous) at once. Late enough that a busy machine
# still looks before they change.
PAGE = """<!doctype html><html><body>
<div id="spinner">Working...</div>
<div id="twins"><span class="twin">A</span><span class="twin">B</span></div>
<iframe name="main" src="inner.html"></iframe>
<script>
setTimeout(() => {
  const p = document.createElement('p'); p.id = 'confirmation'; p.textContent = 'Saved as CNF-104';
  document.body.appendChild(p);
  document.getElementById('spinner').remove();
}, 1500);
</script></body></html>"""
INNER = """<!doctype html><html><body><script>
setTimeout(() => { document.body.insertAdjacentHTML('beforeend', '<b class="msg">Posted</b>'); }, 1500);
</script></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    (folder / "index.html").write_text(PAGE)
    (folder / "inner.html").write_text(INNER)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    web = WebDriver(load_settings(ROOT))
    web.start()
    yield web
    web.stop()


@pytest.fixture
def driver(browser, site):
    """The page, opened afresh: its late arrivals are 1.5 s away."""
    browser.begin_item()
    browser.open(site, 10_000)
    yield browser
    browser.end_item(clean=False)


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every look at the page a chain takes (Locator.count), in order."""
    calls: list[str] = []
    real = Locator.count

    def count(self):
        calls.append(str(self))
        return real(self)

    monkeypatch.setattr(Locator, "count", count)
    return calls


def chain(name: str, *css: str, frame: tuple[str, ...] = ()) -> Selector:
    return Selector(name, tuple(Candidate("css", value) for value in css), frame=frame)


CONFIRMATION = chain("order.confirmation", "#no-such-thing", "p#confirmation")
ERROR = chain("order.error", "p.error", "div.error-box")


def test_wait_for_any_lets_the_browser_wait_and_names_what_appeared(driver, counted):
    resolution = driver.wait_for_any([ERROR, CONFIRMATION], True, 5000)
    assert (resolution.selector, resolution.candidate, resolution.healed) == ("order.confirmation", "css='p#confirmation'", True)
    # polled every 50 ms, 1.5 s of waiting would have asked the page about 30 times per selector; the browser
    # waited instead: one look before the wait and one after it (two round trips a chain)
    assert len(counted) <= 8, counted


def test_a_chain_with_nothing_there_costs_two_looks_however_long(driver, counted):
    error = chain("order.error", "p.error", "div.error-box", "#message.bad", "span.err")
    assert driver.find_now(error) is None
    # the first candidate, then all the others at once
    assert len(counted) == 2, counted


def test_waiting_for_something_to_go_waits_until_it_is_gone(driver, counted):
    spinner = chain("page.spinner", "#spinner", "div.spinner")
    assert driver.find_now(spinner) is not None
    assert driver.wait_for_any([spinner], False, 5000).candidate == "gone"
    assert driver.find_now(spinner) is None
    assert len(counted) <= 10, counted


def test_an_element_in_a_frame_is_waited_for_in_its_frame(driver):
    message = chain("main.message", "b.notice", "b.msg", frame=("main",))
    assert driver.find_now(message) is None
    assert driver.wait_for_any([message], True, 5000).candidate == "css='b.msg'"


def test_text_is_waited_for_by_the_page_itself(driver):
    driver.wait_for_text("CNF-104", True, 5000)
    assert driver.text_on_screen("CNF-104")
    driver.wait_for_text("Working...", False, 5000)
    with pytest.raises(SelectorNotFound, match="did not appear within 0.3s"):
        driver.wait_for_text("never shown", True, 300)


def test_a_chain_that_stays_ambiguous_times_out_saying_so(driver, counted):
    twins = chain("list.row", "span.twin", "#twins span")
    with pytest.raises(SelectorNotFound) as failure:
        driver.wait_for_any([twins], True, 400)
    assert "span.twin': 2 matches" in failure.value.message and "to appear" in failure.value.message
    # the browser's wait ends at once when something matches: the page is then given a moment, not hammered
    # (two looks a candidate while it matches several: how many, then how many of them are shown)
    assert len(counted) <= 40, len(counted)


def test_an_action_on_a_late_element_waits_for_it_through_the_chain(driver):
    assert driver.read(CONFIRMATION, None, 5000)[0] == "Saved as CNF-104"
