"""Benchmark: image lookups on a 1920x1080 screen, and seconds per payment posted in LEDGER/AR.

Lookups: Backroom's desktop driver (mss capture + OpenCV on grayscale) against
pyautogui's own locateOnScreen (pyscreeze: a Pillow capture, then OpenCV), both with and
without a search region, finding the same template on the same screen in the same run.

Postings: the post-payments bot (verify-before-act lookup, selector chains, events,
a screenshot after each screen-changing step, report) against a plain pyautogui script
that clicks fixed coordinates with fixed sleeps and checks and records nothing (and the bot
with several workers, each on a virtual screen of its own: payments per hour), each
against its own fresh LEDGER database on the same virtual display, in round-robin rounds
after a warm-up, every run checked in LEDGER's database.

    .venv/bin/python benchmarks/desktop_benchmark.py [--lookups 50] [--payments 20] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mss  # noqa: E402
from loguru import logger  # noqa: E402

from runner.demo.ledger_desktop import create_ledger  # noqa: E402
from runner.demo.sample_payments import sample_payment_rows, write_payments_workbook  # noqa: E402
from runner import RunRequest, load_settings, start_run  # noqa: E402
from runner.drivers.display import virtual_display  # noqa: E402
from runner.drivers.desktop import DesktopDriver, load_pyautogui  # noqa: E402
from runner.project.selector_map import Selector, load_selector_map  # noqa: E402
from runner.drivers.x_windows import windows_on_screen  # noqa: E402
from Xlib.display import Display  # noqa: E402

PASSWORD = "bench-ledger-4410"


def start_ledger(db: Path) -> subprocess.Popen:
    """LEDGER/AR started, once its sign-on window is on the screen (as a careful script waits for it)."""
    process = subprocess.Popen([sys.executable, "-m", "runner.demo.ledger_desktop", "--db", str(db)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display = Display(os.environ["DISPLAY"])
    deadline = time.monotonic() + 60
    last = None
    try:
        with mss.MSS() as grabber:
            while True:   # until its window is shown and drawn: two looks in a row see the same screen
                shown = [w for w in windows_on_screen(display, titled_only=True) if (w.title or "").startswith("LEDGER/AR")]
                now = bytes(grabber.grab(grabber.monitors[1]).raw) if shown else None
                if now is not None and now == last:
                    return process
                last = now
                if process.poll() is not None:
                    raise SystemExit(f"LEDGER/AR exited with {process.returncode} before showing its window")
                if time.monotonic() > deadline:
                    raise SystemExit("LEDGER/AR showed no window within 60 s")
                time.sleep(0.1)
    finally:
        display.close()


def timed(fn, repeat: int) -> float:
    fn()  # warm caches (template files, capture buffers)
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat * 1000


def lookups(repeat: int, folder: Path) -> list[tuple[str, float]]:
    pyautogui = load_pyautogui(load_settings(ROOT).desktop, attended=False)

    ledger_map = load_selector_map(ROOT / "selectors" / "ledger.yaml")
    button = ledger_map.get("signon.button")
    in_region, anywhere = button.candidates[0], button.candidates[1]
    only_region = Selector("signon.button", (in_region,))
    only_anywhere = Selector("signon.button", (anywhere,))
    app = start_ledger(create_ledger(folder / "lookup.db", password=PASSWORD))
    driver = DesktopDriver(load_settings(ROOT), {}, ROOT, attended=False)
    driver.start()
    try:
        assert driver.find_now(only_region) and driver.find_now(only_anywhere), "the template is not on the screen"
        image = str(anywhere.image_path)
        assert pyautogui.locateOnScreen(image, confidence=0.9, grayscale=True), "pyautogui cannot find it"
        return [
            ("Backroom, search region", timed(lambda: driver.find_now(only_region), repeat)),
            ("pyautogui.locateOnScreen, region", timed(lambda: pyautogui.locateOnScreen(
                image, confidence=0.9, grayscale=True, region=in_region.region), repeat)),
            ("Backroom, whole screen", timed(lambda: driver.find_now(only_anywhere), repeat)),
            ("pyautogui.locateOnScreen, whole screen", timed(lambda: pyautogui.locateOnScreen(
                image, confidence=0.9, grayscale=True), repeat)),
        ]
    finally:
        driver.stop()
        app.terminate()
        app.wait()


def plain_pyautogui(rows: list, db: Path) -> float:
    """What a hand-written script does: fixed coordinates and sleeps, nothing checked or recorded."""
    pyautogui = load_pyautogui(load_settings(ROOT).desktop, attended=False)  # same pause, this display
    started = time.perf_counter()   # from the program's start, as the bot's run starts it too
    app = start_ledger(db)
    try:
        pyautogui.click(290, 213)
        pyautogui.write("clerk")
        pyautogui.click(290, 248)
        pyautogui.write(PASSWORD)
        pyautogui.press("enter")
        time.sleep(0.3)
        for ref, account, amount, paid_on in rows:
            pyautogui.press("f3")
            time.sleep(0.2)
            for (x, y), value in (((263, 213), account), ((281, 248), f"{amount:.2f}"), ((326, 283), ref),
                                  ((272, 318), paid_on.isoformat())):
                pyautogui.click(x, y)
                pyautogui.hotkey("end")
                pyautogui.hotkey("shift", "home")
                pyautogui.press("backspace")
                pyautogui.write(value)
            pyautogui.click(276, 363)
            time.sleep(0.3)
            pyautogui.press("enter")  # OK on the "Posted" dialog
            time.sleep(0.2)
        return time.perf_counter() - started
    finally:
        app.terminate()
        app.wait()


def posted(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(DISTINCT payment_ref) FROM payments").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=50)
    parser.add_argument("--payments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="2", help="the bot again with these many workers, each on a virtual "
                        "screen of its own (comma-separated; 0 for none)")
    args = parser.parse_args()
    logger.remove()
    os.environ["BACKROOM_SECRET_LEDGER_PASSWORD"] = PASSWORD
    folder = Path(tempfile.mkdtemp(prefix="backroom-desktop-bench-"))

    with virtual_display(1920, 1080):
        results = lookups(args.lookups, folder)
    print(f"\nImage lookup on a 1920x1080 screen ({args.lookups} lookups each, same template and screen)")
    print(f"{'method':<42}{'ms per lookup':>15}{'vs pyautogui':>14}")
    baseline = {"region": results[1][1], "whole screen": results[3][1]}
    for name, ms in results:
        versus = baseline["region" if "region" in name else "whole screen"]
        print(f"{name:<42}{ms:>15.1f}{ms / versus:>13.3f}x")

    rows = sample_payment_rows(args.payments, seed=9)
    project = folder / "project"
    project.mkdir()
    for part in ("bots", "recipes", "selectors", "backroom.yaml"):
        (project / part).symlink_to(ROOT / part)
    (project / "logs").mkdir()
    many = [int(n) for n in args.workers.split(",") if int(n) > 1]
    contestants = ("plain pyautogui script (fixed coords)", "Backroom post-payments bot",
                   *(f"Backroom, {n} workers (a screen each)" for n in many))
    workers_of = {name: int(name.split()[1]) if "workers" in name else 1 for name in contestants}
    wall: dict[str, list[float]] = {name: [] for name in contestants}
    cpu: dict[str, list[float]] = {name: [] for name in contestants}

    def post(name: str, run_no: int, some: list) -> tuple[float, float]:
        db = create_ledger(folder / f"{run_no}-{contestants.index(name)}.db", password=PASSWORD)
        before = cpu_seconds()
        if name == contestants[0]:
            seconds = plain_pyautogui(some, db)
        else:
            started = time.perf_counter()
            tag = f"{run_no}-{contestants.index(name)}"
            result = start_run(RunRequest(bot="post-payments", input_path=write_payments_workbook(
                                              folder / f"{tag}.xlsx", some), project=project,
                                          queue=folder / f"queue-{tag}.sqlite3", workers=workers_of[name],
                                          virtual_display=workers_of[name] > 1,
                                          app_commands={"ledger": f"{{python}} -m runner.demo.ledger_desktop --db {db}"}))
            seconds = time.perf_counter() - started
            if result.counts.done != len(some):
                raise SystemExit(f"the bot did not post every payment: {result.counts}")
        used = cpu_seconds() - before
        if posted(db) != len(some):
            raise SystemExit(f"{name} left {posted(db)} payments in LEDGER/AR for {len(some)} rows")
        return seconds, used

    with virtual_display(1024, 768):
        for name in contestants:   # warm-up: the first start of the program, caches
            post(name, -1 - contestants.index(name), rows[:1])
        for round_no in range(args.rounds):
            turn = round_no % len(contestants)
            for name in contestants[turn:] + contestants[:turn]:   # round-robin
                seconds, used = post(name, round_no, rows)
                wall[name].append(seconds)
                cpu[name].append(used)
    n = args.payments
    base_wall, base_cpu = statistics.median(wall[contestants[0]]), statistics.median(cpu[contestants[0]])
    print(f"\nPosting {n} payments into LEDGER/AR (1024x768 virtual display), {args.rounds} round-robin rounds after "
          "a warm-up (medians; CPU includes LEDGER/AR's, which both start)")
    print(f"{'method':<42}{'s per payment':>15}{'vs plain':>10}{'CPU s/payment':>15}{'CPU vs plain':>14}"
          f"{'payments/hour':>15}")
    for name in contestants:
        seconds, used = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:<42}{seconds / n:>15.2f}{seconds / base_wall:>9.2f}x{used / n:>15.2f}{used / base_cpu:>13.2f}x"
              f"{3600 * n / seconds:>15.0f}")


def cpu_seconds() -> float:
    """CPU of this process and of the processes it started and has waited for (the program, a browser)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

if __name__ == "__main__":
    main()
