"""report.html: what a run did, item by item and step by step, built from events.jsonl alone.

Screenshots are linked, not embedded, so a 10,000-step run stays small; thumbnails load
lazily. Items that need a person come first.
"""

from __future__ import annotations

from collections import OrderedDict
from importlib.resources import files
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..work_queue.counts import GROUP_OF_OUTCOME, ItemCounts, count_items
from .events import read_events

REPORT_FILE = "report.html"
REPORT_SCRIPT = "report.js"
OUTCOME_ORDER = {"system_exception": 0, "business_exception": 1, "to_review": 1, "rejected": 2, "refused": 2,
                 "not_started": 3, "skipped": 4, "done": 5}
OUTCOME_LABEL = {
    "done": "Done", "business_exception": "Needs review", "system_exception": "Failed (system)",
    "rejected": "Rejected at intake", "not_started": "Not started", "in_progress": "Interrupted",
    "to_review": "Refused at intake: in review", "refused": "Refused at intake", "skipped": "Skipped by a person",
    "corrected": "Corrected input: queued",
}
# a run that ended without its last event is counted from its items' events; intake's words for them
INTAKE_OUTCOME = {"to_review": "business_exception", "refused": "business_exception", "changed_after_done": "done"}


@dataclass
class ItemView:
    reference: str
    outcome: str = "in_progress"
    message: str = ""
    source: str = ""
    attempts: int = 0
    steps: list[dict] = field(default_factory=list)
    result: dict = field(default_factory=dict)
    documents: list[dict] = field(default_factory=list)   # files written for the item, with their hashes

    @property
    def label(self) -> str:
        return OUTCOME_LABEL.get(self.outcome, self.outcome)

    @property
    def healed(self) -> int:
        return sum(1 for s in self.steps if s.get("healed"))

    @property
    def in_reading_order(self) -> list[dict]:
        """Steps as they began: a `call` is written when the recipe it ran has ended, after its steps,
        but is read before them. Attempt by attempt; the event's own number breaks a tie."""
        return sorted(self.steps, key=lambda s: (s.get("attempt") or 0, s.get("started") or "", s.get("seq") or 0))

    @property
    def search_text(self) -> str:
        """What the report's search looks through: the reference, every value typed or read, the messages."""
        parts = [self.reference, self.message, self.source, *(str(v) for v in self.result.values())]
        for step in self.steps:
            parts += [str(step.get(key) or "") for key in ("value", "message", "target")]
            parts += [str(v) for v in ((step.get("data") or {}).get("read_back") or [])]
        return " ".join(part for part in parts if part).casefold()


def local_time(iso: str) -> str:
    """An event's time as a person reads it: this machine's local time, to the second, with its zone."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except ValueError:
        return iso


def duration_text(start_iso: str, end_iso: str) -> str:
    """'4 min 12 s', '2 h 3 min', '0.8 s'; '' when either time is missing."""
    try:
        seconds = (datetime.fromisoformat(end_iso) - datetime.fromisoformat(start_iso)).total_seconds()
    except (TypeError, ValueError):
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _environment() -> Environment:
    return Environment(loader=PackageLoader("runner", "templates"), autoescape=select_autoescape(["html", "j2"]))


def build_report(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    events = read_events(run_dir)
    run_info: dict = {}
    reconciliation: dict | None = None
    items: "OrderedDict[str, ItemView]" = OrderedDict()
    for event in events:
        ref = event.get("item")
        if event["kind"] == "run":
            run_info.setdefault("start", event)
            if event["outcome"] != "started":
                run_info["end"] = event
            continue
        if event["kind"] == "reconcile":
            reconciliation = event
            continue
        if ref is None:
            continue
        view = items.setdefault(ref, ItemView(ref))
        if event["kind"] == "step":
            view.steps.append(event)
        elif event["kind"] == "document":
            view.documents.append(event.get("data") or {})
        elif event["kind"] in ("item", "intake"):
            data = event.get("data") or {}
            view.source = data.get("source", view.source)
            if event["outcome"] == "started":
                view.attempts = max(view.attempts, event.get("attempt") or 0)
            elif event["outcome"] != "retrying":
                view.outcome, view.message = event["outcome"], event.get("message", "")
                view.result = data.get("result", view.result)
            else:
                view.message = event.get("message", "")
    ordered = sorted(items.values(), key=lambda v: OUTCOME_ORDER.get(v.outcome, -1))
    start = run_info.get("start", {}).get("data", {})
    end = run_info.get("end", {})
    # the run's own count, from its last event: what the summary, the menu and the console show
    counts = ItemCounts.from_data((end.get("data") or {}).get("counts")) or count_items(
        {v.reference: v.outcome if v.outcome in GROUP_OF_OUTCOME else INTAKE_OUTCOME.get(v.outcome)
         for v in items.values()})
    html = _environment().get_template("report.html.j2").render(
        run_id=run_dir.name, bot=start.get("bot", run_dir.parent.name), start=start, end=end,
        started=local_time(run_info.get("start", {}).get("started", "")), finished=local_time(end.get("started", "")),
        took=duration_text(run_info.get("start", {}).get("started", ""), end.get("started", "")),
        items=ordered, counts=counts,
        steps=sum(len(v.steps) for v in items.values()),
        healed=sum(v.healed for v in items.values()),
        screenshots=len({e["screenshot"] for e in events if e.get("screenshot")}),
        reconciliation=reconciliation,
        read_back=(end.get("data") or {}).get("read_back") or {},
    )
    path = run_dir / REPORT_FILE
    path.write_text(html, encoding="utf-8")
    # its script beside it, sealed with the run like the report (no inline script: see the console's policy)
    (run_dir / REPORT_SCRIPT).write_bytes(files("runner").joinpath("templates", REPORT_SCRIPT).read_bytes())
    return path
