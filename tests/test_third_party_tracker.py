"""Backroom on a web application nobody here wrote: Roundup, the issue tracker from PyPI.

Tickets are filed from a workbook through Roundup's own pages; what Roundup holds is read back
through its own API. Every value typed is read back from Roundup's controls (a text input, a
select whose option values are ids, a text area); the number Roundup gives each issue must be
its own; and a search that lists every title containing the text is read from the item's row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.demo.sample_workbook import write_sample_workbook
from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events

from .third_party.roundup_app import ADMIN_PASSWORD, start_tracker

PROJECT = Path(__file__).parent / "third_party" / "tracker"
TICKETS = [
    ["HD-1", "Printer on floor 2 jams", "urgent", "Jams on every duplex job since Monday."],
    ["HD-10", "VPN drops after an hour", "bug", "Seen by three people in accounts."],
    ["HD-11", "New starter needs a laptop", "feature", "Starts on the 1st; finance team."],
    ["HD-12", "Password reset for the payroll system", "critical", "Locked out before the pay run."],
    ["HD-2", "Monitor flickers", "wish", "Only when the blinds are open."],
]


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKROOM_SECRET_TRACKER_PASSWORD", ADMIN_PASSWORD)
    running = start_tracker(tmp_path)
    yield running
    running.stop()


def tickets_workbook(path: Path, rows: list[list]) -> Path:
    return write_sample_workbook(path, "Tickets", ["Ref", "Summary", "Priority", "Note"], rows, {})


def run_bot(tmp_path: Path, tracker, rows: list[list]):
    project = tmp_path / "project"
    if not project.exists():
        shutil.copytree(PROJECT, project)
    return start_run(RunRequest(bot="file-issues", input_path=tickets_workbook(tmp_path / "tickets.xlsx", rows),
                                project=project, app_urls={"tracker": tracker.url.rstrip("/")}))


def test_tickets_are_filed_once_each_with_every_value_read_back(tmp_path, tracker):
    # HD-1 is already there, filed by a person: the title search for "HD-1" also lists HD-10, HD-11, HD-12
    by_hand = tracker.file_by_hand("HD-1 Printer on floor 2 jams", "urgent")
    result = run_bot(tmp_path, tracker, TICKETS)

    assert result.exit_code == ExitCode.OK, result.items
    issues = tracker.issues()
    assert sorted(i["title"] for i in issues) == sorted(f"{t[0]} {t[1]}" for t in TICKETS)  # once each
    by_title = {i["title"]: i for i in issues}
    for ref, summary, priority, note in TICKETS:
        issue = by_title[f"{ref} {summary}"]
        assert issue["priority"] == priority
        assert issue["notes"] == ([] if issue["id"] == by_hand else [note])
    for item in result.items:  # each number the bot recorded is Roundup's number for that ticket
        ticket = next(t for t in TICKETS if t[0] == item.reference)
        assert item.variables["issue_id"] == by_title[f"{ticket[0]} {ticket[1]}"]["id"]
    done_by_hand = next(i for i in result.items if i.reference == "HD-1")
    assert done_by_hand.variables["issue_id"] == by_hand and "already in Roundup" in done_by_hand.message

    events = read_events(result.run_dir)
    inputs = [e for e in events if e["kind"] == "step" and e["action"] in ("fill", "select")]
    assert len(inputs) == 3 * (len(TICKETS) - 1) + 2  # title, priority, note per ticket filed, and one sign-on
    assert all(e["verified"] == "read back" for e in inputs)
    submits = [e for e in events if e.get("target") == "issue.submit" and e["outcome"] == "pass"]
    assert all(e["data"]["rechecked"] == ["issue.title", "issue.priority", "issue.note"] for e in submits)


def test_a_value_roundup_cannot_hold_is_never_submitted(tmp_path, tracker):
    """A summary typed in Excel with Alt+Enter holds a line break, which a one-line field drops: the title
    reads back different, is typed again, still differs, and the ticket is never filed with a changed title."""
    rows = [["HD-30", "Laptop fan\nnoisy when charging", "bug", "From the spreadsheet as typed."],
            ["HD-31", "Projector bulb", "wish", "Room 4."]]
    result = run_bot(tmp_path, tracker, rows)

    assert result.exit_code == ExitCode.ITEMS_FAILED
    outcomes = {i.reference: i for i in result.items}
    assert outcomes["HD-30"].outcome == "system_exception" and outcomes["HD-31"].outcome == "done"
    assert ("'issue.title' holds 'HD-30 Laptop fannoisy when charging' after it was typed again, more slowly; "
            "it should hold 'HD-30 Laptop fan\\nnoisy when charging'") in outcomes["HD-30"].message
    assert [i["title"] for i in tracker.issues()] == ["HD-31 Projector bulb"]  # nothing filed with a changed title
