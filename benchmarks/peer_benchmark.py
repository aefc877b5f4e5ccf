"""Benchmark: Backroom against what an operations team would otherwise run, keying the same orders into BILLSYS.

(a) plain Playwright: one page, signs on once, records nothing (the baseline);
(b) the same script saving a PNG after each save;
(c) Backroom with its default evidence (screenshots: changed, every value read back, events, report, seal)
    and with `--screenshots failures`;
then Backroom with 1, 2 and 4 workers, in items per hour.

A warm-up round, then round-robin rounds (the order rotates each round; medians are printed). Every run
keys into a fresh BILLSYS and is checked in its database. BILLSYS runs in a process of its own, joined only
at the end, so the CPU figures are the client's alone: this process and every process it started and
waited for (Playwright's driver and the browsers).

    .venv/bin/python benchmarks/peer_benchmark.py [--orders 50] [--rounds 3] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from loguru import logger  # noqa: E402

from rekey_benchmark import PASSWORD, SUPERVISOR, count_orders, cpu_seconds, plain_playwright, project_copy  # noqa: E402
from runner import RunRequest, start_run  # noqa: E402
from runner.demo.billing_web import BillingSettings  # noqa: E402
from runner.demo.sample_orders import sample_rows, write_orders_workbook  # noqa: E402
from runner.demo.server import start_billing_app  # noqa: E402

CLIENTS = ("plain Playwright", "plain Playwright + PNG", "Backroom", "Backroom, failures only")


def serve_billing(db_path: str, urls: Any) -> None:
    """BILLSYS in a process of its own, until it is terminated."""
    settings = BillingSettings(db_path=Path(db_path), password=PASSWORD, supervisor_code=SUPERVISOR)
    with start_billing_app(settings) as app:
        urls.put(app.url)
        threading.Event().wait()


class Billsys:
    """A fresh BILLSYS for one measured run; its process is left running until `stop_all` (a process joined
    during a measurement would add its CPU to the client's)."""

    context = multiprocessing.get_context("spawn")
    started: list[Any] = []

    def __init__(self, folder: Path):
        self.db = folder / "billsys.db"
        urls = self.context.Queue()
        self.process = self.context.Process(target=serve_billing, args=(str(self.db), urls), daemon=True)
        self.process.start()
        self.url = urls.get(timeout=60)
        self.started.append(self.process)

    @classmethod
    def stop_all(cls) -> None:
        for process in cls.started:
            process.terminate()
            process.join(timeout=10)


def measure(client: str, folder: Path, rows: list, workbook: Path, workers: int = 1) -> tuple[float, float]:
    """Wall and CPU seconds of one client keying every row into its own BILLSYS, checked there."""
    folder.mkdir(parents=True)
    app = Billsys(folder)
    before = cpu_seconds()
    if client.startswith("plain"):
        seconds = plain_playwright(app.url, rows, png_dir=folder / "png" if "PNG" in client else None)
    else:
        started = time.perf_counter()
        project = project_copy(folder / "project", "after_failure")
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}, started_by="benchmark", workers=workers,
                                      screenshots="failures" if "failures" in client else None))
        seconds = time.perf_counter() - started
        if result.counts.done != len(rows):
            raise SystemExit(f"{client} did not key every order: {result.counts}")
    used = cpu_seconds() - before
    keyed = count_orders(app.db)
    if keyed != len(rows):
        raise SystemExit(f"{client} left {keyed} orders in BILLSYS for {len(rows)} rows")
    return seconds, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4", help="worker counts for items per hour")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the warm-up round (a check that it runs)")
    args = parser.parse_args()
    logger.remove()  # as the CLI does: audit events go to the run folder, not the console
    os.environ["BACKROOM_SECRET_BILLING_PASSWORD"] = PASSWORD
    os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"] = SUPERVISOR
    counts = [int(n) for n in args.workers.split(",")]
    lanes = [f"Backroom, {n} worker{'s' if n > 1 else ''}" for n in counts]
    contestants = list(CLIENTS) + lanes
    wall: dict[str, list[float]] = {name: [] for name in contestants}
    cpu: dict[str, list[float]] = {name: [] for name in contestants}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            rows = sample_rows(args.orders, seed=3)
            workbook = write_orders_workbook(folder / "orders.xlsx", rows)
            for name in () if args.no_warm_up else CLIENTS:   # warm-up: caches, the browser's first start
                measure(name, folder / f"warm-{CLIENTS.index(name)}", rows[:3], write_orders_workbook(
                    folder / f"warm-{CLIENTS.index(name)}.xlsx", rows[:3]))
            for round_no in range(args.rounds):
                turn = round_no % len(contestants)
                for index, name in enumerate(contestants[turn:] + contestants[:turn]):   # round-robin
                    workers = counts[lanes.index(name)] if name in lanes else 1
                    seconds, used = measure(name, folder / f"r{round_no}-{index}", rows, workbook, workers)
                    wall[name].append(seconds)
                    cpu[name].append(used)
    finally:
        Billsys.stop_all()
    base_wall, base_cpu = statistics.median(wall[CLIENTS[0]]), statistics.median(cpu[CLIENTS[0]])
    print(f"\nKeying {args.orders} orders into BILLSYS: {args.rounds} round-robin rounds after a warm-up (medians)\n")
    print(f"{'client':<28}{'s/item':>9}{'ratio':>8}{'CPU s/item':>12}{'CPU ratio':>11}{'items/hour':>12}")
    for name in contestants:
        seconds, used = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:<28}{seconds / args.orders:>9.3f}{seconds / base_wall:>8.2f}{used / args.orders:>12.3f}"
              f"{used / base_cpu:>11.2f}{3600 * args.orders / seconds:>12.0f}")


if __name__ == "__main__":
    main()
