"""Recording on applications nobody here wrote: Roundup and Trac, issue trackers from PyPI. A person files
one ticket in the recording browser; the recipe and selector map the recorder writes are used as they
are (no hand edit) to file five other tickets in a fresh tracker, checked in Roundup's own database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

from runner import load_settings
from runner.demo.sample_workbook import write_sample_workbook
from runner.work_queue import open_queue

from .conftest import after_the_rerun, first_result, killed_after_a_save
from .test_recorder_web import Recorder, toolbar, watched
from .third_party.roundup_app import ADMIN_PASSWORD, start_tracker
from .third_party.trac_app import start_trac

PROJECT = Path(__file__).parent / "third_party" / "tracker"
SAMPLE = ["HD-7", "Scanner offline", "urgent", "Since Monday."]
# forty tickets: the recording is replayed as recorded on all of them, killed once right after a save
PRIORITIES = ["bug", "critical", "feature", "wish", "urgent"]
REPLAY = [[f"HD-{100 + n}", f"Desk {n} needs a look", PRIORITIES[n % 5], f"Floor {n % 7}."] for n in range(40)]


def tickets(path: Path, rows: list[list]) -> Path:
    return write_sample_workbook(path, "Tickets", ["Ref", "Summary", "Priority", "Note"], rows, {})


def test_a_ticket_recorded_on_roundup_files_five_more_without_a_hand_edit(tmp_path, screen):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "selectors" / "tracker.yaml").unlink()     # the recorder writes the map from scratch
    for recipe in (project / "recipes").glob("*.yaml"):
        recipe.unlink()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_tracker(tmp_path / "a")
    try:
        recorder = Recorder(project, first.url, "recipes/file-ticket.yaml", "--sample",
                            str(tickets(tmp_path / "sample.xlsx", [SAMPLE])), "--bot", "file-issues",
                            secrets={"BACKROOM_SECRET_TRACKER_PASSWORD": ADMIN_PASSWORD}, app="tracker",
                            first_page=first.url)
        with sync_playwright() as playwright:
            browser, page = recorder.connect(playwright)
            page.locator("input[name=__login_name]").fill("admin")
            page.locator("input[name=__login_password]").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Login").click()
            page.wait_for_load_state()
            # two links say "Create New" (issues, keywords): the issue's one
            watched(page.main_frame).locator("a[href='issue?@template=item']").click()
            page.wait_for_url("**/issue?@template=item")
            watched(page.main_frame)
            page.locator("input#title").fill(f"{SAMPLE[0]} {SAMPLE[1]}")
            page.locator("select[name=priority]").select_option(label=SAMPLE[2])
            page.locator("textarea[name='@note']").fill(SAMPLE[3])
            page.get_by_role("button", name="Submit New Entry").click()
            page.wait_for_url("**/issue1?**")
            toolbar(watched(page.main_frame), "Read a value").click()
            page.locator("p.ok-message span").click()
            # then to the list of every issue, and read the number Roundup gave the ticket from its row
            page.get_by_role("link", name="Show All").click()
            page.wait_for_url("**@dispname=Show%20All**")
            row = watched(page.main_frame).locator("table.list tr", has_text=f"{SAMPLE[0]} {SAMPLE[1]}")
            row.wait_for()
            toolbar(page.main_frame, "Read a value").click()
            row.locator("td").first.click()
            toolbar(page.main_frame, "Stop").click()
            output = recorder.wait()
            browser.close()
        assert recorder.process.returncode == 0, output
        assert [i["title"] for i in first.issues()] == [f"{SAMPLE[0]} {SAMPLE[1]}"]   # recording filed it
    finally:
        first.stop()

    recipe_text = (project / "recipes" / "file-ticket.yaml").read_text()
    map_text = (project / "selectors" / "tracker.yaml").read_text()
    assert ADMIN_PASSWORD not in recipe_text + map_text + output
    steps = yaml.safe_load(recipe_text)["steps"]
    fills = {s["fill"]["target"]: s["fill"]["value"] for s in steps if "fill" in s}
    assert fills["new_issue.title"] == "{{ item.ref }} {{ item.summary }}"           # two fields typed together
    assert fills["new_issue.change_note"] == "{{ item.note }}"
    assert {"select": {"target": "new_issue.priority", "option": "{{ item.priority }}"}} in steps
    selector_map = yaml.safe_load(map_text)["elements"]
    # named from the page's own words, never from the ticket: the site's name is not a screen
    # the pages' words, not the site's; the sign-on form a screen of its own, whatever page shows it
    assert sorted(selector_map) == ["issue", "list_of_issues", "login", "new_issue"]
    assert sorted(selector_map["login"]) == ["login", "login_name", "login_password"], selector_map["login"]
    # the browser saw the submit send the first write after the sign-on: the recorder marked it as the save,
    # and the read after it as the key read, keeping the number out of Roundup's sentence
    submit = next(s for s in steps if s.get("click") == "new_issue.submit_new_entry")
    assert submit.get("commits") is True and not any(s.get("commits") for s in steps if s is not submit)
    key_reads = [s for s in steps if "read" in s and s.get("key_step")]
    assert len(key_reads) == 1 and key_reads[0]["read"]["pattern"] == "issue (\\d+)", key_reads
    assert "keeps '1' of" in output
    assert all(not any(SAMPLE[0] in str(c) or SAMPLE[1] in str(c) for c in e["find"])
               for screen in selector_map.values() for e in screen.values())   # no locator holds the sample
    links = [e for screen in selector_map.values() for e in screen.values() if str(e["find"][0]).find("href") >= 0]
    assert links and links[0]["find"][0] == {"css": 'a[href="issue?@template=item"]'}   # its own address first
    number = [e for screen in selector_map.values() for name, e in screen.items() if name == "id"]
    assert number and number[0]["find"][0] == {
        "xpath": "//tr[td[normalize-space()='{{ item.ref }} {{ item.summary }}']]/*[1]"}   # found by the item's row

    bot = project / "bots" / "recorded-tickets"
    bot.mkdir()
    definition = yaml.safe_load((project / "bots" / "file-issues" / "bot.yaml").read_text())
    definition.update(name="recorded-tickets", recipes=["file-ticket"], output={"columns": {}})
    for key in ("verify", "verify_when"):
        definition.pop(key, None)
    (bot / "bot.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    second = start_tracker(tmp_path / "b")
    try:
        env = {**os.environ, "BACKROOM_SECRET_TRACKER_PASSWORD": ADMIN_PASSWORD}
        command = [sys.executable, "-m", "runner.cli", "run", "recorded-tickets", "--input",
                   str(tickets(tmp_path / "replay.xlsx", REPLAY)), "--app-url", f"tracker={second.url.rstrip('/')}"]
        # the runner is killed the moment Roundup holds the twelfth ticket
        assert killed_after_a_save(command, project, env, second.count, 12, 300) in (12, 13)
        run = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
        filed = second.issues()
    finally:
        second.stop()
    # 0 duplicates, 0 missing: every ticket once in Roundup's database, the killed one included
    assert sorted(i["title"] for i in filed) == sorted(f"{r[0]} {r[1]}" for r in REPLAY), run.stdout
    # the item the kill caught after its save was not keyed again; each ticket's run read its own row of the list
    read = after_the_rerun(run, project, "recorded-tickets", "tracker")
    key = key_reads[0]["read"]["into"]
    assert len(read) >= len(REPLAY) - 1   # every item done, but one the kill may have left for a person
    for issue in filed:
        ref = issue["title"].split(" ", 1)[0]
        if ref not in read:
            continue   # the one left for a person
        assert read[ref]["id"] == issue["id"], (ref, read[ref])
        assert read[ref][key] == issue["id"], (ref, read[ref])   # the number alone, not Roundup's sentence
    by_title = {i["title"]: i for i in filed}
    for ref, summary, priority, note in REPLAY:
        assert by_title[f"{ref} {summary}"]["priority"] == priority
        assert by_title[f"{ref} {summary}"]["notes"] == [note]


TRAC_SAMPLE = ["HD-7", "Scanner offline", "defect", "critical", "Since Monday."]
TRAC_REPLAY = [["HD-21", "Projector bulb gone", "defect", "major", "Room 4."],
               ["HD-22", "VPN drops at noon", "task", "blocker", "Daily."],
               ["HD-23", "New starter laptop", "enhancement", "minor", "Starts on the 1st."],
               ["HD-24", "Printer toner low", "task", "trivial", "Floor 2."],
               ["HD-25", "Door badge reader", "defect", "critical", "East door."]]


def trac_project(folder: Path) -> Path:
    """A project with Trac as its web app and a bot that files tickets into it."""
    for part in ("recipes", "selectors", "bots/file-tickets"):
        (folder / part).mkdir(parents=True)
    (folder / "backroom.yaml").write_text(yaml.safe_dump({"action_timeout_s": 10,
                                                          "apps": {"trac": {"url": "http://127.0.0.1:8918"}}}))
    choice = {"type": "choice"}
    (folder / "bots" / "file-tickets" / "bot.yaml").write_text(yaml.safe_dump({
        "name": "file-tickets", "description": "File the help desk's tickets into Trac.",
        "input": {"type": "excel", "sheet": "Tickets", "reference": "ref", "fields": {
            "ref": {"column": "Ref", "type": "text"}, "summary": {"column": "Summary", "type": "text"},
            "kind": {"column": "Type", **choice, "choices": ["defect", "enhancement", "task"]},
            "priority": {"column": "Priority", **choice, "choices": ["blocker", "critical", "major", "minor", "trivial"]},
            "description": {"column": "Description", "type": "text"}}},
        "recipes": ["file-ticket"], "output": {"columns": {"Ticket": "{{ vars.trac_id }}"}}}, sort_keys=False))
    return folder


def trac_tickets(path: Path, rows: list[list]) -> Path:
    return write_sample_workbook(path, "Tickets", ["Ref", "Summary", "Type", "Priority", "Description"], rows, {})


def check_recording(project: Path, output: str) -> None:
    """The recipe and map recorded on Trac, as written, and what the recorder told the builder."""
    steps = yaml.safe_load((project / "recipes" / "file-ticket.yaml").read_text())["steps"]
    assert steps[0] == {"open": "{{ app.url }}/newticket"}
    # a text area's value is told when it loses the focus, so its fill may come after the choices
    assert sorted(map(str, steps[1:5])) == sorted(map(str, [
        {"fill": {"target": "new_ticket.summary", "value": "{{ item.ref }} {{ item.summary }}"}},
        {"fill": {"target": "new_ticket.description", "value": "{{ item.description }}"}},
        {"select": {"target": "new_ticket.type", "option": "{{ item.kind }}"}},
        {"select": {"target": "new_ticket.priority", "option": "{{ item.priority }}"}}])), steps
    # the browser saw the click send the first write: it saves; the read after it keeps '1' of '#1'
    assert steps[5:] == [{"click": "new_ticket.create_ticket", "commits": True},
                         {"read": {"target": "ticket.trac_id", "into": "trac_id", "pattern": "#(\\d+)"},
                          "key_step": True}], steps
    assert "keeps '1' of '#1'" in output
    # it ends with the recipe's risks, as backroom check lists them: the bot has nothing to look a ticket up with
    said = " ".join(output.split())
    assert "Risks (1): where a green run would prove less than usual" in said, said
    assert "click new_ticket.create_ticket saves (commits: true) and bots/file-tickets/bot.yaml has no verify recipe" \
        in said
    elements = yaml.safe_load((project / "selectors" / "trac.yaml").read_text())["elements"]
    # the screens are the pages' own words (the heading, the address), never the ticket's data
    assert sorted(elements) == ["new_ticket", "ticket"]
    # the field filled as the form was sent is located on its own page, not on the ticket page's comment box
    assert elements["new_ticket"]["description"]["find"][0] == {"css": "#field-description"}
    # the value read is found by where it stands, never by what it says ('#1')
    assert elements["ticket"]["trac_id"]["find"][0] == {"css": "a.trac-id"}
    assert all("#1" not in str(c) for c in elements["ticket"]["trac_id"]["find"])


def test_a_ticket_recorded_on_trac_files_five_more_without_a_hand_edit(tmp_path, screen):
    project = trac_project(tmp_path / "project")
    (tmp_path / "a").mkdir()
    first = start_trac(tmp_path / "a")
    try:
        recorder = Recorder(project, f"{first.url}/newticket", "recipes/file-ticket.yaml", "--sample",
                            str(trac_tickets(tmp_path / "sample.xlsx", [TRAC_SAMPLE])), "--bot", "file-tickets",
                            secrets={}, app="trac", first_page="**/newticket")
        with sync_playwright() as playwright:
            browser, page = recorder.connect(playwright)
            page.get_by_label("Summary:").fill(f"{TRAC_SAMPLE[0]} {TRAC_SAMPLE[1]}")
            page.locator("#field-description").fill(TRAC_SAMPLE[4])
            page.get_by_label("Type:").select_option(label=TRAC_SAMPLE[2])
            page.get_by_label("Priority:").select_option(label=TRAC_SAMPLE[3])
            page.get_by_role("button", name="Create ticket").click()
            page.wait_for_url("**/ticket/1#ticket")
            toolbar(watched(page.main_frame), "Read a value").click()
            page.locator("a.trac-id").click()   # the number Trac gave the ticket, '#1'
            toolbar(page.main_frame, "Stop").click()
            output = recorder.wait()
            browser.close()
        assert recorder.process.returncode == 0, output
        assert [t["summary"] for t in first.tickets()] == [f"{TRAC_SAMPLE[0]} {TRAC_SAMPLE[1]}"]  # filed while recording
        # the sample workbook the recording was made from runs: its item is done (keyed while recording), with
        # the number the recording read in its output column, and it is not keyed a second time
        sample = subprocess.run([sys.executable, "-m", "runner.cli", "run", "file-tickets", "--input",
                                 str(tmp_path / "sample.xlsx"), "--app-url", f"trac={first.url}"], cwd=project,
                                capture_output=True, text=True, timeout=300)
        assert sample.returncode == 0, sample.stdout + sample.stderr
        assert len(first.tickets()) == 1
        assert first_result(sample, project, "Ticket") in (1, "1")
        check_recording(project, output)
        # the recording, as recorded, files five more into the same Trac
        run = subprocess.run([sys.executable, "-m", "runner.cli", "run", "file-tickets", "--input",
                              str(trac_tickets(tmp_path / "replay.xlsx", TRAC_REPLAY)), "--app-url",
                              f"trac={first.url}"], cwd=project, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        filed = first.tickets()[1:]
    finally:
        first.stop()

    assert [(t["summary"], t["type"], t["priority"], t["description"]) for t in filed] == \
        [(f"{ref} {summary}", kind, priority, note) for ref, summary, kind, priority, note in TRAC_REPLAY]
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        read = {item.reference: item.result["vars"] for item in queue.items("file-tickets")}
    finally:
        queue.close()
    for ticket in filed:   # each item read the number Trac gave its own ticket
        assert read[ticket["summary"].split(" ", 1)[0]]["trac_id"] == str(ticket["id"])   # the number alone
