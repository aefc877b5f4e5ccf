"""Benchmark: what reading back every typed value costs, per item, against the same bot with it off.

Web: the re-key bot keys the same orders into its own fresh BILLSYS. Desktop: the payments bot posts
the same payments into its own fresh LEDGER/AR on a virtual display. Each is run with read-back on
(every fill, select and check read again, and the screen's values read once more before Save) and
with `verify: false` on the app, in alternating order over several rounds, so a noisy machine
slows both alike. The table shows the median seconds per item and the ratio to read-back off.

    .venv/bin/python benchmarks/readback_benchmark.py [--orders 30] [--payments 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402

from runner.demo.billing_web import BillingSettings  # noqa: E402
from runner.demo.ledger_desktop import create_ledger  # noqa: E402
from runner.demo.sample_orders import sample_rows, write_orders_workbook  # noqa: E402
from runner.demo.sample_payments import sample_payment_rows, write_payments_workbook  # noqa: E402
from runner.demo.server import start_billing_app  # noqa: E402
from runner import RunRequest, start_run  # noqa: E402
from runner.drivers.display import virtual_display  # noqa: E402

PASSWORD, SUPERVISOR, LEDGER_PASSWORD = "bench-pass-7731", "4321", "bench-ledger-55"


def project_copy(folder: Path, verify: bool) -> Path:
    """The bundled bots in a folder of their own; with verify off, both apps say `verify: false`."""
    for part in ("bots", "recipes", "selectors"):
        shutil.copytree(ROOT / part, folder / part)
    settings = (ROOT / "backroom.yaml").read_text()
    if not verify:
        settings = settings.replace("    user: clerk\n", "    user: clerk\n    verify: false\n")
    (folder / "backroom.yaml").write_text(settings)
    return folder


def web_run(project: Path, workbook: Path, count: int, tmp: Path) -> float:
    settings = BillingSettings(db_path=tmp / "billsys.db", password=PASSWORD, supervisor_code=SUPERVISOR)
    with start_billing_app(settings) as app:
        started = time.perf_counter()
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}, started_by="benchmark",
                                      queue=tmp / "queue.sqlite3"))
        elapsed = time.perf_counter() - started
    if result.counts.done != count:
        raise SystemExit(f"the web run did not key every order: {result.counts}")
    return elapsed / count


def desktop_run(project: Path, workbook: Path, count: int, tmp: Path) -> float:
    db = create_ledger(tmp / "ledger.db", password=LEDGER_PASSWORD)
    started = time.perf_counter()
    result = start_run(RunRequest(bot="post-payments", input_path=workbook, project=project,
                                  app_commands={"ledger": f"{{python}} -m runner.demo.ledger_desktop --db {db}"},
                                  started_by="benchmark", queue=tmp / "queue.sqlite3"))
    elapsed = time.perf_counter() - started
    if result.counts.done != count:
        raise SystemExit(f"the desktop run did not post every payment: {result.counts}")
    return elapsed / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--payments", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logger.remove()  # as the CLI does: events go to the run folders
    os.environ.update(BACKROOM_SECRET_BILLING_PASSWORD=PASSWORD, BACKROOM_SECRET_SUPERVISOR_CODE=SUPERVISOR,
                      BACKROOM_SECRET_LEDGER_PASSWORD=LEDGER_PASSWORD)
    timings: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, virtual_display(1024, 768):
        tmp = Path(tmp)
        projects = {name: project_copy(tmp / name, name == "on") for name in ("on", "off")}
        orders = write_orders_workbook(tmp / "orders.xlsx", sample_rows(args.orders, seed=3))
        payments = write_payments_workbook(tmp / "payments.xlsx", sample_payment_rows(args.payments))
        for number in range(args.rounds):
            order = ("on", "off") if number % 2 == 0 else ("off", "on")  # round-robin: neither always goes first
            for name in order:
                for kind, run, workbook, count in (("web", web_run, orders, args.orders),
                                                   ("desktop", desktop_run, payments, args.payments)):
                    folder = tmp / f"{kind}-{name}-{number}"
                    folder.mkdir()
                    timings.setdefault((kind, name), []).append(run(projects[name], workbook, count, folder))
    print(f"\nRead-back cost: median of {args.rounds} rounds, seconds per item "
          f"({args.orders} orders on BILLSYS, {args.payments} payments on LEDGER/AR)\n")
    print(f"{'':<10}{'read-back off':>15}{'read-back on':>15}{'ratio':>8}")
    for kind in ("web", "desktop"):
        off, on = statistics.median(timings[(kind, "off")]), statistics.median(timings[(kind, "on")])
        print(f"{kind:<10}{off:>15.3f}{on:>15.3f}{on / off:>8.2f}")


if __name__ == "__main__":
    main()
