"""The demo job: start BILLSYS on a free port with a fresh database and re-key the sample orders."""

from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .billing_web import BillingSettings
from .server import start_billing_app

SAMPLE = Path("bots/rekey-orders/sample/orders.xlsx")


@dataclass
class DemoOutcome:
    result: object          # runner.RunResult
    db_path: Path
    orders_in_app: int


def run_demo(project: Path = Path("."), input_path: Path | None = None, headed: bool = False,
             delay_ms: int = 0, busy_rate: float = 0.0, on_progress=None) -> DemoOutcome:
    from runner import RunRequest, start_run  # the demo drives Backroom through its public surface

    project = Path(project)
    demo_dir = project / "logs" / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    db_path = demo_dir / "billsys.db"
    queue_path = demo_dir / "queue.sqlite3"
    for leftover in [*demo_dir.glob("billsys.db*"), *demo_dir.glob("queue.sqlite3*")]:
        leftover.unlink()  # the demo starts from a fresh app and an empty queue every time
    # The demo app gets fresh credentials each time; the bot reads them as secrets, as in production.
    password, supervisor = secrets.token_urlsafe(12), str(secrets.randbelow(9000) + 1000)
    os.environ["BACKROOM_SECRET_BILLING_PASSWORD"] = password
    os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"] = supervisor
    settings = BillingSettings(db_path=db_path, password=password, supervisor_code=supervisor,
                               delay_ms=delay_ms, busy_rate=busy_rate, seed=1)
    with start_billing_app(settings) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=input_path or project / SAMPLE,
                                      project=project, headed=headed, app_urls={"billing": app.url},
                                      started_by="demo", queue_path=queue_path), on_progress=on_progress)
    with sqlite3.connect(db_path) as conn:
        count = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    return DemoOutcome(result, db_path, count)
