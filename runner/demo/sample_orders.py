"""Generate an orders workbook for the re-key bot, as the sales office would send it."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path


from .billing_web.database import customer_codes
from .sample_workbook import write_sample_workbook

HEADERS = ["Order Ref", "Customer", "SKU", "Quantity", "Unit Price", "Ship Date", "Priority", "Gift Wrap", "Notes"]
SKUS = ["PAPER-A4", "TONER-K1", "STAPLER-9", "DESK-LAMP", "CHAIR-ERG", "INK-BLUE", "BINDER-3R", "CLIP-50"]


def sample_rows(count: int, seed: int = 7, prefix: str = "SO") -> list[list]:
    rng = random.Random(seed)
    open_codes = [c for c in customer_codes() if c != "C013"]
    rows = []
    for n in range(1, count + 1):
        rows.append([
            f"{prefix}-{seed:02d}{n:05d}",
            rng.choice(open_codes),
            rng.choice(SKUS),
            rng.randint(1, 250),
            float(Decimal(rng.randint(99, 99999)) / 100),
            date(2026, 12, 1) + timedelta(days=rng.randint(0, 60)),
            rng.choice(["Normal", "Normal", "Normal", "Rush", "Low"]),
            rng.random() < 0.2,
            rng.choice(["", "", "Leave at reception", "Call before delivery", "Fragile"]),
        ])
    return rows


def write_orders_workbook(path: Path, rows: list[list], headers: list[str] = HEADERS) -> Path:
    return write_sample_workbook(path, "Orders", headers, rows, {"F": "yyyy-mm-dd"})
