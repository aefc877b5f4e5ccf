"""A clock the scheduler can be given, so tests move time instead of waiting for 02:00.

`schedule` asks `datetime.datetime.now()` what time it is; while the scheduler works, the
package is shown a datetime whose `now()` reads the scheduler's clock (what schedule's own
tests do). With the real clock nothing is swapped.
"""

from __future__ import annotations

import datetime as _datetime
import time
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Callable, Iterator

import schedule

Clock = Callable[[], float]   # seconds since the epoch, like time.time


@contextmanager
def schedule_reads(clock: Clock) -> Iterator[None]:
    if clock is time.time:
        yield
        return

    class ClockDateTime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return _datetime.datetime.fromtimestamp(clock(), tz)

    real = schedule.datetime
    schedule.datetime = SimpleNamespace(datetime=ClockDateTime, timedelta=_datetime.timedelta,
                                        time=_datetime.time, date=_datetime.date, tzinfo=_datetime.tzinfo,
                                        timezone=_datetime.timezone)
    try:
        yield
    finally:
        schedule.datetime = real


class ManualClock:
    """A clock for tests and dry runs: it stands still until moved."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
