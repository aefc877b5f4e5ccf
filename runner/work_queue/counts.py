"""How many of a run's work items ended where: the one count every surface shows.

The runner menu's bar and its summary, `backroom run`'s summary, the console's run pages and the
audit report all take a run's numbers from `count_items` and say them with `ItemCounts.text`, so
they cannot disagree. A run counts work items (an invoice of several job rows is one), in the
bot's own word for them (`unit: invoices` in bot.yaml), and says how many input rows they came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterable, Mapping

# each outcome an item can end a run with, and the group a person reads it under
GROUP_OF_OUTCOME = {
    "done": "done",
    "business_exception": "review", "system_exception": "review", "rejected": "review",
    "skipped": "skipped",
    "not_started": "not_started", "in_progress": "not_started",
    "pending": "retrying",      # failed for a system reason, waiting for its next attempt
    "lease_lost": "not_started",   # taken back by another runner, which finishes it
}
GROUP_WORDS = (("done", "done"), ("review", "for review"), ("skipped", "skipped"), ("retrying", "retrying"),
               ("not_started", "not started"))


def counted(number: int, unit: str) -> str:
    """'1 invoice', '3 invoices', '1 input row': a plural noun loses its final s for one."""
    word = unit[:-1] if number == 1 and unit.endswith("s") and not unit.endswith("ss") else unit
    return f"{number} {word}"


@dataclass(frozen=True)
class ItemCounts:
    unit: str = "items"
    done: int = 0
    review: int = 0
    skipped: int = 0
    retrying: int = 0
    not_started: int = 0
    rows: int = 0               # input rows the items came from; 0 when the run read no input

    @property
    def total(self) -> int:
        return self.done + self.review + self.skipped + self.retrying + self.not_started

    @property
    def finished(self) -> int:
        return self.done + self.review + self.skipped

    def parts(self, waiting: bool = True) -> list[str]:
        """'3 done', '1 for review': every group with items in it, done always; without the items not
        started when `waiting` is False (a progress bar shows those as the rest of its length)."""
        return [f"{getattr(self, group)} {words}" for group, words in GROUP_WORDS
                if group == "done" or (getattr(self, group) and (waiting or group != "not_started"))]

    def text(self) -> str:
        """'5 invoices from 14 input rows: 3 done, 1 for review, 1 not started'."""
        rows = f" from {counted(self.rows, 'input rows')}" if self.rows else ""
        return f"{counted(self.total, self.unit)}{rows}: {', '.join(self.parts())}"

    def as_data(self) -> dict:
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping | None) -> "ItemCounts | None":
        """From a run's end event; None for a run that ended before counting. Runs sealed before
        counts had a unit counted outcomes ({"done": 8, "business_exception": 1}): grouped the same way."""
        if not data:
            return None
        if "unit" not in data:
            tally: dict[str, Any] = {group: 0 for group, _ in GROUP_WORDS}
            for outcome, number in data.items():
                group = GROUP_OF_OUTCOME.get(outcome)
                if group is not None and isinstance(number, int):
                    tally[group] += number
            return cls(**tally)
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def ended(self) -> "ItemCounts":
        """At a run's end nothing is retrying any more: those items wait in the queue, not started again."""
        return replace(self, retrying=0, not_started=self.not_started + self.retrying)


def count_items(outcomes: Mapping[str, str | None] | Iterable[tuple[str, str | None]], unit: str = "items",
                rows: int = 0) -> ItemCounts:
    """Each work item once, under its outcome (None: not worked yet). `outcomes` maps an item's
    reference to its outcome; given as pairs, a later pair for the same item wins."""
    last: dict[str, str | None] = dict(outcomes.items() if isinstance(outcomes, Mapping) else outcomes)
    tally: dict[str, Any] = {group: 0 for group, _ in GROUP_WORDS}
    for outcome in last.values():
        group = GROUP_OF_OUTCOME.get(outcome or "not_started")
        if group is None:
            raise ValueError(f"no count for the outcome {outcome!r}")
        tally[group] += 1
    return ItemCounts(unit=unit, rows=rows, **tally)
