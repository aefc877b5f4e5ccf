"""The back-office figures on the console's dashboard, computed from the work queue's history.

Each figure says what it counts, because a supervisor will be asked about it:
- backlog: items waiting to be worked (including those waiting for a retry);
- in review: items a person must decide on, by how long ago they arrived;
- throughput: items done per hour over the last 24 hours;
- first-pass success: of the items that finished (done or sent to review) in the window,
  the share done at the first attempt: one claim, no retry, no person;
- handling time: from the moment a runner took the item to the moment it was done;
- lead time (bots that declare one): days from a date in the item (a job's completion)
  to the day the item was done (the invoice was issued).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..project.bot import Bot
from ..work_queue import AGE_BUCKETS, ItemState, QueuedItem, StateChange, age_bucket
from ..work_queue.base import REVIEW_STATES

FINISHING = {ItemState.DONE.value, ItemState.BUSINESS_EXCEPTION.value, ItemState.SYSTEM_EXCEPTION.value}
WINDOW_DAYS = 30


@dataclass
class BotFigures:
    bot: str
    backlog: int = 0
    in_progress: int = 0
    in_review: int = 0
    done_24h: int = 0


@dataclass
class LeadTime:
    bot: str
    label: str
    average_days: float | None
    count: int


@dataclass
class Figures:
    backlog: int
    in_progress: int
    review_by_age: dict[str, int]
    done_24h: int
    first_pass_rate: float | None
    finished_in_window: int
    average_handling_s: float | None
    lead_times: list[LeadTime]
    hourly: list[tuple[str, int]]                       # last 24 hours: (hour, done)
    daily: list[tuple[str, int, int]]                   # last 14 days: (day, done, to review)
    per_bot: list[BotFigures] = field(default_factory=list)

    @property
    def throughput_per_hour(self) -> float:
        return self.done_24h / 24

    @property
    def daily_done(self) -> list[tuple[str, int]]:
        return [(day, done) for day, done, _ in self.daily]

    @property
    def daily_review(self) -> list[tuple[str, int]]:
        return [(day, to_review) for day, _, to_review in self.daily]

    @property
    def in_review(self) -> int:
        return sum(self.review_by_age.values())


def _dates_at(data, path: list[str]) -> list[date]:
    """Dates at a dotted path; a list on the way maps over its entries ("jobs.completed")."""
    if not path:
        if isinstance(data, datetime):
            return [data.date()]
        return [data] if isinstance(data, date) else []
    if isinstance(data, list):
        return [d for entry in data for d in _dates_at(entry, path)]
    if isinstance(data, dict) and path[0] in data:
        return _dates_at(data[path[0]], path[1:])
    return []


def compute_figures(items: list[QueuedItem], changes: list[tuple[str, StateChange]], bots: dict[str, Bot],
                    now: float | None = None) -> Figures:
    """`changes` must cover at least the last WINDOW_DAYS days."""
    now = time.time() if now is None else now
    per_bot: dict[str, BotFigures] = {}
    review_by_age = {bucket: 0 for bucket in AGE_BUCKETS}
    backlog = in_progress = 0
    for item in items:
        figures = per_bot.setdefault(item.bot, BotFigures(item.bot))
        if item.state == ItemState.PENDING:
            backlog += 1
            figures.backlog += 1
        elif item.state == ItemState.IN_PROGRESS:
            in_progress += 1
            figures.in_progress += 1
        elif item.state in REVIEW_STATES:
            review_by_age[age_bucket(now - item.created_at)] += 1
            figures.in_review += 1

    window_start = now - WINDOW_DAYS * 86400
    claims: dict[tuple[str, str], int] = defaultdict(int)
    troubled: set[tuple[str, str]] = set()        # failed once, retried, or decided by a person
    finished: set[tuple[str, str]] = set()
    done_at: dict[tuple[str, str], float] = {}
    claimed_at: dict[tuple[str, str], float] = {}
    handling: list[float] = []
    hourly = [0] * 24
    daily_done, daily_review = [0] * 14, [0] * 14
    today = datetime.fromtimestamp(now).date()
    for bot, change in changes:
        if change.at < window_start:
            continue
        key = (bot, change.reference)
        if change.to_state == ItemState.IN_PROGRESS.value:
            claims[key] += 1
            claimed_at[key] = change.at
        elif change.to_state in FINISHING and change.from_state == ItemState.IN_PROGRESS.value:
            finished.add(key)
        if change.to_state in (s.value for s in REVIEW_STATES) or change.actor.startswith("user:") or \
                (change.to_state == ItemState.PENDING.value and change.from_state == ItemState.IN_PROGRESS.value):
            troubled.add(key)
        if change.to_state == ItemState.DONE.value and change.from_state == ItemState.IN_PROGRESS.value:
            done_at[key] = change.at
            if key in claimed_at:
                handling.append(change.at - claimed_at[key])
            hours_ago = int((now - change.at) // 3600)
            if hours_ago < 24:
                hourly[23 - hours_ago] += 1
                per_bot.setdefault(bot, BotFigures(bot)).done_24h += 1
        days_ago = (today - datetime.fromtimestamp(change.at).date()).days
        if 0 <= days_ago < 14 and change.from_state == ItemState.IN_PROGRESS.value:
            if change.to_state == ItemState.DONE.value:
                daily_done[13 - days_ago] += 1
            elif change.to_state in (s.value for s in REVIEW_STATES):
                daily_review[13 - days_ago] += 1
    first_pass = [k for k in finished if k in done_at and claims[k] == 1 and k not in troubled]

    lead_times = []
    for name, bot in sorted(bots.items()):
        if bot.lead_time is None:
            continue
        days = []
        path = bot.lead_time.date.split(".")
        for item in items:
            key = (name, item.reference)
            if item.bot == name and key in done_at:
                invoiced = datetime.fromtimestamp(done_at[key]).date()
                days += [(invoiced - d).days for d in _dates_at(item.data, path)]
        lead_times.append(LeadTime(name, bot.lead_time.label, sum(days) / len(days) if days else None, len(days)))

    hour_labels = [datetime.fromtimestamp(now - (23 - i) * 3600).strftime("%H:00") for i in range(24)]
    day_labels = [(today - timedelta(days=13 - i)).strftime("%d %b") for i in range(14)]
    return Figures(
        backlog=backlog, in_progress=in_progress, review_by_age=review_by_age, done_24h=sum(hourly),
        first_pass_rate=len(first_pass) / len(finished) if finished else None, finished_in_window=len(finished),
        average_handling_s=sum(handling) / len(handling) if handling else None, lead_times=lead_times,
        hourly=list(zip(hour_labels, hourly)), daily=list(zip(day_labels, daily_done, daily_review)),
        per_bot=sorted(per_bot.values(), key=lambda f: f.bot))
