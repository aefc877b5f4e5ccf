"""A work item: one unit of business work with a unique reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class WorkItem:
    reference: str             # chosen by the bot: an order number, a job number
    data: dict[str, Any]       # typed fields from the input
    source: str = ""           # where it came from: orders.xlsx row 7
    row: int | None = None
