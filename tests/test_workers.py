"""Several items at once: `--workers N` (or `workers:` in bot.yaml) works a run's queue with N browsers, each
with its own lease, into one trail, one report and one results workbook. Shown in real Chromium on BILLSYS,
checked in BILLSYS's database; bots that cannot be worked in parallel are refused by `run` and `check` alike."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
import yaml
from openpyxl import load_workbook

from runner import ExitCode, RunRequest, load_settings, start_run
from runner.audit.events import read_events
from runner.audit.signing import load_verifier
from runner.audit.verify import verify_run
from runner.demo.billing_web.faults import BillingFaults
from runner.errors import ConfigurationError

from .conftest import faults_logged, make_orders, make_payments, orders_in_db, start_billing
from .test_read_back_web import assert_orders_match

pytestmark = pytest.mark.web


def worked_spans(events: list[dict]) -> dict[str, tuple[datetime, datetime, str]]:
    """Each item's first start and last end, and the lease that started it."""
    spans: dict[str, tuple[datetime, datetime, str]] = {}
    for event in events:
        if event["kind"] != "item" or event["outcome"] not in ("started", "done", "retrying"):
            continue
        at = datetime.fromisoformat(event["started"])
        first, last, lease = spans.get(event["item"], (at, at, ""))
        spans[event["item"]] = (min(first, at), max(last, at), lease or (event.get("data") or {}).get("lease", ""))
    return spans


def test_three_workers_key_every_order_once_into_one_run(project, secrets_env, tmp_path):
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 9, seed=41)
    # BILLSYS drops keys and says "system busy" now and then: retries and read-backs happen in every lane
    with start_billing(tmp_path, faults=BillingFaults(drop_keys=0.15), busy_rate=0.1) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}, workers=3))
        assert result.exit_code == ExitCode.OK, result.items
        assert_orders_match(app.settings.db_path, rows)   # each order once, exactly as in the workbook
        injected = faults_logged(app.settings.db_path)
    assert injected, "the faults this test relies on were not injected"

    events = read_events(result.run_dir)
    spans = worked_spans(events)
    assert sorted(spans) == sorted(r[0] for r in rows)
    leases = {lease for _, _, lease in spans.values()}
    assert len(leases) == 3, leases   # three lanes, each holding its own leases
    overlapping = [(a, b) for a in spans for b in spans
                   if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
    assert overlapping, "no two items were worked at the same time"

    # one run: one trail (verified whole), one report, one results workbook with every order's confirmation
    verified = verify_run(result.run_dir, load_verifier(load_settings(project), project))
    assert verified.ok and not verified.findings, verified.findings
    assert result.report_path.exists()
    sheet = load_workbook(result.results_path).active
    header = [c.value for c in sheet[1]]
    confirmations = [r[header.index("Confirmation")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(confirmations) == 9 and all(str(c).startswith("CNF-") for c in confirmations)
    assert len(set(confirmations)) == 9
    end = events[-1]
    assert end["kind"] == "run" and end["data"]["counts"]["done"] == 9 and end["data"]["counts"]["unit"] == "orders"
    assert end["data"]["read_back"]["verified"] >= 9 * 10   # every lane's read-backs are counted


def test_workers_in_bot_yaml_are_used_and_the_command_line_wins(project, secrets_env, tmp_path):
    bot = project / "bots" / "rekey-orders" / "bot.yaml"
    definition = yaml.safe_load(bot.read_text())
    definition["workers"] = 2
    bot.write_text(yaml.safe_dump(definition, sort_keys=False))
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 4, seed=43)
    with start_billing(tmp_path) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                      app_urls={"billing": app.url}))
        assert result.exit_code == ExitCode.OK, result.items
        assert len({lease for *_, lease in worked_spans(read_events(result.run_dir)).values()}) == 2
        # as the README shows it, on the command line, which wins over bot.yaml
        more = make_orders(tmp_path / "more.xlsx", 3, seed=44)[0]
        done = subprocess.run([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(more),
                               "--workers", "1", "--app-url", f"billing={app.url}"], cwd=project, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        latest, = [d for d in (project / "logs" / "rekey-orders").iterdir()
                   if (d / "events.jsonl").exists() and d != result.run_dir]
        assert len({lease for *_, lease in worked_spans(read_events(latest)).values()}) == 1
        assert len(orders_in_db(app.settings.db_path)) == 7


def test_a_reconciliation_and_a_bad_count_are_refused_by_run_and_check_alike(project, secrets_env, tmp_path):
    workbook = tmp_path / "orders.xlsx"
    make_orders(workbook, 1)
    with pytest.raises(ConfigurationError, match="--workers 0: choose 1 to 16"):
        start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project, workers=0))
    bot = project / "bots" / "reconcile-accounts" / "bot.yaml"
    bot.write_text(bot.read_text() + "\nworkers: 2\n")
    for command in (["run", "reconcile-accounts", "-i", str(workbook)], ["check", "reconcile-accounts"]):
        done = subprocess.run([sys.executable, "-m", "runner.cli", *command], cwd=project, capture_output=True,
                              text=True, timeout=120)
        said = done.stdout + done.stderr
        assert done.returncode == 2, said
        assert "bots/reconcile-accounts/bot.yaml: workers 2" in said and "one piece of work" in said, said


def test_desktop_workers_in_bot_yaml_need_virtual_screens(project, ledger, tmp_path):
    workbook = tmp_path / "payments.xlsx"
    make_payments(workbook, [["ONE-1", "C1001", 5.00, datetime(2026, 11, 2)]])
    bot = project / "bots" / "post-payments" / "bot.yaml"
    bot.write_text(bot.read_text() + "\nworkers: 2\n")
    done = subprocess.run([sys.executable, "-m", "runner.cli", "run", "post-payments", "-i", str(workbook)],
                          cwd=project, capture_output=True, text=True, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "bots/post-payments/bot.yaml: workers 2" in said and "--virtual-display" in said, said
    # the bot itself is sound: with --virtual-display it runs (tests/test_desktop_workers.py)
    done = subprocess.run([sys.executable, "-m", "runner.cli", "check", "post-payments"], cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
