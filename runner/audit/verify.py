"""Verifying a run's evidence: the manifest's signature, every artifact's hash, the chain of events,
and the bot's chain of runs. Each finding says exactly what is wrong and where."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

from .events import EVENTS_FILE, run_anchor, sha256_file, sha256_text
from .manifest import (CHAIN_FILE, CHAIN_START, MANIFEST_FILE, NOT_SEALED, PRUNED_FILE, canonical, chain_entries, read_manifest,
                       run_listing)
from .signing import Verifier

PROBLEMS = ("missing", "altered", "inserted", "out_of_order", "deleted", "unsealed", "bad_signature", "removed_run",
            "removed_bot", "killed", "not_in_logs")
# not problems: pruned (by the retention policy), closed (a killed run a person closed), running (not sealed yet)


@dataclass(frozen=True)
class Finding:
    kind: str          # one of PROBLEMS, or pruned, closed, running
    subject: str       # the file, the event or the run
    detail: str

    @property
    def is_problem(self) -> bool:
        return self.kind in PROBLEMS

    def __str__(self) -> str:
        return f"{self.kind.replace('_', ' ')}: {self.subject}: {self.detail}"


@dataclass
class RunVerification:
    run: str
    bot: str
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    artifacts: int = 0
    signed_by: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.is_problem for f in self.findings)

    def add(self, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(kind, subject, detail))


def _signature_ok(record: dict, verifier: Verifier) -> tuple[bool, str]:
    signature = record.get("signature") or {}
    if signature.get("key_id") != verifier.key_id:
        return False, f"signed with key {signature.get('key_id') or '(none)'}, not {verifier.key_id}"
    if signature.get("algorithm") != verifier.algorithm:
        return False, f"signed with {signature.get('algorithm')}, not {verifier.algorithm}"
    if not verifier.verify(canonical(record), str(signature.get("value", ""))):
        return False, "the signature does not match the content: altered after signing"
    return True, ""


def _pruned(run_dir: Path, verifier: Verifier, result: RunVerification) -> dict[str, dict]:
    """Files the retention policy removed, from the signed pruning records."""
    path = run_dir / PRUNED_FILE
    if not path.exists():
        return {}
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        result.add("altered", PRUNED_FILE, "not valid JSON")
        return {}
    out = {}
    for record in records:
        ok, why = _signature_ok(record, verifier)
        if not ok:
            result.add("bad_signature", PRUNED_FILE, why)
            continue
        for entry in record.get("files", []):
            out[entry["path"]] = {**entry, "pruned_at": record.get("pruned_at"), "policy": record.get("policy")}
    return out


@dataclass(frozen=True)
class KilledRun:
    """What a run that was never sealed left: its events, intact up to `events` (the chain unbroken)."""

    events: int                 # events whose chain is unbroken from the run's start
    last_sha256: str            # the hash of the last of them (the run's anchor when there is none)
    killed_at: str              # when the last of them was written
    torn: bool                  # the line after them was being written when the run was killed
    intact: bool                # nothing after them: no break in the chain other than a torn last line


def killed_run(run_dir: Path) -> KilledRun:
    path = Path(run_dir) / EVENTS_FILE
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line != ""] if path.exists() else []
    last, count, at = run_anchor(Path(run_dir).name), 0, ""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            break
        if record.get("prev") != last:
            break
        last, count, at = sha256_text(line), count + 1, str(record.get("started", ""))
    torn = len(lines) == count + 1 and _not_json(lines[-1])
    return KilledRun(count, last, at, torn, count == len(lines) or torn)


def _not_json(line: str | bytes) -> bool:
    try:
        json.loads(line)
        return False
    except ValueError:
        return True


PREV_KEY = b'"prev": "'


@dataclass
class EventsFile:
    """events.jsonl read once for both checks of a run: its whole hash for the artifacts, its lines (split
    only when the chain is walked)."""

    data: bytes
    sha256: str

    @classmethod
    def read(cls, run_dir: Path) -> "EventsFile | None":
        path = run_dir / EVENTS_FILE
        if not path.is_file():
            return None
        data = path.read_bytes()
        return cls(data, hashlib.sha256(data).hexdigest())

    @cached_property
    def lines(self) -> list[bytes]:
        return [line for line in self.data.split(b"\n") if line]


def _as_written(manifest: dict | None, events: EventsFile) -> bool:
    """The signed manifest says events.jsonl was sealed exactly as the run's trail wrote it, chaining each line
    to the one before (manifest.seal_run), and the file still hashes as sealed: its chain holds as written."""
    sealed = (manifest or {}).get("events") or {}
    if sealed.get("as_written") is not True or (manifest or {}).get("closure") \
            or sealed.get("count") != events.data.count(b"\n"):   # the trail writes one line per event
        return False
    entry = next((a for a in (manifest or {}).get("artifacts", []) if isinstance(a, dict)
                  and a.get("path") == EVENTS_FILE), None)
    return entry is not None and entry.get("sha256") == events.sha256


class _LazyRecords:
    """The events of a file, parsed only when asked for; `prev` reads the chain link from the end of the line,
    where every event writes it (events.py), without parsing the rest."""

    def __init__(self, lines: list[bytes]):
        self.lines = lines
        self._parsed: dict[int, dict | None] = {}

    def __getitem__(self, i: int) -> dict | None:
        if i not in self._parsed:
            try:
                record = json.loads(self.lines[i])
                self._parsed[i] = record if isinstance(record, dict) else None
            except ValueError:   # UnicodeDecodeError included
                self._parsed[i] = None
        return self._parsed[i]

    def prev(self, i: int) -> str | None:
        line = self.lines[i]
        if line.endswith(b'"}') and line[-75:-66] == PREV_KEY:
            return line[-66:-2].decode("ascii", "replace")
        record = self[i]
        return record.get("prev") if record else None


def chained_runs(bot_dir: Path) -> set[str]:
    """The runs the bot's chain lists as sealed."""
    return {str(entry.get("run")) for _, entry in chain_entries(bot_dir) if entry}


def verify_run(run_dir: Path, verifier: Verifier, running: bool = False,
               chained: set[str] | None = None) -> RunVerification:
    """`running`: the run is going now, so a run without a manifest is not finished yet. `chained`: the
    bot's chained runs, when the caller has read them already."""
    run_dir = Path(run_dir)
    result = RunVerification(run_dir.name, run_dir.parent.name)
    manifest, _ = read_manifest(run_dir)
    if manifest is None and running:
        result.add("running", run_dir.name, "still running: sealed when it ends")
        return result
    if manifest is None and run_dir.name in (chained if chained is not None else chained_runs(run_dir.parent)):
        result.add("missing", MANIFEST_FILE, "the bot's chain lists this run as sealed: its manifest was deleted")
        _check_events(run_dir, None, result, EventsFile.read(run_dir))
        return result
    if manifest is None and (run_dir / EVENTS_FILE).exists():
        state = killed_run(run_dir)
        if state.intact and state.events:
            torn = "; the event after it was being written" if state.torn else ""
            result.add("killed", run_dir.name, f"killed at {state.killed_at}, its events intact up to event "
                       f"{state.events}{torn}; never sealed. Close it: backroom audit close {run_dir.name} "
                       "--reason TEXT --by NAME")
            result.events = state.events
            return result
    signed = False
    if manifest is None:
        result.add("unsealed", MANIFEST_FILE, "no manifest: the run did not finish (it was killed) or the "
                                              "manifest was deleted")
    elif not manifest:
        result.add("altered", MANIFEST_FILE, "not valid JSON")
        manifest = None
    else:
        ok, why = _signature_ok(manifest, verifier)
        signed = ok
        result.signed_by = f"{verifier.algorithm} key {verifier.key_id}" if ok else ""
        if not ok:
            result.add("bad_signature", MANIFEST_FILE, why)
        if manifest.get("run") != run_dir.name:
            result.add("altered", MANIFEST_FILE, f"belongs to run {manifest.get('run')}, found in {run_dir.name}")
        closure = manifest.get("closure")
        if isinstance(closure, dict):
            result.add("closed", run_dir.name, f"killed at {closure.get('killed_at')}, sealed up to event "
                       f"{closure.get('events')}; closed by {closure.get('by')} at {closure.get('closed_at')}: "
                       f"{closure.get('reason')}")
    events = EventsFile.read(run_dir)
    if manifest:
        _check_artifacts(run_dir, manifest, verifier, result, events)
    _check_events(run_dir, manifest, result, events, signed)
    return result


def _check_artifacts(run_dir: Path, manifest: dict, verifier: Verifier, result: RunVerification,
                     events: EventsFile | None) -> None:
    """Every listed file there with its sealed hash, and nothing else."""
    listed = {a["path"]: a for a in manifest.get("artifacts", [])}
    result.artifacts = len(listed)
    pruned = _pruned(run_dir, verifier, result)
    present = run_listing(run_dir)
    for path, entry in listed.items():
        file = run_dir / path
        if path not in present or present[path] and not file.exists():
            record = pruned.get(path)
            if record and record.get("sha256") == entry["sha256"]:
                result.add("pruned", path, f"pruned by policy ({record.get('policy')}) on {record.get('pruned_at')}")
            else:
                result.add("missing", path, "listed in the manifest, not in the run folder")
        elif (found := events.sha256 if path == EVENTS_FILE and events else sha256_file(file)) != entry["sha256"]:
            result.add("altered", path, f"SHA-256 {found[:12]}..., sealed as {entry['sha256'][:12]}...")
    for relative, is_link in sorted(present.items()):
        if is_link:
            result.add("inserted", relative, f"a symbolic link (to {os.readlink(run_dir / relative)}): never part "
                                             "of a sealed run")
        elif relative not in listed and relative not in NOT_SEALED:
            hidden = " (a hidden file)" if any(part.startswith(".") for part in Path(relative).parts) else ""
            result.add("inserted", relative, f"not in the manifest{hidden}: added after the run was sealed")


def _check_events(run_dir: Path, manifest: dict | None, result: RunVerification, events: EventsFile | None,
                  signed: bool = False) -> None:
    if events is None:
        if manifest is None:  # nothing sealed and nothing to check: the missing file was already said
            result.add("missing", EVENTS_FILE, "the run has no events")
        return  # a sealed run's missing events.jsonl is reported with the artifacts
    if signed and _as_written(manifest, events):
        result.events = manifest["events"]["count"]   # byte for byte the chain the trail wrote, signed
        return
    # bytes, as the events were hashed when written: a line is parsed only when the chain needs a closer look
    lines = events.lines
    closure = (manifest or {}).get("closure") or {}
    if closure.get("torn") and len(lines) == (manifest.get("events") or {}).get("count", -2) + 1 and _not_json(lines[-1]):
        lines = lines[:-1]  # the line being written when the run was killed, sealed as found by its closure
    result.events = len(lines)
    records = _LazyRecords(lines)
    if lines and records.prev(0) is None and not any(records[i] and "prev" in records[i] for i in range(len(lines))):
        result.add("unsealed", EVENTS_FILE, "written before runs were sealed: its events carry no chain")
        return
    anchor = run_anchor(run_dir.name)
    # each line's hash, and the link each line ends with (events.py writes "prev" last), read without parsing;
    # a line that does not end with its link is parsed to find it
    hashes = [hashlib.sha256(line).hexdigest() for line in lines]
    links = [line[-66:-2].decode("ascii", "replace") for line in lines]
    broken = [i for i, (link, expected) in enumerate(zip(links, [anchor, *hashes[:-1]]))
              if link != expected and records.prev(i) != expected]
    if lines and records[len(lines) - 1] is None and len(lines) - 1 not in broken:
        broken.append(len(lines) - 1)   # the last line has no next one to vouch for it: it is always parsed
    sealed = (manifest or {}).get("events", {})
    # which line has a hash: only needed to tell a broken chain's story
    where = {h: i for i, h in enumerate(hashes)} if broken or sealed.get("last_sha256") not in (None, *hashes[-1:]) else {}

    def name(i: int) -> str:
        record = records[i]
        return f"event seq {record.get('seq')} (line {i + 1})" if record else f"line {i + 1}"

    for i in broken:
        record = records[i]
        if record is None:
            result.add("altered", f"{EVENTS_FILE} line {i + 1}", "not a valid event any more")
            continue
        expected = hashes[i - 1] if i else anchor
        prev = record.get("prev")
        if prev == expected:
            continue
        if prev in where and where[prev] > i:
            result.add("out_of_order", name(i), f"belongs after line {where[prev] + 1}")
        elif prev in where and where[prev] < i - 1:
            inserted = ", ".join(name(j) for j in range(where[prev] + 1, i))
            result.add("inserted", inserted, f"not in the chain: {name(i)} follows line {where[prev] + 1}")
        elif i == 0 and prev is not None and prev != anchor:
            result.add("inserted", name(0), "the run's chain does not start here")
        elif i and (earlier := records[i - 1]) and record.get("seq") == (earlier.get("seq") or 0) + 1:
            result.add("altered", name(i - 1), "its content changed: the next event holds another hash")
        else:
            before = (records[i - 1] or {}).get("seq") if i else 0
            result.add("deleted", f"events after seq {before}", f"missing before {name(i)}")
    if manifest is None:
        return
    count, last = sealed.get("count"), sealed.get("last_sha256")
    if hashes and last != hashes[-1] and count is not None:
        if len(lines) > count and last in where:
            result.add("inserted", ", ".join(name(j) for j in range(where[last] + 1, len(lines))),
                       "appended after the run was sealed")
        elif len(lines) == count:
            result.add("altered", name(len(lines) - 1), "differs from the sealed last event")
        elif len(lines) < count:
            result.add("deleted", f"the last {count - len(lines)} event(s)", f"sealed with {count} events")


def verify_bot_chain(bot_dir: Path, verifier: Verifier, head=None) -> list[Finding]:
    """The bot's chain of sealed runs: every listed run still there, unchanged, in order; and, with the
    chain's head as the queue recorded it (`head`, an EvidenceHead), nothing cut from its end."""
    bot_dir = Path(bot_dir)
    findings: list[Finding] = []
    previous_line = None
    listed = set()
    entries = chain_entries(bot_dir)
    for number, (line, entry) in enumerate(entries, start=1):
        where = f"{bot_dir.name}/chain.jsonl line {number}"
        if entry is None:
            findings.append(Finding("altered", where, "not valid JSON"))
            previous_line = line
            continue
        ok, why = _signature_ok(entry, verifier)
        if not ok:
            findings.append(Finding("bad_signature", where, why))
        expected = sha256_text(previous_line) if previous_line is not None else CHAIN_START
        if entry.get("prev") != expected:
            findings.append(Finding("deleted" if previous_line is not None else "altered", where,
                                    "the line before it in the chain was removed or changed"))
        previous_line = line
        run = str(entry.get("run"))
        listed.add(run)
        run_dir = bot_dir / run
        manifest, manifest_hash = read_manifest(run_dir)
        if not run_dir.is_dir():
            findings.append(Finding("removed_run", run, f"listed in the chain (line {number}), its folder is gone"))
        elif manifest is None:
            findings.append(Finding("missing", f"{run}/{MANIFEST_FILE}", "the chain lists the run as sealed"))
        elif manifest_hash != entry.get("manifest_sha256"):
            findings.append(Finding("altered", f"{run}/{MANIFEST_FILE}", "differs from the one the chain recorded"))
    for run_dir in sorted(p for p in bot_dir.iterdir() if p.is_dir()):
        if (run_dir / MANIFEST_FILE).exists() and run_dir.name not in listed:
            # the queue's head moves only after the chain line is written: a killed sealer leaves it as it was
            head_agrees = head is None or head.chain_length == len(entries)
            if head_agrees and killed_while_sealing(run_dir, entries, verifier):
                findings.append(Finding("killed", run_dir.name, "killed while sealing: its signed manifest was "
                                        "written, its line in the bot's chain was not. Close it: backroom audit "
                                        f"close {run_dir.name} --reason TEXT --by NAME"))
            else:
                findings.append(Finding("inserted", run_dir.name, "a sealed run that is not in the bot's chain"))
    if head is not None:
        findings += _cut_from_the_end(bot_dir, entries, head)
    return findings


def killed_while_sealing(run_dir: Path, entries: list, verifier: Verifier) -> bool:
    """A manifest signed with the key that follows the chain's last line: the chain line was not written."""
    manifest, _ = read_manifest(run_dir)
    if not manifest or not _signature_ok(manifest, verifier)[0]:
        return False
    last = entries[-1][1] if entries else None
    expected = {"run": last.get("run"), "manifest_sha256": last.get("manifest_sha256")} if last else None
    return manifest.get("previous_run") == expected


def _cut_from_the_end(bot_dir: Path, entries: list, head) -> list[Finding]:
    where = f"{bot_dir.name}/{CHAIN_FILE}"
    length = head.chain_length
    if len(entries) >= length and sha256_text(entries[length - 1][0]) == head.line_sha256:
        return []
    now = f"now ends at line {len(entries)} ({entries[-1][1].get('run') if entries and entries[-1][1] else 'nothing'})"
    return [Finding("deleted", where, f"the queue recorded run {head.run} as sealed run {length} of this bot; "
                                      f"the chain {now}: the newest run(s) and their chain lines were removed")]


def verify_heads(logs: Path, heads: dict) -> list[Finding]:
    """Bots whose chain head the queue recorded but whose folder is gone."""
    present = {p.name for p in bot_folders(logs)}
    return [Finding("removed_bot", bot, f"the queue recorded {head.chain_length} sealed run(s), the newest {head.run}; "
                                        f"{Path(logs).name}/{bot}/ is gone")
            for bot, head in sorted(heads.items()) if bot not in present]


def verify_registered(logs: Path, registered: list, bot: str | None = None) -> list[Finding]:
    """Runs the run registry (in the queue) knows whose folder is not under `logs`: written by a runner whose
    logs_dir is not this (shared) folder, or removed from it. RunRecords: bot, run_id, runner, host, logs_dir."""
    found = []
    for run in registered:
        if (bot is not None and run.bot != bot) or (Path(logs) / run.bot / run.run_id).is_dir():
            continue
        where = f"it was written to {run.logs_dir} on {run.host}"
        elsewhere = Path(run.logs_dir) != Path(logs).resolve()
        found.append(Finding("not_in_logs", f"{run.bot}/{run.run_id}",
                             f"the run registry lists it (runner {run.runner}, {run.outcome or 'not ended'}) but "
                             f"{Path(logs).name}/{run.bot}/{run.run_id}/ is not here; {where}"
                             + ("; give every runner the shared folder as logs_dir" if elsewhere else "")))
    return found


SYSTEM_FOLDERS = {"audit", "console", "uploads", "demo", "locks"}   # under logs/, beside the bots' folders


def bot_folders(logs: Path) -> list[Path]:
    """The folders under logs/ that hold a bot's runs."""
    logs = Path(logs)
    return sorted(p for p in logs.iterdir() if p.is_dir() and p.name not in SYSTEM_FOLDERS) if logs.is_dir() else []


def run_dirs(bot_dir: Path) -> list[Path]:
    return sorted(p for p in Path(bot_dir).iterdir() if p.is_dir() and ((p / EVENTS_FILE).exists()
                                                                          or (p / MANIFEST_FILE).exists()))


@dataclass
class EvidenceVerification:
    """Every run of the bots looked at, each bot's chain, and bots the queue knows whose folder is gone."""

    runs: list[RunVerification] = field(default_factory=list)
    chains: dict[str, list[Finding]] = field(default_factory=dict)
    removed: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return (sum(1 for r in self.runs for f in r.findings if f.is_problem) + len(self.removed)
                + sum(1 for found in self.chains.values() for f in found if f.is_problem))

    def findings(self) -> set[tuple[str, str]]:
        """(kind, subject) of every finding, for a quick look at what was found."""
        return ({(f.kind, f.subject) for r in self.runs for f in r.findings} | {(f.kind, f.subject) for f in self.removed}
                | {(f.kind, f.subject) for found in self.chains.values() for f in found})


def verify_evidence(logs: Path, verifier: Verifier, heads: dict | None, bot: str | None = None,
                    running: Callable[[Path], bool] = lambda run_dir: False,
                    registered: list | None = None) -> EvidenceVerification:
    """What `audit verify --all` checks: each bot's runs and chain, with the chain heads the queue recorded
    (`heads`, None when the queue is not at hand). `running(run_dir)`: whether that run is going now."""
    result = EvidenceVerification()
    result.removed = [f for f in verify_heads(logs, heads or {}) if bot is None or f.subject == bot]
    result.removed += verify_registered(logs, registered or [], bot)
    folders = [d for d in bot_folders(logs) if bot is None or d.name == bot]
    for bot_dir in folders:
        runs = run_dirs(bot_dir)
        chained = chained_runs(bot_dir)   # read once for the bot, not once per run
        for run_dir in runs:
            result.runs.append(verify_run(run_dir, verifier, running=running(run_dir), chained=chained))
        result.chains[bot_dir.name] = verify_bot_chain(bot_dir, verifier, (heads or {}).get(bot_dir.name))
    return result
