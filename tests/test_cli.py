"""The `backroom` command as a person runs it: a real process, real exit codes, messages on screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.sample_orders import write_orders_workbook

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db

COMMANDS = [[], ["run"], ["check"], ["bots"], ["report"], ["demo"], ["demo", "serve"], ["demo", "run"], ["demo", "ledger"],
            ["queue"], ["queue", "list"], ["queue", "show"], ["queue", "retry"], ["queue", "skip"],
            ["scheduler"], ["scheduler", "status"], ["menu"], ["console"], ["console", "users"],
            ["console", "users", "add"], ["console", "users", "list"], ["console", "users", "set-password"],
            ["console", "users", "disable"], ["console", "users", "enable"], ["record"], ["record", "web"],
            ["record", "desktop"], ["audit"], ["audit", "verify"], ["audit", "item"], ["audit", "export"],
            ["audit", "prune"], ["audit", "keygen"]]


def backroom(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "backroom")
def test_every_command_has_help(command, project):
    done = backroom(*command, "--help", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_top_level_help_lists_the_commands(project):
    text = backroom("--help", cwd=project).stdout
    for name in ("run", "check", "bots", "report", "demo", "queue"):
        assert f" {name} " in text


def test_a_run_from_the_command_line(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    done = backroom("run", "rekey-orders", "--input", str(path), "--app-url", f"billing={billing.url}",
                    cwd=project, env={"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                                      "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "   2  done" in done.stdout
    assert "Audit report:" in done.stdout and "report.html" in done.stdout
    assert len(orders_in_db(billing.settings.db_path)) == 2


def test_bad_input_exits_2_with_the_cell(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    rows[1][3] = "ten"
    write_orders_workbook(path, rows)
    done = backroom("check", "rekey-orders", "--input", str(path), cwd=project)
    assert done.returncode == 2
    assert '[orders.xlsx]Orders!D3: quantity must be a whole number, got "ten"' in done.stdout


def test_a_missing_secret_stops_before_the_browser_starts(project, tmp_path):
    path, _ = make_orders(tmp_path / "orders.xlsx", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_SECRET_")}
    done = subprocess.run([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(path)],
                          cwd=project, env={**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "secret 'billing_password' is not set" in done.stderr
    assert "BACKROOM_SECRET_BILLING_PASSWORD" in done.stderr
    assert not (project / "logs").exists()


def test_an_unknown_bot_names_the_known_ones(project):
    done = backroom("run", "rekey-ordrs", "--input", "x.xlsx", cwd=project)
    assert done.returncode == 2
    assert "no bot named 'rekey-ordrs'" in done.stderr and "rekey-orders" in done.stderr


def test_an_unreachable_app_exits_3(project, tmp_path):
    path, _ = make_orders(tmp_path / "orders.xlsx", 1)
    done = backroom("run", "rekey-orders", "--input", str(path), "--app-url", "billing=http://127.0.0.1:1",
                    cwd=project, env={"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                                      "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot reach" in done.stdout


def test_check_reads_a_reconciliation_statement_and_names_bad_cells(project, tmp_path):
    from openpyxl import load_workbook

    sample = project / "bots" / "reconcile-accounts" / "sample" / "statement.xlsx"
    done = backroom("check", "reconcile-accounts", "--input", str(sample), cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reconcile-accounts: 2 recipe(s)" in done.stdout and "39 statement line(s)" in done.stdout
    book = load_workbook(sample)
    book["Statement"]["E5"] = "12.00 EUR"
    broken = tmp_path / "statement.xlsx"
    book.save(broken)
    done = backroom("check", "reconcile-accounts", "--input", str(broken), cwd=project)
    assert done.returncode == 2
    assert '[statement.xlsx]Statement!E5: amount in EUR, expected USD, got "12.00 EUR"' in done.stdout


def test_reconciliation_lines_cannot_be_edited_only_explained(project):
    done = backroom("queue", "retry", "statement:2026-01-05:1.00:x", "--bot", "reconcile-accounts",
                    "--set", "amount=1", cwd=project)
    assert done.returncode == 2
    assert "reconcile-accounts's items have no fields to --set" in done.stderr
    assert "queue skip --reason" in done.stderr
