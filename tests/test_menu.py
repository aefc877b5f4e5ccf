"""The runner menu in a real terminal (tmux): pick a bot and an input, watch it work, Ctrl-C asks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from runner.project.settings import load_settings
from runner.work_queue import ItemState, open_queue

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db, start_billing
from .tmux_terminal import Terminal


def menu_terminal(project: Path, url: str, tmp_path: Path, *args: str) -> Terminal:
    browser = tmp_path / "browser.sh"  # stands in for the desktop's browser: records what it was asked to open
    browser.write_text(f"#!/bin/sh\necho \"$1\" >> {tmp_path / 'opened.txt'}\n")
    browser.chmod(0o755)
    env = {"BACKROOM_APP_BILLING_URL": url, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
           "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR, "BROWSER": str(browser), "PATH": os.environ["PATH"],
           "HOME": str(tmp_path), "TERM": "xterm-256color", "COLUMNS": "180"}
    return Terminal([sys.executable, "-m", "runner.cli", *args], project, env)


def queue_states(project: Path) -> dict[str, ItemState]:
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        return {item.reference: item.state for item in queue.items("rekey-orders")}
    finally:
        queue.close()


def test_an_operator_picks_a_bot_and_the_newest_inbox_file_and_the_run_happens(project, tmp_path):
    inbox = project / "bots" / "rekey-orders" / "inbox"
    inbox.mkdir()
    _, rows = make_orders(inbox / "orders-today.xlsx", 4, seed=31)
    with start_billing(tmp_path) as app:
        terminal = menu_terminal(project, app.url, tmp_path)   # `backroom` alone in a terminal is the menu
        try:
            shown = terminal.wait_for("Bot to run (1-4)")
            assert "rekey-orders" in shown and "never run" in shown
            terminal.answer("rekey-orders")
            shown = terminal.wait_for("Input file (number")
            assert "inbox" in shown and "orders-today.xlsx" in shown and "sample" in shown
            terminal.answer("1")
            terminal.wait_for("Show the browser while it works?")
            terminal.answer("n")
            shown = terminal.wait_for("Run rekey-orders on")
            assert "bots/rekey-orders/inbox/orders-today.xlsx" in shown
            terminal.answer("y")
            shown = terminal.wait_for("Open the audit report?", timeout=120)
            # the bar ends where the summary below it begins: the same count, in the same words
            assert "4/4 orders · 4 done" in shown and "4 orders from 4 input rows: 4 done" in shown, shown
            assert "Audit report:" in shown
            terminal.answer("y")
            terminal.wait_for("Bot to run (1-4)", count=2)
            shown = terminal.screen().split("Open the audit report?")[-1]
            assert "every item done" in shown  # the list shows the last run now
            terminal.answer("q")
            terminal.wait_for("[exit 0]")
        finally:
            terminal.close()
        keyed = orders_in_db(tmp_path / "billsys.db")
    assert sorted(o["reference"] for o in keyed) == sorted(r[0] for r in rows)
    assert set(queue_states(project).values()) == {ItemState.DONE}
    opened = (tmp_path / "opened.txt").read_text().split()
    assert len(opened) == 1 and opened[0].startswith("file://") and opened[0].endswith("/report.html")
    assert Path(opened[0][len("file://"):]).exists()


def test_ctrl_c_asks_and_stopping_after_the_current_item_loses_nothing(project, tmp_path):
    _, rows = make_orders(tmp_path / "orders.xlsx", 8, seed=32)
    with start_billing(tmp_path, delay_ms=350) as app:
        terminal = menu_terminal(project, app.url, tmp_path, "menu", "--project", str(project))
        try:
            terminal.wait_for("Bot to run (1-4)")
            terminal.answer("4")
            terminal.wait_for("Input file (number")
            terminal.answer("t")
            terminal.wait_for("Path")
            terminal.answer(str(tmp_path / "orders.xlsx"))
            terminal.wait_for("Show the browser while it works?")
            terminal.answer("n")
            terminal.wait_for("Run rekey-orders on")
            terminal.answer("y")
            terminal.wait_for("orders · 1 done", timeout=120)
            terminal.type("C-c")
            terminal.wait_for("Stop after the current item?")
            terminal.answer("n")                      # carry on: the run never noticed
            terminal.wait_for("Carrying on.")
            terminal.wait_for("orders · 3 done", timeout=120)
            terminal.type("C-c")
            terminal.wait_for("Stop after the current item?", count=2)
            terminal.answer("y")
            shown = terminal.wait_for("Open the audit report?", timeout=120)
            assert "stopped by the operator after the current item" in shown
            terminal.answer("n")
            terminal.wait_for("Bot to run (1-4)", count=2)
            terminal.answer("q")
            terminal.wait_for("[exit 0]")
        finally:
            terminal.close()
        keyed = [o["reference"] for o in orders_in_db(tmp_path / "billsys.db")]
    states = queue_states(project)
    done = sorted(ref for ref, state in states.items() if state == ItemState.DONE)
    # Nothing lost, nothing twice: what was keyed is exactly what the queue calls done, the rest waits.
    assert 3 <= len(done) < 8
    assert sorted(keyed) == done
    assert all(state == ItemState.PENDING for ref, state in states.items() if ref not in done)
    assert sorted(states) == sorted(r[0] for r in rows)


def test_the_bot_list_fits_an_80_by_24_terminal_one_line_per_bot(project, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm-256color"}
    terminal = Terminal([sys.executable, "-m", "runner.cli", "menu"], project, env, width=80, height=24)
    try:
        terminal.wait_for("Bot to run (1-4)")
        visible = terminal.visible()
        names = sorted(p.name for p in (project / "bots").iterdir() if (p / "bot.yaml").exists())
        rows = [line for line in visible if any(f" {name} " in line for name in names)]
        # every bot on its own line, its name whole, with the prompt below them on the same screen
        assert len(rows) == len(names) == 4, "\n".join(visible)
        assert all(sum(f" {name} " in row for name in names) == 1 for row in rows)
        assert all(len(line) <= 80 for line in visible)
        assert any("Bot to run (1-4)" in line for line in visible)
        terminal.answer("q")
        terminal.wait_for("[exit 0]")
    finally:
        terminal.close()
