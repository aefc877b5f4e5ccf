"""Sealing a run: a signed manifest of every artifact, and the bot's chain of runs.

At the end of a run `manifest.json` lists each file of the run folder with its SHA-256 and size
(events, screenshots, result workbooks, generated documents, the run log), the number of events and
the hash of the last one (the head of the run's event chain), and the run before it in the bot's
chain; it is signed (signing.py). `logs/<bot>/chain.jsonl` lists the bot's sealed runs in order,
each line carrying the hash of the line before it and its own signature, so a removed run is
noticed. Every file is sealed, the HTML report and its script too, hidden files included; a symbolic
link never is (verification names it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from .events import EVENTS_FILE, sha256_file, sha256_text
from .signing import Signer

MANIFEST_FILE = "manifest.json"
PRUNED_FILE = "pruned.json"
CHAIN_FILE = "chain.jsonl"
CLOSURE_FILE = "closure.json"   # a person's signed closing of a killed run (audit close)
NOT_SEALED = {MANIFEST_FILE, PRUNED_FILE, CLOSURE_FILE}
FORMAT = "backroom-manifest/1"
CHAIN_START = sha256_text("backroom-chain-start")


def canonical(record: dict) -> bytes:
    """The bytes a signature covers: the record without its signature, keys sorted, no spaces."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed(record: dict, signer: Signer) -> dict:
    return {**record, "signature": {"algorithm": signer.algorithm, "key_id": signer.key_id,
                                    "value": signer.sign(canonical(record))}}


def run_listing(run_dir: Path) -> dict[str, bool]:
    """Everything in a run folder but its folders, hidden files too, in one walk that does not follow links:
    each path relative to the folder, and whether it is a symbolic link (to a file or a folder)."""
    found: dict[str, bool] = {}
    folders = [(str(run_dir), "")] if os.path.isdir(run_dir) else []
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, f"{prefix}{entry.name}/"))
                else:
                    found[prefix + entry.name] = entry.is_symlink()
    return found


def run_entries(run_dir: Path) -> list[Path]:
    """Everything in a run folder but its folders: files, hidden ones too, and symbolic links (not followed)."""
    return sorted(Path(run_dir) / relative for relative in run_listing(run_dir))


def sealed_files(run_dir: Path) -> list[Path]:
    """What a seal lists: every regular file of the run folder, never a symbolic link."""
    return [p for p in run_entries(run_dir)
            if not p.is_symlink() and p.is_file() and p.relative_to(run_dir).as_posix() not in NOT_SEALED]


def chain_entries(bot_dir: Path) -> list[tuple[str, dict | None]]:
    """The chain file's lines: (the line as written, its record or None when it is not JSON)."""
    path = Path(bot_dir) / CHAIN_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append((line, json.loads(line)))
        except ValueError:
            out.append((line, None))
    return out


@dataclass(frozen=True)
class Seal:
    manifest: Path
    run: str
    bot: str
    chain_length: int      # lines in the bot's chain, this run's included
    line_sha256: str       # the SHA-256 of this run's chain line: the chain's head


def seal_run(run_dir: Path, run_id: str, bot: str, events_written: int, last_event_sha256: str,
             signer: Signer, closure: dict | None = None, written_sha256: str | None = None) -> Seal:
    """Write the run's signed manifest and append the run to its bot's chain (one sealer at a time).
    The manifest appears whole or not at all (written beside, then renamed), so a runner killed while
    sealing leaves either no manifest, or a manifest whose chain line is missing: verify tells both
    apart from tampering. `closure`: a person's closing of a killed run (audit close). `written_sha256`: the
    hash of every byte the run's trail wrote; when events.jsonl still hashes to it, the manifest says the file
    is as written (each line chained to the one before by the trail itself), which spares verify a second
    walk along the chain of a file that still hashes as sealed."""
    run_dir = Path(run_dir)
    bot_dir = run_dir.parent
    artifacts = [{"path": p.relative_to(run_dir).as_posix(), "sha256": sha256_file(p), "bytes": p.stat().st_size}
                 for p in sealed_files(run_dir)]
    events_sha256 = next((a["sha256"] for a in artifacts if a["path"] == EVENTS_FILE), None)
    with FileLock(str(bot_dir / ".chain.lock")):
        entries = chain_entries(bot_dir)
        last_line, last = entries[-1] if entries else (None, None)
        previous = {"run": last["run"], "manifest_sha256": last["manifest_sha256"]} if last else None
        manifest = signed({
            "format": FORMAT, "run": run_id, "bot": bot,
            "sealed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "events": {"file": EVENTS_FILE, "count": events_written, "last_sha256": last_event_sha256,
                       **({"as_written": True} if written_sha256 and written_sha256 == events_sha256 else {})},
            "artifacts": artifacts, "previous_run": previous, **({"closure": closure} if closure else {})}, signer)
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        path = run_dir / MANIFEST_FILE
        partial = bot_dir / f".{run_id}.manifest.partial"   # outside the run folder, on the same disk
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        entry = signed({"run": run_id, "manifest_sha256": sha256_text(text),
                        "prev": sha256_text(last_line) if last_line else CHAIN_START}, signer)
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
        with open(bot_dir / CHAIN_FILE, "a", encoding="utf-8") as chain:
            chain.write(line + "\n")
    return Seal(path, run_id, bot, len(entries) + 1, sha256_text(line))


def read_manifest(run_dir: Path) -> tuple[dict | None, str | None]:
    """The manifest and the SHA-256 of its text, or (None, None) when there is none or it is not JSON."""
    path = Path(run_dir) / MANIFEST_FILE
    if not path.exists():
        return None, None
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text), sha256_text(text)
    except ValueError:
        return {}, sha256_text(text)
