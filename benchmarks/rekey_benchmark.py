"""Benchmark: seconds and CPU per order for Backroom (default audit policy) against a plain Playwright script.

All key the same orders into BILLSYS with the same clicks and locators, in the same process, each
against its own fresh app database, in round-robin rounds (the order rotates each round; the median
is printed). The plain script keeps one page for the whole run and records nothing. Backroom
resolves selector chains, reads every value back, writes events, screenshots and the report; it runs
twice: keeping the screen between clean items (the default, `clean_screen: after_failure`) and with a
fresh browser context per item (`clean_screen: per_item`); and once more with the browser's requests not
watched for writes (what the commit point the browser decides costs: each request passes the driver before
it goes out; only this benchmark can turn that off).

    .venv/bin/python benchmarks/rekey_benchmark.py --orders 50 [--rounds 3] [--delay-ms 0]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402
from playwright.sync_api import BrowserContext, sync_playwright  # noqa: E402

from runner.demo.billing_web import BillingSettings  # noqa: E402
from runner.demo.sample_orders import sample_rows, write_orders_workbook  # noqa: E402
from runner.demo.server import start_billing_app  # noqa: E402
from runner import RunRequest, load_settings, start_run  # noqa: E402

PASSWORD, SUPERVISOR = "bench-pass-7731", "4321"
FIELDS = [  # (xpath of the input in the main frame, value from the row)
    ("//td[normalize-space()='Order reference:']/following-sibling::td[1]/input", lambda r: r[0]),
    ("//label[contains(., 'Customer code')]/input", lambda r: r[1]),
    ("//td[normalize-space()='Item (SKU):']/following-sibling::td[1]/input", lambda r: r[2]),
    ("//td[normalize-space()='Quantity:']/following-sibling::td[1]/input", lambda r: str(r[3])),
    ("//td[normalize-space()='Unit price:']/following-sibling::td[1]/input", lambda r: f"{r[4]:.2f}"),
    ("//td[starts-with(normalize-space(), 'Ship date')]/following-sibling::td[1]/input",
     lambda r: r[5].strftime("%m/%d/%Y")),
    ("//td[normalize-space()='Supervisor code:']/following-sibling::td[1]/input", lambda r: SUPERVISOR),
    ("//td[normalize-space()='Notes:']/following-sibling::td[1]/textarea", lambda r: r[8]),
]


def plain_playwright(url: str, rows: list, png_dir: Path | None = None) -> float:
    """The baseline: one page, signed on once, nothing recorded (or, with png_dir, a PNG after each save)."""
    options = load_settings(ROOT).browser.launch_options()
    with sync_playwright() as p:
        browser = p.chromium.launch(**options)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.on("dialog", lambda d: d.accept())
        started = time.perf_counter()
        page.goto(f"{url}/login")
        page.fill("input[name=UID]", "clerk")
        page.fill("input[name=PWD]", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_load_state()
        for row in rows:
            page.goto(f"{url}/?main=/orders/new")
            main = page.frame_locator('frame[name="main"]')
            for xpath, value in FIELDS:
                main.locator(f"xpath={xpath}").fill(value(row))
            main.locator("select[title=Priority]").select_option(row[6])
            main.locator("xpath=//td[normalize-space()='Gift wrap:']/following-sibling::td[1]/input").set_checked(row[7])
            main.get_by_role("button", name="Save").click()
            main.locator("span.cnf").inner_text()
            if png_dir is not None:
                png_dir.mkdir(exist_ok=True)
                page.screenshot(path=png_dir / f"{row[0]}.png")
        elapsed = time.perf_counter() - started
        browser.close()
    return elapsed


def backroom(url: str, workbook: Path, project: Path) -> tuple[float, Path]:
    started = time.perf_counter()
    result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                  app_urls={"billing": url}, started_by="benchmark"))
    elapsed = time.perf_counter() - started
    if result.counts.done != len(result.items):
        raise SystemExit(f"Backroom run did not key every order: {result.counts}")
    return elapsed, result.run_dir


def project_copy(folder: Path, clean_screen: str) -> Path:
    """The bundled project with the re-key bot's clean_screen set; its runs and queue stay in the copy."""
    for part in ("bots", "recipes", "selectors"):
        shutil.copytree(ROOT / part, folder / part)
    shutil.copy(ROOT / "backroom.yaml", folder / "backroom.yaml")
    bot = folder / "bots" / "rekey-orders" / "bot.yaml"
    definition = yaml.safe_load(bot.read_text())
    definition["clean_screen"] = clean_screen
    bot.write_text(yaml.safe_dump(definition, sort_keys=False))
    return folder


def cpu_seconds() -> float:
    """CPU of this process (and BILLSYS in it) and of the browsers it started and has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def count_orders(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM orders").fetchone()[0]


CONTESTANTS = ("plain Playwright", "Backroom", "Backroom per_item", "Backroom no watch")


@contextmanager
def requests_unwatched(unwatched: bool):
    """For the "no watch" contestant only: the driver's route over every request is left out."""
    if not unwatched:
        yield
        return
    route = BrowserContext.route
    BrowserContext.route = lambda self, *args, **kwargs: None   # type: ignore[method-assign]
    try:
        yield
    finally:
        BrowserContext.route = route   # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay-ms", type=int, default=0, help="BILLSYS page delay (legacy screens are slow)")
    args = parser.parse_args()
    logger.remove()  # as the CLI does: audit events go to the run folder, not the console
    os.environ["BACKROOM_SECRET_BILLING_PASSWORD"] = PASSWORD
    os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"] = SUPERVISOR
    wall: dict[str, list[float]] = {name: [] for name in CONTESTANTS}
    cpu: dict[str, list[float]] = {name: [] for name in CONTESTANTS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = sample_rows(args.orders, seed=3)
        workbook = write_orders_workbook(tmp / "orders.xlsx", rows)
        for round_no in range(args.rounds):
            turn = round_no % len(CONTESTANTS)
            order = CONTESTANTS[turn:] + CONTESTANTS[:turn]   # round-robin
            for name in order:
                folder = tmp / f"r{round_no}-{name.replace(' ', '-')}"
                folder.mkdir()
                db = folder / "billsys.db"
                settings = BillingSettings(db_path=db, password=PASSWORD, supervisor_code=SUPERVISOR,
                                           delay_ms=args.delay_ms)
                with start_billing_app(settings) as app:
                    before = cpu_seconds()
                    if name == "plain Playwright":
                        seconds = plain_playwright(app.url, rows)
                    else:
                        project = project_copy(folder / "project", "per_item" if "per_item" in name else "after_failure")
                        with requests_unwatched(name == "Backroom no watch"):
                            seconds, run_dir = backroom(app.url, workbook, project)
                    cpu[name].append(cpu_seconds() - before)
                    wall[name].append(seconds)
                assert count_orders(db) == args.orders, f"{name} keyed {count_orders(db)} of {args.orders}"
        base_wall = statistics.median(wall["plain Playwright"])
        base_cpu = statistics.median(cpu["plain Playwright"])
        print(f"\nRe-key {args.orders} orders, {args.rounds} round-robin rounds, BILLSYS page delay {args.delay_ms} ms"
              " (medians)\n")
        print(f"{'':<20}{'s/item':>9}{'ratio':>8}{'CPU s/item':>12}{'CPU ratio':>11}")
        for name in CONTESTANTS:
            seconds, used = statistics.median(wall[name]), statistics.median(cpu[name])
            print(f"{name:<20}{seconds / args.orders:>9.3f}{seconds / base_wall:>8.2f}"
                  f"{used / args.orders:>12.3f}{used / base_cpu:>11.2f}")
        shots = len(list((run_dir / "screenshots").iterdir()))
        size = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file())
        print(f"\nBackroom evidence per run: {shots} screenshots, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
