"""The demo jobs: start BILLSYS on a free port with a fresh database and run a bot on its sample.

rekey-orders keys the sample orders; issue-invoices invoices the sample jobs; reconcile-accounts
first loads the sample receivables ledger into BILLSYS, then matches the sample statement against it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .billing_web import BillingSettings
from .sample_reconciliation import load_ledger, make_sample
from .server import start_billing_app

DEMO_BOTS = ("rekey-orders", "issue-invoices", "reconcile-accounts")


@dataclass
class DemoOutcome:
    result: object          # runner.RunResult
    db_path: Path
    in_app: str             # what BILLSYS holds afterwards, e.g. "20 orders, 0 invoices"


def run_demo(project: Path = Path("."), input_path: Path | None = None, headed: bool = False,
             delay_ms: int = 0, busy_rate: float = 0.0, on_progress=None, bot: str = "rekey-orders") -> DemoOutcome:
    from runner import RunRequest, load_bot, start_run  # the demo drives Backroom through its public surface
    from runner.project.settings import logs_folder

    project = Path(project)
    demo_dir = logs_folder(project) / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    db_path = demo_dir / "billsys.db"
    queue_path = demo_dir / "queue.sqlite3"
    for leftover in [*demo_dir.glob("billsys.db*"), *demo_dir.glob("queue.sqlite3*")]:
        leftover.unlink()  # the demo starts from a fresh app and an empty queue every time
    # The demo app gets fresh credentials each time; the bot reads them as secrets, as in production.
    password, supervisor = secrets.token_urlsafe(12), str(secrets.randbelow(9000) + 1000)
    os.environ["BACKROOM_SECRET_BILLING_PASSWORD"] = password
    os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"] = supervisor
    if bot == "reconcile-accounts":
        load_ledger(db_path, demo_reconciliation())
    settings = BillingSettings(db_path=db_path, password=password, supervisor_code=supervisor,
                               delay_ms=delay_ms, busy_rate=busy_rate, seed=1)
    with start_billing_app(settings) as app:
        result = start_run(RunRequest(bot=bot, input_path=input_path or load_bot(project, bot).sample_input,
                                      project=project, headed=headed, app_urls={"billing": app.url},
                                      started_by="demo", queue=queue_path), on_progress=on_progress)
    with sqlite3.connect(db_path) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        invoices = conn.execute("SELECT count(*) FROM invoices").fetchone()[0]
    return DemoOutcome(result, db_path, f"{orders} orders, {invoices} invoices")


def demo_reconciliation():
    """The receivables ledger and statement the reconcile-accounts sample was written from."""
    return make_sample(40, seed=12, window_days=5)
