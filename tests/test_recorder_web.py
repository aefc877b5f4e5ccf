"""Record a recipe against BILLSYS by using it once in the recorder's visible browser (driven here
through Chromium's debugging port, as a person would drive it with the mouse), then replay the recorded
recipe with other orders on a fresh BILLSYS and check its database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from runner.demo.sample_orders import write_orders_workbook
from runner import load_selector_map, load_settings
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, ROOT, SUPERVISOR, orders_in_db, start_billing

SAMPLE = ["SO-REC-0001", "C004", "TONER-K1", 12, 45.5, date(2026, 12, 9), "Rush", True, "Call before delivery"]
REPLAY = [
    ["SO-REP-0101", "C007", "PAPER-A4", 3, 19.99, date(2027, 1, 4), "Normal", False, ""],
    ["SO-REP-0102", "C002", "CHAIR-ERG", 140, 310.0, date(2027, 2, 17), "Low", True, "Fragile"],
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """`backroom record web` in its own process, and a Playwright client on its browser."""

    def __init__(self, project: Path, url: str, out: str, *extra: str, secrets: dict | None = None,
                 app: str = "billing", first_page: str = "**/login?**"):
        self.port, self.first_page = free_port(), first_page
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_SECRET_")}
        env.update(secrets or {"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                               "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "record", "web", "--app", app, "--url", url, "--out", out,
             "--remote-debugging-port", str(self.port), *extra],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def connect(self, playwright):
        deadline = time.monotonic() + 30
        while True:
            try:
                browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{self.port}")
                break
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(f"recorder did not start: {self.output()}") from None
                time.sleep(0.3)
        page = browser.contexts[0].pages[0]
        page.wait_for_url(self.first_page)
        watched(page.main_frame)
        page.on("dialog", lambda dialog: dialog.accept())  # the person says OK to BILLSYS's question
        return browser, page

    def wait(self) -> str:
        self.process.wait(timeout=60)
        return self.output()

    def output(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stdout.read()


def watched(frame):
    """Wait until the recorder's capture is in the frame's document, as a person waits to see the
    recorder's toolbar: this test's second connection to the browser can let a document start before
    the recorder's scripts reach it, and the recorder then adds them a moment later."""
    frame.wait_for_function("() => document.__backroomRecorder === true")
    return frame


def toolbar(frame, button: str):
    return frame.locator("#__backroom_toolbar").get_by_role("button", name=button)


@pytest.fixture
def recording_project(project: Path) -> Path:
    """The project without a BILLSYS selector map: the recorder writes it from scratch."""
    (project / "selectors" / "billing.yaml").unlink()
    return project


def sign_on_and_open(page, menu_link: str) -> None:
    page.locator("input[name=UID]").fill("clerk")
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign on").click()
    link = page.frame_locator("frame[name=menu]").get_by_role("link", name=menu_link)
    link.wait_for()
    watched(page.frame(name="menu"))
    link.click()


def record_order(recorder: Recorder, playwright) -> None:
    browser, page = recorder.connect(playwright)
    sign_on_and_open(page, "New Order")
    main = page.frame(name="main")
    main.wait_for_url("**/orders/new")
    watched(main)
    row = SAMPLE
    cell = "//td[normalize-space()='{}']/following-sibling::td[1]//{}"
    main.locator(cell.format("Order reference:", "input")).fill(row[0])
    main.get_by_label("Customer code").fill(row[1])
    main.get_by_title("SKU").fill(row[2])
    main.locator(cell.format("Quantity:", "input")).fill(str(row[3]))
    main.locator(cell.format("Unit price:", "input")).fill(f"{row[4]:.2f}")
    main.locator(cell.format("Ship date (MM/DD/YYYY):", "input")).fill(row[5].strftime("%m/%d/%Y"))
    main.get_by_title("Priority").select_option(label=row[6])
    main.locator(cell.format("Gift wrap:", "input")).check()
    main.locator(cell.format("Supervisor code:", "input")).fill(SUPERVISOR)
    main.locator("textarea").fill(row[8])
    main.locator("//td[normalize-space()='Notes:']").click()   # a mis-click, taken back with Undo
    toolbar(main, "Undo").click()
    main.get_by_role("button", name="Save").click()  # BILLSYS asks "Save this order?": accepted above
    main.wait_for_url("**/orders/new")
    main.locator("span.cnf").wait_for()
    toolbar(watched(main), "Read a value").click()
    main.locator("span.cnf").click()
    toolbar(main, "Checkpoint").click()
    time.sleep(0.3)  # let the last clicks reach the recorder before the stop
    toolbar(main, "Stop").click()
    browser.close()


def test_recorded_order_entry_replays_with_other_orders(recording_project, tmp_path, screen):
    project = recording_project
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sample = write_orders_workbook(tmp_path / "sample.xlsx", [SAMPLE])
    with start_billing(tmp_path / "a") as first, sync_playwright() as playwright:
        # the clerk's password is set under a name of the builder's own: the password field, whose value
        # capture.js never sends, still becomes that secret
        recorder = Recorder(project, f"{first.url}/", "recipes/recorded-order.yaml",
                            "--sample", str(sample), "--bot", "rekey-orders",
                            secrets={"BACKROOM_SECRET_CLERK_PASSWORD": PASSWORD,
                                     "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR})
        record_order(recorder, playwright)
        output = recorder.wait()
    assert recorder.process.returncode == 0, output
    assert "Recording ended (the toolbar's Stop button)" in output, output
    assert len(orders_in_db(first.settings.db_path)) == 1  # the recording keyed the sample order for real
    # ... so the sample's item is done in its bot's queue: the bot's first run does not key it again
    assert f"{SAMPLE[0]} is in the queue of bot rekey-orders as done (keyed while recording)" in " ".join(output.split())
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        keyed = queue.get("rekey-orders", SAMPLE[0])
        assert keyed.state == ItemState.DONE and keyed.last_error == "keyed while recording recipes/recorded-order.yaml"
        assert queue.history("rekey-orders", SAMPLE[0])[-1].actor == "record:recipes/recorded-order.yaml"
    finally:
        queue.close()

    recipe_text = (project / "recipes" / "recorded-order.yaml").read_text()
    map_text = (project / "selectors" / "billing.yaml").read_text()
    for text in (recipe_text, map_text, output):
        assert PASSWORD not in text and SUPERVISOR not in text
    recipe = yaml.safe_load(recipe_text)
    steps = recipe["steps"]
    actions = [next(k for k in s if k not in ("when", "name")) for s in steps]
    assert steps[0] == {"open": "{{ app.url }}/"}
    by_target = {s[a]["target"]: s[a] for s, a in zip(steps, actions) if isinstance(s[a], dict) and "target" in s[a]}
    # names come from the screen's labels and titles
    # the sign-on form is a screen of its own, whatever the page calls itself
    assert by_target["login.user_id"]["value"] == "{{ app.user }}"
    assert by_target["login.password"]["value"] == "{{ secrets.clerk_password }}"
    assert by_target["order_entry.order_reference"]["value"] == "{{ item.order_ref }}"
    assert by_target["order_entry.customer_code"]["value"] == "{{ item.customer }}"
    assert by_target["order_entry.item_sku"]["value"] == "{{ item.sku }}"
    assert by_target["order_entry.quantity"]["value"] == "{{ item.quantity }}"
    assert by_target["order_entry.unit_price"]["value"] == "{{ item.unit_price }}"
    assert by_target["order_entry.ship_date_mm_dd_yyyy"]["value"] == "{{ item.ship_date.strftime('%m/%d/%Y') }}"
    assert by_target["order_entry.priority"]["option"] == "{{ item.priority }}"
    assert by_target["order_entry.gift_wrap"]["checked"] == "{{ item.gift_wrap }}"
    assert by_target["order_entry.supervisor_code"]["value"] == "{{ secrets.supervisor_code }}"
    assert by_target["order_entry.notes"]["value"] == "{{ item.notes }}"
    assert by_target["order_saved.confirmation_no"]["into"] == "confirmation_no"
    assert {"click": "menu.new_order"} in steps
    # the browser saw Save send the first write after the sign-on: it is the step that saves, and the read
    # after it is the key read, its pattern taken from what it showed
    save = steps.index({"click": "order_entry.save", "commits": True})
    assert not any(s.get("commits") for s in steps if s is not steps[save])
    assert {"read": {"target": "order_saved.confirmation_no", "into": "confirmation_no", "pattern": "^(CNF-\\d+)$"},
            "key_step": True} in steps
    assert steps[save - 1] == {"accept_dialog": {"expect": "Save this order?"}}
    assert steps[save - 2]["fill"]["target"] == "order_entry.notes"   # the mis-click after it was undone
    assert "undone (the toolbar's Undo button): click" in output
    assert actions[-1] == "screenshot" and actions[-2] == "read"
    # sign-on steps run only while the sign-on form shows (so the second item, signed on, skips them)
    assert all(s.get("when") == {"visible": "login.password"} for s in steps[1:4]), steps[1:4]

    selector_map = load_selector_map(project / "selectors" / "billing.yaml")
    assert selector_map.get("order_entry.order_reference").frame == ("main",)
    assert selector_map.get("menu.new_order").frame == ("menu",)
    assert selector_map.get("login.password").secret and selector_map.get("order_entry.supervisor_code").secret
    for selector in selector_map.selectors.values():
        assert selector.candidates, selector.name
        for candidate in selector.candidates:
            assert candidate.strategy != "point", selector.name                  # no coordinates on the web
            assert "f_" not in candidate.value, (selector.name, candidate)     # generated field names avoided
    assert [c.describe() for c in selector_map.get("menu.new_order").candidates][0] == "role=link name='New Order'"

    # Replay: the recorded recipe in a bot of its own, other orders, a fresh BILLSYS.
    bot = project / "bots" / "recorded-orders"
    bot.mkdir()
    definition = yaml.safe_load((project / "bots" / "rekey-orders" / "bot.yaml").read_text())
    definition.update(name="recorded-orders", recipes=["recorded-order"],
                      output={"columns": {"Confirmation": "{{ vars.confirmation_no }}"}})
    definition.pop("verify")
    (bot / "bot.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    orders = write_orders_workbook(tmp_path / "replay.xlsx", REPLAY)
    env = {**os.environ, "BACKROOM_SECRET_CLERK_PASSWORD": PASSWORD, "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
    with start_billing(tmp_path / "b") as second:
        run = subprocess.run([sys.executable, "-m", "runner.cli", "run", "recorded-orders", "--input", str(orders),
                              "--app-url", f"billing={second.url}"], cwd=project, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        keyed = orders_in_db(second.settings.db_path)
    assert [o["reference"] for o in keyed] == [r[0] for r in REPLAY]
    for order, row in zip(keyed, REPLAY):
        assert (order["customer_code"], order["sku"], order["quantity"]) == (row[1], row[2], row[3])
        assert order["unit_price"] == f"{row[4]:.2f}" and order["ship_date"] == row[5].isoformat()
        assert order["priority"] == row[6][0] and bool(order["gift_wrap"]) == row[7] and order["notes"] == row[8]
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        items = {i.reference: i for i in queue.items("recorded-orders")}
        for order in keyed:
            item = items[order["reference"]]
            assert item.state == ItemState.DONE and item.result["vars"]["confirmation_no"] == order["confirmation"]
    finally:
        queue.close()


def test_second_recording_reuses_the_map_and_ctrl_c_keeps_it(recording_project, tmp_path, screen):
    """A recording stopped with Ctrl-C still writes its recipe; elements already in the map are reused,
    not written again."""
    project = recording_project
    shutil.copy(Path(__file__).parent.parent / "selectors" / "billing.yaml", project / "selectors" / "billing.yaml")
    before = (project / "selectors" / "billing.yaml").read_text()
    with start_billing(tmp_path) as app, sync_playwright() as playwright:
        recorder = Recorder(project, f"{app.url}/", "recipes/sign-on-again.yaml")
        browser, page = recorder.connect(playwright)
        sign_on_and_open(page, "Find Order")
        main = page.frame(name="main")
        main.wait_for_url("**/orders/search")
        watched(main)
        field = main.locator("xpath=//td[normalize-space()='Order reference:']/following-sibling::td[1]/input")
        field.fill("SO-0000001")
        field.press("Enter")  # a key press: searches
        main.wait_for_url("**/orders/search?*")
        time.sleep(0.5)
        recorder.process.send_signal(signal.SIGINT)
        output = recorder.wait()
        browser.close()
    assert recorder.process.returncode == 0, output
    assert "Recording ended (Ctrl-C): 7 steps, 0 new elements, 5 from the selector map." in output, output
    assert (project / "selectors" / "billing.yaml").read_text() == before  # every element was already there
    steps = yaml.safe_load((project / "recipes" / "sign-on-again.yaml").read_text())["steps"]
    targets = [s.get("fill", {}).get("target") or s.get("click") for s in steps[1:6]]
    assert targets == ["login.user_id", "login.password", "login.sign_on", "menu.find_order", "search.reference"]
    assert steps[5]["fill"]["value"] == "SO-0000001"  # no sample: typed as recorded
    assert steps[6] == {"press": {"key": "Enter", "target": "search.reference"}}
    assert PASSWORD not in (project / "recipes" / "sign-on-again.yaml").read_text()


DOCUMENT_BOT = {
    "name": "attach-documents",
    "description": "Attach customers' documents in BILLSYS.",
    "input": {"type": "excel", "sheet": "Documents", "reference": "doc_ref", "fields": {
        "doc_ref": {"column": "Doc Ref", "type": "text"},
        "customer": {"column": "Customer", "type": "text"},
        "doc_type": {"column": "Document Type", "type": "choice",
                     "choices": ["Purchase order", "Remittance advice", "Contract"]},
        "file": {"column": "File", "type": "text"}}},
    "recipes": ["attach-document"],
    "output": {"columns": {"Document": "{{ vars.confirmation }}"}},
}


def documents_in_db(db_path: Path) -> list[dict]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM documents ORDER BY id")]


def documents_workbook(path: Path, rows: list[list]) -> Path:
    from runner.demo.sample_workbook import write_sample_workbook

    return write_sample_workbook(path, "Documents", ["Doc Ref", "Customer", "Document Type", "File"], rows, {})


def test_a_lookup_popup_and_a_file_upload_are_recorded_and_replayed(project, tmp_path, screen):
    """The customer is picked in a look-up window that closes itself; the document is uploaded."""
    import hashlib

    bot = project / "bots" / "attach-documents"
    bot.mkdir()
    (bot / "bot.yaml").write_text(yaml.safe_dump(DOCUMENT_BOT, sort_keys=False))
    first_file = tmp_path / "po-4471.pdf"
    first_file.write_bytes(b"%PDF-1.4 purchase order 4471\n")
    sample = documents_workbook(tmp_path / "sample.xlsx", [["DOC-REC-1", "C004", "Purchase order", str(first_file)]])
    (tmp_path / "a").mkdir()
    with start_billing(tmp_path / "a") as first, sync_playwright() as playwright:
        recorder = Recorder(project, f"{first.url}/", "recipes/attach-document.yaml",
                            "--sample", str(sample), "--bot", "attach-documents")
        browser, page = recorder.connect(playwright)
        sign_on_and_open(page, "Documents")
        main = page.frame(name="main")
        main.wait_for_url("**/documents/new")
        watched(main)
        with page.context.expect_page() as opened:
            main.get_by_role("link", name="Look up...").click()
        popup = opened.value
        popup.wait_for_url("**/customers/lookup")
        watched(popup.main_frame)
        popup.locator("input[name=code]").fill("C004")
        popup.get_by_role("button", name="Find").click()
        popup.wait_for_url("**/customers/lookup?code=C004")
        watched(popup.main_frame)
        try:
            popup.get_by_role("button", name="Use this customer").click(no_wait_after=True)  # picks C004
        except PlaywrightError:
            assert popup.is_closed()  # it closed itself as the click landed: what the look-up does
        if not popup.is_closed():
            popup.wait_for_event("close")
        main.locator("xpath=//td[normalize-space()='Document type:']/following-sibling::td[1]/select") \
            .select_option(label="Purchase order")
        main.locator("input[type=file]").set_input_files(str(first_file))
        main.get_by_role("button", name="Attach").click()
        main.locator("span.cnf").wait_for()
        toolbar(watched(main), "Read a value").click()
        main.locator("span.cnf").click()
        time.sleep(0.3)
        toolbar(main, "Stop").click()
        output = recorder.wait()
        browser.close()
    assert recorder.process.returncode == 0, output
    assert [d["filename"] for d in documents_in_db(first.settings.db_path)] == ["po-4471.pdf"]
    steps = yaml.safe_load((project / "recipes" / "attach-document.yaml").read_text())["steps"]
    look_up = steps.index({"click": "customer_documents.look_up"})
    assert steps[look_up + 1] == {"switch_to": "popup"}
    assert steps[look_up + 2]["fill"] == {"target": "customer_look_up.customer_code", "value": "{{ item.customer }}"}
    assert steps[look_up + 3:look_up + 6] == [{"click": "customer_look_up.find"},
                                              {"click": "customer_look_up.use_this_customer"},
                                              {"switch_to": "main"}]
    assert {"select": {"target": "customer_documents.document_type", "option": "{{ item.doc_type }}"}} in steps
    assert {"upload": {"target": "customer_documents.file", "files": "{{ item.file }}"}} in steps
    # the document number is shown as BILLSYS shows an order's confirmation: the map's element is reused
    assert steps[-1] == {"read": {"target": "order.confirmation", "into": "confirmation", "pattern": "^(DOC-\\d+)$"},
                         "key_step": True}

    files = []
    for n, customer in enumerate(["C011", "C019"]):
        path = tmp_path / f"remittance-{n}.txt"
        path.write_bytes(f"remittance advice {n} for {customer}\n".encode() * (n + 3))
        files.append(path)
    rows = [["DOC-REP-1", "C011", "Remittance advice", str(files[0])], ["DOC-REP-2", "C019", "Contract", str(files[1])]]
    replay = documents_workbook(tmp_path / "replay.xlsx", rows)
    env = {**os.environ, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD}
    # on the same BILLSYS (its database kept): the number the recording read is the recorded item's, and the
    # documents the replay attaches get numbers of their own
    with start_billing(tmp_path / "a") as again:
        run = subprocess.run([sys.executable, "-m", "runner.cli", "run", "attach-documents", "--input", str(replay),
                              "--app-url", f"billing={again.url}"], cwd=project, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        attached = documents_in_db(again.settings.db_path)[1:]
    assert sorted((d["customer_code"], d["doc_type"], d["filename"], d["sha256"]) for d in attached) == [
        ("C011", "RM", files[0].name, hashlib.sha256(files[0].read_bytes()).hexdigest()),
        ("C019", "CT", files[1].name, hashlib.sha256(files[1].read_bytes()).hexdigest())]


def test_the_recording_browser_offers_to_save_no_password(tmp_path):
    """Chromium keeps the recording profile's settings: its password manager, whose "Save password?"
    bubble would cover the page after every sign-on, is off, and so is translation."""
    import json

    from runner import load_settings
    from runner.recorder.web import quiet_profile

    quiet_profile(tmp_path / "profile")
    options = load_settings(ROOT).browser.launch_options()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(str(tmp_path / "profile"), **options)
        context.new_page().goto("about:blank")
        context.close()
    kept = json.loads((tmp_path / "profile" / "Default" / "Preferences").read_text())
    assert kept["credentials_enable_service"] is False and kept["profile"]["password_manager_enabled"] is False
    assert kept["translate"]["enabled"] is False
