"""The recorder names an element after its own label, never after a mark beside it or a neighbour's words:
capture.js in real Chromium, on a page served on 127.0.0.1 with the layouts that misled it (a required-field
'*' in the cell before a field, a label ending in ' *', a list whose first column holds 'edit' and 'delete'
links), and the locators it offers still find the element in Playwright's own engine."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from playwright.sync_api import sync_playwright

from runner import load_settings
from runner.recorder.web import CAPTURE_SCRIPT, MARK, locator_for

from .conftest import wait_until
from .test_recorder_web import Recorder, toolbar, watched
from .test_web_waits import ROOT, QuietHandler

pytestmark = pytest.mark.web

PAGE = """<!doctype html><html><head><title>New item - Stock</title></head><body>
<h1>New item</h1>
<form method="post" action="/save"><table>
  <tr><td>Amount</td><td><span class="req">*</span></td><td><input name="f_1a2b3c4d5e"></td></tr>
  <tr><td><label for="due">Due date *</label></td><td></td><td><input id="due" name="x9"></td></tr>
  <tr><td>*</td><td>Warehouse:</td><td><input name="w7"></td></tr>
  <tr><td>Party</td><td></td><td><input id="ui-id-23" name="party"></td></tr>
</table></form>
<table id="list">
  <tr><th></th><th>Number</th><th>Title</th></tr>
  <tr><td><a href="/edit">edit</a> <a href="/delete">delete</a></td><td>41</td><td>Badge reader</td></tr>
  <tr><td><a href="/edit">edit</a> <a href="/delete">delete</a></td><td>42</td><td>Projector</td></tr>
</table>
<table id="card"><tr><td><a href="/delete">delete</a></td><td>Ref 7</td></tr></table>
<div><div><span>Total 12</span></div></div>
</body></html>"""


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    (folder / "index.html").write_text(PAGE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def test_fields_and_values_are_named_after_their_own_labels(page_url):
    options = load_settings(ROOT).browser.launch_options()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        page = browser.new_page()
        events: list[dict] = []
        page.on("console", lambda m: events.append(json.loads(m.text[len(MARK):])) if m.text.startswith(MARK) else None)
        page.add_init_script(CAPTURE_SCRIPT)
        page.goto(page_url)
        page.wait_for_function("() => !!document.__backroomRecorder")
        for field, value in (("input[name=f_1a2b3c4d5e]", "12.50"), ("#due", "2026-12-24"), ("input[name=w7]", "E1"),
                             ("input[name=party]", "Acme")):
            page.locator(field).fill(value)
            page.locator(field).dispatch_event("change")
        for cell in ("#list tr:nth-child(2) td:nth-child(2)", "#card td:nth-child(2)"):
            page.evaluate("() => { window.__backroomMode = 'read'; window.__backroomReadId = 'r'; }")
            page.locator(cell).click()
        page.wait_for_function("n => true", arg=0)
        fills = [e for e in events if e["kind"] == "fill"]
        reads = [e for e in events if e["kind"] == "read"]
        assert [f["element"]["name"] for f in fills] == ["Amount", "Due date", "Warehouse", "Party"]
        # an id a widget library numbers as it builds the page (jQuery UI's ui-id-23) is no locator; its name is
        assert fills[3]["element"]["candidates"][0] == {"css": 'input[name="party"]'}
        assert not any("ui-id" in json.dumps(c) for c in fills[3]["element"]["candidates"])
        # the value in the list is named after its column, the one beside the links after nothing they say
        assert reads[0]["element"]["name"] == "Number"
        assert reads[1]["element"]["name"] != "delete" and "delete" not in json.dumps(reads[1]["element"]["label"])
        # what it offers to find the due date by still finds it in Playwright's engine ('Due date *' as shown)
        due = fills[1]["element"]
        assert {"label": "Due date *"} in due["candidates"]
        for candidate in due["candidates"]:
            assert locator_for(page.main_frame, candidate).count() == 1, candidate
        browser.close()


def test_a_value_found_only_by_its_place_in_the_page_is_not_recorded(page_url, tmp_path, screen):
    """'Total 12' stands in nothing named (no label, id, class, row of the item): only its position finds it,
    which finds another record's value next time. The recorder refuses it and says why; the value in the card
    found by its id is recorded."""
    project = tmp_path / "project"
    (project / "recipes").mkdir(parents=True)
    (project / "backroom.yaml").write_text(yaml.safe_dump({"apps": {"stock": {"url": page_url.rsplit("/", 1)[0]}}}))
    recorder = Recorder(project, page_url, "recipes/read-stock.yaml", secrets={}, app="stock",
                        first_page="**/index.html")
    with sync_playwright() as playwright:
        browser, page = recorder.connect(playwright)
        for value in ("span:text-is(\"Total 12\")", "#card td:nth-child(2)"):
            toolbar(watched(page.main_frame), "Read a value").click()
            page.locator(value).click()
        # the recorder has written the last read (saved after every step) before it is stopped
        map_file = project / "selectors" / "stock.yaml"
        wait_until(lambda: map_file.exists() and "#card" in map_file.read_text(), 30, "the card's read", recorder.process)
        toolbar(page.main_frame, "Stop").click()
        output = recorder.wait()
        browser.close()
    assert recorder.process.returncode == 0, output
    assert "not recorded: the value picked can only be found by its place in the page" in " ".join(output.split())
    recipe = (project / "recipes" / "read-stock.yaml").read_text()
    assert "# TODO: a read was not recorded" in recipe
    steps = yaml.safe_load(recipe)["steps"]
    reads = [s["read"]["target"] for s in steps if "read" in s]
    elements = yaml.safe_load((project / "selectors" / "stock.yaml").read_text())["elements"]
    # the refused element is not in the map
    assert len(reads) == 1 and [f"new_item.{name}" for name in elements["new_item"]] == reads
    assert elements["new_item"][reads[0].split(".")[1]]["find"][0]["css"].startswith("#card")


class OrderSite(BaseHTTPRequestHandler):
    """An entry form sent by POST, and a message with two numbers in it after the save."""

    def do_GET(self):
        page = (b"<html><head><title>Entry</title></head><body><h1>New entry</h1><form method='post' action='/save'>"
                b"<label for='what'>What</label><input id='what' name='what'><button>Save</button></form></body></html>"
                if self.path == "/" else b"<html><head><title>Saved</title></head><body>"
                b"<p class='flash'>Batch 3: item 4 has been inserted. 12:08:51</p></body></html>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(303)
        self.send_header("Location", "/saved")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_the_builder_changes_what_the_key_read_keeps_in_the_toolbar(tmp_path, screen):
    """The save's message holds two numbers; the recorder keeps the first ('3', the batch) and says so in the
    toolbar, where the builder writes the pattern that keeps the item's number ('4')."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), OrderSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    project = tmp_path / "project"
    (project / "recipes").mkdir(parents=True)
    (project / "backroom.yaml").write_text(yaml.safe_dump({"apps": {"entry": {"url": url}}}))
    try:
        recorder = Recorder(project, f"{url}/", "recipes/enter.yaml", secrets={}, app="entry", first_page="**/")
        with sync_playwright() as playwright:
            browser, page = recorder.connect(playwright)
            page.get_by_label("What").fill("bolts")
            page.get_by_role("button", name="Save").click()
            page.wait_for_url("**/saved")
            toolbar(watched(page.main_frame), "Read a value").click()
            page.locator("p.flash").click()
            bar = page.locator("#__backroom_toolbar")
            kept = bar.locator("#kept")
            kept.wait_for()
            page.wait_for_function("() => document.querySelector('#__backroom_toolbar').shadowRoot"
                                   ".getElementById('kept').textContent.includes('keeps')")
            assert kept.text_content().startswith('keeps "3"'), kept.text_content()
            bar.get_by_label("Pattern").fill("no such (words)")
            bar.get_by_role("button", name="Keep").click()   # refused: it finds nothing in what was shown
            page.wait_for_function("() => document.querySelector('#__backroom_toolbar').shadowRoot"
                                   ".getElementById('kept').textContent.includes('finds nothing')")
            bar.get_by_label("Pattern").fill("item (\\d+)")
            bar.get_by_role("button", name="Keep").click()
            page.wait_for_function("() => document.querySelector('#__backroom_toolbar').shadowRoot"
                                   ".getElementById('kept').textContent.startsWith('keeps \"4\"')")
            recipe = project / "recipes" / "enter.yaml"   # the new pattern is saved before the recorder is stopped
            wait_until(lambda: "item (\\d+)" in recipe.read_text(), 30, "the changed pattern", recorder.process)
            toolbar(page.main_frame, "Stop").click()
            output = recorder.wait()
            browser.close()
    finally:
        server.shutdown()
    assert recorder.process.returncode == 0, output
    steps = yaml.safe_load((project / "recipes" / "enter.yaml").read_text())["steps"]
    save = next(s for s in steps if "click" in s)
    assert save.get("commits") is True
    (read,) = [s for s in steps if "read" in s]
    assert read["key_step"] is True and read["read"]["pattern"] == "item (\\d+)", read
    assert "keeps '4' of 'Batch 3: item 4 has been inserted. 12:08:51'" in " ".join(output.split())


# A web client's ways, as Tryton's has them: a text box whose type the browser does not know (type="input"), a
# look-up when the field is left with Tab, a menu entry that opens on a double-click inside a navigation region,
# and a search dialog whose rows are picked by what they say
CLIENT = """<!doctype html><html><head><title>Sales - Shop</title></head><body>
<nav id="menu" role="navigation"><table><tr><td><span class="entry">Sales</span></td></tr></table></nav>
<input type="input" name="party" aria-label="Party"> <input name="reference" aria-label="Reference">
<div class="modal" role="dialog"><div class="modal-dialog"><h4 class="modal-title">Search Party</h4>
  <table><tr><th>Code</th><th>Name</th></tr><tr><td>4</td><td><div title="Corner Shop">Corner Shop</div></td></tr></table>
  <input name="quantity" type="text" style="display:none"><input name="quantity" type="number">
  <button>OK</button></div></div>
</body></html>"""


def captured(folder, html: str, act, wanted: int) -> list[dict]:
    """What capture.js reports, in real Chromium, while `act(page)` uses a page of `html` served on 127.0.0.1,
    once it has reported `wanted` events."""
    (folder / "page.html").write_text(html)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**load_settings(ROOT).browser.launch_options())
            page = browser.new_page()
            events: list[dict] = []
            page.on("console", lambda m: events.append(json.loads(m.text[len(MARK):]))
                    if m.text.startswith(MARK) else None)
            page.add_init_script(CAPTURE_SCRIPT)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/page.html")
            page.wait_for_function("() => !!document.__backroomRecorder")
            act(page)
            wait_until(lambda: len(events) >= wanted, 10, "the recorded events")
            browser.close()
    finally:
        server.shutdown()
    return events


def test_a_web_clients_ways_are_recorded_as_a_person_uses_them(tmp_path):
    def use(page) -> None:
        page.locator("span.entry").dblclick()
        page.locator("input[name=party]").fill("Corner Shop")
        page.locator("input[name=party]").press("Tab")      # leaves a field just typed in: recorded
        page.locator("input[name=reference]").press("Tab")  # moves on from an untouched one: not recorded
        page.locator("td", has_text="Corner Shop").click()
        page.locator("input[type=number]").fill("3")
        page.locator("input[type=number]").press("Tab")

    events = captured(tmp_path, CLIENT, use, 7)
    kinds = [(e["kind"], e.get("key") or e["element"]["name"]) for e in events]
    assert kinds == [("click", "Sales"), ("click", "Sales"), ("fill", "Party"), ("press", "Tab"),
                     ("click", "Name"), ("fill", "quantity"), ("press", "Tab")], kinds
    menu = events[:2]
    # the entry clicked, not the navigation region around it; the second click of the double-click says so
    assert menu[0]["element"]["tag"] == "span" and [e["double"] for e in menu] == [False, True]
    # the row in the dialog: named by its column, in a screen named by the dialog's title, and its cells told
    picked = events[4]["element"]
    assert picked["dialog"] == "Search Party" and picked["row"]["cells"] == ["4", "Corner Shop"]
    assert events[2]["element"]["dialog"] is None
    # the number box that is shown is found by its name, though a hidden text box has the same name
    assert {"css": 'input[name="quantity"]'} in events[5]["element"]["candidates"]


def test_what_the_person_typed_is_recorded_though_the_page_empties_the_field(tmp_path):
    """A look-up that empties the field while it searches (Tryton's, as its search dialog opens): the recipe
    types what the person typed, not the emptied field."""
    def use(page) -> None:
        field = page.locator("input[name=party]")
        field.fill("Corner Shop")
        page.wait_for_function("() => document.querySelector('input').value === ''")   # the page emptied it
        field.press("Tab")

    events = captured(tmp_path, "<!doctype html><html><body><input name='party' aria-label='Party'><script>"
                      "document.querySelector('input').addEventListener('input', e => setTimeout(() => "
                      "{ e.target.value = ''; }, 0));</script></body></html>", use, 2)
    assert [(e["kind"], e.get("value") or e.get("key")) for e in events] == [("fill", "Corner Shop"), ("press", "Tab")]
