"""Benchmark: what tamper evidence costs. Writing chained events through the audit trail against
plain JSON lines to a file; sealing a run (hashing every artifact, signing) and verifying it against
only reading and hashing the same bytes, all on the same files in the same run.

    .venv/bin/python benchmarks/evidence_benchmark.py [--events 20000] [--screenshots 400] [--kb 60]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.audit.events import AuditEvent, AuditTrail  # noqa: E402
from runner.audit.manifest import seal_run  # noqa: E402
from runner.audit.signing import Ed25519Signer, Ed25519Verifier  # noqa: E402
from runner.audit.verify import verify_run  # noqa: E402
from runner.project.secrets import Redactor  # noqa: E402


def event(run: str, seq: int) -> AuditEvent:
    return AuditEvent(run=run, seq=seq, kind="step", outcome="pass", item=f"SO-{seq // 20:07d}", attempt=1,
                      recipe="enter-order", step="recipes/enter-order.yaml:12", action="fill",
                      target="order.quantity", selector="xpath=//td[...]", value=str(seq % 250),
                      duration_ms=12.5, screenshot=f"screenshots/{seq:06d}.jpg", screenshot_sha256="0" * 64)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--screenshots", type=int, default=400)
    parser.add_argument("--kb", type=int, default=60, help="size of each screenshot file")
    args = parser.parse_args()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "bench-bot"
        plain = base / "plain.jsonl"
        base.mkdir()
        started = time.perf_counter()
        with open(plain, "w", encoding="utf-8") as out:
            for seq in range(1, args.events + 1):
                out.write(event("plain", seq).to_json() + "\n")
        baseline_write = time.perf_counter() - started

        run_dir = base / "20261123-000000-aaaa"
        trail = AuditTrail(run_dir.name, run_dir, Redactor())
        started = time.perf_counter()
        for seq in range(1, args.events + 1):
            trail.emit(event(run_dir.name, seq))
        trail.close()
        chained_write = time.perf_counter() - started
        rows.append(("write events (per 1,000)", baseline_write / args.events * 1000,
                     chained_write / args.events * 1000))

        for n in range(args.screenshots):
            (trail.screenshots_dir / f"{n:06d}.jpg").write_bytes(os.urandom(args.kb * 1024))
        files = sorted(p for p in run_dir.rglob("*") if p.is_file())
        started = time.perf_counter()
        for path in files:
            hashlib.sha256(path.read_bytes()).hexdigest()
        baseline_hash = time.perf_counter() - started
        started = time.perf_counter()
        seal_run(run_dir, run_dir.name, "bench-bot", trail.written, trail.last_hash, Ed25519Signer(key),
                 written_sha256=trail.written_sha256)
        seal = time.perf_counter() - started
        started = time.perf_counter()
        result = verify_run(run_dir, Ed25519Verifier(key.public_key()))
        verify = time.perf_counter() - started
        assert result.ok, result.findings
        rows.append(("seal a run (hash + sign)", baseline_hash, seal))
        rows.append(("verify a run (hash + chain)", baseline_hash, verify))
        size = sum(p.stat().st_size for p in files) / 1e6

    print(f"{args.events} events, {args.screenshots} screenshots of {args.kb} KB ({size:.1f} MB in the run folder)")
    print(f"{'':32} {'baseline s':>11} {'backroom s':>11} {'ratio':>7}")
    for name, baseline, ours in rows:
        print(f"{name:32} {baseline:11.4f} {ours:11.4f} {ours / baseline:7.2f}")
    print("baselines: plain JSON lines written to a file; reading and hashing the same files once")


if __name__ == "__main__":
    main()
