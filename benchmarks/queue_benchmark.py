"""Benchmark: work-queue throughput on SQLite and on PostgreSQL, side by side.

Intake of 100,000 rows from a workbook (reading and type-checking the workbook, then queueing),
claim + complete per second with one runner, and under contention (1, 4 and 16 runners claiming
from one queue at once, each with its own connection: every item claimed once is checked), and the
console's queue page looking up one reference among them all. Each beside a baseline measured in
the same run: the bare statements the queue cannot do without (the rows inserted in one
transaction; one UPDATE per claim and per completion), and every item read and filtered in Python.
PostgreSQL is a throwaway server started for the run (initdb, pg_ctl; as the postgres user under
root), or the one named by --postgres-url (an empty database: the benchmark fills it).

    .venv/bin/python benchmarks/queue_benchmark.py [--rows 100000] [--claims 20000] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402

from runner.demo.sample_orders import HEADERS, sample_rows  # noqa: E402
from runner.project.bot import load_bot  # noqa: E402
from runner.intake.workbook import read_workbook  # noqa: E402
from runner.intake.work_item import WorkItem  # noqa: E402
from runner.work_queue import ItemQuery, open_queue  # noqa: E402

CLAIMERS = (1, 4, 16)


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


def bare_postgres(url: str, items, claims: int) -> tuple[float, float]:
    """The baseline on PostgreSQL: the rows inserted by one statement; two UPDATEs per claimed item."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bare_items (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " reference TEXT UNIQUE, data TEXT, state TEXT)")
        started = time.perf_counter()
        conn.execute("INSERT INTO bare_items(reference, data, state) SELECT r, d, 'pending'"
                     " FROM unnest(%s::text[], %s::text[]) AS t(r, d)",
                     ([i.reference for i in items], [repr(i.data) for i in items]))
        insert = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(1, claims + 1):
            conn.execute("UPDATE bare_items SET state = 'in_progress' WHERE id = %s", (n,))
            conn.execute("UPDATE bare_items SET state = 'done' WHERE id = %s", (n,))
        return insert, time.perf_counter() - started


def measure(url: str, items: list, claims: int) -> dict[str, float]:
    """Intake, intake again, claim + complete with one runner, then with 1, 4 and 16 at once on fresh
    items of another bot: seconds each, and how many items were claimed twice (must be 0)."""
    queue = open_queue(url)
    try:
        figures = {"intake": timed(lambda: queue.intake("bench", items, "intake:orders.xlsx"))[0],
                   "again": timed(lambda: queue.intake("bench", items, "intake:orders.xlsx"))[0]}

        def claim_complete():
            for _ in range(claims):
                item = queue.claim("bench", "bench:1:run", 300, "run")
                queue.complete(item.id, "bench:1:run", {"vars": {"confirmation": "CNF"}})
        figures["claim"] = timed(claim_complete)[0]
        figures["find"], figures["read all"] = look_ups(queue, items)
    finally:
        queue.close()
    for runners in CLAIMERS:
        bot = f"contended-{runners}"
        setup = open_queue(url)
        setup.intake(bot, [WorkItem(f"C{n:06d}", {"n": n}, f"row {n}") for n in range(claims)], "intake:bench")
        setup.close()
        got: list[list[str]] = [[] for _ in range(runners)]

        def work(number: int, bot: str = bot, got: list[list[str]] = got) -> None:
            mine, owner = open_queue(url), f"bench-{number}:1:run"
            try:
                while (item := mine.claim(bot, owner, 300, "run")) is not None:
                    got[number].append(item.reference)
                    mine.complete(item.id, owner, {})
            finally:
                mine.close()
        threads = [threading.Thread(target=work, args=(n,)) for n in range(runners)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        figures[f"contended {runners}"] = time.perf_counter() - started
        everything = [ref for mine in got for ref in mine]
        figures[f"twice {runners}"] = len(everything) - len(set(everything))
        if len(set(everything)) != claims:
            raise SystemExit(f"{runners} runners on {url.split('://')[0]}: {claims - len(set(everything))} items "
                             "never claimed")
    return figures


def look_ups(queue, items: list, rounds: int = 3) -> tuple[float, float]:
    """The console's queue page: one reference searched among every item, by the database (find_items) and
    by reading every item and filtering here (the baseline); medians of round-robin rounds."""
    wanted = items[len(items) // 2].reference

    def read_all() -> list:
        found = [i for i in queue.items() if wanted.lower() in i.reference.lower()
                 or wanted.lower() in json.dumps(i.data, default=str).lower()]
        return sorted(found, key=lambda i: -i.updated_at)[:500]

    found_s, read_s = [], []
    for _ in range(rounds):
        found_s.append(timed(lambda: queue.find_items(ItemQuery(text=wanted)))[0])
        read_s.append(timed(read_all)[0])
    return statistics.median(found_s), statistics.median(read_s)


def postgres_for_the_run(url: str | None):
    """The URL to measure on, and how to stop the server started for it (None: given, or none here)."""
    if url:
        return url, None
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from postgres_server import PostgresServer
        server = PostgresServer()
    except (ImportError, RuntimeError, KeyError) as exc:
        print(f"PostgreSQL: not measured ({exc})")
        return None, None
    return server.new_database(), server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to measure on (default: a server "
                        "started for the run)")
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
        results = {"SQLite": measure(f"sqlite:///{tmp}/queue.sqlite3", intake.items, args.claims)}
        bare = {"SQLite": bare_sqlite(tmp / "bare.sqlite3", intake.items, args.claims)}
        url, stop = postgres_for_the_run(args.postgres_url)
        try:
            if url:
                results["PostgreSQL"] = measure(url, intake.items, args.claims)
                bare["PostgreSQL"] = bare_postgres(url, intake.items, args.claims)
        finally:
            if stop:
                stop()

    rows, claims = args.rows, args.claims
    print(f"\nWork queue: {rows:,} rows, {claims:,} claim+complete\n")
    print(f"{'read + check workbook':<44}{read_s:>9.2f} s{rows / read_s:>12,.0f}/s")
    print(f"{'  bare openpyxl read-only (baseline)':<44}{bare_read_s:>9.2f} s{rows / bare_read_s:>12,.0f}/s"
          f"   read+check {read_s / bare_read_s:.1f}x")
    backends = list(results)
    print(f"\n{'':<44}" + "".join(f"{name:>26}" for name in backends))

    def line(label: str, cell) -> None:
        print(f"{label:<44}" + "".join(f"{cell(name):>26}" for name in backends))

    line("queue intake (new rows): s, rows/s, vs bare",
         lambda b: f"{results[b]['intake']:.2f} {rows / results[b]['intake']:,.0f} {results[b]['intake'] / bare[b][0]:.1f}x")
    line("queue intake (same file again): s, rows/s",
         lambda b: f"{results[b]['again']:.2f} {rows / results[b]['again']:,.0f}")
    line("claim + complete: items/s, vs bare",
         lambda b: f"{claims / results[b]['claim']:,.0f} {results[b]['claim'] / bare[b][1]:.1f}x")
    for runners in CLAIMERS:
        line(f"  {runners} runner(s) at once: items/s, twice",
             lambda b, n=runners: f"{claims / results[b][f'contended {n}']:,.0f} {results[b][f'twice {n}']:.0f}")
    line("queue page look-up (one reference): s, vs",
         lambda b: f"{results[b]['find']:.3f} {results[b]['read all'] / results[b]['find']:.1f}x faster")
    line("  read every item, filter here (baseline): s", lambda b: f"{results[b]['read all']:.3f}")
    line("bare insert (baseline): rows/s", lambda b: f"{rows / bare[b][0]:,.0f}")
    line("bare 2 updates (baseline): items/s", lambda b: f"{claims / bare[b][1]:,.0f}")


if __name__ == "__main__":
    main()
