"""schedules.yaml: which bot runs when, on which input, for how long at most.

    time_zone: Europe/London
    grace: 2h                         # a run missed while the scheduler was down is made up within this
    holidays: [2026-12-25, 2026-12-28]
    jobs:
      - name: nightly invoices
        bot: issue-invoices
        when: every weekday at 02:00
        input: {newest_in: inbox/jobs, pattern: "*.xlsx"}
        max_run_time: 45m

A job with a mistake (a time that does not parse, an unknown bot, a missing inbox folder) is
reported as `schedules.yaml:<line>: ...` and left out; the other jobs still run. A mistake in
the file as a whole (not YAML, an unknown time zone) stops the scheduler before it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..project.bot import list_bots
from ..project.settings import NotifySettings
from ..errors import ConfigurationError
from ..project.yaml_source import LocatedDict, display_path, load_yaml, validate
from .calendar import BusinessCalendar
from .when import When, parse_when

SCHEDULES_FILE = "schedules.yaml"
_DURATION = re.compile(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def parse_duration(text: str | int) -> timedelta:
    """'45m', '2h', '1h30m', '90s' or a number of seconds."""
    if isinstance(text, (int, float)):
        return timedelta(seconds=text)
    found = _DURATION.fullmatch(str(text).strip().lower())
    if not found or not any(found.groups()):
        raise ValueError(f"'{text}' is not a duration (for example 45m, 2h, 1h30m, 90s)")
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    file: str | None = None          # always this file
    newest_in: str | None = None     # the newest file in this inbox folder
    pattern: str = "*.xlsx"


class _JobSpec(_Strict):
    name: str
    bot: str
    when: str
    input: InputSpec
    max_run_time: str | int = "1h"
    virtual_display: bool = False
    skip_holidays: bool = True


class _FileSpec(_Strict):
    time_zone: str = "UTC"
    # older projects set notices here; backroom.yaml's notify: wins (runner services and the console read it too)
    notify: NotifySettings | None = None
    grace: str | int = "2h"
    holidays: list[date] = Field(default_factory=list)
    jobs: list[dict] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use a name such as Europe/London or UTC)") from None
        return value


@dataclass(frozen=True)
class Job:
    name: str
    bot: str
    when: When
    input_file: Path | None
    inbox: Path | None
    pattern: str
    max_run_time: timedelta
    virtual_display: bool
    where: str                       # schedules.yaml:12

    def input_path(self) -> Path | None:
        """The file to run on now: the fixed file, or the newest in the inbox (None when it is empty)."""
        if self.input_file is not None:
            return self.input_file
        files = self.inbox_files()
        return max(files, key=lambda p: (p.stat().st_mtime, p.name)) if files else None

    def inbox_files(self) -> list[Path]:
        """The inbox's files matching the pattern; Excel's lock files (~$) and hidden files are not inputs."""
        if self.inbox is None or not self.inbox.is_dir():
            return []
        return [p for p in self.inbox.glob(self.pattern) if p.is_file() and not p.name.startswith(("~$", "."))]


@dataclass
class Schedules:
    time_zone: str
    grace: timedelta
    calendar: BusinessCalendar
    jobs: list[Job]
    problems: list[str]              # jobs left out, each with its file:line
    notify: NotifySettings | None = None   # schedules.yaml's own notify: (older projects)


def load_schedules(project: Path, path: Path | None = None) -> Schedules:
    project = Path(project)
    path = Path(path) if path else project / SCHEDULES_FILE
    where = display_path(path, project)
    if not path.exists():
        raise ConfigurationError(f"{where}: file not found", "Write the schedules (see the README's Scheduling).")
    data = load_yaml(path, ConfigurationError, where)
    spec = validate(_FileSpec, data, where, ConfigurationError)
    try:
        grace = parse_duration(spec.grace)
    except ValueError as exc:
        raise ConfigurationError(f"{where}:{data.line_of('grace')}: grace: {exc}") from None
    calendar = BusinessCalendar(frozenset(spec.holidays))
    bots = set(list_bots(project))
    jobs, problems, names = [], [], set()
    located_jobs = data.get("jobs") or []   # the YAML nodes, which know their lines
    for index, raw in enumerate(located_jobs):
        line = located_jobs.line_of(index)
        try:
            job = _job(raw, calendar, bots, project, where, line)
        except ConfigurationError as exc:
            problems.append(exc.message)
            continue
        if job.name in names:
            problems.append(f"{where}:{line}: a second job named '{job.name}' (names must differ)")
            continue
        names.add(job.name)
        jobs.append(job)
    return Schedules(spec.time_zone, grace, calendar, jobs, problems, spec.notify)


def _job(raw: LocatedDict, calendar: BusinessCalendar, bots: set[str], project: Path, where: str, line: int) -> Job:
    spec = validate(_JobSpec, raw, where, ConfigurationError)

    def at(key: str) -> str:
        return f"{where}:{raw.line_of(key)}"

    if spec.bot not in bots:
        raise ConfigurationError(f"{at('bot')}: job '{spec.name}': no bot named '{spec.bot}' "
                                 f"(bots: {', '.join(sorted(bots)) or 'none'})")
    try:
        when = parse_when(spec.when, calendar if spec.skip_holidays else BusinessCalendar())
    except ValueError as exc:
        raise ConfigurationError(f"{at('when')}: job '{spec.name}': {exc}") from None
    try:
        limit = parse_duration(spec.max_run_time)
    except ValueError as exc:
        raise ConfigurationError(f"{at('max_run_time')}: job '{spec.name}': max_run_time: {exc}") from None
    if (spec.input.file is None) == (spec.input.newest_in is None):
        raise ConfigurationError(f"{at('input')}: job '{spec.name}': input needs exactly one of file, newest_in")
    if when.on_arrival and spec.input.newest_in is None:
        raise ConfigurationError(f"{at('when')}: job '{spec.name}': '{spec.when}' watches an inbox folder; "
                                 "give it as input: {newest_in: FOLDER, pattern: \"*.xlsx\"}")
    input_file = inbox = None
    if spec.input.file is not None:
        input_file = project / spec.input.file
        if not input_file.is_file():
            raise ConfigurationError(f"{at('input')}: job '{spec.name}': input file {spec.input.file} does not exist")
    else:
        inbox = project / spec.input.newest_in
        if not inbox.is_dir():
            raise ConfigurationError(f"{at('input')}: job '{spec.name}': inbox folder {spec.input.newest_in} "
                                     "does not exist")
    return Job(spec.name, spec.bot, when, input_file, inbox, spec.input.pattern, limit, spec.virtual_display,
               f"{where}:{line}")

