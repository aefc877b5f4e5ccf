"""Benchmark: opening and filtering a big audit report in Chromium.

A run of 10,000 steps (500 items of 20 steps, a screenshot on each) is made from events alone and its
report built; it is opened in headless Chromium and filtered to one item, against a baseline in the same
browser: a bare HTML table of the same steps (no style, no script, no pictures) opened, and filtered by
the simplest script that hides its other rows. Round-robin rounds, medians. Targets: the report opens
(first frame after load) in under 2 s and a filter shows its result in under 200 ms.

    .venv/bin/python benchmarks/report_benchmark.py [--steps 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import html
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from runner import load_settings  # noqa: E402
from runner.audit.events import AuditEvent, AuditTrail  # noqa: E402
from runner.audit.report import build_report  # noqa: E402
from runner.project.secrets import Redactor  # noqa: E402

STEPS_PER_ITEM = 20


def picture() -> bytes:
    """A small screen-sized JPEG: the pictures exist; loading them is the browser's lazy loading's business."""
    encoded = io.BytesIO()
    Image.new("RGB", (1024, 768), "#d8dbe2").save(encoded, "JPEG", quality=70)
    return encoded.getvalue()


def make_run(folder: Path, steps: int) -> tuple[Path, Path, str]:
    """A run folder with `steps` step events and its report; the bare table beside it; an item to filter to."""
    run_dir = folder / "logs" / "bench-bot" / "20261126-000000-bench"
    trail = AuditTrail(run_dir.name, run_dir, Redactor())
    seq = 0

    def emit(**fields) -> AuditEvent:
        nonlocal seq
        seq += 1
        return trail.emit(AuditEvent(run=run_dir.name, seq=seq, **fields))

    emit(kind="run", outcome="started", data={"bot": "bench-bot", "input": "orders.xlsx"})
    rows = []
    items = steps // STEPS_PER_ITEM
    shot_bytes = picture()
    for number in range(items):
        ref = f"SO-{number:07d}"
        emit(kind="item", outcome="started", item=ref, attempt=1, data={"source": f"orders.xlsx row {number + 2}"})
        for step in range(STEPS_PER_ITEM):
            shot = f"screenshots/{ref}-a1-{seq + 1:06d}.jpg"
            (run_dir / shot).write_bytes(shot_bytes)
            event = emit(kind="step", outcome="pass", item=ref, attempt=1, recipe="enter-order",
                         step=f"recipes/enter-order.yaml:{10 + step}", action="fill", target=f"order.field_{step}",
                         selector="css=input[name=f]", value=f"value {number}-{step}", verified="read back",
                         duration_ms=12.5, screenshot=shot, screenshot_sha256="0" * 64)
            rows.append((ref, event.seq, event.action, event.target, event.value))
        emit(kind="item", outcome="done", item=ref, attempt=1, data={"result": {"Confirmation": f"CNF-{number}"}})
    emit(kind="run", outcome="success", data={"exit_code": 0})
    trail.close()
    report = build_report(run_dir)
    bare = run_dir / "bare.html"
    bare.write_text("<!doctype html><html><body><table>" + "".join(
        f"<tr data-ref='{ref}'><td>{seq}</td><td>{action}</td><td>{html.escape(target)}</td><td>{html.escape(value)}</td></tr>"
        for ref, seq, action, target, value in rows) + "</table></body></html>", encoding="utf-8")
    return report, bare, f"SO-{items // 2:07d}"


FIRST_FRAME = "() => new Promise(done => requestAnimationFrame(() => done(performance.now())))"
# the report's own filter, from typing to the next frame that shows its result
FILTER_REPORT = """ref => new Promise(done => {
  const box = document.getElementById('filter'), began = performance.now();
  box.value = ref; box.dispatchEvent(new Event('input'));
  document.body.offsetHeight;
  requestAnimationFrame(() => done(performance.now() - began));
})"""
FILTER_BARE = """ref => new Promise(done => {
  const began = performance.now();
  document.querySelectorAll('tr').forEach(r => { r.style.display = r.dataset.ref === ref ? '' : 'none'; });
  document.body.offsetHeight;
  requestAnimationFrame(() => done(performance.now() - began));
})"""


def open_and_filter(page, path: Path, script: str, ref: str) -> tuple[float, float, int]:
    """(ms from navigation to the first frame after load, ms to filter, rows shown after the filter)"""
    page.goto(path.as_uri(), wait_until="load")
    opened = page.evaluate(FIRST_FRAME)
    filtered = page.evaluate(script, ref)
    # the steps' rows (the report's table of what each item came to, at the top, is filtered too but not counted)
    shown = page.evaluate("() => [...document.querySelectorAll('tr')].filter(r => r.offsetParent !== null"
                          " && !r.closest('#outcomes')).length")
    return opened, filtered, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logger.remove()
    names = ("bare HTML table (baseline)", "Backroom report")
    opened: dict[str, list[float]] = {n: [] for n in names}
    filtered: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report, bare, ref = make_run(Path(tmp), args.steps)
        built = time.perf_counter() - started
        with sync_playwright() as p:
            browser = p.chromium.launch(**load_settings(ROOT).browser.launch_options())
            for round_no in range(args.rounds):
                for name in names[round_no % 2:] + names[:round_no % 2]:   # round-robin
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    path, script = (bare, FILTER_BARE) if name == names[0] else (report, FILTER_REPORT)
                    open_ms, filter_ms, shown = open_and_filter(page, path, script, ref)
                    page.close()
                    if name == names[1] and shown != STEPS_PER_ITEM + 1:   # its steps and its table's header
                        raise SystemExit(f"the report's filter left {shown} rows shown for {ref}")
                    opened[name].append(open_ms)
                    filtered[name].append(filter_ms)
            browser.close()
        size = report.stat().st_size
    print(f"\nAudit report of {args.steps:,} steps ({args.steps // STEPS_PER_ITEM} items), {size / 1e6:.1f} MB, "
          f"written in {built:.1f} s with its events; {args.rounds} round-robin rounds in Chromium (medians)\n")
    print(f"{'page':<30}{'open ms':>10}{'ratio':>8}{'filter ms':>12}{'ratio':>8}")
    base_open, base_filter = statistics.median(opened[names[0]]), statistics.median(filtered[names[0]])
    for name in names:
        o, f = statistics.median(opened[name]), statistics.median(filtered[name])
        print(f"{name:<30}{o:>10.0f}{o / base_open:>8.2f}{f:>12.1f}{f / base_filter:>8.2f}")
    print("\ntargets: the report opens in under 2000 ms and filters in under 200 ms")


if __name__ == "__main__":
    main()
