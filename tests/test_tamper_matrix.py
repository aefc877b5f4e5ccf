"""The tamper matrix: dozens of kinds of change an insider with write access to logs/ (not to the
signing key) could make to two real sealed runs, each detected and named by verification; and no
false alarm over twenty clean runs whose secrets are short enough to occur inside hashes and
references."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Callable

import pytest
from openpyxl import load_workbook

from runner import RunRequest, load_settings, start_run
from runner.audit.events import sha256_text
from runner.audit.signing import load_signer, load_verifier, public_key_fingerprint
from runner.audit.verify import verify_evidence
from runner.errors import EvidenceProblem
from runner.work_queue import describe_queue, open_queue

from .conftest import PASSWORD, make_orders, project_with_sealed_runs, start_billing
from .test_audit_evidence import resign_everything

BOT = "rekey-orders"


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """Two sealed runs of rekey-orders, chained, with one screenshot per step (supervisor code 0000)."""
    return project_with_sealed_runs(tmp_path_factory.mktemp("matrix"), (81, 82), supervisor="0000",
                                    screenshots="every")


class Estate:
    """A private copy of the sealed project, with what a tampering needs to know about it."""

    def __init__(self, project: Path):
        self.project = project
        self.settings = load_settings(project)
        self.logs = project / self.settings.logs_dir
        self.bot_dir = self.logs / BOT
        self.first, self.second = sorted(d for d in self.bot_dir.iterdir() if d.is_dir())[:2]
        self.pin = public_key_fingerprint(project / self.settings.audit.public_key)

    def artifacts(self, run_dir: Path) -> list[str]:
        return [a["path"] for a in json.loads((run_dir / "manifest.json").read_text())["artifacts"]]

    def shots(self, run_dir: Path) -> list[str]:
        return [p for p in self.artifacts(run_dir) if p.startswith("screenshots/")]

    def lines(self, run_dir: Path, name: str = "events.jsonl") -> list[str]:
        return (run_dir / name).read_text(encoding="utf-8").splitlines()

    def write_lines(self, run_dir: Path, lines: list[str], name: str = "events.jsonl") -> None:
        (run_dir / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    def manifest(self, run_dir: Path) -> dict:
        return json.loads((run_dir / "manifest.json").read_text())

    def save_manifest(self, run_dir: Path, manifest: dict) -> None:
        (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    def verify(self) -> set[tuple[str, str]]:
        queue = open_queue(self.settings.queue_url, self.project)
        try:
            heads = queue.evidence_heads()
        finally:
            queue.close()
        verifier = load_verifier(self.settings, self.project, pinned=self.pin)
        result = verify_evidence(self.logs, verifier, heads)
        return {(kind, subject) for kind, subject in result.findings()
                if kind not in ("pruned", "closed", "running")}


def flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


# -- each kind of change: what it does, and what verification must name ------------------------------
def _edit_event_and_rehash(e: Estate):
    """An event's message changed and every later event's chain hash recomputed to match."""
    lines = e.lines(e.second)
    records = [json.loads(line) for line in lines]
    records[5]["message"] = "approved by supervisor"
    out, previous = [], None
    for record in records:
        if previous is not None:
            record["prev"] = sha256_text(previous)
        previous = json.dumps(record, ensure_ascii=False)
        out.append(previous)
    e.write_lines(e.second, out)
    return {("altered", "events.jsonl")}


def _swap_screenshots(e: Estate):
    a, b = e.shots(e.second)[:2]
    data_a, data_b = (e.second / a).read_bytes(), (e.second / b).read_bytes()
    (e.second / a).write_bytes(data_b)
    (e.second / b).write_bytes(data_a)
    return {("altered", a), ("altered", b)}


def _other_runs_picture(e: Estate):
    target = e.shots(e.second)[-1]
    other = next(e.first / s for s in e.shots(e.first)
                 if (e.first / s).read_bytes() != (e.second / target).read_bytes())  # a picture of another moment
    shutil.copy(other, e.second / target)
    return {("altered", target)}


def _edit_workbook(e: Estate):
    name = next(p for p in e.artifacts(e.second) if p.endswith(".xlsx"))
    book = load_workbook(e.second / name)
    book.active["B2"] = "Done by hand"
    book.save(e.second / name)
    return {("altered", name)}


def _move_event_between_runs(e: Estate):
    mine, theirs = e.lines(e.second), e.lines(e.first)
    e.write_lines(e.second, mine[:6] + [theirs[6]] + mine[7:])
    return {("altered", "events.jsonl")}


def _manifest_hash_edited(e: Estate):
    manifest = e.manifest(e.second)
    manifest["artifacts"][0]["sha256"] = "0" * 64
    e.save_manifest(e.second, manifest)
    return {("bad_signature", "manifest.json"), ("altered", f"{e.second.name}/manifest.json")}


def _manifest_event_count(e: Estate):
    manifest = e.manifest(e.second)
    manifest["events"]["count"] -= 1
    e.save_manifest(e.second, manifest)
    return {("bad_signature", "manifest.json")}


def _manifest_signature(e: Estate):
    manifest = e.manifest(e.second)
    value = manifest["signature"]["value"]
    manifest["signature"]["value"] = ("B" if value[0] != "B" else "C") + value[1:]
    e.save_manifest(e.second, manifest)
    return {("bad_signature", "manifest.json")}


def _manifest_of_other_run(e: Estate):
    shutil.copy(e.first / "manifest.json", e.second / "manifest.json")
    return {("altered", "manifest.json"), ("altered", f"{e.second.name}/manifest.json")}


def _chain_line_edited(e: Estate):
    chain = e.bot_dir / "chain.jsonl"
    lines = chain.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["manifest_sha256"] = "f" * 64
    chain.write_text("\n".join([json.dumps(entry, sort_keys=True)] + lines[1:]) + "\n")
    return {("bad_signature", f"{BOT}/chain.jsonl line 1")}


def _chain_lines_swapped(e: Estate):
    chain = e.bot_dir / "chain.jsonl"
    lines = chain.read_text().splitlines()
    chain.write_text("\n".join([lines[1], lines[0]]) + "\n")
    return {("altered", f"{BOT}/chain.jsonl line 1")}


def _newest_run_and_chain_line(e: Estate):
    chain = e.bot_dir / "chain.jsonl"
    chain.write_text(chain.read_text().splitlines()[0] + "\n")
    shutil.rmtree(e.second)
    return {("deleted", f"{BOT}/chain.jsonl")}


def _run_copied_under_another_name(e: Estate):
    shutil.copytree(e.first, e.bot_dir / "20261231-235959-beef")
    return {("inserted", "20261231-235959-beef")}


def _forged_pruning(e: Estate):
    target = e.shots(e.second)[0]
    sha = next(a["sha256"] for a in e.manifest(e.second)["artifacts"] if a["path"] == target)
    (e.second / target).unlink()
    (e.second / "pruned.json").write_text(json.dumps([{"files": [{"path": target, "sha256": sha}],
                                                       "policy": "90 days", "pruned_at": "2026-01-01",
                                                       "signature": {"key_id": "x", "value": "y"}}]))
    return {("bad_signature", "pruned.json"), ("missing", target)}


def _wrong_key_file(e: Estate):
    """The public key under logs/ replaced by another key (nothing re-signed)."""
    other = e.project.parent / "other"
    other.mkdir()
    (other / "backroom.yaml").write_text("audit: {private_key: k.pem, public_key: k.pub}\n")
    load_signer(load_settings(other), other)
    shutil.copy(other / "k.pub", e.project / e.settings.audit.public_key)
    return EvidenceProblem


def _resigned_with_a_new_key(e: Estate):
    """Everything signed again with a new key, the public key and the queue's record replaced."""
    other = e.project.parent / "forger"
    other.mkdir()
    (other / "backroom.yaml").write_text("audit: {private_key: k.pem, public_key: k.pub}\n")
    resign_everything(e.project, e.bot_dir, load_signer(load_settings(other), other))
    shutil.copy(other / "k.pub", e.project / e.settings.audit.public_key)
    return EvidenceProblem


def _queue_head_moved_back(e: Estate):
    """The queue's record of the chain head set back, and the newest run removed."""
    chain = e.bot_dir / "chain.jsonl"
    first_line = chain.read_text().splitlines()[0]
    with sqlite3.connect(describe_queue(e.settings.queue_url, e.project)) as db:
        db.execute("UPDATE evidence_heads SET chain_length = 1, line_sha256 = ? WHERE bot = ?",
                   (sha256_text(first_line), BOT))
    shutil.rmtree(e.second)
    return {("removed_run", e.second.name)}   # the chain still lists it


def _shot(index: int, change: Callable[[Path], None], kind: str = "altered"):
    def tamper(e: Estate):
        name = e.shots(e.second)[index]
        change(e.second / name)
        return {(kind, name)}
    return tamper


def _file(name_of: Callable[[Estate], str], change: Callable[[Path], None], kind: str = "altered"):
    def tamper(e: Estate):
        name = name_of(e)
        change(e.second / name)
        return {(kind, name)}
    return tamper


def _events(change: Callable[[list[str]], list[str]], expected: Callable[[Estate, list[dict]], set]):
    def tamper(e: Estate):
        lines = e.lines(e.second)
        records = [json.loads(line) for line in lines]
        e.write_lines(e.second, change(lines))
        return expected(e, records)
    return tamper


def _added(name: str, content: bytes = b"planted", hidden_kind: str = "inserted"):
    def tamper(e: Estate):
        path = e.second / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return {(hidden_kind, name)}
    return tamper


def _linked(name: str, target: Callable[[Estate], Path]):
    def tamper(e: Estate):
        path = e.second / name
        if path.exists():
            path.unlink()
        path.symlink_to(target(e))
        return {("inserted", name)}
    return tamper


def seq(records: list[dict], index: int) -> int:
    return records[index]["seq"]


TAMPERINGS: dict[str, Callable[[Estate], set | type]] = {
    # events
    "event byte flipped": _file(lambda e: "events.jsonl", lambda p: flip(p, 0.4)),
    "event edited, hashes recomputed": _edit_event_and_rehash,
    "event line deleted": _events(lambda ls: ls[:4] + ls[5:],
                                  lambda e, r: {("deleted", f"events after seq {seq(r, 3)}")}),
    "event line inserted": _events(lambda ls: ls[:8] + [ls[3]] + ls[8:],
                                   lambda e, r: {("inserted", f"event seq {seq(r, 3)} (line 9)")}),
    "event lines swapped": _events(lambda ls: ls[:7] + [ls[8], ls[7]] + ls[9:],
                                   lambda e, r: {("out_of_order", f"event seq {seq(r, 8)} (line 8)")}),
    "last events cut off": _events(lambda ls: ls[:-3], lambda e, r: {("deleted", "the last 3 event(s)")}),
    "event appended": _events(lambda ls: ls + [ls[-1]], lambda e, r: {("altered", "events.jsonl")}),
    "events truncated mid-line": _file(lambda e: "events.jsonl",
                                       lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])),
    "events file emptied": _file(lambda e: "events.jsonl", lambda p: p.write_bytes(b"")),
    "events file deleted": _file(lambda e: "events.jsonl", lambda p: p.unlink(), "missing"),
    "event moved in from another run": _move_event_between_runs,
    # screenshots
    "screenshot byte flipped": _shot(0, lambda p: flip(p, 0.6)),
    "screenshot replaced by another run's": _other_runs_picture,
    "two screenshots swapped": _swap_screenshots,
    "screenshot deleted": _shot(1, lambda p: p.unlink(), "missing"),
    "screenshot emptied": _shot(2, lambda p: p.write_bytes(b"")),
    "screenshot added": _added("screenshots/SO-extra-a1-000999.jpg", b"\xff\xd8\xff\xe0"),
    # workbook, report, log
    "result workbook cell changed": _edit_workbook,
    "result workbook deleted": _file(lambda e: next(p for p in e.artifacts(e.second) if p.endswith(".xlsx")),
                                     lambda p: p.unlink(), "missing"),
    "report edited": _file(lambda e: "report.html", lambda p: p.write_text(p.read_text().replace("Done", "Dome", 1))),
    "script appended to the report": _file(lambda e: "report.html",
                                           lambda p: p.write_text(p.read_text() + "<script>alert(1)</script>")),
    "report script edited": _file(lambda e: "report.js", lambda p: p.write_text(p.read_text() + "\nalert(1);\n")),
    "report deleted": _file(lambda e: "report.html", lambda p: p.unlink(), "missing"),
    "run log line edited": _file(lambda e: "run.log", lambda p: p.write_text(p.read_text().replace("run ", "RUN ", 1))),
    "run log deleted": _file(lambda e: "run.log", lambda p: p.unlink(), "missing"),
    # manifest
    "manifest artifact hash edited": _manifest_hash_edited,
    "manifest event count edited": _manifest_event_count,
    "manifest signature edited": _manifest_signature,
    "manifest of another run": _manifest_of_other_run,
    "manifest not JSON": _file(lambda e: "manifest.json", lambda p: p.write_text("{not json")),
    "manifest deleted": _file(lambda e: "manifest.json", lambda p: p.unlink(), "missing"),
    "pruning record forged": _forged_pruning,
    # chain, runs, bot folders
    "chain line edited": _chain_line_edited,
    "chain lines swapped": _chain_lines_swapped,
    "chain file deleted": lambda e: ((e.bot_dir / "chain.jsonl").unlink(),
                                     {("inserted", e.first.name), ("deleted", f"{BOT}/chain.jsonl")})[1],
    "older run deleted": lambda e: (shutil.rmtree(e.first), {("removed_run", e.first.name)})[1],
    "newest run deleted": lambda e: (shutil.rmtree(e.second), {("removed_run", e.second.name)})[1],
    "newest run deleted with its chain line": _newest_run_and_chain_line,
    "queue's chain head set back, newest run deleted": _queue_head_moved_back,
    "bot folder deleted": lambda e: (shutil.rmtree(e.bot_dir), {("removed_bot", BOT)})[1],
    "run copied under another name": _run_copied_under_another_name,
    # keys
    "public key file replaced": _wrong_key_file,
    "everything re-signed with a new key": _resigned_with_a_new_key,
    # hidden files and links
    "hidden file added": _added(".notes"),
    "hidden file among the screenshots": _added("screenshots/.thumb.jpg", b"\xff\xd8\xff"),
    "file added in a new folder": _added("extra/evidence.txt"),
    "link to the signing key": _linked("k.jpg", lambda e: e.project / e.settings.audit.private_key),
    "link to /etc/passwd": _linked("passwd.png", lambda e: Path("/etc/passwd")),
    "screenshot replaced by a link to its own copy": _linked(
        "screenshots/x.jpg", lambda e: e.first / e.shots(e.first)[0]),
}


def test_the_matrix_has_forty_kinds_of_change_or_more():
    assert len(TAMPERINGS) >= 40


def test_untouched_runs_verify_clean(sealed, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(sealed, copy, symlinks=True)
    assert Estate(copy).verify() == set()


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_every_change_is_detected_and_named(name, sealed, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(sealed, copy, symlinks=True)
    estate = Estate(copy)
    expected = TAMPERINGS[name](estate)
    if expected is EvidenceProblem:   # the pinned key refuses the key under logs/ before any run is read
        with pytest.raises(EvidenceProblem, match="the key was replaced"):
            estate.verify()
        return
    found = estate.verify()
    assert expected <= found, f"{name}: expected {expected}, found {found}"
    assert not {k for k, _ in found} & {"killed", "running"}, f"{name} must not read as a killed run: {found}"


@pytest.mark.slow
def test_ten_clean_runs_with_short_secrets_raise_no_false_alarm(project, tmp_path, monkeypatch):
    """Supervisor codes that occur inside hashes, order references and run ids, one run each: 0 findings."""
    monkeypatch.setenv("BACKROOM_SECRET_BILLING_PASSWORD", PASSWORD)
    codes = ["0000", "1", "SO-", "9f86d081", "0", "a", "00", "-", "20", "e"]
    with start_billing(tmp_path) as app:
        for n in range(len(codes)):
            monkeypatch.setenv("BACKROOM_SECRET_SUPERVISOR_CODE", codes[n % len(codes)])
            workbook, _ = make_orders(tmp_path / f"orders-{n}.xlsx", 1, seed=100 + n)
            result = start_run(RunRequest(bot=BOT, input_path=workbook, project=project,
                                          app_urls={"billing": app.url}))
            assert result.exit_code in (0, 1), result.message
    estate = Estate(project)
    assert len(list(d for d in estate.bot_dir.iterdir() if d.is_dir())) == len(codes)
    assert estate.verify() == set()
