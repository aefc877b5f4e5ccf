"""The web console in real Chromium: each role signs in and does its work; what a role may not do is
refused and recorded. The runs are real runs on a real BILLSYS."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from runner.demo.sample_orders import write_orders_workbook
from runner.console import console_in_thread
from runner.console.users import UserStore
from runner.project.settings import BrowserSettings, load_settings
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db, start_billing, wait_until

PEOPLE = {"olga": ("operator", "olga-operates-42"), "abe": ("auditor", "abe-audits-4242"),
          "boss": ("admin", "boss-admins-4242")}


@pytest.fixture
def estate(project, tmp_path, monkeypatch):
    """BILLSYS, the console on 127.0.0.1 with three people, and a browser."""
    monkeypatch.setenv("BACKROOM_SECRET_BILLING_PASSWORD", PASSWORD)
    monkeypatch.setenv("BACKROOM_SECRET_SUPERVISOR_CODE", SUPERVISOR)
    store = UserStore(project / "logs" / "console" / "users.sqlite3")
    for name, (role, password) in PEOPLE.items():
        store.add(name, [role], password)
    store.close()
    with start_billing(tmp_path) as app:
        monkeypatch.setenv("BACKROOM_APP_BILLING_URL", app.url)
        with console_in_thread(project) as console, sync_playwright() as p:
            browser = p.chromium.launch(**BrowserSettings().launch_options())
            try:
                yield Estate(project, tmp_path, app, console, browser)
            finally:
                browser.close()


class Estate:
    def __init__(self, project, tmp_path, app, console, browser):
        self.project, self.tmp_path, self.app, self.console, self.browser = project, tmp_path, app, console, browser

    def signed_in(self, name: str):
        page = self.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(self.console.url + "/")
        expect(page).to_have_url(self.console.url + "/sign-in?next=%2F")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", PEOPLE[name][1])
        page.click("button[type=submit]")
        expect(page.locator("#who")).to_contain_text(f"{name} ({PEOPLE[name][0]})")
        return page

    def actions(self) -> list[dict]:
        path = self.project / "logs" / "console" / "actions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]

    def queue(self):
        return open_queue(load_settings(self.project).queue_url, self.project)


def run_bot(estate, path: Path):
    """A run made outside the console (as the scheduler or the command line would), in its own thread:
    the test's browser holds this thread's Playwright."""
    from concurrent.futures import ThreadPoolExecutor

    from runner import RunRequest, start_run

    request = RunRequest(bot="rekey-orders", input_path=path, project=estate.project,
                         app_urls={"billing": estate.app.url})
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(start_run, request).result()


def wait_for_run_end(page, timeout_s: float = 120) -> None:
    """The run page follows the run and reloads when it ends."""
    expect(page.locator("#run-outcome")).to_be_visible(timeout=timeout_s * 1000)
    expect(page.locator("#live")).to_have_count(0, timeout=timeout_s * 1000)


def test_an_operator_starts_a_bot_with_an_upload_watches_it_and_opens_its_report(estate):
    orders, rows = make_orders(estate.tmp_path / "orders-upload.xlsx", 5, seed=41)
    page = estate.signed_in("olga")
    page.click("text=Start a bot")
    page.select_option("#bot-choice", "rekey-orders")
    page.click("form.inline button[type=submit]")
    page.set_input_files("#upload", str(orders))
    page.click("#start")
    expect(page.locator("h1")).to_contain_text("rekey-orders · run ")
    expect(page.locator("#counts")).to_contain_text("5 orders from 5 input rows", timeout=60_000)   # live, as it works
    wait_for_run_end(page)
    expect(page.locator("#run-outcome")).to_contain_text("every item done")
    expect(page.locator("#run-counts")).to_have_text("5 orders from 5 input rows: 5 done")
    assert sorted(o["reference"] for o in orders_in_db(estate.tmp_path / "billsys.db")) == sorted(r[0] for r in rows)

    # the uploaded file was kept under logs/uploads/, named by the console
    stored = list((estate.project / "logs" / "uploads" / "rekey-orders").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("-orders-upload.xlsx")

    page.click("#report-link")
    shot = page.locator("td.shot img").first
    expect(shot).to_be_visible()
    # the screenshot itself loads (visible is not loaded: a busy machine may still be fetching it)
    page.wait_for_function("() => { const i = document.querySelector('td.shot img');"
                           " return i && i.complete && i.naturalWidth > 100; }", timeout=30_000)
    run_started = json.loads((next(p for p in (estate.project / "logs" / "rekey-orders").iterdir() if p.is_dir())
                              / "events.jsonl")
                             .read_text().splitlines()[0])
    assert run_started["data"]["started_by"] == "console:olga"

    page.goto(estate.console.url + "/runs")
    expect(page.locator("#runs tr[data-outcome=success]")).to_have_count(1)
    page.goto(estate.console.url + "/")
    expect(page.locator("#fig-throughput b")).to_have_text("0.2")           # 5 done in 24 h
    expect(page.locator("#fig-first-pass b")).to_have_text("100%")
    kinds = [(a["person"], a["action"], a["outcome"]) for a in estate.actions()]
    assert ("olga", "sign_in", "done") in kinds and ("olga", "upload", "done") in kinds
    assert ("olga", "start_run", "done") in kinds and ("olga", "run_ended", "done") in kinds


def test_an_operator_corrects_one_item_in_review_and_skips_another(estate):
    rows = [["SO-9100001", "C999", "WID-100", 2, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9100002", "C998", "WID-100", 1, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9100003", "C001", "WID-100", 3, "12.50", "2026-12-01", "Normal", False, ""]]
    path = write_orders_workbook(estate.tmp_path / "orders.xlsx", rows)
    first = run_bot(estate, path)
    assert (first.counts.done, first.counts.review, first.counts.total) == (1, 2, 3)

    page = estate.signed_in("olga")
    page.click("nav >> text=Review")
    expect(page.locator("#review tr[data-ref]")).to_have_count(2)
    page.click("text=SO-9100001")
    expect(page.locator("#item-why")).to_contain_text("C999")
    page.fill("#f-quantity", "two")                                  # a wrong correction is refused by field
    page.fill("#f-customer", "C001")
    page.click("#retry")
    expect(page.locator("#retry-form .problem")).to_contain_text("quantity")
    expect(page.locator("#f-customer")).to_have_value("C001")        # what was typed is kept
    page.fill("#f-quantity", "4")
    page.click("#retry")
    expect(page.locator(".flash.done")).to_contain_text("SO-9100001 is back in the queue with customer = C001, "
                                                        "quantity = 4")
    page.click("text=SO-9100002")
    page.fill("#skip-reason", "customer account closed")
    page.click("#skip")
    expect(page.locator(".flash.done")).to_contain_text("SO-9100002 skipped: customer account closed")
    expect(page.locator("#review tr[data-ref]")).to_have_count(0)

    second = run_bot(estate, path)
    keyed = {o["reference"]: o for o in orders_in_db(estate.tmp_path / "billsys.db")}
    assert set(keyed) == {"SO-9100001", "SO-9100003"}
    assert keyed["SO-9100001"]["customer_code"] == "C001" and keyed["SO-9100001"]["quantity"] == 4
    # the corrected one now, the done one reported as done earlier, the skipped one skipped
    assert (second.counts.done, second.counts.skipped, second.counts.total) == (2, 1, 3)

    queue = estate.queue()
    history = queue.history("rekey-orders", "SO-9100002")
    queue.close()
    assert history[-1].actor == "user:olga" and history[-1].to_state == ItemState.SKIPPED.value
    page.goto(estate.console.url + "/items/rekey-orders/SO-9100001")
    expect(page.locator("#history")).to_contain_text("user:olga")
    expect(page.locator("#history")).to_contain_text("retry with customer=C001, quantity=4")
    done = [(a["action"], a["outcome"], a["target"], a["detail"]) for a in estate.actions() if a["person"] == "olga"]
    assert ("retry", "done", "rekey-orders/SO-9100001", "corrected customer = C001, quantity = 4") in done
    assert ("skip", "done", "rekey-orders/SO-9100002", "customer account closed") in done
    refused = [d for action, outcome, _, d in done if (action, outcome) == ("retry", "refused")]
    assert len(refused) == 1 and "quantity" in refused[0]


def test_an_auditor_reads_and_exports_but_is_refused_an_operators_action(estate):
    orders, _ = make_orders(estate.tmp_path / "orders.xlsx", 2, seed=43)
    run = run_bot(estate, orders)
    page = estate.signed_in("abe")
    expect(page.locator("nav")).not_to_contain_text("Start a bot")
    page.click("nav >> text=Runs")
    page.click(f"text={run.run_id}")
    expect(page.locator("#evidence")).to_contain_text("verified sealed and signed (ed25519 key")
    with page.expect_download() as download:                          # the audit pack, from the run page
        page.click("#packs >> text=Word")
    pack = Document(download.value.path())
    assert f"Item {run.items[0].reference}" in [p.text for p in pack.paragraphs]
    page.click("#report-link")
    expect(page.locator("td.shot img").first).to_be_visible()
    shot = next((run.run_dir / "screenshots").iterdir())
    shot.write_bytes(shot.read_bytes() + b"!")                       # tampered with: the run page says so
    page.goto(estate.console.url + f"/runs/rekey-orders/{run.run_id}")
    expect(page.locator("#evidence")).to_contain_text("NOT verified 1 problem(s)")
    expect(page.locator("#findings")).to_contain_text(f"altered: screenshots/{shot.name}")
    assert [a["action"] for a in estate.actions() if a["outcome"] == "done" and a["person"] == "abe"].count(
        "export_pack") == 1

    page.goto(estate.console.url + "/start")
    expect(page.locator("#error")).to_contain_text("Your role (auditor) may not start bots")
    # A crafted form post with a valid token (from the sign-out form) is refused all the same.
    page.goto(estate.console.url + "/")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate("""async ([url, token]) => {
        const body = new URLSearchParams({csrf_token: token, reason: 'auditor tries'});
        return (await fetch(url, {method: 'POST', body})).status; }""",
                           [estate.console.url + f"/items/rekey-orders/{run.items[0].reference}/skip", token])
    assert status == 403
    refused = [a for a in estate.actions() if a["person"] == "abe" and a["outcome"] == "refused"]
    assert [a["action"] for a in refused] == ["start_run", "skip"]
    assert "role auditor may not" in refused[1]["detail"]

    page.click("nav >> text=Review")                                # any item's history, by its reference
    page.fill("#find-item input[name=reference]", run.items[0].reference)
    page.click("#find-item button")
    expect(page.locator("#item-state")).to_have_text("done")
    expect(page.locator("#history")).to_contain_text(f"run:{run.run_id}")
    expect(page.locator("#skip-form")).to_have_count(0)              # nothing to act on for an auditor

    page.goto(estate.console.url + "/audit")
    expect(page.locator("#actions tr.refused")).to_have_count(2)
    with page.expect_download() as download:
        page.click("#export")
    path = estate.tmp_path / "export.xlsx"
    download.value.save_as(path)
    book = load_workbook(path)
    runs = [[c.value for c in row] for row in book["Runs"].iter_rows(min_row=2)]
    assert runs[0][:2] == ["rekey-orders", run.run_id] and runs[0][4] == "success"
    assert {r[1] for r in book["Items"].iter_rows(min_row=2, values_only=True)} == {i.reference for i in run.items}
    actions = list(book["Actions"].iter_rows(min_row=2, values_only=True))
    assert ("abe", "auditor", "skip", "refused") in [(a[1], a[2], a[3], a[4]) for a in actions]


def test_an_admin_adds_a_user_and_pauses_a_schedule(estate):
    shutil.copy(Path(__file__).resolve().parent.parent / "schedules.yaml", estate.project / "schedules.yaml")
    page = estate.signed_in("boss")
    # the first user a console has may also do an operator's work: start a bot
    page.click("nav >> text=Start a bot")
    expect(page.locator("#start-form #upload")).to_be_attached()
    page.click("nav >> text=Users")
    page.fill("#add-user input[name=name]", "nina")
    page.check("#add-user input[value=operator]")
    page.fill("#add-user input[name=password]", "nina-new-pass-1")
    page.click("#add-user button")
    expect(page.locator("#users tr[data-user=nina]")).to_be_visible()
    stored = (estate.project / "logs" / "console" / "users.sqlite3").read_bytes()
    assert b"nina-new-pass-1" not in stored and b"$argon2id$" in stored    # only a hash is kept

    page.click("nav >> text=Schedules")
    row = page.locator("#schedules tr[data-job]").first
    job = row.get_attribute("data-job")
    expect(row).to_contain_text(":")          # a next planned time
    row.locator("input[name=reason]").fill("month-end freeze")
    row.locator("button").click()
    expect(page.locator(f"#schedules tr[data-job='{job}']")).to_contain_text("paused by boss: month-end freeze")

    from runner.scheduler.service import STATE_FILE
    from runner.scheduler.state import SchedulerState

    state = SchedulerState(estate.project / STATE_FILE)
    assert state.paused()[job]["by"] == "boss"
    state.close()
    kinds = [(a["person"], a["action"], a["target"]) for a in estate.actions() if a["outcome"] == "done"]
    assert ("boss", "add_user", "nina") in kinds and ("boss", "pause_schedule", job) in kinds

    nina = estate.browser.new_page()
    nina.goto(estate.console.url + "/sign-in")
    nina.fill("input[name=name]", "nina")
    nina.fill("input[name=password]", "nina-new-pass-1")
    nina.click("button[type=submit]")
    expect(nina.locator("#who")).to_contain_text("nina (operator)")
    nina.goto(estate.console.url + "/users")
    expect(nina.locator("#error")).to_contain_text("may not manage users")


def test_an_operator_stops_a_run_after_its_item_and_a_file_the_bot_cannot_read_is_reported(estate, webhook,
                                                                                           monkeypatch):
    # backroom.yaml's notify: is read when a run ends: the console needs no restart
    with (estate.project / "backroom.yaml").open("a") as settings:
        settings.write("notify: {webhook: {url_secret: chat_webhook}}\n")
    monkeypatch.setenv("BACKROOM_SECRET_CHAT_WEBHOOK", f"{webhook.url}/hooks/ops-channel")
    orders, rows = make_orders(estate.tmp_path / "orders-long.xlsx", 12, seed=44)
    estate.app.settings.delay_ms = 150  # a legacy screen's pace: the stop lands while most orders wait
    page = estate.signed_in("olga")
    page.goto(estate.console.url + "/start?bot=rekey-orders")
    page.set_input_files("#upload", str(orders))
    page.click("#start")
    expect(page.locator("#counts")).to_contain_text(re.compile(r"rows: [1-9]\d* done"), timeout=60_000)
    # the step log and the newest screenshot follow the run as it works, masked like its evidence
    expect(page.locator("#live-steps")).to_contain_text("fill login.password")
    expect(page.locator("#live-steps")).to_contain_text("click order.save")
    page.wait_for_function("document.getElementById('live-shot').naturalWidth > 0", timeout=30_000)
    assert PASSWORD not in page.locator("#live-steps").inner_text() and "****" in page.locator("#live-steps").inner_text()
    run_path = page.url.split(estate.console.url, 1)[1]
    for name in ("screenshots/not-a-picture-of-this-run.jpg", "events.jsonl", "screenshots/../events.jsonl"):
        assert page.request.get(f"{estate.console.url}{run_path}/live/{name}").status == 404
    page.click("text=Stop after the current item")
    expect(page.locator(".flash.done")).to_contain_text("stops after the current item")
    wait_for_run_end(page)
    expect(page.locator("#run-outcome")).to_contain_text("stopped by olga after the current item")   # who pressed it
    # a stopped run says it was stopped and what is left, not "finished, items for review"
    expect(page.locator("#run-outcome")).to_contain_text(re.compile(r"^stopped — .*; \d+ item\(s\) left in the queue"))
    queue = estate.queue()
    states = {i.reference: i.state for i in queue.items("rekey-orders")}
    queue.close()
    done = sorted(ref for ref, state in states.items() if state == ItemState.DONE)
    assert 1 <= len(done) < 12 and set(states.values()) == {ItemState.DONE, ItemState.PENDING}
    assert sorted(o["reference"] for o in orders_in_db(estate.tmp_path / "billsys.db")) == done
    assert ("olga", "stop_run", "done") in [(a["person"], a["action"], a["outcome"]) for a in estate.actions()]

    wrong = estate.tmp_path / "not-orders.xlsx"        # a real workbook, but not the bot's columns
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Something", "Else"])
    book.save(wrong)
    page.goto(estate.console.url + "/start?bot=rekey-orders")
    page.set_input_files("#upload", str(wrong))
    page.click("#start")
    expect(page.locator("#launch-error")).to_contain_text("not-orders.xlsx", timeout=60_000)
    ended = [a for a in estate.actions() if a["action"] == "run_ended"]
    assert ended[-1]["outcome"] == "failed" and "not-orders.xlsx" in ended[-1]["detail"]
    # the failed run is told to the chat channel (the person may have left the page); the run olga stopped is not
    wait_until(lambda: len(webhook.received) >= 1, 30, "the failed run's notice at the webhook")
    [told] = webhook.bodies()
    assert (told["bot"], told["outcome"], told["started_by"]) == ("rekey-orders", "bad_input", "console:olga")
    assert told["input"].endswith("-not-orders.xlsx")   # the upload as the console stored it
    assert told["text"].startswith("Backroom: console run by olga (rekey-orders) refused its input\n")


def test_an_item_that_may_already_be_saved_goes_back_only_after_a_person_says_they_checked(estate):
    """A bot without a verify recipe cannot look an item up: the operator must tick that they did."""
    from runner.intake.work_item import WorkItem

    bot_yaml = estate.project / "bots" / "rekey-orders" / "bot.yaml"
    bot_yaml.write_text(bot_yaml.read_text().replace("verify: find-order\n", ""))
    queue = estate.queue()
    queue.intake("rekey-orders", [WorkItem("SO-9200001", {"order_ref": "SO-9200001"}, "orders.xlsx row 2")], "test")
    claimed = queue.claim("rekey-orders", "run:r1:host:1", 300, "r1")
    queue.mark_committing(claimed.id, "run:r1:host:1")
    queue.business_exception(claimed.id, "run:r1:host:1", "may already be in billing: check billing before retrying")
    queue.close()

    page = estate.signed_in("olga")
    page.goto(estate.console.url + "/items/rekey-orders/SO-9200001")
    expect(page.locator("#retry-form")).to_contain_text("may already be in the application")
    page.click("#retry")
    expect(page.locator(".flash.problem")).to_contain_text("may already be in the application")
    queue = estate.queue()
    assert queue.get("rekey-orders", "SO-9200001").state == ItemState.BUSINESS_EXCEPTION
    queue.close()
    page.check("#checked-not-in-app")
    page.click("#retry")
    expect(page.locator(".flash.done")).to_contain_text("SO-9200001 is back in the queue")
    queue = estate.queue()
    item = queue.get("rekey-orders", "SO-9200001")
    assert item.state == ItemState.PENDING and not item.commit_started
    assert "checked by a person" in queue.history("rekey-orders", "SO-9200001")[-1].message
    queue.close()
    decisions = [(a["action"], a["outcome"]) for a in estate.actions() if a["target"] == "rekey-orders/SO-9200001"]
    assert decisions == [("retry", "refused"), ("retry", "done")]


def test_the_lists_follow_a_run_live_and_an_operator_retries_and_skips_several_items_at_once(estate):
    """The dashboard, runs, review and queue pages, open before a run made outside the console, show it
    without a reload; then the queue is filtered, and items are retried and skipped several at once."""
    page = estate.signed_in("olga")
    pages = {}
    for name, path in (("queue", "/queue"), ("dashboard", "/"), ("runs", "/runs"), ("review", "/review")):
        pages[name] = page if name == "queue" else page.context.new_page()
        pages[name].goto(estate.console.url + path)
        pages[name].evaluate("window.loadedOnce = 'yes'")          # gone if the page reloads
    expect(pages["review"].locator("#review")).to_contain_text("Nothing waits for a person.")
    expect(page.locator("#queue-count")).to_have_text("0 items.")

    rows = [["SO-9300001", "C999", "WID-100", 2, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9300002", "C998", "WID-100", 1, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9300003", "C997", "WID-100", 1, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9300004", "C001", "WID-100", 3, "12.50", "2026-12-01", "Normal", False, ""],
            ["SO-9300005", "C002", "WID-100", 4, "12.50", "2026-12-01", "Rush", False, ""]]
    first = run_bot(estate, write_orders_workbook(estate.tmp_path / "orders.xlsx", rows))
    assert (first.counts.done, first.counts.review) == (2, 3)
    expect(pages["runs"].locator(f"#runs-live tr[data-run='{first.run_id}']")).to_be_visible(timeout=30_000)
    # the row may first be shown while the run is still being sealed: the next refresh brings its counts
    expect(pages["runs"].locator("#runs-live")).to_contain_text("5 orders from 5 input rows: 2 done, 3 for review",
                                                                timeout=30_000)
    expect(pages["review"].locator("#review tr[data-ref]")).to_have_count(3, timeout=30_000)
    expect(pages["dashboard"].locator("#dashboard-live")).to_contain_text(first.run_id, timeout=30_000)
    expect(page.locator("#queue-count")).to_have_text("5 items.", timeout=30_000)
    for shown in pages.values():
        assert shown.evaluate("window.loadedOnce") == "yes"          # updated in place, never reloaded
    expect(page.locator("#queue tr[data-ref]").first).to_have_attribute("data-state", "business_exception")  # first
    page.select_option("select[name=state]", "review")
    page.click("#queue-filter button")
    expect(page.locator("#queue tr[data-ref]")).to_have_count(3)
    page.fill("#queue-text", "c998")                                 # the item's data is searched too
    page.click("#queue-filter button")
    expect(page.locator("#queue tr[data-ref]")).to_have_count(1)
    expect(page.locator("#queue tr[data-ref]")).to_have_attribute("data-ref", "SO-9300002")
    page.fill("#queue-text", "")
    page.click("#queue-filter button")

    # two skipped with one reason (none without one), the third sent back to work
    for ref in ("SO-9300001", "SO-9300002"):
        page.check(f"#queue tr[data-ref='{ref}'] input[name=item]")
    page.click("#bulk-skip")
    expect(page.locator(".flash.problem")).to_contain_text("Say why these items will not be done")
    expect(page.locator("#queue tr[data-ref]")).to_have_count(3)    # the filter is kept; nothing changed
    for ref in ("SO-9300001", "SO-9300002"):
        page.check(f"#queue tr[data-ref='{ref}'] input[name=item]")
    page.fill("#bulk-reason", "customer accounts closed")
    page.click("#bulk-skip")
    expect(page.locator(".flash.done")).to_contain_text("2 item(s) skipped: customer accounts closed: SO-9300001, "
                                                        "SO-9300002")
    page.check("#queue tr[data-ref='SO-9300003'] input[name=item]")
    page.click("#bulk-retry")
    expect(page.locator(".flash.done")).to_contain_text("1 item(s) back in the queue: SO-9300003")
    expect(page.locator("#queue tr[data-ref]")).to_have_count(0)    # nothing left in review
    page.click("#queue-filter button")
    page.goto(estate.console.url + "/queue?text=SO-9300002")
    page.click("#queue tr[data-ref='SO-9300002'] a")                # its history, one click away
    expect(page.locator("body")).to_contain_text("customer accounts closed")

    queue = estate.queue()
    try:
        states = {i.reference: i.state for i in queue.items("rekey-orders")}
        history = queue.history("rekey-orders", "SO-9300001")
    finally:
        queue.close()
    assert states["SO-9300001"] == states["SO-9300002"] == ItemState.SKIPPED
    assert states["SO-9300003"] == ItemState.PENDING and states["SO-9300004"] == ItemState.DONE
    assert history[-1].actor == "user:olga" and history[-1].message == "customer accounts closed"
    decided = [(a["action"], a["outcome"], a["target"]) for a in estate.actions() if a["person"] == "olga"]
    assert ("skip", "refused", "2 item(s)") in decided
    assert ("skip", "done", "rekey-orders/SO-9300001") in decided and ("retry", "done", "rekey-orders/SO-9300003") in decided

    # a live refresh landing between a decision and the page it leads to leaves its message for that page
    token = page.locator("input[name=csrf_token]").first.input_value()
    posted = page.request.post(estate.console.url + "/queue/bulk", max_redirects=0,
                               form={"csrf_token": token, "action": "skip", "item": "rekey-orders/SO-9300003"})
    assert posted.status == 302
    refreshed = page.request.get(estate.console.url + "/queue", headers={"X-Backroom-Live": "1"})
    assert refreshed.ok and "Say why these items will not be done" not in refreshed.text()
    page.goto(estate.console.url + "/queue")
    expect(page.locator(".flash.problem")).to_contain_text("Say why these items will not be done")

    # an auditor sees the queue, without the boxes, and cannot post a decision
    page = estate.signed_in("abe")
    page.goto(estate.console.url + "/queue")
    expect(page.locator("#queue-count")).to_have_text("5 items.")
    expect(page.locator("#queue input[name=item]")).to_have_count(0)
    refused = page.request.post(estate.console.url + "/queue/bulk", form={"action": "retry",
                                                                          "item": "rekey-orders/SO-9300001"})
    assert refused.status in (400, 403)


def test_the_status_strip_says_whether_the_scheduler_runs_and_what_comes_next_without_a_reload(estate):
    import os
    import signal
    import subprocess
    import sys

    (estate.project / "schedules.yaml").write_text(
        "time_zone: UTC\njobs:\n  - name: nightly orders\n    bot: rekey-orders\n    when: every day at 02:00\n"
        "    input: {file: bots/rekey-orders/sample/orders.xlsx}\n")
    page = estate.signed_in("abe")
    expect(page.locator("#scheduler-status")).to_have_text("Scheduler: has not run for this project")
    expect(page.locator("#runner-status")).to_have_text("Runners: 0 alive")

    def start():
        return subprocess.Popen([sys.executable, "-m", "runner.cli", "scheduler", "--poll", "0.2"], cwd=estate.project,
                                env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    scheduler = start()
    try:   # the page is not reloaded: the strip follows by itself
        expect(page.locator("#scheduler-status")).to_contain_text(f"running on {os.uname().nodename} (pid "
                                                                  f"{scheduler.pid}); nightly orders at ",
                                                                  timeout=30_000)
        said = subprocess.run([sys.executable, "-m", "runner.cli", "scheduler", "status"], cwd=estate.project,
                              capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
        assert f"Scheduler: running on {os.uname().nodename} (pid {scheduler.pid})" in said.stdout, said.stdout
        scheduler.kill()                # gone without a word: lost, not running
        scheduler.wait(timeout=30)
        expect(page.locator("#scheduler-status")).to_contain_text("not running: last heard of", timeout=30_000)
        expect(page.locator("#scheduler-status")).to_contain_text("without saying it stopped")
        scheduler = start()
        expect(page.locator("#scheduler-status")).to_contain_text("running on", timeout=30_000)
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=60) == 0
        expect(page.locator("#scheduler-status")).to_have_text("Scheduler: stopped (just now)", timeout=30_000)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
