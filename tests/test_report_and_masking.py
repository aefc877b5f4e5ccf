"""The audit report read in a real browser, and secrets masked in screenshots."""

from __future__ import annotations

import json
import re

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from runner import RunRequest, load_settings, start_run

from .conftest import PASSWORD, SUPERVISOR, make_orders


def magenta_pixels(path) -> int:
    image = Image.open(path).convert("RGB")
    return sum(1 for r, g, b in image.get_flattened_data() if r > 200 and g < 90 and b > 200)


@pytest.fixture
def finished_run(project, billing, tmp_path):
    workbook, _ = make_orders(tmp_path / "orders.xlsx", 3)
    return start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                app_urls={"billing": billing.url}))


def test_report_shows_steps_with_screenshots_and_filters_by_item(finished_run, project):
    refs = [i.reference for i in finished_run.items]
    with sync_playwright() as p:
        browser = p.chromium.launch(**load_settings(project).browser.launch_options())
        page = browser.new_page()
        page.goto(finished_run.report_path.as_uri())
        assert "rekey-orders" in page.title()
        assert page.locator("section.item").count() == 3
        first = page.locator(f'section.item[data-ref="{refs[0]}"]')
        save_row = first.locator("tr", has_text="order.save")
        image = save_row.locator("td.shot img")
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") == 1024  # the full screen, shown as a thumbnail
        assert "healed" not in first.inner_text()

        # steps in reading order: the call to sign on comes before the steps it ran, numbered 1, 2, 3...
        rows = first.locator("tr[data-seq]")
        texts = rows.all_inner_texts()
        numbers = [int(t.split()[0]) for t in texts]
        assert numbers == list(range(1, len(texts) + 1))
        calls = [n for n, t in enumerate(texts) if t.split("\t")[1].startswith("call")]
        signing_on = [n for n, t in enumerate(texts) if "login.user_id" in t]
        assert signing_on and calls and calls[0] < signing_on[0], texts   # the first item signs on

        # what each item came to, at the top: its outcome and what was read back
        outcomes = page.locator("#outcomes tr[data-ref]")
        expect(outcomes).to_have_count(3)
        for item in finished_run.items:
            row = page.locator(f'#outcomes tr[data-ref="{item.reference}"]')
            expect(row).to_contain_text("Done")
            expect(row).to_contain_text(f"Confirmation: {item.output['Confirmation']}")

        # a screenshot opens large on a click, and closes again
        image.click()
        expect(page.locator("#large")).to_be_visible()
        assert page.locator("#large img").evaluate("i => i.src") == image.evaluate("i => i.src")
        page.keyboard.press("Escape")
        expect(page.locator("#large")).to_be_hidden()

        # the search finds an item by a value read back, not only by its reference
        page.fill("#filter", finished_run.items[2].output["Confirmation"].lower())
        expect(page.locator("section.item:visible")).to_have_count(1)
        assert page.locator(f'section.item[data-ref="{finished_run.items[2].reference}"]').is_visible()
        expect(page.locator("#outcomes tr[data-ref]:visible")).to_have_count(1)   # the table at the top follows
        page.fill("#filter", refs[1])
        assert page.locator("section.item:visible").count() == 1
        assert page.locator(f'section.item[data-ref="{refs[1]}"]').is_visible()
        assert not page.locator("#nothing-shown").is_visible()
        # a filter that finds nothing says so, instead of a blank page
        page.fill("#filter", "SO-NOPE")
        expect(page.locator("#nothing-shown")).to_have_text('No item matches "SO-NOPE".')
        page.fill("#filter", "")
        page.check("#only-problems")   # a clean run: nothing needs a person
        expect(page.locator("#nothing-shown")).to_have_text("Nothing in this run needs a person.")
        # local time to the second, with its zone, and how long the run took
        when = page.locator("#when").inner_text()
        assert re.search(r"Started \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+ · finished .* · took \d", when), when
        assert not re.search(r"\dT\d|\d\.\d", when.split("·")[0]), when   # no ISO 'T', no fractions of a second
        browser.close()


def test_secrets_are_masked_in_screenshots_and_absent_from_logs(finished_run, project):
    events = [json.loads(line) for line in (finished_run.run_dir / "events.jsonl").read_text().splitlines()]
    login_shot = next(e["screenshot"] for e in events if e.get("target") == "login.password")
    supervisor_shot = next(e["screenshot"] for e in events if e.get("target") == "order.supervisor_code")
    second_item = finished_run.items[1].reference  # signed on already: its first screen is the empty form
    open_shot = next(e["screenshot"] for e in events if e.get("action") == "open" and e["item"] == second_item)
    # Password and supervisor-code fields are painted over (solid magenta) in the screenshots taken after typing.
    assert magenta_pixels(finished_run.run_dir / login_shot) > 500
    assert magenta_pixels(finished_run.run_dir / supervisor_shot) > 500
    # ... and the empty order form before anything secret was typed has none (the check can fail).
    assert magenta_pixels(finished_run.run_dir / open_shot) < 50
    for path in (project / "logs").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and SUPERVISOR.encode() not in data, path
