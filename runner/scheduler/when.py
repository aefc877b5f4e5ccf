"""`when:` in schedules.yaml, written the way an operations team says it, and put on `schedule`.

    every day at 02:00                     every weekday at 02:00 (Monday to Friday, holidays skipped)
    every monday and thursday at 06:30     every hour between 08:00 and 18:00
    every 15 minutes between 08:00 and 18:00
    first business day of the month at 06:00
    last business day of the month at 18:00
    every 10 seconds                       (for trying a schedule out)
    whenever a file arrives                (the job's inbox is watched; also "between 08:00 and 18:00 on weekdays")

Each phrase becomes one `schedule` job that fires at the right clock time in the schedule's time
zone, and a guard that says whether that moment counts (the right day of the week, a business
day, inside the hours). `previous(moment)` gives the last planned time before a moment, so a
scheduler that was down knows what it missed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import schedule

from .calendar import BusinessCalendar

DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
EXAMPLES = ("every weekday at 02:00; every hour between 08:00 and 18:00; "
            "first business day of the month at 06:00; every 30 seconds; whenever a file arrives")
_TIME = r"(\d{1,2}:\d{2})"


@dataclass(frozen=True)
class When:
    text: str
    unit: str                               # day, hour, minute, second, month, arrival (a watched inbox)
    every: int = 1                          # for minutes and seconds
    at: time | None = None                  # the clock time (day, month); the minute past (hour)
    days: frozenset[int] = frozenset(range(7))
    business_days_only: bool = False        # weekday rules skip holidays; "every day" does not
    between: tuple[time, time] | None = None
    month_day: str | None = None            # first or last (business day of the month)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar, compare=False)

    # -- on the schedule package ------------------------------------------------
    @property
    def on_arrival(self) -> bool:
        """Started by a file landing in the job's inbox, not by the clock (arrivals.py watches for it)."""
        return self.unit == "arrival"

    def schedule_on(self, scheduler: schedule.Scheduler, time_zone: str, action) -> schedule.Job:
        """One schedule job firing at the clock times this phrase can mean; `action` runs when the guard agrees."""
        if self.unit == "second":
            job = scheduler.every(self.every).seconds
        elif self.unit == "minute":
            job = scheduler.every(self.every).minutes
        elif self.unit == "hour":
            job = scheduler.every().hour.at(f":{self.at.minute:02d}")
        else:
            job = scheduler.every().day.at(self.at.strftime("%H:%M"), time_zone)
        return job.do(action)

    def counts_at(self, local: datetime) -> bool:
        """Does a moment (in the schedule's time zone) belong to this phrase? Holidays and hours are checked here."""
        day = local.date()
        if self.unit == "month":
            year, month = day.year, day.month
            wanted = (self.calendar.first_business_day(year, month) if self.month_day == "first"
                      else self.calendar.last_business_day(year, month))
            return day == wanted
        if day.weekday() not in self.days:
            return False
        if self.business_days_only and not self.calendar.is_business_day(day):
            return False
        if self.between is not None:
            start, end = self.between
            return start <= local.time().replace(second=0, microsecond=0) <= end
        return True

    # -- what was planned --------------------------------------------------------
    def previous(self, moment: datetime, horizon_days: int = 45) -> datetime | None:
        """The last planned time at or before `moment` (in the schedule's time zone), within the horizon."""
        if self.unit in ("second", "arrival"):
            return None   # nothing to catch up on: every few seconds, or a file that waits in its inbox anyway
        step = {"minute": timedelta(minutes=self.every), "hour": timedelta(hours=1)}.get(self.unit, timedelta(days=1))
        candidate = self._align(moment)
        limit = moment - timedelta(days=horizon_days)
        while candidate >= limit:
            if candidate <= moment and self.counts_at(candidate):
                return candidate
            candidate -= step
        return None

    def next_from(self, moment: datetime, horizon_days: int = 45) -> datetime | None:
        """The first planned time at or after `moment`, within the horizon (None: no clock time plans it)."""
        if self.unit == "second":
            return moment
        if self.unit == "arrival":
            return None
        step = {"minute": timedelta(minutes=self.every), "hour": timedelta(hours=1)}.get(self.unit, timedelta(days=1))
        candidate = self._align(moment)
        if candidate < moment:
            candidate += step
        limit = moment + timedelta(days=horizon_days)
        while candidate <= limit:
            if self.counts_at(candidate):
                return candidate
            candidate += step
        return None

    def _align(self, moment: datetime) -> datetime:
        if self.unit in ("day", "month"):
            return moment.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        if self.unit == "hour":
            return moment.replace(minute=self.at.minute, second=0, microsecond=0)
        minutes = (moment.hour * 60 + moment.minute) // self.every * self.every
        return moment.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)


def _clock(text: str, phrase: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"'{text}' in '{phrase}' is not a time of day (use 00:00 to 23:59)")
    return time(hours, minutes)


def _days(text: str, phrase: str) -> frozenset[int]:
    names = [n for n in re.split(r"\s*(?:,|\band\b)\s*", text.strip()) if n]
    days = set()
    for name in names:
        plain = name.rstrip("s") if name.rstrip("s") in DAY_NAMES else name
        if plain not in DAY_NAMES:
            raise ValueError(f"'{name}' in '{phrase}' is not a day of the week")
        days.add(DAY_NAMES.index(plain))
    return frozenset(days)


def parse_when(phrase: str, calendar: BusinessCalendar | None = None) -> When:
    """Read a `when:` phrase; a ValueError says what is wrong and shows phrases that work."""
    calendar = calendar or BusinessCalendar()
    text = " ".join(str(phrase).lower().split())
    found = re.fullmatch(rf"(first|last) business day of the month at {_TIME}", text)
    if found:
        return When(phrase, "month", at=_clock(found[2], phrase), month_day=found[1], calendar=calendar)
    found = re.fullmatch(rf"(?:whenever|when|as soon as) a file arrives(?: between {_TIME} and {_TIME})?(?: on weekdays)?",
                         text)
    if found:
        between = (_clock(found[1], phrase), _clock(found[2], phrase)) if found[1] else None
        weekdays = text.endswith("on weekdays")
        return When(phrase, "arrival", between=between, days=frozenset(range(5)) if weekdays else frozenset(range(7)),
                    business_days_only=weekdays, calendar=calendar)
    found = re.fullmatch(r"every (\d+) seconds?", text)
    if found:
        return When(phrase, "second", every=max(1, int(found[1])), calendar=calendar)
    found = re.fullmatch(rf"every (\d+) minutes?(?: between {_TIME} and {_TIME})?(?: on weekdays)?", text)
    if found:
        between = (_clock(found[2], phrase), _clock(found[3], phrase)) if found[2] else None
        weekdays = text.endswith("on weekdays")
        return When(phrase, "minute", every=max(1, int(found[1])), between=between,
                    days=frozenset(range(5)) if weekdays else frozenset(range(7)), business_days_only=weekdays,
                    calendar=calendar)
    found = re.fullmatch(rf"every hour(?: at :(\d{{2}}))?(?: between {_TIME} and {_TIME})?(?: on weekdays)?", text)
    if found:
        between = (_clock(found[2], phrase), _clock(found[3], phrase)) if found[2] else None
        weekdays = text.endswith("on weekdays")
        return When(phrase, "hour", at=time(0, int(found[1] or 0)), between=between,
                    days=frozenset(range(5)) if weekdays else frozenset(range(7)), business_days_only=weekdays,
                    calendar=calendar)
    found = re.fullmatch(rf"every (.+?) at {_TIME}", text)
    if found:
        what, at = found[1], _clock(found[2], phrase)
        if what == "day":
            return When(phrase, "day", at=at, calendar=calendar)
        if what in ("weekday", "business day", "working day"):
            return When(phrase, "day", at=at, days=frozenset(range(5)), business_days_only=True, calendar=calendar)
        return When(phrase, "day", at=at, days=_days(what, phrase), business_days_only=True, calendar=calendar)
    raise ValueError(f"'{phrase}' is not a schedule Backroom understands (for example: {EXAMPLES})")
