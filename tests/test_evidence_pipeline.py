"""Screenshots off the critical path: the browser encodes a picture while the steps after it that only look
go ahead; an event names its picture and SHA-256 only once the picture is on disk; a screen that did not
change is stored once. Shown in real Chromium on BILLSYS, checked in the run's own files and its seal."""

from __future__ import annotations

import hashlib
import json

import pytest

from runner import ExitCode, RunRequest, load_settings, start_run
from runner.audit.events import read_events
from runner.audit.signing import load_verifier
from runner.audit.verify import verify_run
from runner.drivers.web import WebDriver
from runner.drivers.web_capture import send_later

from .conftest import make_orders, orders_in_db

pytestmark = pytest.mark.web

SLOW = "new Promise(done => setTimeout(() => { (window.seen = window.seen || []).push('slow'); done(1); }, 400))"


def test_a_command_sent_later_lets_the_next_call_run_meanwhile(project, billing):
    driver = WebDriver(load_settings(project))
    driver.start()
    try:
        driver.begin_item()
        driver.open(billing.url + "/login", 10_000)
        assert driver._context is not None
        session = driver._context.new_cdp_session(driver.page)
        answer = send_later(session, "Runtime.evaluate", {"expression": SLOW, "awaitPromise": True})
        # this call starts after the slow one and is answered before it: the slow one did not hold it up
        driver.page.evaluate("() => (window.seen = window.seen || []).push('quick')")
        assert answer()["result"]["value"] == 1
        assert driver.page.evaluate("() => window.seen") == ["quick", "slow"]
    finally:
        driver.end_item()
        driver.stop()


def with_closing_pictures(project) -> None:
    """The order recipe ends with two pictures of the same, finished screen."""
    recipe = project / "recipes" / "enter-order.yaml"
    recipe.write_text(recipe.read_text() + "  - screenshot: saved\n  - screenshot: saved again\n")


def test_every_picture_is_on_disk_under_its_hash_before_its_event_and_a_still_screen_is_stored_once(
        project, billing, tmp_path):
    with_closing_pictures(project)
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 4, seed=5)
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": billing.url}))
    assert result.exit_code == ExitCode.OK, result.items
    assert len(orders_in_db(billing.settings.db_path)) == 4

    lines = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    # (a `call` step's own event follows the steps it ran: it ends after them)
    seqs = [line["seq"] for line in lines if line.get("action") != "call"]
    assert seqs == sorted(seqs), "events held back for a picture were written out of order"
    events = read_events(result.run_dir)
    named = {e["screenshot"]: e["screenshot_sha256"] for e in events if e.get("screenshot")}
    stored = {f"screenshots/{p.name}" for p in (result.run_dir / "screenshots").iterdir()}
    assert set(named) == stored, "a picture named by no event, or an event naming a missing picture"
    for relative, digest in named.items():
        assert hashlib.sha256((result.run_dir / relative).read_bytes()).hexdigest() == digest, relative

    for ref, *_ in rows:
        steps = [e for e in events if e.get("item") == ref and e["kind"] == "step"]
        first, second = [e for e in steps if e["action"] == "screenshot"]
        assert first["screenshot"] == second["screenshot"], "the unchanged screen was stored twice"
        fills = [e for e in steps if e["action"] in ("fill", "select", "check") and e["target"].startswith("order.")]
        assert len({e["screenshot"] for e in fills}) == 1 and fills[0]["screenshot"] != first["screenshot"]
        save = next(e for e in steps if e.get("target") == "order.save")
        read = next(e for e in steps if e["action"] == "read")
        # the key read only looked: it shares the save's picture, taken while it was read
        assert read["screenshot"] == save["screenshot"]

    verified = verify_run(result.run_dir, load_verifier(load_settings(project), project))
    assert verified.ok and not verified.findings, verified.findings
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert stored <= {a["path"] for a in manifest["artifacts"]}, "the seal does not cover every picture"
