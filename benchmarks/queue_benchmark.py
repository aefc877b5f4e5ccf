"""Benchmark: work-queue throughput on SQLite.

Intake of 100,000 rows from a workbook (reading and type-checking the workbook, then queueing),
and claim + complete per second, each beside a baseline measured in the same run: the bare
SQLite statements the queue cannot do without (one INSERT per row in one transaction; one
UPDATE per claim and per completion).

    .venv/bin/python benchmarks/queue_benchmark.py [--rows 100000] [--claims 20000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402

from runner.demo.sample_orders import HEADERS, sample_rows  # noqa: E402
from runner.project.bot import load_bot  # noqa: E402
from runner.intake.workbook import read_workbook  # noqa: E402
from runner.work_queue import open_queue  # noqa: E402


def write_big_workbook(path: Path, rows: int) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Orders")
    ws.append(HEADERS)
    for row in sample_rows(rows, seed=9):
        ws.append(row)
    wb.save(path)


def bare_read(path: Path) -> int:
    """The baseline for intake: openpyxl's read-only rows, values only, nothing checked."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in workbook["Orders"].iter_rows(min_row=2, values_only=True))
    finally:
        workbook.close()


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def bare_sqlite(path: Path, items, claims: int) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, reference TEXT UNIQUE, data TEXT, state TEXT)")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO items(reference, data, state) VALUES (?, ?, 'pending')",
                     ((i.reference, repr(i.data)) for i in items))
    conn.execute("COMMIT")
    insert = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(1, claims + 1):
        conn.execute("UPDATE items SET state = 'in_progress' WHERE id = ?", (n,))
        conn.execute("UPDATE items SET state = 'done' WHERE id = ?", (n,))
    return insert, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=20_000)
    args = parser.parse_args()
    spec = load_bot(ROOT, "rekey-orders").input
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        workbook = tmp / "orders.xlsx"
        write_big_workbook(workbook, args.rows)
        read_s, intake = timed(lambda: read_workbook(workbook, spec))
        assert len(intake.items) == args.rows, len(intake.rejected)
        bare_read_s, counted = timed(lambda: bare_read(workbook))
        assert counted == args.rows
        queue = open_queue(tmp / "queue.sqlite3")
        queue_s, report = timed(lambda: queue.intake("bench", intake.items, "intake:orders.xlsx"))
        assert len(report.added) == args.rows
        again_s, again = timed(lambda: queue.intake("bench", intake.items, "intake:orders.xlsx"))
        assert not again.added

        def claim_complete():
            for _ in range(args.claims):
                item = queue.claim("bench", "bench:1:run", 300, "run")
                queue.complete(item.id, "bench:1:run", {"vars": {"confirmation": "CNF"}})
        claim_s, _ = timed(claim_complete)
        queue.close()
        bare_insert_s, bare_claim_s = bare_sqlite(tmp / "bare.sqlite3", intake.items, args.claims)

    print(f"\nWork queue on SQLite: {args.rows:,} rows, {args.claims:,} claim+complete\n")
    print(f"{'':<38}{'seconds':>10}{'per second':>14}{'vs bare SQLite':>16}")
    print(f"{'read + check workbook':<38}{read_s:>10.2f}{args.rows / read_s:>14,.0f}{'':>16}")
    print(f"{'  bare openpyxl read-only (baseline)':<38}{bare_read_s:>10.2f}{args.rows / bare_read_s:>14,.0f}"
          f"{f'read+check {read_s / bare_read_s:.1f}x':>16}")
    print(f"{'queue intake (new rows)':<38}{queue_s:>10.2f}{args.rows / queue_s:>14,.0f}{queue_s / bare_insert_s:>15.1f}x")
    print(f"{'queue intake (same file again)':<38}{again_s:>10.2f}{args.rows / again_s:>14,.0f}{again_s / bare_insert_s:>15.1f}x")
    print(f"{'claim + complete':<38}{claim_s:>10.2f}{args.claims / claim_s:>14,.0f}{claim_s / bare_claim_s:>15.1f}x")
    print(f"{'bare SQLite insert (baseline)':<38}{bare_insert_s:>10.2f}{args.rows / bare_insert_s:>14,.0f}{'1.0x':>16}")
    print(f"{'bare SQLite 2 updates (baseline)':<38}{bare_claim_s:>10.2f}{args.claims / bare_claim_s:>14,.0f}{'1.0x':>16}")


if __name__ == "__main__":
    main()
