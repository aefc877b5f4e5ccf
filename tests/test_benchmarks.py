"""Every benchmark the README shows runs, on a few items, and prints its table with the baseline it
is measured against (the timings themselves are for a person to read, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BENCHMARKS = {   # the README's command, made small, and what its table must show
    "rekey": (["rekey_benchmark.py", "--orders", "2", "--rounds", "1"], "plain Playwright", pytest.mark.web),
    "peer": (["peer_benchmark.py", "--orders", "2", "--rounds", "1", "--workers", "2", "--no-warm-up"],
             "Backroom, 2 workers",
             pytest.mark.web),
    "report": (["report_benchmark.py", "--steps", "400", "--rounds", "1"], "bare HTML table (baseline)",
               pytest.mark.web),
    "queue": (["queue_benchmark.py", "--rows", "200", "--claims", "100"], "bare insert (baseline)",
              pytest.mark.postgres),
    "reconcile": (["reconcile_benchmark.py", "--lines", "300"], "Baseline: a dictionary join", None),
    "evidence": (["evidence_benchmark.py", "--events", "200", "--screenshots", "5"], "baselines:", None),
    "readback": (["readback_benchmark.py", "--orders", "2", "--payments", "1", "--rounds", "1"], "read-back off",
                 pytest.mark.desktop),
    "desktop": (["desktop_benchmark.py", "--lookups", "3", "--payments", "2", "--rounds", "1", "--workers", "2"],
                "plain pyautogui script",
                pytest.mark.desktop),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=[m] if m else []) for n, (_, _, m) in BENCHMARKS.items()])
def test_a_benchmark_from_the_readme_runs_and_prints_its_baseline(name, screen):
    command, baseline, _ = BENCHMARKS[name]
    assert f"benchmarks/{command[0]}" in (ROOT / "README.md").read_text()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / command[0]), *command[1:]], cwd=ROOT,
                          env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert baseline in done.stdout, done.stdout
