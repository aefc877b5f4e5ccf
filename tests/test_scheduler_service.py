"""The real scheduler, twice by mistake on one machine, for a few seconds with a per-second schedule
against the bundled BILLSYS: runs happen, reports are written, no two runs of the bot overlap, a
run that leaves items for review mails a notice to a local SMTP server, and SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys

from aiosmtpd.controller import Controller

from .conftest import PASSWORD, SUPERVISOR, make_orders, orders_in_db, start_billing, wait_until


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


def finished_runs(project) -> list[tuple]:
    path = project / "logs" / "scheduler.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone() is None:
            return []   # the scheduler has made its file, not yet its tables
        return conn.execute("SELECT started, finished, outcome, run_dir FROM runs WHERE reason != 'missed'"
                            " ORDER BY started").fetchall()


def test_two_schedulers_run_one_bot_at_a_time_report_and_mail_failures(project, secrets_env, tmp_path):
    orders, rows = make_orders(tmp_path / "orders.xlsx", 3)
    inbox = Inbox()
    with socket.socket() as probe:              # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with start_billing(tmp_path) as app:
            rows[1][1] = "C013"                      # a closed account: BILLSYS refuses it, it goes to review
            from runner.demo.sample_orders import write_orders_workbook
            write_orders_workbook(orders, rows)
            with (project / "backroom.yaml").open("a") as settings:
                settings.write("notify:\n"
                               f"  email: {{host: 127.0.0.1, port: {port}, "
                               "from: backroom@example.com, to: [ops@example.com]}\n")
            (project / "schedules.yaml").write_text(
                "time_zone: UTC\n"
                "jobs:\n"
                "  - name: orders every second\n"
                "    bot: rekey-orders\n"
                "    when: every 1 second\n"
                f"    input: {{file: {orders}}}\n"
                "    max_run_time: 2m\n")
            env = {**os.environ, "BACKROOM_APP_BILLING_URL": app.url, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD,
                   "BACKROOM_SECRET_SUPERVISOR_CODE": SUPERVISOR}
            command = [sys.executable, "-m", "runner.cli", "scheduler", "--poll", "0.2"]
            schedulers = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True) for _ in range(2)]
            try:
                wait_until(lambda: sum(r[2] == "items_for_review" for r in finished_runs(project)) >= 2
                           and bool(inbox.messages), 120, "two runs with items for review, and a mail about them")
            finally:   # whatever happened above: no scheduler is left starting runs after this test
                for process in schedulers:
                    process.send_signal(signal.SIGTERM)
                outputs = [process.communicate(timeout=90)[0] for process in schedulers]
            in_billsys = orders_in_db(app.settings.db_path)
    finally:
        smtp.stop()
    assert [p.returncode for p in schedulers] == [0, 0], outputs
    runs = finished_runs(project)
    worked = [r for r in runs if r[2] not in ("locked",)]
    assert sum(r[2] == "items_for_review" for r in worked) >= 2
    assert any(r[2] == "locked" for r in runs), "the second scheduler never found the bot busy"
    ran = [r for r in worked if r[3] is not None]   # runs that held the bot's lock and made a folder
    for earlier, later in zip(ran, ran[1:]):
        assert earlier[1] <= later[0], f"two runs of rekey-orders overlapped: {earlier} {later}"
    for run in worked:
        if run[2] == "stopped" and run[3] is None:
            continue   # SIGTERM came while a run was starting, before it had a folder: it stopped cleanly
        assert run[2] in ("items_for_review", "stopped"), run
        assert (project / run[3] / "report.html").exists()
    assert sorted(o["reference"] for o in in_billsys) == sorted([rows[0][0], rows[2][0]])   # once each
    mail = inbox.messages[0]
    assert "Subject: Backroom: orders every second (rekey-orders) items wait for review" in mail
    assert "backroom queue list --state review --bot rekey-orders" in mail
    log = (project / "logs" / "scheduler.log").read_text()
    assert "SIGTERM: stopping" in log and "scheduler stopped" in log
    status = subprocess.run([sys.executable, "-m", "runner.cli", "scheduler", "status"], cwd=project,
                            env={**env, "COLUMNS": "220"},
                            capture_output=True, text=True, timeout=60)
    with sqlite3.connect(project / "logs" / "scheduler.sqlite3") as conn:
        last = conn.execute("SELECT outcome FROM runs WHERE outcome != 'locked' ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert status.returncode == 0 and "orders every second" in status.stdout and f"{last}:" in status.stdout


def test_a_notice_is_posted_to_a_webhook_whose_address_stays_secret(project, webhook, monkeypatch):
    """What a chat tool's incoming webhook receives (a JSON POST with text), from a local receiver; a webhook
    that fails is noted in the notices file without its address, which holds the chat tool's token."""
    from runner.project.settings import NotifySettings, WebhookSettings
    from runner.run.notices import RunNotice, send_notice

    token = "T0KEN-planted-4411"
    outcome = RunNotice("nightly-orders", "scheduler:nightly-orders", "rekey-orders", "items_for_review",
                        "2 item(s) wait for a person", 1_800_000_000.0, 1_800_000_042.0, exit_code=1,
                        input="orders.xlsx", run_dir="logs/rekey-orders/r1")
    spec = NotifySettings(webhook=WebhookSettings(url_secret="chat_webhook"))
    monkeypatch.setenv("BACKROOM_SECRET_CHAT_WEBHOOK", f"{webhook.url}/hooks/{token}/ok")
    assert "posted to the webhook (HTTP 200)" in send_notice(spec, project, outcome)
    path, payload, kind = webhook.received[0]
    assert path == f"/hooks/{token}/ok" and kind == "application/json"
    assert payload["text"].startswith("Backroom: nightly-orders (rekey-orders) items wait for review\n")
    assert "backroom queue list --state review --bot rekey-orders" in payload["text"]
    assert (payload["outcome"], payload["exit_code"], payload["report"], payload["started_by"]) == \
        ("items_for_review", 1, "logs/rekey-orders/r1/report.html", "scheduler:nightly-orders")
    monkeypatch.setenv("BACKROOM_SECRET_CHAT_WEBHOOK", f"{webhook.url}/hooks/{token}/no")
    assert "NOT posted: the webhook answered HTTP 500" in send_notice(spec, project, outcome)
    monkeypatch.setenv("BACKROOM_SECRET_CHAT_WEBHOOK", f"htp://{token}")
    assert "NOT posted: URLError: unknown url type" in send_notice(spec, project, outcome)
    monkeypatch.delenv("BACKROOM_SECRET_CHAT_WEBHOOK")
    assert "NOT posted: secret 'chat_webhook' is not set" in send_notice(spec, project, outcome)
    notices = (project / "logs" / "notices.log").read_text()
    assert notices.count("posted to the webhook") == 1 and notices.count("NOT posted") == 3
    assert token not in notices   # the address is a secret: never written
