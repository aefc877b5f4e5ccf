"""A web client that talks to its server in the background (as Tryton's does, by JSON-RPC) is not typed into while
it waits for an answer, nor clicked on again before its save is answered; a field kept twice (a text box and a
number box, one of them hidden) is the one shown. Real Chromium, on a page served on 127.0.0.1 whose server
answers late, as a loaded ERP does."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runner import load_settings
from runner.drivers.web import WebDriver
from runner.project.selector_map import Candidate, Selector

from .test_web_waits import ROOT

pytestmark = pytest.mark.web
LATE_S = 0.8   # how late the server answers: long enough that a step that does not wait acts before the answer

# Leaving the customer looks it up; when the answer comes, the client shows the line as the server has it, with
# no quantity yet (what is typed meanwhile is lost). Save posts the quantity and shows the server's answer.
PAGE = """<!doctype html><html><body>
<input name="customer" type="input">
<input name="quantity" type="text" style="display:none"><input name="quantity" type="number">
<button id="save">Save</button> <span id="status"></span>
<button id="login">Login</button>
<script>
const quantity = document.querySelector('input[type=number]');
document.querySelector('[name=customer]').addEventListener('change', async () => {
  await (await fetch('/lookup')).text();
  quantity.value = '';
});
document.getElementById('save').addEventListener('click', async () => {
  const answer = await fetch('/save', {method: 'POST', body: JSON.stringify({quantity: quantity.value})});
  document.getElementById('status').textContent = await answer.text();
});
window.addEventListener('beforeunload', e => { e.preventDefault(); e.returnValue = ''; });   // "Leave this page?"
document.getElementById('login').addEventListener('click', async () => {
  await (await fetch('/lookup')).text();   // the user name is answered: the client asks for the password
  document.body.insertAdjacentHTML('beforeend', '<input type="password" id="password">');
});
</script></body></html>"""


class LateServer(BaseHTTPRequestHandler):
    saved: list[dict] = []

    def _answer(self, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/lookup":
            time.sleep(LATE_S)   # the server's own slowness, not a wait of the test's
            self._answer(b"found")
        else:
            self._answer(PAGE.encode(), "text/html")

    def do_POST(self):
        record = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        time.sleep(LATE_S)
        LateServer.saved.append(record)
        self._answer(f"saved {record['quantity']}".encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def late_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LateServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def driver(late_site):
    web = WebDriver(load_settings(ROOT))
    web.start()
    web.begin_item()
    web.open(late_site, 10_000)
    LateServer.saved.clear()
    yield web
    web.stop()


def element(name: str, css: str) -> Selector:
    return Selector(name, (Candidate("css", css),))


CUSTOMER = element("order.customer", "input[name=customer]")
QUANTITY = element("order.quantity", "input[name=quantity]")
SAVE = element("order.save", "#save")


def test_nothing_is_typed_while_the_client_waits_for_its_answer(driver):
    driver.fill(CUSTOMER, "Corner Shop", 5000)
    driver.press(CUSTOMER, "Tab", 5000)        # the look-up goes out as the field is left
    driver.fill(QUANTITY, "3", 5000)           # typed once the look-up is answered, so it stays
    assert driver.read_back(QUANTITY, "fill", 5000) == "3"
    driver.click(SAVE, 5000)
    writes, error = driver.take_writes()
    assert error is None and [w.method for w in writes] == ["POST"]
    # the save was answered before the step counts as done: the page already shows what the server said
    assert driver.page.locator("#status").text_content() == "saved 3"
    assert LateServer.saved == [{"quantity": "3"}]


def test_a_field_kept_twice_is_the_one_shown(driver):
    """`input[name=quantity]` matches the hidden text box and the number box; the one shown is the field."""
    resolution = driver.fill(QUANTITY, "7", 5000)
    assert resolution.candidate == "css='input[name=quantity]'"
    assert driver.page.locator("input[type=number]").input_value() == "7"
    assert driver.page.locator("input[type=text][name=quantity]").input_value() == ""


def test_a_condition_is_looked_at_once_the_page_has_its_answer(driver):
    """A two-step sign-on: the password box appears once the server has answered the Login click. `when: visible`
    on the password step looks after that answer, not before it."""
    driver.click(element("login.login", "#login"), 5000)
    assert driver.find_now(element("login.password", "#password")) is not None


def test_a_step_that_opens_a_page_leaves_one_that_asks_to_stay(driver, late_site):
    """The page asks "Leave this page?" on every unload once it has been used (Tryton's client does): the next
    item's `open` leaves it, and says so in its dialogs, instead of staying on the last item's page."""
    driver.fill(CUSTOMER, "Corner Shop", 5000)   # the page has been used: the browser lets it ask
    driver.page.evaluate("() => { window.__before = true; }")
    driver.open(late_site, 10_000)
    assert driver.page.evaluate("() => window.__before") is None   # a new document
    assert [(d.kind, d.action, d.matches_expectation) for d in driver.take_dialog_events()] == \
        [("beforeunload", "accepted", True)]
