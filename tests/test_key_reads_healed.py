"""A key read found by a fallback candidate is believed only beside the item's own values: on Roundup (a tracker
from PyPI nobody here wrote), the number of a ticket is read from the list of all tickets after its row's
locator stopped matching. A fallback that lands on another ticket's row (the first row of the list) sends the
item to a person instead of recording another record's number; one that finds the item's own row is kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events

from .test_third_party_tracker import PROJECT, tickets_workbook, tracker  # noqa: F401 - the fixture

RECIPE = """name: file-listed
app: tracker
steps:
  - open: "{{ app.url }}/"
  - call: tracker-login
    when: {visible: login.name}
  - open: "{{ app.url }}/issue?@template=item"
  - fill: {target: issue.title, value: "{{ item.ref }} {{ item.summary }}"}
  - select: {target: issue.priority, option: "{{ item.priority }}"}
  - click: issue.submit
    commits: true
  - wait_for: issue.created
  - open: "{{ app.url }}/issue?@columns=id,title&@sort=id&@template=index"
  - read: {target: issue_list.%s, into: issue_id, pattern: "^(\\\\d+)$"}
    key_step: true
"""
ELEMENTS = """    first_row_id:                 # the row's locator misses (a 9th column); the fallback takes the first row
      find:
        - xpath: "//table[@class='list']//tr[td[2][normalize-space()='{{ item.ref }} {{ item.summary }}']]/td[9]"
        - xpath: "(//table[@class='list']//tr[td])[1]/td[1]"
    own_row_id:                   # the row's locator misses; the fallback is the item's own row
      find:
        - xpath: "//table[@class='list']//tr[td[2][normalize-space()='{{ item.ref }} {{ item.summary }}']]/td[9]"
        - xpath: "//table[@class='list']//tr[td[2][normalize-space()='{{ item.ref }} {{ item.summary }}']]/td[1]"
"""


def project_reading(tmp_path: Path, element: str) -> Path:
    project = tmp_path / f"project-{element}"
    shutil.copytree(PROJECT, project)
    (project / "recipes" / "file-listed.yaml").write_text(RECIPE % element)
    map_path = project / "selectors" / "tracker.yaml"
    text = map_path.read_text()
    at = text.index("    this_issue:")
    map_path.write_text(text[:at] + ELEMENTS + text[at:])
    bot = yaml.safe_load((project / "bots" / "file-issues" / "bot.yaml").read_text())
    bot.update(recipes=["file-listed"], output={"columns": {"Issue": "{{ vars.issue_id }}"}})
    bot.pop("verify"), bot.pop("verify_when")
    (project / "bots" / "file-issues" / "bot.yaml").write_text(yaml.safe_dump(bot, sort_keys=False))
    return project


def test_a_healed_key_read_is_kept_only_beside_the_items_own_values(tmp_path, tracker):  # noqa: F811
    other = tracker.file_by_hand("HD-40 Lift out of order", "bug")   # the list's first row: another ticket
    project = project_reading(tmp_path, "first_row_id")
    row = ["HD-41", "Badge reader", "urgent", "East door."]
    wrong = start_run(RunRequest(bot="file-issues", project=project, app_urls={"tracker": tracker.url.rstrip("/")},
                                 input_path=tickets_workbook(tmp_path / "a.xlsx", [row])))
    assert wrong.exit_code == ExitCode.ITEMS_FAILED, wrong.items
    (item,) = wrong.items
    assert item.outcome == "business_exception" and "issue_id" not in item.variables
    assert "was found only by a fallback" in item.message and "none of HD-41's values" in item.message
    events = [e for e in read_events(wrong.run_dir) if e.get("target") == "issue_list.first_row_id"]
    assert events and events[-1]["healed"] and events[-1]["outcome"] == "fail"
    assert events[-1]["value"] == other   # what it read was the other ticket's number: never recorded

    project = project_reading(tmp_path, "own_row_id")
    right = start_run(RunRequest(bot="file-issues", project=project, app_urls={"tracker": tracker.url.rstrip("/")},
                                 input_path=tickets_workbook(tmp_path / "b.xlsx", [["HD-42", "Projector", "bug", "Room 4."]])))
    assert right.exit_code == ExitCode.OK, right.items
    ids = {i["title"]: i["id"] for i in tracker.issues()}
    assert right.items[0].variables["issue_id"] == ids["HD-42 Projector"] != other
    assert sorted(ids) == ["HD-40 Lift out of order", "HD-41 Badge reader", "HD-42 Projector"]   # each once
