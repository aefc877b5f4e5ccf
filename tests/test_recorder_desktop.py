"""Record a payment posting on the real LEDGER/AR under Xvfb with synthetic input (xdotool), then
replay the recorded recipe with another payment on a fresh ledger and check LEDGER's database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import yaml

from runner import load_selector_map

from .conftest import LEDGER_PASSWORD, Ledger, make_payments


SAMPLE = ["BANK-REC-01", "C1001", 120.50, date(2026, 11, 2)]
REPLAY = ["BANK-REP-77", "C1004", 987.65, date(2026, 12, 24)]
# Where LEDGER/AR 3.1 draws its controls at its default window position.
USER, PASSWORD_FIELD, SIGN_ON = (290, 213), (290, 248), (275, 293)
ACCOUNT, AMOUNT, REFERENCE, PAID_ON, POST = (262, 213), (280, 248), (325, 283), (271, 318), (275, 363)
DIALOG_OK = (474, 346)


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True)
    time.sleep(0.35)  # a person's pace: the screen sampler sees each screen before the next action


def type_into(point: tuple[int, int], text: str, select: str = "shift+home") -> None:
    """Click into a field, select what it holds the way people do (each becomes one fill), type."""
    clicks = {"double-click": "2", "triple-click": "3"}.get(select, "1")
    xdo("mousemove", str(point[0]), str(point[1]), "click", "--repeat", clicks, "--delay", "80", "1")
    if select == "shift+home":
        xdo("key", "End", "shift+Home")
    elif select == "ctrl+a":
        xdo("key", "ctrl+a")
    xdo("type", "--delay", "20", text)


def with_ledger_command(project: Path, command: str) -> None:
    path = project / "backroom.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["apps"]["ledger"]["command"] = command
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def wait_for_text(path: Path, text: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        assert process.poll() is None and time.monotonic() < deadline, path.read_text()
        time.sleep(0.1)


@contextmanager
def desktop_recording(project: Path, env: dict, log: Path, *args: str) -> Iterator[subprocess.Popen]:
    """`backroom record desktop ARGS` while the block acts as a person; then Ctrl+Shift+F12 stops it, and
    it must end well."""
    with log.open("w") as out:
        recorder = subprocess.Popen([sys.executable, "-m", "runner.cli", "record", "desktop", *args], cwd=project,
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_text(log, "Recording:", recorder)
        yield recorder
        xdo("key", "ctrl+shift+F12")
        recorder.wait(timeout=30)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert recorder.returncode == 0, log.read_text()
    assert "Recording ended (Ctrl+Shift+F12)" in log.read_text(), log.read_text()


def test_recorded_payment_posting_replays_on_a_fresh_ledger(project, ledger, screen, tmp_path):
    (project / "selectors" / "ledger.yaml").unlink()
    shutil.rmtree(project / "selectors" / "ledger")
    with_ledger_command(project, ledger.command())
    sample = make_payments(tmp_path / "sample.xlsx", [SAMPLE])
    log = tmp_path / "recorder.log"
    env = {**os.environ, "BACKROOM_SECRET_LEDGER_PASSWORD": LEDGER_PASSWORD}
    with desktop_recording(project, env, log, "--app", "ledger", "--out", "recipes/recorded-payment.yaml",
                           "--sample", str(sample), "--bot", "post-payments"):
        time.sleep(0.5)
        type_into(USER, "clerk")
        type_into(PASSWORD_FIELD, LEDGER_PASSWORD)
        xdo("mousemove", str(SIGN_ON[0]), str(SIGN_ON[1]), "click", "1")
        xdo("key", "F3")
        type_into(ACCOUNT, SAMPLE[1], select="ctrl+a")
        type_into(AMOUNT, f"{SAMPLE[2]:.2f}", select="triple-click")
        type_into(REFERENCE, SAMPLE[0], select="double-click")
        type_into(PAID_ON, SAMPLE[3].isoformat())
        xdo("mousemove", str(POST[0]), str(POST[1]), "click", "1")
        time.sleep(0.5)
        xdo("mousemove", str(DIALOG_OK[0]), str(DIALOG_OK[1]), "click", "1")
        xdo("key", "ctrl+shift+F9")   # a checkpoint screenshot
    output = log.read_text()
    posted = ledger.payments()
    assert [p["payment_ref"] for p in posted] == [SAMPLE[0]]  # the recording posted the sample for real

    recipe_text = (project / "recipes" / "recorded-payment.yaml").read_text()
    map_text = (project / "selectors" / "ledger.yaml").read_text()
    for text in (recipe_text, map_text, output):
        assert LEDGER_PASSWORD not in text
    steps = yaml.safe_load(recipe_text)["steps"]
    assert steps[0] == {"launch": "ledger"}
    fills = {s["fill"]["target"]: s["fill"]["value"] for s in steps if "fill" in s}
    # fields are named after their labels as Tesseract reads them ("User ID:", "Account no:", "Date:")
    assert fills == {"main.user_id": "{{ app.user }}", "main.password": "{{ secrets.ledger_password }}",
                     "main.account_no": "{{ item.account }}", "main.amount": "{{ item.amount }}",
                     "main.payment_ref": "{{ item.payment_ref }}",
                     "main.date": "{{ item.paid_on.strftime('%Y-%m-%d') }}"}, (steps, output)
    assert [s for s in steps if "press" in s] == [{"press": "F3"}]   # selecting before typing is no step
    clicks = [s["click"] for s in steps if "click" in s]
    assert clicks == ["main.sign_on", "main.post", "posted.ok"], clicks  # named after the words on the buttons
    ok = steps.index({"click": clicks[-1]})
    assert steps[ok - 1] == {"wait_for": clicks[-1]}   # the dialog is a screen of its own, waited for
    assert steps[-1] == {"screenshot": "checkpoint-1"}
    selector_map = load_selector_map(project / "selectors" / "ledger.yaml")
    assert selector_map.kind == "desktop" and selector_map.get("main.password").secret
    account = selector_map.get("main.account_no")
    assert account.candidates[0].strategy == "anchor" and account.candidates[0].image_path.is_file()
    for name in clicks:
        assert selector_map.get(name).candidates[0].strategy == "image"

    # Replay with another payment on a fresh ledger.
    (tmp_path / "fresh").mkdir()
    fresh = Ledger(tmp_path / "fresh")
    bot = project / "bots" / "recorded-payments"
    bot.mkdir()
    definition = yaml.safe_load((project / "bots" / "post-payments" / "bot.yaml").read_text())
    definition.update(name="recorded-payments", recipes=["recorded-payment"], output={"columns": {}})
    for key in ("verify", "verify_when"):
        definition.pop(key)
    (bot / "bot.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    payments = make_payments(tmp_path / "replay.xlsx", [REPLAY])
    run = subprocess.run([sys.executable, "-m", "runner.cli", "run", "recorded-payments", "--input", str(payments),
                          "--app-command", f"ledger={fresh.command()}"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    replayed = fresh.payments()
    assert [(p["payment_ref"], p["account"], Decimal(p["amount_cents"]) / 100) for p in replayed] == \
        [(REPLAY[0], REPLAY[1], Decimal(str(REPLAY[2])))]
