"""`backroom init DIR`: a project of one's own, outside Backroom's folder, that works at once: its
settings, a sample bot wired to the bundled BILLSYS, a sample orders workbook, and a .gitignore that
keeps runs and evidence out of version control."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from importlib.resources import as_file, files
from pathlib import Path

from openpyxl import Workbook

from ..errors import ConfigurationError

SAMPLE_BOT = "sample-orders"
SAMPLE_INPUT = Path("samples") / "orders.xlsx"
# (Order Ref, Customer, SKU, Quantity, Unit Price, Ship Date): customers and items BILLSYS knows
SAMPLE_ORDERS = [("PO-0001", "C001", "PAPER-A4", 10, 4.95), ("PO-0002", "C002", "TONER-K1", 2, 89.0),
                 ("PO-0003", "C003", "STAPLER-9", 5, 12.5)]


def init_project(folder: Path) -> list[Path]:
    """Create the project in `folder` (made if missing); refuses to touch an existing project."""
    folder = Path(folder)
    if (folder / "backroom.yaml").exists():
        raise ConfigurationError(f"{folder}: already a Backroom project (backroom.yaml exists)",
                                 "Choose an empty folder, or work in this one.")
    clashes = [name for name in ("bots", "recipes", "selectors") if (folder / name).exists()]
    if clashes:
        raise ConfigurationError(f"{folder}: already has {', '.join(clashes)}/; nothing was written",
                                 "Choose an empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    with as_file(files("runner") / "starter") as starter:
        for name in ("bots", "recipes", "selectors"):
            shutil.copytree(starter / name, folder / name)
        shutil.copy(starter / "backroom.yaml", folder / "backroom.yaml")
        gitignore = folder / ".gitignore"
        existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
        if "logs/" not in existing.split():
            gitignore.write_text(existing + ("\n" if existing and not existing.endswith("\n") else "")
                                 + (starter / "gitignore").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "logs").mkdir(exist_ok=True)
    _write_sample_orders(folder / SAMPLE_INPUT)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _write_sample_orders(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["Order Ref", "Customer", "SKU", "Quantity", "Unit Price", "Ship Date"])
    ship = date.today() + timedelta(days=14)
    for ref, customer, sku, quantity, price in SAMPLE_ORDERS:
        sheet.append([ref, customer, sku, quantity, price, ship])
        sheet.cell(sheet.max_row, 6).number_format = "yyyy-mm-dd"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
