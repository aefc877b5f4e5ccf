"""Tamper-evident run evidence: real runs against BILLSYS are sealed; every kind of tampering with a
copy of their folders is caught by verification and named; untouched runs verify clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from runner.work_queue import describe_queue
from runner import RunRequest, load_settings, start_run
from runner.audit.retention import prune_screenshots
from runner.audit.signing import HmacKey, load_signer, load_verifier
from runner.audit.verify import verify_bot_chain, verify_run

from .conftest import PASSWORD, SUPERVISOR, make_orders, project_with_sealed_runs, wait_until


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """Two sealed runs of rekey-orders (chained), made once for the module's tests to copy."""
    project = project_with_sealed_runs(tmp_path_factory.mktemp("sealed"), (3, 4))
    bot_dir = project / "logs" / "rekey-orders"
    return project, sorted(d for d in bot_dir.iterdir() if d.is_dir())


@pytest.fixture
def copy(sealed, tmp_path):
    """A private copy of the sealed project: each test tampers with its own."""
    project, run_dirs = sealed
    target = tmp_path / "project"
    shutil.copytree(project, target)
    bot_dir = target / "logs" / "rekey-orders"
    return target, [bot_dir / d.name for d in run_dirs]


def verifier(project):
    return load_verifier(load_settings(project), project)


def kinds(result) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in result.findings}


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def event_lines(run_dir: Path) -> list[str]:
    return (run_dir / "events.jsonl").read_text().splitlines()


def write_lines(run_dir: Path, lines: list[str]) -> None:
    (run_dir / "events.jsonl").write_text("\n".join(lines) + "\n")


def test_untouched_runs_verify_clean_and_chain_together(copy):
    project, (first, second) = copy
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["previous_run"]["run"] == first.name  # runs of a bot are chained
    assert manifest["events"]["as_written"] is True   # sealed byte for byte as the run's trail wrote it
    paths = {a["path"] for a in manifest["artifacts"]}
    assert "events.jsonl" in paths and "run.log" in paths and any(p.startswith("screenshots/") for p in paths)
    assert any(p.endswith("-results.xlsx") for p in paths)
    for run_dir in (first, second):
        result = verify_run(run_dir, verifier(project))
        assert result.ok and not result.findings, result.findings
        assert result.events == len(event_lines(run_dir)) > 10
    assert verify_bot_chain(first.parent, verifier(project)) == []
    done = subprocess.run([sys.executable, "-m", "runner.cli", "audit", "verify", "--all"], cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK   rekey-orders/{first.name}" in done.stdout and "Every run verified" in done.stdout


def test_one_byte_changed_in_any_artifact_is_named(copy):
    project, (run_dir, _) = copy
    manifest = json.loads((run_dir / "manifest.json").read_text())
    artifacts = [a["path"] for a in manifest["artifacts"]]
    screenshot = next(p for p in artifacts if p.startswith("screenshots/"))
    workbook = next(p for p in artifacts if p.endswith(".xlsx"))
    for path in (screenshot, workbook, "run.log"):
        original = (run_dir / path).read_bytes()
        flip_byte(run_dir / path, len(original) // 2)
        assert ("altered", path) in kinds(verify_run(run_dir, verifier(project))), path
        (run_dir / path).write_bytes(original)
    assert verify_run(run_dir, verifier(project)).ok

    lines = event_lines(run_dir)
    victim = json.loads(lines[5])
    lines[5] = lines[5].replace('"outcome": "', '"outcome": "x', 1)  # one character more in one event
    write_lines(run_dir, lines)
    found = kinds(verify_run(run_dir, verifier(project)))
    assert ("altered", f"event seq {victim['seq']} (line 6)") in found and ("altered", "events.jsonl") in found

    shutil.copy(run_dir / "events.jsonl", run_dir / "events.bak")
    manifest_text = (run_dir / "manifest.json").read_text()
    (run_dir / "manifest.json").write_text(manifest_text.replace('"sealed_at": "2', '"sealed_at": "1', 1))
    found = kinds(verify_run(run_dir, verifier(project)))
    assert ("bad_signature", "manifest.json") in found and ("inserted", "events.bak") in found


def test_deleted_reordered_and_inserted_events_are_told_apart(copy):
    project, (run_dir, other) = copy
    screenshot = next(a["path"] for a in json.loads((run_dir / "manifest.json").read_text())["artifacts"]
                      if a["path"].startswith("screenshots/"))
    (run_dir / screenshot).unlink()
    assert ("missing", screenshot) in kinds(verify_run(run_dir, verifier(project)))

    lines = event_lines(other)
    seqs = [json.loads(line)["seq"] for line in lines]
    swapped = lines[:7] + [lines[8], lines[7]] + lines[9:]
    write_lines(other, swapped)
    found = verify_run(other, verifier(project)).findings
    assert any(f.kind == "out_of_order" and f.subject == f"event seq {seqs[8]} (line 8)" for f in found), found

    forged = json.loads(lines[10])
    forged["message"] = "approved by supervisor"
    write_lines(other, lines[:11] + [json.dumps(forged)] + lines[11:])
    found = verify_run(other, verifier(project)).findings
    assert any(f.kind == "inserted" and "line 12" in f.subject for f in found), found

    write_lines(other, lines[:4] + lines[6:])
    found = verify_run(other, verifier(project)).findings
    assert any(f.kind == "deleted" and f.subject == f"events after seq {seqs[3]}" for f in found), found

    write_lines(other, lines[:-2])
    found = verify_run(other, verifier(project)).findings
    assert ("deleted", "the last 2 event(s)") in {(f.kind, f.subject) for f in found}


def test_a_removed_run_and_a_foreign_key_are_noticed(copy, tmp_path):
    project, (first, second) = copy
    shutil.rmtree(first)
    findings = verify_bot_chain(second.parent, verifier(project))
    assert [(f.kind, f.subject) for f in findings] == [("removed_run", first.name)]
    done = subprocess.run([sys.executable, "-m", "runner.cli", "audit", "verify", "--all", "--bot", "rekey-orders"],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"removed run: {first.name}" in done.stdout and "not intact" in done.stderr

    other = tmp_path / "other-key"
    other.mkdir()
    (other / "backroom.yaml").write_text("audit: {private_key: k.pem, public_key: k.pub}\n")
    load_signer(load_settings(other), other)  # makes another key pair
    result = verify_run(second, load_verifier(load_settings(other), other))
    assert [f.kind for f in result.findings if f.is_problem] == ["bad_signature"]
    assert "signed with key" in result.findings[0].detail


def test_retention_prunes_old_screenshots_and_verification_says_so(copy):
    project, (run_dir, _) = copy
    settings = load_settings(project)
    signer = load_signer(settings, project)
    logs = project / "logs"
    report = prune_screenshots(logs, 7, signer)  # sealed today: nothing is old enough
    assert report.files == 0
    later = datetime.now(timezone.utc) + timedelta(days=8)
    planned = prune_screenshots(logs, 7, signer, now=later, dry_run=True)
    assert planned.files > 0 and any((run_dir / "screenshots").iterdir())
    done = prune_screenshots(logs, 7, signer, now=later)
    assert done.files == planned.files and not any((run_dir / "screenshots").iterdir())
    result = verify_run(run_dir, verifier(project))
    assert result.ok, result.findings
    assert {f.kind for f in result.findings} == {"pruned"}
    assert all("screenshots kept 7 days" in f.detail for f in result.findings)
    (run_dir / "run.log").unlink()  # not a screenshot: still missing
    assert ("missing", "run.log") in kinds(verify_run(run_dir, verifier(project)))
    pruned = json.loads((run_dir / "pruned.json").read_text())
    pruned[0]["policy"] = "screenshots kept 0 days"
    (run_dir / "pruned.json").write_text(json.dumps(pruned))
    found = kinds(verify_run(run_dir, verifier(project)))
    assert ("bad_signature", "pruned.json") in found
    assert any(kind == "missing" and subject.startswith("screenshots/") for kind, subject in found)


def test_hmac_signing_verifies_with_the_shared_key_only(project, billing, tmp_path, monkeypatch):
    settings_path = project / "backroom.yaml"
    settings = yaml.safe_load(settings_path.read_text())
    settings["audit"] = {"signing": "hmac"}
    settings_path.write_text(yaml.safe_dump(settings))
    key = "hmac-planted-key-77120"
    monkeypatch.setenv("BACKROOM_SECRET_AUDIT_HMAC_KEY", key)
    monkeypatch.setenv("BACKROOM_SECRET_BILLING_PASSWORD", PASSWORD)
    monkeypatch.setenv("BACKROOM_SECRET_SUPERVISOR_CODE", SUPERVISOR)
    workbook, _ = make_orders(tmp_path / "orders.xlsx", 1)
    run = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                               app_urls={"billing": billing.url}))
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["signature"]["algorithm"] == "hmac-sha256"
    assert verify_run(run.run_dir, verifier(project)).ok
    wrong = verify_run(run.run_dir, HmacKey(b"another key"))
    assert [f.kind for f in wrong.findings] == ["bad_signature"]
    for path in (project / "logs").rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_a_deleted_manifest_and_a_run_from_before_sealing_are_told_apart(copy):
    project, (first, second) = copy
    (second / "manifest.json").unlink()  # the chain lists the run as sealed: deleted, not killed
    result = verify_run(second, verifier(project))
    assert [(f.kind, f.subject) for f in result.findings] == [("missing", "manifest.json")]
    assert ("missing", f"{second.name}/manifest.json") in {(f.kind, f.subject)
                                                          for f in verify_bot_chain(second.parent, verifier(project))}
    (first.parent / "chain.jsonl").unlink()
    old = [json.loads(line) for line in event_lines(first)]
    write_lines(first, [json.dumps({k: v for k, v in e.items() if k != "prev"}) for e in old])
    (first / "manifest.json").unlink()
    assert [(f.kind, f.subject) for f in verify_run(first, verifier(project)).findings] == [
        ("unsealed", "manifest.json"), ("unsealed", "events.jsonl")]


def resign_everything(project: Path, bot_dir: Path, signer) -> None:
    """What an insider who can write logs/ but not read the key would do: a new key pair, every run's
    manifest and the bot's chain signed again with it, and the public key under logs/ replaced."""
    from runner.audit.events import sha256_text
    from runner.audit.manifest import CHAIN_FILE, CHAIN_START, signed

    lines, previous = [], None
    for line in (bot_dir / CHAIN_FILE).read_text().splitlines():
        entry = json.loads(line)
        manifest_path = bot_dir / entry["run"] / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest.pop("signature")
        text = json.dumps(signed(manifest, signer), indent=2, ensure_ascii=False) + "\n"
        manifest_path.write_text(text)
        body = {"run": entry["run"], "manifest_sha256": sha256_text(text),
                "prev": sha256_text(previous) if previous else CHAIN_START}
        previous = json.dumps(signed(body, signer), sort_keys=True, ensure_ascii=False)
        lines.append(previous)
    (bot_dir / CHAIN_FILE).write_text("\n".join(lines) + "\n")
    rewind_head(project, bot_dir.name, entry["run"], len(lines), lines[-1])   # the queue's record too


def test_a_swapped_key_is_refused_by_the_pinned_fingerprint(copy, tmp_path):
    project, (first, second) = copy
    settings = load_settings(project)
    from runner.audit.signing import public_key_fingerprint

    pinned = public_key_fingerprint(project / settings.audit.public_key)
    forger = tmp_path / "forger"
    forger.mkdir()
    (forger / "backroom.yaml").write_text("audit: {private_key: k.pem, public_key: k.pub}\n")
    resign_everything(project, first.parent, load_signer(load_settings(forger), forger))
    shutil.copy(forger / "k.pub", project / settings.audit.public_key)

    def verify(*extra):
        return subprocess.run([sys.executable, "-m", "runner.cli", "audit", "verify", "--all", *extra], cwd=project,
                              capture_output=True, text=True, timeout=120)

    unpinned = verify()   # without a pin, the swap cannot be seen: verification says it is unprotected
    assert unpinned.returncode == 0 and "is not pinned" in unpinned.stdout
    refused = verify("--fingerprint", pinned)
    assert refused.returncode == 4 and "the key was replaced" in refused.stderr, refused.stdout + refused.stderr
    config = yaml.safe_load((project / "backroom.yaml").read_text())
    config["audit"] = {**(config.get("audit") or {}), "public_key_sha256": pinned}
    (project / "backroom.yaml").write_text(yaml.safe_dump(config))
    pinned_run = verify()
    assert pinned_run.returncode == 4 and f"pins {pinned}" in pinned_run.stderr
    assert "is not pinned" not in pinned_run.stdout


def cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=project, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "250"})


def rewind_head(project: Path, bot: str, run: str, length: int, line: str) -> None:
    """As if the runner was killed before it recorded its new chain head in the queue."""
    import sqlite3

    from runner.audit.events import sha256_text

    with sqlite3.connect(describe_queue(load_settings(project).queue_url, project)) as db:
        db.execute("UPDATE evidence_heads SET run_id = ?, chain_length = ?, line_sha256 = ? WHERE bot = ?",
                   (run, length, sha256_text(line), bot))


def test_a_run_killed_while_sealing_is_said_to_be_killed_and_closed_by_a_person(copy):
    project, (first, second) = copy
    chain = first.parent / "chain.jsonl"
    lines = chain.read_text().splitlines()
    chain.write_text(lines[0] + "\n")         # the manifest was written, the chain line was not
    rewind_head(project, "rekey-orders", first.name, 1, lines[0])
    done = cli(project, "audit", "verify", "--all")
    assert done.returncode == 4 and "killed: " + second.name in done.stdout and "killed while sealing" in done.stdout
    assert "inserted" not in done.stdout and "altered" not in done.stdout, done.stdout
    closed = cli(project, "audit", "close", second.name, "--reason", "power cut at 02:10", "--by", "ops-lead")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    after = cli(project, "audit", "verify", "--all")
    assert after.returncode == 0, after.stdout
    assert "closed by ops-lead" in after.stdout and "power cut at 02:10" in after.stdout
    again = cli(project, "audit", "close", second.name, "--reason", "twice", "--by", "ops-lead")
    assert again.returncode == 2 and "nothing to close" in again.stderr


def test_the_newest_run_deleted_with_its_chain_line_and_a_deleted_bot_folder_are_noticed(copy):
    project, (first, second) = copy
    chain = first.parent / "chain.jsonl"
    chain.write_text(chain.read_text().splitlines()[0] + "\n")
    shutil.rmtree(second)
    done = cli(project, "audit", "verify", "--all")
    assert done.returncode == 4 and f"the queue recorded run {second.name} as sealed run 2" in done.stdout, done.stdout
    shutil.rmtree(first.parent)
    gone = cli(project, "audit", "verify", "--all")
    assert gone.returncode == 4 and "removed bot: rekey-orders" in gone.stdout and "is gone" in gone.stdout


@pytest.mark.web
def test_a_run_killed_outright_is_explained_then_closed(project, billing, tmp_path):
    """kill -9 in the middle of a run: verify says killed at <time>, intact up to event N, never tampering;
    a line being written when it died is part of the kill; audit close seals the remains."""
    from runner.audit.events import read_events

    orders, _ = make_orders(tmp_path / "orders.xlsx", 6, seed=71)
    run = subprocess.Popen([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(orders),
                            "--app-url", f"billing={billing.url}"], cwd=project,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bot_dir = project / "logs" / "rekey-orders"

    def steps_written() -> int:
        events = list(bot_dir.glob("*/events.jsonl"))
        return sum(1 for e in read_events(events[0].parent) if e["kind"] == "step") if events else 0

    wait_until(lambda: steps_written() > 12, 120, "the run to be mid-way", run)
    run.kill()
    run.wait()
    [run_dir] = [d for d in bot_dir.iterdir() if d.is_dir()]
    with open(run_dir / "events.jsonl", "a") as events:
        events.write('{"run": "' + run_dir.name + '", "seq": 9')   # a line cut off mid-write
    done = cli(project, "audit", "verify", "--all")
    assert done.returncode == 4, done.stdout
    assert f"killed: {run_dir.name}: killed at 20" in done.stdout and "being written" in done.stdout
    for word in ("altered", "inserted", "deleted", "out of order"):
        assert word not in done.stdout, done.stdout
    closed = cli(project, "audit", "close", run_dir.name, "--reason", "runner host rebooted", "--by", "ops")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    after = cli(project, "audit", "verify", "--all")
    assert after.returncode == 0 and "closed by ops" in after.stdout, after.stdout


def test_the_private_key_can_be_encrypted_with_a_passphrase_secret(tmp_path, monkeypatch):
    project = tmp_path / "keys"
    project.mkdir()
    (project / "backroom.yaml").write_text("audit: {private_key: keys/k.pem, public_key: keys/k.pub}\n")
    monkeypatch.setenv("BACKROOM_SECRET_AUDIT_KEY_PASSPHRASE", "a long passphrase from the keyring")
    made = cli(project, "audit", "keygen")
    assert made.returncode == 0 and "public_key_sha256: " in made.stdout, made.stdout + made.stderr
    assert (project / "keys" / "k.pem").read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    settings = load_settings(project)
    signer = load_signer(settings, project)
    assert load_verifier(settings, project).verify(b"manifest", signer.sign(b"manifest"))
    assert signer.secret_values == ("a long passphrase from the keyring",)   # masked in the run's logs
    monkeypatch.delenv("BACKROOM_SECRET_AUDIT_KEY_PASSPHRASE")
    with pytest.raises(Exception, match="audit_key_passphrase"):
        load_signer(settings, project)


def test_events_changed_before_the_seal_are_walked_and_named_not_waved_through(project):
    """A file sealed exactly as the trail wrote it is marked so (verify need not walk its chain again); a line
    changed while the run was still going is not, and verify walks the chain and names it."""
    from runner.audit.events import AuditEvent, AuditTrail
    from runner.audit.manifest import seal_run
    from runner.project.secrets import Redactor

    settings = load_settings(project)
    signer, verifier = load_signer(settings, project), load_verifier(settings, project)
    sealed = {}
    for name, meddle in (("20261126-010000-aaaa", False), ("20261126-020000-bbbb", True)):
        run_dir = project / "logs" / "rekey-orders" / name
        trail = AuditTrail(name, run_dir, Redactor())
        for n in range(5):
            trail.emit(AuditEvent(run=name, seq=trail.next_seq(), kind="step", outcome="pass", value=f"qty {n}"))
        trail.close()
        events = run_dir / "events.jsonl"
        if meddle:   # someone edits a typed value in the open file before the run is sealed
            events.write_text(events.read_text(encoding="utf-8").replace('"qty 2"', '"qty 9"'), encoding="utf-8")
        seal_run(run_dir, name, "rekey-orders", trail.written, trail.last_hash, signer,
                 written_sha256=trail.written_sha256)
        sealed[name] = json.loads((run_dir / "manifest.json").read_text())["events"]
        verified = verify_run(run_dir, verifier)
        if meddle:
            assert "as_written" not in sealed[name]
            assert [(f.kind, f.subject) for f in verified.findings] == [("altered", "event seq 3 (line 3)")]
        else:
            assert sealed[name]["as_written"] is True
            assert verified.ok and not verified.findings and verified.events == 5
