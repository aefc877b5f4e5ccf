"""Completed jobs as a field-service app exports them, and the customer price list, for the invoicing bot."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from .billing_web.database import CUSTOMER_NAMES, customer_codes
from .sample_workbook import write_sample_workbook

JOB_HEADERS = ["Job No", "Customer", "Technician", "Completed", "Labour Hours", "Part", "Part Qty", "Part Unit Price"]
CUSTOMER_HEADERS = ["Customer", "Name", "Address", "City", "Postcode", "Labour Rate", "Discount %", "Tax %",
                    "Terms (days)"]
TECHNICIANS = ["A. Okafor", "B. Lindqvist", "C. Moreau", "D. Nakamura"]
PARTS = [("Filter cartridge", "14.50"), ("Pressure valve", "38.00"), ("Drive belt", "22.75"),
         ("Thermostat", "64.90"), ("Seal kit", "9.95")]
STREETS = ["Harbour Road", "Mill Lane", "Station Street", "Orchard Way", "Bridge Street", "High Street"]
CITIES = [("Leeds", "LS1 4AP"), ("York", "YO1 7HH"), ("Bristol", "BS1 5TR"), ("Bath", "BA1 1LZ")]


def price_list() -> list[list]:
    """Customers C001-C020 (BILLSYS has C013 closed, so it is left out), with rates and terms."""
    rows = []
    for n, (code, name) in enumerate(zip(customer_codes(), CUSTOMER_NAMES), start=1):
        if n > 20 or code == "C013":
            continue
        city, postcode = CITIES[n % len(CITIES)]
        rows.append([code, name, f"{n * 7} {STREETS[n % len(STREETS)]}", city, postcode,
                     [65, 72.5, 85, 95][n % 4], [0, 0, 5, 10, 2.5][n % 5], 20 if n % 6 else 0, [30, 15, 45, 30][n % 4]])
    return rows


def write_price_list(path: Path, rows: list[list] | None = None) -> Path:
    return write_sample_workbook(path, "Customers", CUSTOMER_HEADERS, rows if rows is not None else price_list())


def sample_jobs(count: int, seed: int = 3, start: date = date(2026, 10, 1), customers: int = 6,
                prefix: str = "J") -> list[list]:
    """Jobs over two months for a few customers, so that invoices have several lines."""
    rng = random.Random(seed)
    codes = [row[0] for row in price_list()][:customers]
    rows = []
    for n in range(1, count + 1):
        part, price = rng.choice(PARTS)
        with_part = rng.random() < 0.6
        rows.append([f"{prefix}-{seed:02d}{n:04d}", rng.choice(codes), rng.choice(TECHNICIANS),
                     start + timedelta(days=rng.randint(0, 50)), float(Decimal(rng.randint(2, 16)) / 2),
                     part if with_part else "", rng.randint(1, 4) if with_part else None,
                     float(Decimal(price)) if with_part else None])
    return rows


def write_jobs_workbook(path: Path, rows: list[list], headers: list[str] = JOB_HEADERS) -> Path:
    return write_sample_workbook(path, "Jobs", headers, rows, {"D": "yyyy-mm-dd"})
