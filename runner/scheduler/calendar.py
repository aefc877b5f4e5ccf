"""The business calendar: which days are working days (weekends and listed holidays are not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class BusinessCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})      # date.weekday(): Saturday, Sunday

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def first_business_day(self, year: int, month: int) -> date:
        day = date(year, month, 1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def last_business_day(self, year: int, month: int) -> date:
        day = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day
