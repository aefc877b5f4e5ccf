"""The payment-posting bot against the real LEDGER/AR desktop program on a real X display (Xvfb).

Each test checks LEDGER's own database: what was posted, how often, for how much.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
from openpyxl import load_workbook
from PIL import Image

from runner.demo.ledger_desktop import LedgerStore
from runner import ExitCode, RunRequest, start_run

from .conftest import LEDGER_PASSWORD, make_payments

ROWS = [
    ["BANK-0001", "C1001", 120.50, "2026-11-02"],
    ["BANK-0002", "C1013", 89.99, "2026-11-03"],
    ["Überweisung 7/€", "C1004", 1500.00, "2026-11-04"],  # typed through the clipboard
    ["BANK-0004", "C9999", 10.00, "2026-11-05"],            # LEDGER refuses: no such account
    ["BANK-0005", "C1007", 0.01, "2026-11-06"],
]


def events_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def run_bot(project: Path, workbook: Path, command: str, **options):
    return start_run(RunRequest(bot="post-payments", input_path=workbook, project=project,
                                app_commands={"ledger": command}, **options))


def test_every_payment_posted_once_with_a_screenshot_per_step(project, ledger, screen, tmp_path):
    workbook = make_payments(tmp_path / "payments.xlsx", [[r[0], r[1], r[2], _date(r[3])] for r in ROWS])
    result = run_bot(project, workbook, ledger.command(), screenshots="every")

    assert result.exit_code == ExitCode.ITEMS_FAILED
    outcomes = {i.reference: i.outcome for i in result.items}
    assert outcomes == {"BANK-0001": "done", "BANK-0002": "done", "Überweisung 7/€": "done",
                        "BANK-0004": "business_exception", "BANK-0005": "done"}
    refused = next(i for i in result.items if i.reference == "BANK-0004")
    assert "Account C9999 not found" in refused.message

    posted = ledger.payments()
    assert sorted(p["payment_ref"] for p in posted) == sorted(r[0] for r in ROWS if r[1] != "C9999")  # each once
    by_ref = {p["payment_ref"]: p for p in posted}
    for ref, account, amount, paid_on in ROWS:
        if account == "C9999":
            continue
        assert by_ref[ref]["account"] == account
        assert Decimal(by_ref[ref]["amount_cents"]) / 100 == Decimal(str(amount))
        assert by_ref[ref]["payment_date"] == paid_on

    # The posting reference read back from LEDGER's dialog is in the result workbook.
    sheet = load_workbook(result.results_path).active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        if row[0] in by_ref:
            assert row[header.index("Posting Ref")] == by_ref[row[0]]["posting_ref"]

    # A screenshot for every step that ran, each a real picture of the screen with its hash.
    events = events_of(result.run_dir)
    steps = [e for e in events if e["kind"] == "step" and e["outcome"] != "skip" and e["action"] != "call"]
    assert steps and all(e.get("screenshot") for e in steps)
    for event in steps[:12]:
        picture = Image.open(result.run_dir / event["screenshot"])
        assert picture.size == (1024, 768)
    report = result.report_path.read_text(encoding="utf-8")
    assert report.count("screenshots/") >= len({e["screenshot"] for e in steps})

    # After the refused payment the app was restarted, so the next item began on a clean screen.
    resets = [e for e in events if e["kind"] == "app" and e["outcome"] == "reset"]
    assert [e["item"] for e in resets] == ["BANK-0004"]

    # The sign-on password is in no event, no log line, and painted over in the sign-on screenshot.
    for name in ("events.jsonl", "run.log", "report.html"):
        assert LEDGER_PASSWORD not in (result.run_dir / name).read_text(encoding="utf-8")
    typed = next(e for e in events if e.get("target") == "signon.password")
    assert typed["value"] == "****"
    shot = np.asarray(Image.open(result.run_dir / typed["screenshot"]).convert("RGB")).astype(int)
    magenta = (abs(shot[:, :, 0] - 255) < 40) & (shot[:, :, 1] < 60) & (abs(shot[:, :, 2] - 255) < 40)
    assert magenta[225:270, 170:410].mean() > 0.5  # the password field, covered
    # On the posting screen that follows, in the same window, the mask does not stay where the password
    # was: it would cover the fields posted there.
    later = next(e for e in events if e["seq"] > typed["seq"] and e["item"] == typed["item"]
                 and (e.get("target") or "").startswith("post.") and e.get("screenshot"))
    shot = np.asarray(Image.open(result.run_dir / later["screenshot"]).convert("RGB")).astype(int)
    magenta = (abs(shot[:, :, 0] - 255) < 40) & (shot[:, :, 1] < 60) & (abs(shot[:, :, 2] - 255) < 40)
    assert magenta.mean() < 0.001, later["target"]


def test_a_moved_window_still_works_and_the_heal_is_recorded(project, ledger, screen, tmp_path):
    workbook = make_payments(tmp_path / "payments.xlsx", [["MOVED-1", "C1002", 42.00, _date("2026-11-10")],
                                                          ["MOVED-2", "C1003", 17.25, _date("2026-11-11")]])
    # The window opens 170 px right and 110 px down of where the map's search regions expect it.
    result = run_bot(project, workbook, ledger.command("--x", "210", "--y", "150"))

    assert result.exit_code == ExitCode.OK, result.items
    assert sorted(p["payment_ref"] for p in ledger.payments()) == ["MOVED-1", "MOVED-2"]
    healed = [e for e in events_of(result.run_dir) if e.get("healed")]
    assert {e["target"] for e in healed} >= {"post.button", "post.account", "dialog.ok"}
    for event in healed:
        assert "region=" not in event["selector"]  # the whole-screen candidate won ...
        assert any("region=" in tried for tried in event["data"]["healed_from"])  # ... after the region missed
    assert "healed" in (result.run_dir / "run.log").read_text(encoding="utf-8")


def test_the_slate_theme_still_matches(project, ledger, screen, tmp_path):
    """Another colour scheme: grayscale correlation ignores it, so nothing needs healing."""
    workbook = make_payments(tmp_path / "payments.xlsx", [["SLATE-1", "C1005", 310.00, _date("2026-11-12")]])
    result = run_bot(project, workbook, ledger.command("--theme", "slate"))

    assert result.exit_code == ExitCode.OK, result.items
    assert [p["payment_ref"] for p in ledger.payments()] == ["SLATE-1"]
    shot = next(e["screenshot"] for e in events_of(result.run_dir) if e.get("screenshot"))
    banner = Image.open(result.run_dir / shot).convert("RGB").getpixel((400, 86))  # right of the banner text
    assert all(abs(a - b) < 25 for a, b in zip(banner, (0x3a, 0x6e, 0xa5)))  # slate's blue, not classic navy
    assert not any(e.get("healed") for e in events_of(result.run_dir))


def test_record_locked_is_retried_on_a_virtual_display_of_its_own(project, ledger, screen, tmp_path):
    workbook = make_payments(tmp_path / "payments.xlsx", [["LOCK-1", "C1003", 55.00, _date("2026-11-12")],
                                                          ["LOCK-2", "C1008", 66.00, _date("2026-11-12")]])
    before = os.environ["DISPLAY"]
    result = run_bot(project, workbook, ledger.command("--lock-once", "C1003"), virtual_display=True)

    assert os.environ["DISPLAY"] == before  # the run's own display came and went
    assert result.exit_code == ExitCode.OK, result.items
    locked = next(i for i in result.items if i.reference == "LOCK-1")
    assert locked.outcome == "done" and locked.attempts == 2
    assert sorted(p["payment_ref"] for p in ledger.payments()) == ["LOCK-1", "LOCK-2"]  # posted once each
    events = events_of(result.run_dir)
    retrying = [e for e in events if e["kind"] == "item" and e["outcome"] == "retrying"]
    assert len(retrying) == 1 and "locked by user BATCH01" in retrying[0]["message"]
    failed_step = next(e for e in events if e["kind"] == "step" and e["outcome"] == "fail")
    assert failed_step["data"]["exception"] == "system" and failed_step["screenshot"]


def test_a_payment_already_on_file_is_not_posted_again(project, ledger, screen, tmp_path):
    store = LedgerStore(ledger.db)
    earlier = store.post_payment("C1006", "75.00", "BYHAND-1", "2026-11-01", "mary")  # a clerk was quicker
    store.close()
    workbook = make_payments(tmp_path / "payments.xlsx", [["BYHAND-1", "C1006", 75.00, _date("2026-11-01")],
                                                          ["NEW-1", "C1006", 20.00, _date("2026-11-01")]])
    result = run_bot(project, workbook, ledger.command())

    assert result.exit_code == ExitCode.OK, result.items
    assert [p["payment_ref"] for p in ledger.payments()] == ["BYHAND-1", "NEW-1"]
    by_ref = {i.reference: i for i in result.items}
    assert by_ref["BYHAND-1"].variables["posting_ref"] == earlier.posting_ref
    assert "already has this payment" in by_ref["BYHAND-1"].message

    # The same workbook again posts nothing: the queue knows both are done.
    again = run_bot(project, workbook, ledger.command())
    assert again.exit_code == ExitCode.OK
    assert len(ledger.payments()) == 2


def test_no_display_fails_at_once_and_loses_nothing(project, ledger, tmp_path):
    workbook = make_payments(tmp_path / "payments.xlsx", [["NODISP-1", "C1001", 5.00, _date("2026-11-01")]])
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["COLUMNS"] = "200"
    command = [sys.executable, "-m", "runner.cli", "run", "post-payments", "-i", str(workbook),
               "--app-command", f"ledger={ledger.command()}"]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitCode.ENVIRONMENT
    assert "no display" in done.stderr and "--virtual-display" in done.stderr
    assert ledger.payments() == []

    # The same command with --virtual-display does the work, unattended.
    done = subprocess.run(command + ["--virtual-display"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert [p["payment_ref"] for p in ledger.payments()] == ["NODISP-1"]


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text)


def test_the_driver_reads_a_balance_and_exports_the_statement(ledger, screen, tmp_path):
    """The desktop driver's own calls on the real app: launch, sign on, F2, type, read back, export."""
    import csv

    from runner.drivers.desktop import DesktopDriver
    from runner.project.selector_map import load_selector_map
    from runner.project.settings import AppSettings, Settings

    root = Path(__file__).resolve().parent.parent
    ledger_map = load_selector_map(root / "selectors" / "ledger.yaml")
    export_dir = tmp_path / "exports"
    app = AppSettings(command=ledger.command("--export-dir", str(export_dir)), window="LEDGER/AR 3.1")
    driver = DesktopDriver(Settings(), {"ledger": app}, root, attended=False)
    driver.start()
    try:
        assert driver.launch("ledger", app.window, 30_000).startswith("started")
        assert driver.launch("ledger", app.window, 30_000) == "already running"
        driver.wait_for_any([ledger_map.get("signon.title")], True, 5000)
        driver.fill(ledger_map.get("signon.user"), "clerk", 5000)
        driver.fill(ledger_map.get("signon.password"), LEDGER_PASSWORD, 5000, secret=True)
        driver.click(ledger_map.get("signon.button"), 5000)
        driver.wait_for_any([ledger_map.get("post.title")], True, 5000)
        driver.press(None, "F2", 5000)
        driver.wait_for_any([ledger_map.get("lookup.title")], True, 5000)
        driver.fill(ledger_map.get("lookup.account"), "c1013", 5000)
        driver.click(ledger_map.get("lookup.find"), 5000)
        balance, _ = driver.read(ledger_map.get("lookup.balance"), None, 5000)  # a read-only field
        driver.click(ledger_map.get("lookup.export"), 5000)
        driver.wait_for_any([ledger_map.get("dialog.exported")], True, 5000)
        message, _ = driver.read(ledger_map.get("dialog.message"), None, 5000)
        assert message == "Statement written: statement-C1013.csv"
    finally:
        driver.stop()
    assert driver.close_app("ledger") == "not running"  # stop() closed what launch started
    rows = list(csv.reader((export_dir / "statement-C1013.csv").open(encoding="utf-8")))
    assert rows[0] == ["Account", "Name", "Type", "Document", "Date", "Amount"]
    assert rows[1][1] == "Café Müller"
    store = LedgerStore(ledger.db)
    expected = Decimal(store.balance("C1013")) / 100
    assert Decimal(balance.replace(",", "")) == expected
    assert rows[-1][2] == "BALANCE" and Decimal(rows[-1][5].replace(",", "")) == expected
    assert sum(1 for r in rows if r[2] == "INVOICE") == len(store.open_items("C1013"))
    store.close()


def test_the_fail_safe_stops_a_watched_run_like_ctrl_c(screen):
    """With the fail-safe on, a mouse pushed into a screen corner stops the next action."""
    import pytest

    from runner.drivers.desktop import DesktopDriver
    from runner.project.selector_map import Candidate, Selector
    from runner.project.settings import Settings

    settings = Settings()
    settings.desktop.failsafe = "auto"
    watched = DesktopDriver(settings, {}, Path("."), attended=True)
    watched.start()
    try:
        assert watched._gui.FAILSAFE is True  # "auto" on a screen a person can see
        watched._gui.FAILSAFE = False      # (only so the test itself can reach the corner)
        watched._gui.moveTo(0, 0)          # the operator slams the mouse into the corner
        watched._gui.FAILSAFE = True
        with pytest.raises(KeyboardInterrupt, match="fail-safe"):
            watched.click(Selector("somewhere", (Candidate("point", "", point=(500, 400)),)), 1000)
    finally:
        watched.stop()
    unattended = DesktopDriver(settings, {}, Path("."), attended=False)
    unattended.start()
    try:
        assert unattended._gui.FAILSAFE is False  # nobody can reach a virtual screen's corner
        unattended._gui.moveTo(0, 0)
        unattended.click(Selector("somewhere", (Candidate("point", "", point=(500, 400)),)), 1000)
        assert unattended._gui.position() == (500, 400)
    finally:
        unattended.stop()


def test_an_app_without_a_window_title_is_started_without_waiting(screen):
    import time

    from runner.drivers.desktop import DesktopDriver
    from runner.project.settings import AppSettings, Settings

    quiet = AppSettings(command='{python} -c "import time; time.sleep(60)"')
    driver = DesktopDriver(Settings(), {"quiet": quiet}, Path("."), attended=False)
    driver.start()
    try:
        started = time.monotonic()
        assert "no window title to wait for" in driver.launch("quiet", None, 30_000)
        assert time.monotonic() - started < 5  # not the 30 s a window would be waited for
        assert driver.launch("quiet", None, 30_000) == "already running"
        assert driver.close_app("quiet") == "quit"   # no window to close: asked to quit (SIGTERM), and it did
    finally:
        driver.stop()


def test_a_picture_taken_while_the_app_shows_a_secret_paints_its_window_over(ledger, screen, tmp_path):
    """Text cannot be located on the desktop: when the app showed something holding a secret, the window in
    front is painted over for that picture (and the driver says so); other pictures are not."""
    from runner.drivers.base import ScreenshotRequest
    from runner.drivers.desktop import DesktopDriver
    from runner.project.selector_map import load_selector_map
    from runner.project.settings import AppSettings, Settings

    root = Path(__file__).resolve().parent.parent
    ledger_map = load_selector_map(root / "selectors" / "ledger.yaml")
    app = AppSettings(command=ledger.command(), window="LEDGER/AR 3.1")
    driver = DesktopDriver(Settings(), {"ledger": app}, root, attended=False)
    driver.start()
    try:
        driver.launch("ledger", app.window, 30_000)
        driver.wait_for_any([ledger_map.get("signon.title")], True, 5000)
        plain = driver.screenshot(ScreenshotRequest("png"))
        again = driver.screenshot(ScreenshotRequest("png"))
        painted = driver.screenshot(ScreenshotRequest("png", secret_shown=True))
    finally:
        driver.stop()
    assert plain.painted == [] and painted.painted
    assert "LEDGER/AR 3.1" in painted.painted[0] and "painted over" in painted.painted[0]
    # the screen had not changed: the same picture, not encoded again (the engine then stores it once)
    assert again.data() is plain.data()

    def magenta_share(picture):
        shot = np.asarray(Image.open(io.BytesIO(picture.data())).convert("RGB")).astype(int)
        magenta = (abs(shot[:, :, 0] - 255) < 40) & (shot[:, :, 1] < 60) & (abs(shot[:, :, 2] - 255) < 40)
        return magenta.mean()

    assert magenta_share(plain) < 0.001 and magenta_share(painted) > 0.3
