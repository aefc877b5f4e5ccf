"""Audit packs: a run's evidence in a form an auditor files.

The Word document tells the run as a story: a summary, then each work item's steps in order with
the screenshots that show them, then what verification found. The workbook has one row per event
with every field, its hash and the hash it chains to, and the verification on a sheet of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from docx import Document
from docx.shared import Cm, Pt
from openpyxl import Workbook

from ..intake.sheet_style import append_row, write_header
from .events import EVENTS_FILE, read_events, sha256_text
from .manifest import read_manifest
from .run_index import summarize_run
from .verify import RunVerification

EVENT_COLUMNS = ["seq", "started", "kind", "item", "attempt", "recipe", "step", "action", "target", "selector",
                 "healed", "value", "outcome", "message", "duration_ms", "screenshot", "screenshot_sha256",
                 "prev", "sha256"]


def _event_lines(run_dir: Path) -> list[str]:
    path = Path(run_dir) / EVENTS_FILE
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line] if path.exists() else []


def run_summary(run_dir: Path, event_count: int) -> "OrderedDict[str, str]":
    """The pack's summary table: the run as the runs list tells it (run_index), and its seal."""
    run = summarize_run(run_dir)
    manifest, _ = read_manifest(run_dir)
    return OrderedDict([
        ("Bot", run.bot), ("Run", run.run_id),
        ("Started", run.started.isoformat() if run.started else ""),
        ("Ended", run.finished.isoformat() if run.finished else ""),
        ("Started by", run.started_by), ("Input", run.input),
        ("Outcome", run.outcome_text + (f": {run.message}" if run.message else "")),
        ("Items", run.counts_text or "none"),
        ("Events", str(event_count)),
        ("Sealed", manifest.get("sealed_at", "") if manifest else "not sealed"),
        ("Signature", f"{manifest['signature']['algorithm']} key {manifest['signature']['key_id']}"
         if manifest and manifest.get("signature") else "none"),
    ])


def _verdict(verification: RunVerification) -> str:
    if verification.ok:
        pruned = sum(1 for f in verification.findings if f.kind == "pruned")
        return "Verified: signature, every artifact and the chain of events are intact" + \
            (f" ({pruned} screenshot(s) pruned by policy)." if pruned else ".")
    return f"NOT verified: {sum(1 for f in verification.findings if f.is_problem)} problem(s) found."


def _narrative(event: dict) -> str:
    time = str(event.get("started", ""))[11:19]
    if event.get("kind") == "step":
        text = f"{time}  {event.get('action')} {event.get('target') or ''}".rstrip()
        if event.get("value") is not None:
            text += f" = {event['value']}"
        text += f" ({event.get('outcome')})"
        if event.get("healed"):
            text += f", healed: found by {event.get('selector')}"
        if event.get("message"):
            text += f": {event['message']}"
        return text
    text = f"{time}  {event.get('kind')} {event.get('outcome')}"
    if event.get("attempt"):
        text += f", attempt {event['attempt']}"
    return text + (f": {event['message']}" if event.get("message") else "")


def export_docx(run_dir: Path, verification: RunVerification, out: Path) -> Path:
    events = read_events(run_dir)
    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading(f"Audit pack: {run_dir.parent.name}, run {run_dir.name}", level=0)
    table = document.add_table(rows=0, cols=2)
    table.style = "Light Grid Accent 1"
    for key, value in run_summary(run_dir, len(events)).items():
        row = table.add_row().cells
        row[0].text, row[1].text = key, value
    document.add_paragraph(_verdict(verification))
    by_item: "OrderedDict[str, list[dict]]" = OrderedDict()
    for event in events:
        if event.get("item"):
            by_item.setdefault(event["item"], []).append(event)
    for reference, item_events in by_item.items():
        document.add_heading(f"Item {reference}", level=1)
        final = next((e for e in reversed(item_events) if e.get("kind") == "item"), None)
        if final:
            document.add_paragraph(f"Outcome: {final.get('outcome')}" + (f": {final['message']}" if final.get("message") else ""))
        shown: set[str] = set()
        for event in item_events:
            document.add_paragraph(_narrative(event), style="List Bullet")
            shot = event.get("screenshot")
            if shot and shot not in shown:
                shown.add(shot)
                path = run_dir / shot
                if path.exists():
                    document.add_picture(str(path), width=Cm(14))
                    document.add_paragraph(f"{shot}  SHA-256 {event.get('screenshot_sha256', '')}").runs[0].font.size = Pt(7)
                else:
                    document.add_paragraph(f"{shot}: not in the run folder (see verification)")
    document.add_heading("Verification", level=1)
    document.add_paragraph(_verdict(verification))
    for finding in verification.findings:
        document.add_paragraph(str(finding), style="List Bullet")
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out


def export_xlsx(run_dir: Path, verification: RunVerification, out: Path) -> Path:
    import json

    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    lines = _event_lines(run_dir)
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"message": "not a valid event (see verification)"})
    write_header(summary, ["Field", "Value"])
    for key, value in run_summary(run_dir, len(lines)).items():
        append_row(summary, [key, value])
    append_row(summary, ["Verification", _verdict(verification)])
    sheet = workbook.create_sheet("Events")
    write_header(sheet, EVENT_COLUMNS)
    for line, event in zip(lines, events):
        row = [event.get(c) for c in EVENT_COLUMNS[:-1]]
        append_row(sheet, [*row, sha256_text(line)])
    findings = workbook.create_sheet("Verification")
    write_header(findings, ["Finding", "Subject", "Detail"])
    for finding in verification.findings:
        append_row(findings, [finding.kind, finding.subject, finding.detail])
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out
