"""Retention: screenshots older than the policy allows are deleted; everything that proves what
happened stays (events, hashes, the manifest). Each pruning is recorded, signed, in the run's
pruned.json, so verification reports those files as "pruned by policy" rather than missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .manifest import PRUNED_FILE, read_manifest, signed
from .signing import Signer
from .verify import bot_folders, run_dirs

PRUNABLE = "screenshots/"


@dataclass
class PruneReport:
    runs: int = 0
    files: int = 0
    bytes: int = 0


def prune_screenshots(logs: Path, keep_days: int, signer: Signer, now: datetime | None = None,
                      dry_run: bool = False) -> PruneReport:
    """Delete the screenshots of sealed runs sealed more than keep_days ago. Unsealed runs are left
    alone: their evidence was never hashed, so nothing could vouch for what was removed."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=keep_days)
    report = PruneReport()
    for bot_dir in bot_folders(logs):
        for run_dir in run_dirs(bot_dir):
            manifest, _ = read_manifest(run_dir)
            if not manifest or datetime.fromisoformat(manifest["sealed_at"]) > cutoff:
                continue
            doomed = [a for a in manifest.get("artifacts", [])
                      if a["path"].startswith(PRUNABLE) and (run_dir / a["path"]).exists()]
            if not doomed:
                continue
            report.runs += 1
            report.files += len(doomed)
            report.bytes += sum((run_dir / a["path"]).stat().st_size for a in doomed)
            if dry_run:
                continue
            path = run_dir / PRUNED_FILE
            records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
            records.append(signed({"pruned_at": now.isoformat(timespec="seconds"),
                                   "policy": f"screenshots kept {keep_days} days",
                                   "files": [{"path": a["path"], "sha256": a["sha256"]} for a in doomed]}, signer))
            path.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")  # the record first, then the files
            for artifact in doomed:
                (run_dir / artifact["path"]).unlink()
    return report
