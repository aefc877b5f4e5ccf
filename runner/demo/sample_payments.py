"""Generate a remittance workbook for the payment-posting bot, as the bank's file arrives."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path


from .ledger_desktop.store import CUSTOMERS
from .sample_workbook import write_sample_workbook

HEADERS = ["Payment Ref", "Account", "Amount", "Paid On"]


def sample_payment_rows(count: int, seed: int = 5, prefix: str = "BANK") -> list[list]:
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        rows.append([
            f"{prefix}-{seed:02d}{n:04d}",
            rng.choice(CUSTOMERS)[0],
            float(Decimal(rng.randint(500, 150000)) / 100),
            date(2026, 11, 2) + timedelta(days=rng.randint(0, 18)),
        ])
    return rows


def write_payments_workbook(path: Path, rows: list[list], headers: list[str] = HEADERS) -> Path:
    return write_sample_workbook(path, "Payments", headers, rows, {"C": "#,##0.00", "D": "yyyy-mm-dd"})
