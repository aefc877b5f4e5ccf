"""Recording on an ERP nobody here wrote: a sale order entered in Tryton's web client (trytond with its sale and
party modules from PyPI, sao from npm). A person signs on, opens Sales, picks the customer and the product in
Tryton's search dialogs, gives a date, a reference and a quantity, saves, quotes and reads the number Tryton
gave the sale; the recipe and map the recorder writes are replayed as they are (no hand edit) on 40 rows, with a
SIGKILL right after one save and a re-run, and every sale is checked in Tryton's own database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import sync_playwright

from runner.demo.sample_workbook import write_sample_workbook

from .conftest import after_the_rerun, first_result, killed_after_a_save, wait_until
from .test_recorder_web import Recorder, toolbar, watched
from .third_party.tryton_app import ADMIN_PASSWORD, PARTIES, PRODUCTS, make_database, start_tryton

pytestmark = [pytest.mark.web, pytest.mark.slow]

HEADER = ["Ref", "Customer", "Date", "Product", "Quantity", "Note"]
SAMPLE = ["PO-7781", "Corner Shop", date(2026, 11, 24), "Hinge", 3, "Back door"]
# forty orders: every customer and product, dates across two months, quantities 1-12
REPLAY = [[f"PO-{8000 + n}", PARTIES[n % len(PARTIES)], date(2026, 10 + n % 2, 1 + n % 28), list(PRODUCTS)[n % 4],
           1 + n % 12, f"Order {n} by phone"] for n in range(40)]
# Tryton's web client talks JSON-RPC: every call is a POST. Its sign-on and the calls that only read (search,
# read, the defaults and on_change look-ups the form makes as it is filled) are listed as not writing; anything
# else (create, write, a workflow button such as quote) writes.
READS = r'"method": ?"(common\.|model\.[\w.]+\.(read|search\w*|fields_view_get|view_toolbar_get|default_get|' \
        r'on_change\w*|get_\w+|list_\w+|resources|renew|autocomplete)")'


@pytest.fixture(scope="module")
def tryton_database(tmp_path_factory) -> Path:
    """Made once for the module (trytond-admin takes half a minute); each test serves a copy."""
    return make_database(tmp_path_factory.mktemp("tryton-template"))


def tryton_project(folder: Path) -> Path:
    for part in ("recipes", "selectors", "bots/enter-sales"):
        (folder / part).mkdir(parents=True)
    (folder / "backroom.yaml").write_text(yaml.safe_dump({"action_timeout_s": 15, "apps": {"tryton": {
        "url": "http://127.0.0.1:8000", "not_writes": [{"url": "*/session/login"}, {"body": READS}]}}}))
    (folder / "bots" / "enter-sales" / "bot.yaml").write_text(yaml.safe_dump({
        "name": "enter-sales", "description": "Enter the phone orders into Tryton as quoted sales.",
        "input": {"type": "excel", "sheet": "Orders", "reference": "ref", "fields": {
            "ref": {"column": "Ref", "type": "text"}, "customer": {"column": "Customer", "type": "text"},
            "date": {"column": "Date", "type": "date"}, "product": {"column": "Product", "type": "text"},
            "quantity": {"column": "Quantity", "type": "integer", "min": 1},
            "note": {"column": "Note", "type": "text"}}},
        "recipes": ["enter-sale"], "output": {"columns": {"Sale": "{{ vars.number }}"}}}, sort_keys=False))
    return folder


def orders(path: Path, rows: list[list]) -> Path:
    return write_sample_workbook(path, "Orders", HEADER, rows, {})


def watch_requests(page) -> None:
    """Counts the page's requests that wait for an answer, for `answered`."""
    page.waiting = set()
    page.on("request", lambda r: page.waiting.add(r))
    page.on("requestfinished", lambda r: page.waiting.discard(r))
    page.on("requestfailed", lambda r: page.waiting.discard(r))


def answered(page) -> None:
    """Tryton's client has its answers (the form shows what it will show): as a person waits for a form to settle."""
    quiet = []

    def settled() -> bool:
        page.evaluate("0")   # a round trip to the page: Playwright delivers its request events meanwhile
        quiet.append(not page.waiting)
        return quiet[-3:] == [True] * 3
    wait_until(settled, 30, "Tryton's client to have its answers")


def record_a_sale(page, saved) -> None:
    """What a person does in Tryton's web client to enter the sample's order, with real input events."""
    watch_requests(page)
    page.get_by_label("User name").fill("admin")
    page.get_by_role("button", name="Login").click()
    password = page.locator("input[type=password]")
    password.fill(ADMIN_PASSWORD)
    password.press("Enter")
    page.get_by_text("Sales", exact=True).first.click()          # the menu's Sales folder opens
    page.locator("text=Sales").nth(1).dblclick()                 # and its Sales list
    new = page.get_by_role("button", name="New", exact=True).first
    new.click()
    party = page.locator("input[name=party]")
    party.fill(SAMPLE[1])
    party.press("Tab")                                           # Tryton looks the customer up
    dialog = page.locator(".modal-dialog").last
    dialog.locator("td", has_text=SAMPLE[1]).last.click()
    dialog.get_by_role("button", name="OK", exact=True).click()
    sale_date = page.locator("input[name=sale_date]").first
    sale_date.fill(SAMPLE[2].strftime("%m/%d/%Y"))
    sale_date.press("Tab")
    page.locator("input[name=reference]").fill(SAMPLE[0])
    page.locator("input[name=description]").fill(SAMPLE[5])
    page.get_by_role("button", name="New", exact=True).nth(1).click()   # a line
    product = page.locator(".modal-dialog input[name=product]")
    product.fill(SAMPLE[3])
    product.press("Tab")
    dialog = page.locator(".modal-dialog").last
    dialog.locator("td", has_text=SAMPLE[3]).last.click()
    dialog.get_by_role("button", name="OK", exact=True).click()
    # Tryton fills the line's unit and price from the product: the person types the quantity after that
    unit = page.locator(".modal-dialog input[name=unit]")
    wait_until(lambda: unit.input_value() != "", 30, "Tryton to fill in the product's unit")
    answered(page)
    quantity = page.locator(".modal-dialog input[name=quantity]:visible")
    quantity.fill(str(SAMPLE[4]))
    quantity.press("Tab")
    add = page.locator(".modal-dialog").get_by_role("button", name="Add", exact=True)
    add.click()
    add.wait_for(state="hidden")
    page.locator("button#save[title=Save]:visible").click()
    wait_until(saved, 30, "Tryton to save the sale")   # as a person waits for the saved form before quoting it
    answered(page)
    page.get_by_role("button", name="Quote").click()
    number = page.locator("input[name=number]")
    wait_until(lambda: number.input_value() != "", 30, "Tryton to number the sale")
    toolbar(watched(page.main_frame), "Read a value").click()
    number.click()
    toolbar(page.main_frame, "Stop").click()


def test_a_sale_recorded_in_tryton_enters_forty_more_without_a_hand_edit(tmp_path, screen, tryton_database):
    project = tryton_project(tmp_path / "project")
    first = start_tryton(tmp_path / "a", tryton_database)
    try:
        recorder = Recorder(project, first.url, "recipes/enter-sale.yaml", "--sample",
                            str(orders(tmp_path / "sample.xlsx", [SAMPLE])), "--bot", "enter-sales",
                            secrets={"BACKROOM_SECRET_TRYTON_PASSWORD": ADMIN_PASSWORD}, app="tryton",
                            first_page=f"{first.url}**")
        with sync_playwright() as playwright:
            browser, page = recorder.connect(playwright)
            try:
                record_a_sale(page, lambda: first.count() == 1)
            except Exception:
                page.screenshot(path=tmp_path / "recording-failed.png")   # what the person saw, for the log
                raise
            output = recorder.wait()
            browser.close()
        assert recorder.process.returncode == 0, output
        recorded = first.sales()
        # the recording entered it: quoted, numbered, with its line
        assert [(s["reference"], s["party"], s["sale_date"], s["state"], s["lines"]) for s in recorded] == \
            [(SAMPLE[0], SAMPLE[1], SAMPLE[2].isoformat(), "quotation", [(SAMPLE[3], 3.0, Decimal(PRODUCTS[SAMPLE[3]]))])]
        # the sample workbook runs: its item is done (entered while recording), the number read then in its output
        sample = subprocess.run([sys.executable, "-m", "runner.cli", "run", "enter-sales", "--input",
                                 str(tmp_path / "sample.xlsx"), "--app-url", f"tryton={first.url.rstrip('/')}"],
                                cwd=project, capture_output=True, text=True, timeout=300,
                                env={**os.environ, "BACKROOM_SECRET_TRYTON_PASSWORD": ADMIN_PASSWORD})
        assert sample.returncode == 0, sample.stdout + sample.stderr
        assert first.count() == 1
        assert first_result(sample, project, "Sale") in (1, "1")
        check_recording(project, output)

        # the recording, as recorded, enters forty more into the same Tryton
        env = {**os.environ, "BACKROOM_SECRET_TRYTON_PASSWORD": ADMIN_PASSWORD}
        command = [sys.executable, "-m", "runner.cli", "run", "enter-sales", "--input",
                   str(orders(tmp_path / "replay.xlsx", REPLAY)), "--app-url", f"tryton={first.url.rstrip('/')}"]
        # killed the moment Tryton holds the twelfth new sale: saved, not yet quoted and numbered
        assert killed_after_a_save(command, project, env, first.count, 13, 600) in (13, 14)
        run = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=1200)
        entered = [sale for sale in first.sales() if sale["reference"] != SAMPLE[0]]
    finally:
        first.stop()
    # 0 duplicates, 0 missing: every order once in Tryton's database, with its customer, date, note and line
    by_reference = {s["reference"]: s for s in entered}
    assert sorted(s["reference"] for s in entered) == sorted(r[0] for r in REPLAY), run.stdout
    for ref, customer, day, product, quantity, note in REPLAY:
        sale = by_reference[ref]
        assert (sale["party"], sale["sale_date"], sale["description"]) == (customer, day.isoformat(), note), sale
        assert sale["lines"] == [(product, float(quantity), Decimal(PRODUCTS[product]))], sale
    # the item the kill caught after its save was not entered again: it waits for a person, saying why
    read = after_the_rerun(run, project, "enter-sales", "tryton")
    assert len([r for r in read if r != SAMPLE[0]]) >= len(REPLAY) - 1   # all done but the one a person looks at
    for ref, values in read.items():
        if ref in by_reference:   # each item read the number Tryton gave its own sale
            assert by_reference[ref]["state"] == "quotation" and values["number"] == by_reference[ref]["number"]


def check_recording(project: Path, output: str) -> None:
    """What the recorder wrote on Tryton, as written, and what it told the builder."""
    steps = yaml.safe_load((project / "recipes" / "enter-sale.yaml").read_text())["steps"]
    elements = yaml.safe_load((project / "selectors" / "tryton.yaml").read_text())["elements"]
    text = (project / "recipes" / "enter-sale.yaml").read_text() + (project / "selectors" / "tryton.yaml").read_text()
    assert ADMIN_PASSWORD not in text + output
    fills = {s["fill"]["target"]: s["fill"]["value"] for s in steps if "fill" in s}
    assert fills["sales.party"] == "{{ item.customer }}" and fills["sales_lines.product"] == "{{ item.product }}"
    assert fills["sales.sale_date"] == "{{ item.date.strftime('%m/%d/%Y') }}"
    assert fills["sales_lines.quantity"] == "{{ item.quantity }}"
    # leaving a field Tryton looks up is part of the recipe: the look-up opens the search dialog
    assert {"press": {"key": "Tab", "target": "sales.party"}} in steps
    # the customer and the product are picked in Tryton's search dialogs by the item's own value, never the sample's
    assert elements["search_party"]["name"]["find"][0] == {"xpath": "//tr[td[normalize-space()='{{ item.customer }}']]/*[4]"}
    assert not any(SAMPLE[1] in str(e["find"]) or SAMPLE[3] in str(e["find"])
                   for screen in elements.values() for e in screen.values())
    # the sign-on dialog and the line's dialog are screens of their own, named by their titles
    assert {"login", "sales", "sales_lines", "search_party", "search_product"} <= set(elements), sorted(elements)
    # the browser saw Save send the first write (Tryton's create): it saves; Quote is a later write; the number
    # read after them is the key read
    save = next(s for s in steps if s.get("click") == "sales.save")
    assert save.get("commits") is True and not any(s.get("commits") for s in steps if s is not save)
    key = [s for s in steps if "read" in s and s.get("key_step")]
    assert key == [{"read": {"target": "sales.number", "into": "number", "pattern": "^(\\d+)$"}, "key_step": True}], key
    assert "keeps '1' of '1'" in output
