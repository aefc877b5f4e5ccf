"""An item's chain of custody across runs and people, audit packs read back, and a scan of every
artifact of a run for planted secrets (text, and the masked regions of the screenshots)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
from docx import Document
from openpyxl import load_workbook
from PIL import Image

from runner.demo.sample_orders import write_orders_workbook
from runner import RunRequest, load_settings, start_run
from runner.audit.custody import item_custody
from runner.audit.events import sha256_text

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db


def backroom(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=project, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "COLUMNS": "220"})


def run(project, workbook, url):
    return start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project, app_urls={"billing": url},
                                screenshots="every"))


def test_an_items_custody_follows_it_through_review_a_person_and_a_second_run(project, billing, secrets_env, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    rows[0][1] = "C013"  # a closed account: BILLSYS refuses it, a person corrects it
    write_orders_workbook(path, rows)
    first = run(project, path, billing.url)
    reference = rows[0][0]
    assert backroom(project, "queue", "retry", reference, "--bot", "rekey-orders", "--set", "customer=C001",
                    "--by", "alice").returncode == 0
    second = run(project, path, billing.url)
    confirmation = next(o["confirmation"] for o in orders_in_db(billing.settings.db_path) if o["reference"] == reference)

    [custody] = item_custody(project, "logs", load_settings(project).queue_url, reference)
    assert custody.runs == [first.run_id, second.run_id] and custody.state == "done"
    assert custody.result["vars"]["confirmation"] == confirmation
    whats = [(e.source, e.who, e.what) for e in custody.entries]
    assert [e.at for e in custody.entries] == sorted(e.at for e in custody.entries)
    assert any(who.startswith("intake:") for _, who, _ in whats)                       # intake
    assert any(w.startswith("fill order.customer_code") for _, _, w in whats)          # the values keyed
    assert any(w == "item business_exception (attempt 1)" for _, _, w in whats)        # the refusal
    assert any(who == "user:alice" for _, who, _ in whats)                            # the person's decision
    keyed_customers = [e.detail for e in custody.entries if e.what.startswith("fill order.customer_code")]
    assert "value C013" in keyed_customers[0] and "value C001" in keyed_customers[-1]
    assert any(e.screenshot and (project / e.screenshot).is_file() for e in custody.entries)

    shown = backroom(project, "audit", "item", reference)
    assert shown.returncode == 0, shown.stderr
    assert "user:alice" in shown.stdout and "retry with customer=C001" in shown.stdout
    assert f"the system answered confirmation {confirmation}" in shown.stdout and "Now: done" in shown.stdout
    unknown = backroom(project, "audit", "item", "NO-SUCH-REF")
    assert unknown.returncode == 2 and "no history for item 'NO-SUCH-REF'" in unknown.stderr


def test_audit_packs_hold_what_the_events_say(project, billing, secrets_env, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    result = run(project, path, billing.url)
    events_text = (result.run_dir / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in events_text]

    done = backroom(project, "audit", "export", result.run_id, "--format", "xlsx", "--out", str(tmp_path / "pack.xlsx"))
    assert done.returncode == 0, done.stderr
    workbook = load_workbook(tmp_path / "pack.xlsx")
    sheet = workbook["Events"]
    header = [c.value for c in sheet[1]]
    table = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert len(table) == len(events)
    for row, event, line in zip(table, events, events_text):
        assert row["seq"] == event["seq"] and row["item"] == event.get("item") and row["target"] == event.get("target")
        assert row["sha256"] == sha256_text(line) and row["prev"] == event["prev"]
    assert [r["prev"] for r in table[1:]] == [r["sha256"] for r in table[:-1]]  # the chain, readable in Excel
    summary = {r[0].value: r[1].value for r in workbook["Summary"].iter_rows(min_row=2)}
    assert summary["Run"] == result.run_id and summary["Verification"].startswith("Verified")

    done = backroom(project, "audit", "export", result.run_id, "--format", "docx")
    assert done.returncode == 0, done.stderr
    pack = project / "logs" / "audit" / "packs" / f"audit-pack-{result.run_id}.docx"
    document = Document(str(pack))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [f"Item {r[0]}" for r in rows] + ["Verification"]
    text = "\n".join(p.text for p in document.paragraphs)
    saves = [e for e in events if e.get("target") == "order.save"]
    assert len(saves) == 2 and all(f"click order.save ({e['outcome']})" in text for e in saves)
    shots = {e["screenshot"] for e in events if e.get("screenshot") and e.get("item")}
    assert len(document.inline_shapes) == len(shots) > 0  # each screenshot of an item, once
    assert "Verified: signature, every artifact and the chain of events are intact." in text
    cells = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert cells["Run"] == result.run_id and cells["Items"] == "2 orders from 2 input rows: 2 done"


def solid_masks(image_path: Path) -> tuple[int, int]:
    """(masked fields, masked fields with anything drawn inside them): a masked field shows no text."""
    pixels = np.asarray(Image.open(image_path).convert("RGB")).astype(int)
    magenta = ((pixels[..., 0] > 200) & (pixels[..., 1] < 90) & (pixels[..., 2] > 200)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(magenta)
    fields = dirty = 0
    for x, y, width, height, area in stats[1:]:
        if area < 200:
            continue  # a few pixels of compression noise, not a field
        fields += 1
        inner = magenta[y + 2:y + height - 2, x + 2:x + width - 2]
        if inner.size and inner.mean() < 0.97:
            dirty += 1
    return fields, dirty


def test_no_artifact_of_a_run_holds_a_planted_secret(project, billing, secrets_env, tmp_path):
    path, _ = make_orders(tmp_path / "orders.xlsx", 2)
    result = run(project, path, billing.url)
    for fmt in ("docx", "xlsx"):
        assert backroom(project, "audit", "export", result.run_id, "--format", fmt).returncode == 0
    planted = [PASSWORD.encode(), SUPERVISOR.encode()]
    scanned = 0
    for file in (project / "logs").rglob("*"):
        if not file.is_file():
            continue
        blobs = [file.read_bytes()]
        if file.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(file) as archive:  # the text inside Office files is compressed
                blobs += [archive.read(name) for name in archive.namelist()]
        for blob in blobs:
            assert not any(secret in blob for secret in planted), file
        scanned += 1
    assert scanned > 20
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    typed_secret = [e["screenshot"] for e in events if e.get("target") in ("login.password", "order.supervisor_code")]
    assert typed_secret
    for shot in typed_secret:
        regions, dirty = solid_masks(result.run_dir / shot)
        assert regions >= 1 and dirty == 0, shot  # painted over, nothing legible inside
    every_shot = {e["screenshot"] for e in events if e.get("screenshot")}
    assert all(solid_masks(result.run_dir / shot)[1] == 0 for shot in every_shot)
