"""Recording on desktop programs nobody here wrote, from Debian's packages: FeatherPad (a Qt editor)
and Mousepad (a GTK one). A person, driven with xdotool, writes one note and saves it through the
program's own Save dialog; the recipe and selector map the recorder writes are used as they are to
write five more notes, checked in the program's own storage: the files it saved."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.demo.sample_workbook import write_sample_workbook

from .conftest import wait_until
from .test_recorder_desktop import desktop_recording, type_into, xdo

pytestmark = pytest.mark.desktop

# Where each program draws what the person uses, on a 1280x1024 screen with no window manager (the
# programs open at the top left corner at their default sizes): the page, the Save dialog's file
# name field and its Save button. In FeatherPad's (Qt) dialog the person double-clicks the archive
# folder (the first row of the project's folder, where the dialog opens) and types the file's name; in
# Mousepad's (GTK) one they type the whole path.
PROGRAMS = {
    "featherpad": {"page": (300, 200), "file_name": (340, 363), "save": (603, 363), "dialog": "Save as...",
                   "field": "file_name", "typed": "file", "folder": (185, 76)},
    "mousepad": {"page": (300, 250), "file_name": (575, 26), "save": (1046, 832), "dialog": "Save As",
                 "field": "name", "typed": "path"},
}
SAMPLE = "Call the supplier about order 4411"
REPLAY = ["Ring C101 about invoice 7", "Ask C102 for the signed delivery note", "Chase C103: 21 days overdue",
          "Credit note for C104, damaged goods", "Thank C105 for the early payment"]


@pytest.fixture(scope="module")
def big_screen(screen):
    """A screen large enough for GTK's Save dialog (1096x856 at its default size); the session's own
    screen comes back afterwards."""
    from runner.drivers.display import virtual_display

    if shutil.which("featherpad") is None or shutil.which("mousepad") is None:
        pytest.skip("featherpad and mousepad are installed by ./quickstart.sh test")
    with virtual_display(1280, 1024) as name:
        yield name
    os.environ["DISPLAY"] = screen


def notes_project(folder: Path, program: str) -> Path:
    """A project with the program as a desktop app and a bot that writes notes with it."""
    folder.mkdir()
    for part in ("recipes", "selectors", "bots/file-notes", "archive"):
        (folder / part).mkdir(parents=True)
    (folder / "backroom.yaml").write_text(yaml.safe_dump(
        {"apps": {program: {"command": program, "window": "Untitled", "close_timeout_s": 5}}}))
    (folder / "bots" / "file-notes" / "bot.yaml").write_text(yaml.safe_dump({
        "name": "file-notes", "description": f"Write each note of a workbook into a file with {program}.",
        "input": {"type": "excel", "sheet": "Notes", "reference": "path",
                  "fields": {"path": {"column": "Path", "type": "text"}, "file": {"column": "File", "type": "text"},
                             "body": {"column": "Body", "type": "text"}}},
        "recipes": ["write-note"]}, sort_keys=False))
    return folder


def notes(path: Path, rows: list[tuple[Path, str]]) -> Path:
    return write_sample_workbook(path, "Notes", ["Path", "File", "Body"], [[str(p), p.name, b] for p, b in rows], {})


def window_shown(title: str) -> bool:
    return subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}"],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_a_note_recorded_in_a_third_party_editor_writes_five_more(program, big_screen, tmp_path):
    where = PROGRAMS[program]
    project = notes_project(tmp_path / "project", program)
    settings = tmp_path / "settings"   # the programs keep their settings here, not in the user's own
    settings.mkdir()
    # the project is home: FeatherPad's dialog opens in the home folder, Mousepad's in the working one
    env = {**os.environ, "DISPLAY": big_screen, "HOME": str(project), "XDG_CONFIG_HOME": str(settings)}
    sample_file = project / "archive" / "note-sample.txt"
    sample = notes(tmp_path / "sample.xlsx", [(sample_file, SAMPLE)])
    log = tmp_path / "recorder.log"
    with desktop_recording(project, env, log, "--app", program, "--out", "recipes/write-note.yaml",
                           "--sample", str(sample), "--bot", "file-notes") as recorder:
        type_into(where["page"], SAMPLE, select="none")
        xdo("key", "ctrl+s")
        subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{where['dialog']}"],
                       check=True, timeout=30, capture_output=True)
        if "folder" in where:   # into the archive folder: a double-click on its row
            xdo("mousemove", str(where["folder"][0]), str(where["folder"][1]), "click", "--repeat", "2",
                "--delay", "80", "1")
        type_into(where["file_name"], str(sample_file) if where["typed"] == "path" else sample_file.name,
                  select="ctrl+a")
        xdo("mousemove", str(where["save"][0]), str(where["save"][1]), "click", "1")
        wait_until(lambda: not window_shown(where["dialog"]), 30, "the Save dialog to close", recorder)
        xdo("key", "ctrl+q")
        wait_until(lambda: not window_shown("Untitled"), 30, f"{program} to quit", recorder)
    output = log.read_text()
    assert sample_file.read_text().rstrip("\n") == SAMPLE   # the recording saved the sample for real
    saved_at = sample_file.stat().st_mtime_ns

    # Names come from the screen's own words (the dialog's title, the field's label, the button's face),
    # the typed values became the item's fields, the dialog is a screen of its own that is waited for.
    steps = yaml.safe_load((project / "recipes" / "write-note.yaml").read_text())["steps"]
    field = f"save_as.{where['field']}"
    into_folder = [{"wait_for": "save_as.archive"}, {"click": {"target": "save_as.archive", "double": True}}] \
        if "folder" in where else [{"wait_for": field}]   # the double-click is one step, and the dialog's first
    assert steps == [{"launch": program},
                     {"fill": {"target": "main.body", "value": "{{ item.body }}"}},
                     {"press": "Control+S"},
                     *into_folder,
                     {"fill": {"target": field, "value": "{{ item.%s }}" % where["typed"]}},
                     {"click": "save_as.save"},
                     {"press": "Control+Q"}], output
    selector_map = yaml.safe_load((project / "selectors" / f"{program}.yaml").read_text())
    assert selector_map["screens"] == {"save_as": {"window": where["dialog"]}}
    file_name = selector_map["elements"]["save_as"][where["field"]]["find"]
    assert "anchor" in file_name[0] and file_name[0]["anchor"].endswith("_label.png")   # found by its label
    page = selector_map["elements"]["main"]["body"]["find"]
    assert "anchor" in page[0], page   # an empty page is found from a picture beside it, not a blank one

    # Replay: the sample (done while recording) and five more, with the files written as they are.
    rows = [(sample_file, SAMPLE)] + [(project / "archive" / f"note-{n}.txt", body) for n, body in enumerate(REPLAY, 1)]
    run = subprocess.run([sys.executable, "-m", "runner.cli", "run", "file-notes", "--input",
                          str(notes(tmp_path / "notes.xlsx", rows))], cwd=project, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for path, body in rows:
        assert path.read_text().rstrip("\n") == body, path
    assert sample_file.stat().st_mtime_ns == saved_at   # the note keyed while recording was not keyed again
    assert sorted(p.name for p in (project / "archive").iterdir()) == sorted(p.name for p, _ in rows)
