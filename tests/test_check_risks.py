"""`backroom check` lists every risk of a bot in one place, and `check --strict` refuses a bot with any.

The bot here is what a quick recording on Roundup leaves when nobody marks anything: the sign-on typed on the
screen of the form it saves, no step marked as saving, a read of the new number found by its place in the page
and kept whole. Each risk names its file and line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from runner.project.selector_map import Candidate, is_positional

from .test_third_party_tracker import PROJECT, tickets_workbook

RISKY_RECIPE = """name: file-risky
app: tracker
steps:
  - open: "{{ app.url }}/"
  - fill: {target: tracker.name, value: "{{ app.user }}"}
  - fill: {target: tracker.password, value: "{{ secrets.tracker_password }}"}
  - click: tracker.login
  - open: "{{ app.url }}/issue?@template=item"
  - fill: {target: tracker.title, value: "{{ item.ref }} {{ item.summary }}"}
  - click: tracker.submit
  - read: {target: tracker.number, into: issue_id}
"""
RISKY_SCREEN = """  tracker:
    name:
      find: [{css: "input[name=__login_name]"}]
    password:
      secret: true
      find: [{css: "input[name=__login_password]"}]
    login:
      find: [{role: button, name: Login}]
    title:
      find: [{css: "input#title"}]
    submit:
      find: [{role: button, name: Submit New Entry}]
    number:
      find:
        - xpath: "/html/body/table/tbody/tr[2]/td[2]/table/tbody/tr[2]/td[1]"
        - css: "body > table > tbody > tr:nth-child(2) td"
"""


def check(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BACKROOM_SECRET_TRACKER_PASSWORD": "x", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "runner.cli", "check", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_lists_every_risk_of_a_bot_and_strict_refuses_it(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "recipes" / "file-risky.yaml").write_text(RISKY_RECIPE)
    map_path = project / "selectors" / "tracker.yaml"
    map_path.write_text(map_path.read_text() + RISKY_SCREEN)
    bot = yaml.safe_load((project / "bots" / "file-issues" / "bot.yaml").read_text())
    bot.update(recipes=["file-risky"], output={"columns": {}})
    bot.pop("verify"), bot.pop("verify_when")
    (project / "bots" / "file-issues" / "bot.yaml").write_text(yaml.safe_dump(bot, sort_keys=False))

    listed = check(project, "file-issues")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    lines = [" ".join(line.split()) for line in listed.stdout.splitlines()]
    risks = [line for line in lines if line.startswith("warning ")]
    assert any(line.startswith("Risks (4)") for line in lines), listed.stdout
    assert any("recipes/file-risky.yaml:5: the sign-on is typed on screen 'tracker', which is not known as a "
               "sign-on screen" in line for line in risks), risks
    assert any("recipes/file-risky.yaml:9: screen 'tracker' holds both the sign-on and the form it saves" in line
               for line in risks), risks
    assert any("recipes/file-risky.yaml:11: read tracker.number is found only by its position in the page" in line
               for line in risks), risks
    assert any("recipes/file-risky.yaml:1: nothing reads the number tracker gives a record" in line
               for line in risks), risks

    refused = check(project, "file-issues", "--strict")
    assert refused.returncode == 2 and "Refused (--strict): 4 risk(s)" in " ".join(refused.stdout.split())

    # the bot as the tracker project has it: sign-on on its own screen, the save marked, the key read patterned
    # and found by the message it is in, a verify recipe: nothing to list, and --strict lets it through
    bot.update(recipes=["file-issue"], verify="find-issue")
    (project / "bots" / "file-issues" / "bot.yaml").write_text(yaml.safe_dump(bot, sort_keys=False))
    clean = check(project, "file-issues", "--strict")
    assert clean.returncode == 0 and "Risks" not in clean.stdout and "warning" not in clean.stdout, clean.stdout


def test_a_locator_by_position_alone_is_told_from_one_by_what_the_element_is():
    positional = [Candidate("xpath", "/html/body/div[2]/table/tr[3]/td[1]"), Candidate("css", "body > div > p"),
                  Candidate("css", "table tr:nth-child(2) > td:nth-of-type(1)"), Candidate("xpath", "(//td)[last()]"),
                  # a list found by its id, a row of it by its number: the second row is another record next time
                  Candidate("css", "#list > tbody > tr:nth-of-type(2) > td.id"),
                  Candidate("xpath", "(//table[@class='list']//tr[td])[1]/td[1]"),
                  Candidate("xpath", "//table[@id='list']//tr[2]/td[1]")]
    by_what = [Candidate("xpath", "//tr[td[normalize-space()='{{ item.ref }}']]/td[1]"),
               Candidate("css", "p.ok-message"), Candidate("css", "#issue-id"), Candidate("css", "td[data-col=id]"),
               Candidate("xpath", "//th[.='Id']/following-sibling::td[1]"), Candidate("role", "cell", "Id"),
               Candidate("css", "#summary > p:nth-of-type(2)")]
    assert all(is_positional(c) for c in positional)
    assert not any(is_positional(c) for c in by_what)


def test_a_key_read_found_only_by_its_position_is_refused_by_check_and_run(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "recipes" / "file-risky.yaml").write_text(RISKY_RECIPE.replace(
        "  - read: {target: tracker.number, into: issue_id}\n",
        "  - read: {target: tracker.number, into: issue_id}\n    key_step: true\n"))
    map_path = project / "selectors" / "tracker.yaml"
    map_path.write_text(map_path.read_text() + RISKY_SCREEN)
    bot = yaml.safe_load((project / "bots" / "file-issues" / "bot.yaml").read_text())
    bot.update(recipes=["file-risky"], output={"columns": {}})
    (project / "bots" / "file-issues" / "bot.yaml").write_text(yaml.safe_dump(bot, sort_keys=False))
    workbook = tickets_workbook(tmp_path / "t.xlsx", [["HD-1", "Printer", "bug", "Jams."]])
    for command in (["check", "file-issues"], ["run", "file-issues", "--input", str(workbook)]):
        refused = subprocess.run([sys.executable, "-m", "runner.cli", *command], cwd=project, capture_output=True,
                                 text=True, timeout=120, env={**os.environ, "BACKROOM_SECRET_TRACKER_PASSWORD": "x"})
        said = " ".join((refused.stdout + refused.stderr).split())
        assert refused.returncode == 2, said
        assert "recipes/file-risky.yaml:11: key read tracker.number is found only by its position in the page" in said
    assert not (project / "logs" / "file-issues").exists()   # refused before any run began
