"""Secrets are masked where they came from, never by substring: short secrets that also occur inside
hashes and order references leave every run verifiable and every reference whole, and a secret the
application repeats in an error is masked in every place the error goes (events, run log, terminal,
queue, console, screenshot)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from runner.demo.sample_orders import sample_rows, write_orders_workbook
from playwright.sync_api import sync_playwright

from runner.work_queue import describe_queue
from runner import load_settings
from runner.console import console_in_thread
from runner.console.users import UserStore
from runner.project.secrets import Redactor
from runner.project.templating import MASK

from .conftest import PASSWORD, start_billing
from .test_console_security import OPERATOR, Session

HEX_SECRET = "9f86d081884c7d65"


def backroom(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=project, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "220", **(env or {})})


def rush_orders(path: Path, count: int, seed: int) -> list[list]:
    rows = sample_rows(count, seed=seed)
    for row in rows:
        row[6] = "Rush"  # every order needs the supervisor code
    write_orders_workbook(path, rows)
    return rows


def test_masking_touches_words_of_their_own_only():
    masks = Redactor()
    masks.add("0000", "1", "SO-", HEX_SECRET)
    whole = ["SO-0300007", "sha256 a90000bc1" + HEX_SECRET + "0e", "SO-1", "C1001", "v1.2", "2026-11-01"]
    for text in whole:
        assert masks.scrub(text) == text
    assert masks.scrub("code 0000 is not valid") == f"code {MASK} is not valid"
    assert masks.scrub("tried 1, then SO- and " + HEX_SECRET + ".") == f"tried {MASK}, then {MASK} and {MASK}."
    assert masks.scrub_data({"sha": ["x0000y", "0000"], "n": 1}) == {"sha": ["x0000y", MASK], "n": 1}


@pytest.mark.parametrize("code", ["0000", "1", "SO-", HEX_SECRET])
def test_short_secrets_leave_runs_verifiable_and_references_whole(code, project, tmp_path):
    """The supervisor code is typed for every order; BILLSYS expects exactly it, so every order is saved."""
    rows = rush_orders(tmp_path / "orders.xlsx", 3, seed=3)
    env = {"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD, "BACKROOM_SECRET_SUPERVISOR_CODE": code}
    with start_billing(tmp_path, supervisor_code=code) as app:
        done = backroom(project, "run", "rekey-orders", "--input", str(tmp_path / "orders.xlsx"),
                        "--app-url", f"billing={app.url}", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    verified = backroom(project, "audit", "verify", "--all")
    assert verified.returncode == 0 and "Every run verified" in verified.stdout, verified.stdout
    [run_dir] = [d for d in (project / "logs" / "rekey-orders").iterdir() if d.is_dir()]
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    for reference, *_ in rows:
        assert any(e.get("item") == reference and e["outcome"] == "done" for e in events), reference
        assert f"{MASK}" not in reference
        found = backroom(project, "audit", "item", reference)
        assert found.returncode == 0 and "Now: done" in found.stdout, found.stdout + found.stderr
    for event in events:  # hashes are whole: 64 hex digits each
        for key in ("prev", "screenshot_sha256"):
            if key in event:
                assert len(event[key]) == 64 and MASK not in event[key]
    typed = [e for e in events if e.get("target") == "order.supervisor_code"]
    assert typed and all(e["value"] == MASK for e in typed)


def magenta_pixels(path: Path) -> int:
    image = Image.open(path).convert("RGB")
    return sum(1 for r, g, b in image.get_flattened_data() if r > 200 and g < 90 and b > 200)


def test_a_secret_the_application_repeats_is_masked_everywhere_it_goes(project, tmp_path):
    """BILLSYS repeats a wrong supervisor code in its error ("... HEX is not valid."): the item goes to
    review, and the secret is in no event, log, terminal line, queue row, console page or picture."""
    rush_orders(tmp_path / "orders.xlsx", 2, seed=4)
    env = {"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD, "BACKROOM_SECRET_SUPERVISOR_CODE": HEX_SECRET}
    with start_billing(tmp_path, supervisor_code="4242") as app:
        done = backroom(project, "run", "rekey-orders", "--input", str(tmp_path / "orders.xlsx"),
                        "--app-url", f"billing={app.url}", "--screenshots", "every", env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # both orders refused, sent to review
    assert "is not valid" in done.stdout and f"{MASK} is not valid" in done.stdout
    assert HEX_SECRET not in done.stdout + done.stderr

    settings = load_settings(project)
    with sqlite3.connect(describe_queue(settings.queue_url, project)) as db:
        stored = json.dumps([list(r) for r in db.execute("SELECT * FROM items")]) + \
            json.dumps([list(r) for r in db.execute("SELECT * FROM state_changes")])
    assert f"{MASK} is not valid" in stored and HEX_SECRET not in stored
    listed = backroom(project, "queue", "list", "--bot", "rekey-orders")
    assert HEX_SECRET not in listed.stdout

    [run_dir] = [d for d in (project / "logs" / "rekey-orders").iterdir() if d.is_dir()]
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert HEX_SECRET.encode() not in path.read_bytes(), path
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    refused = [e for e in events if e.get("outcome") == "fail" and "is not valid" in (e.get("message") or "")]
    assert refused, "the refusal is recorded"
    for event in refused:
        assert any("painted over" in note for note in event["data"]["painted_over"])
        # the error line repeating the code is covered in the picture of the refusal
        assert magenta_pixels(run_dir / event["screenshot"]) > 200
    assert backroom(project, "audit", "verify", "--all").returncode == 0

    store = UserStore(project / "logs" / "console" / "users.sqlite3")
    store.add(*OPERATOR[:1], ["operator"], OPERATOR[1])
    store.close()
    with console_in_thread(project) as running, sync_playwright() as playwright:
        person = Session(playwright, running.url)
        assert person.sign_in(*OPERATOR).status == 302
        for path in ["/review", *{f"/items/rekey-orders/{e['item']}" for e in refused},
                     f"/runs/rekey-orders/{run_dir.name}", f"/runs/rekey-orders/{run_dir.name}/report.html"]:
            page = person.http.get(path)
            assert page.status == 200 and HEX_SECRET not in page.text(), path
        item_page = person.http.get(f"/items/rekey-orders/{refused[0]['item']}").text()
        assert f"{MASK} is not valid" in item_page
