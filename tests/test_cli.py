"""The `backroom` command as a person runs it: a real process, real exit codes, messages on screen."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.demo.sample_orders import write_orders_workbook

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db

COMMANDS = [[], ["run"], ["check"], ["bots"], ["report"], ["demo"], ["demo", "serve"], ["demo", "run"], ["demo", "ledger"],
            ["audit", "close"], ["init"], ["queue"], ["queue", "list"], ["queue", "show"], ["queue", "retry"], ["queue", "skip"],
            ["scheduler"], ["scheduler", "status"], ["menu"], ["console"], ["console", "users"],
            ["console", "users", "add"], ["console", "users", "list"], ["console", "users", "set-password"],
            ["console", "users", "disable"], ["console", "users", "enable"], ["record"], ["record", "web"],
            ["record", "desktop"], ["audit"], ["audit", "verify"], ["audit", "item"], ["audit", "export"],
            ["audit", "prune"], ["audit", "keygen"]]


def backroom(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command as a person at this machine runs it, its secrets set (a run and check need them)."""
    full_env = {**os.environ, "COLUMNS": "200", "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR, **(env or {})}
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


@pytest.mark.parametrize("mistyped", [["run", "sample-orders", "--retry-failed"], ["nosuch"]], ids=["option", "command"])
def test_a_mistyped_command_is_a_usage_error_not_a_defect(mistyped, project):
    done = backroom(*mistyped, cwd=project)
    assert done.returncode == 2, done.stderr
    assert "Usage:" in done.stderr and ("No such option: --retry-failed" in done.stderr or
                                        "No such command 'nosuch'" in done.stderr), done.stderr
    assert "Internal error" not in done.stderr and "Traceback" not in done.stderr


def test_a_run_from_the_command_line(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    done = backroom("run", "rekey-orders", "--input", str(path), "--app-url", f"billing={billing.url}",
                    cwd=project, env={"BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                                      "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 orders from 2 input rows: 2 done" in done.stdout
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


def test_check_refuses_what_a_run_would_refuse_before_it_starts(project):
    """check goes through the run's own preparation: a recipe using an item field the bot lacks (named
    by its line), a missing secret, an app with no address, each refused by both with exit 2."""
    no_secrets = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_SECRET_")}
    no_secrets.update(COLUMNS="200", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    done = subprocess.run([sys.executable, "-m", "runner.cli", "check", "rekey-orders"], cwd=project,
                          env=no_secrets, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "secret 'billing_password' is not set" in done.stderr, done.stderr

    settings = project / "backroom.yaml"
    settings.write_text(settings.read_text().replace("url: http://127.0.0.1:8700", "url: null"))
    done = backroom("check", "rekey-orders", cwd=project, env={"BACKROOM_APP_BILLING_URL": ""})
    assert done.returncode == 2 and "no address for app 'billing'" in done.stderr, done.stdout + done.stderr

    recipe = project / "recipes" / "enter-order.yaml"
    recipe.write_text(recipe.read_text().replace("{{ item.notes }}", "{{ item.note }}"))
    for command in ("check", "run"):
        done = backroom(command, "rekey-orders", *(["--input", "x.xlsx"] if command == "run" else []), cwd=project,
                        env={"BACKROOM_APP_BILLING_URL": "http://127.0.0.1:1"})
        assert done.returncode == 2, done.stdout + done.stderr
        text = " ".join(done.stderr.split())
        assert "item.note is not a field of bots/rekey-orders/bot.yaml" in text
        assert re.search(r"recipes/enter-order\.yaml:\d+", text), text


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


def test_demo_serve_with_its_faults_as_the_readme_shows(project, tmp_path):
    """`backroom demo serve --drop-keys 0.3 --autocomplete --repeat-ids 0.2 --shuffle-lists` serves a BILLSYS
    whose entry screens carry the fault script; a share outside 0..1 is refused."""
    import re
    import urllib.request

    refused = backroom("demo", "serve", "--drop-keys", "1.5", cwd=project)
    assert refused.returncode == 2 and "--drop-keys 1.5: a share from 0 to 1" in refused.stderr
    db = tmp_path / "served.db"
    server = subprocess.Popen([sys.executable, "-m", "runner.cli", "demo", "serve", "--port", "0", "--db", str(db),
                               "--drop-keys", "0.3", "--autocomplete", "--repeat-ids", "0.2", "--shuffle-lists"],
                              cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "COLUMNS": "200", "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD})
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        opener.open(f"{url}/login", data=f"UID=clerk&PWD={PASSWORD}".encode(), timeout=30)
        form = opener.open(f"{url}/orders/new", timeout=30).read().decode()
        assert '"drop_keys": 0.3' in form and '"autocomplete": true' in form
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_check_lists_where_values_are_not_read_back(project):
    recipe = project / "recipes" / "enter-order.yaml"
    recipe.write_text(recipe.read_text().replace("      target: order.notes\n      value: \"{{ item.notes }}\"\n",
                                                 "      target: order.notes\n      value: \"{{ item.notes }}\"\n"
                                                 "    verify: false\n", 1))
    done = backroom("check", "rekey-orders", cwd=project)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stderr
    assert "fill order.notes is not read back (verify: false)" in text and "recipes/enter-order.yaml:" in text
    assert "has no verify recipe" not in text  # rekey-orders looks its orders up before keying them again
    settings = project / "backroom.yaml"
    settings.write_text(settings.read_text().replace("    user: clerk\n", "    user: clerk\n    verify: false\n", 1))
    text = " ".join(backroom("check", "rekey-orders", cwd=project).stdout.split())
    assert "fill order.sku is not read back (app 'billing' has verify: false in backroom.yaml)" in text


def test_init_makes_a_project_that_check_passes_and_refuses_to_overwrite_one(tmp_path):
    made = backroom("init", str(tmp_path / "mine"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "mine"
    assert {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()} == {
        ".gitignore", "backroom.yaml", "bots/sample-orders/bot.yaml", "recipes/sign-on.yaml",
        "recipes/key-order.yaml", "recipes/look-up-order.yaml", "selectors/billing.yaml", "samples/orders.xlsx"}
    checked = backroom("check", "sample-orders", "--input", "samples/orders.xlsx", cwd=project)
    assert checked.returncode == 0 and "3 work item(s)" in checked.stdout, checked.stdout + checked.stderr
    assert "warning" not in checked.stdout   # the sample bot is one to copy: nothing to warn about
    again = backroom("init", str(project), cwd=tmp_path)
    assert again.returncode == 2 and "already a Backroom project" in again.stderr
    lost = backroom("run", "no-such-bot", "--input", "samples/orders.xlsx", cwd=tmp_path)
    assert lost.returncode == 2 and str(tmp_path.resolve()) in lost.stderr and "--project DIR" in lost.stderr
