"""The scheduler: puts every job of schedules.yaml on `schedule`, makes up runs it missed while it
was down (inside the grace window; otherwise it records that it skipped them), runs each due job
as its own process, remembers every outcome and sends notices. It stops between runs, or asks a
running bot to stop, when told to (SIGTERM, Ctrl-C)."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import schedule
from loguru import logger

from .arrivals import InboxWatch
from .clock import Clock
from .config import Job, Schedules
from .runs import RunOutcome, run_job
from ..project.settings import load_settings, logs_folder
from ..run.notices import send_notice
from .state import RunRecord, SchedulerState

STATE_FILE = "scheduler.sqlite3"   # under the project's logs_dir
BEAT_S = 5.0                       # how often the scheduler says it is alive (the console's status strip)
BUSY_RETRY_S = 15.0                # a watched job whose bot another run holds looks again this much later


class Scheduler:
    def __init__(self, project: Path, schedules: Schedules, clock: Clock = time.time,
                 runner: Callable[..., RunOutcome] = run_job, state: SchedulerState | None = None):
        self.project = Path(project)
        self.schedules = schedules
        self.clock = clock
        self.runner = runner
        self.zone = ZoneInfo(schedules.time_zone)
        self.state = state or SchedulerState(logs_folder(self.project) / STATE_FILE)
        self.stop_requested = threading.Event()
        self.running_now = ""   # the job whose run the scheduler follows now
        # `schedule` fires the jobs at their clock times, on this machine's clock (its public interface
        # only); what was missed while the scheduler was down is Backroom's own, on `clock` (catch_up)
        self.jobs = schedule.Scheduler()
        self.clock_jobs = [job for job in schedules.jobs if not job.when.on_arrival]
        for job in self.clock_jobs:
            job.when.schedule_on(self.jobs, schedules.time_zone, lambda job=job: self._fire(job))
        self.watch = InboxWatch(self.state)
        self._busy_until: dict[str, float] = {}   # a watched job whose bot was busy: when to try again

    def local_now(self) -> datetime:
        """Now in the schedules' time zone, as a naive local time (how schedules.yaml writes times)."""
        return datetime.fromtimestamp(self.clock(), self.zone).replace(tzinfo=None)

    # -- what was missed ---------------------------------------------------------
    def catch_up(self) -> None:
        """For each job, the last planned time before now: run it once if it was missed within the
        grace window, record it as missed otherwise. Times before the job was first known do not count."""
        now = self.local_now()
        paused = self.state.paused()
        for job in self.schedules.jobs:
            if job.name in paused:
                continue  # held by an admin: nothing is made up for it either
            known_since = self.state.first_seen(job.name, now)
            planned = job.when.previous(now)
            if planned is None or planned < known_since or planned >= now.replace(second=0, microsecond=0):
                continue   # nothing planned, planned before we knew the job, or due right now (schedule runs it)
            done_up_to = self.state.last_planned(job.name)
            if done_up_to is not None and done_up_to >= planned:
                continue
            late = now - planned
            if late <= self.schedules.grace:
                logger.warning(f"{job.name}: missed its run planned for {planned:%Y-%m-%d %H:%M} "
                               f"({late} ago, within the grace of {self.schedules.grace}): running it now")
                self._run(job, planned, "catch_up")
            else:
                message = (f"missed the run planned for {planned:%Y-%m-%d %H:%M} while the scheduler was down; "
                           f"{late} late is outside the grace of {self.schedules.grace}, so it was skipped")
                logger.warning(f"{job.name}: {message}")
                ts = self.clock()
                self.state.record(RunRecord(job.name, job.bot, planned, "missed", ts, ts, "missed", None, message,
                                            None, None))
                self._notify(RunOutcome(job.name, job.bot, "missed", message, ts, ts), planned)

    # -- running ---------------------------------------------------------------
    def run_pending(self) -> None:
        self.jobs.run_pending()

    def _fire(self, job: Job) -> None:
        now = self.local_now()
        if not job.when.counts_at(now):
            logger.debug(f"{job.name}: not planned at {now:%a %Y-%m-%d %H:%M} (day, holiday or hours)")
            return
        # the time this firing stands for (a late check still belongs to the hour it was planned for)
        planned = job.when.previous(now) or now.replace(microsecond=0)
        held = self.state.paused().get(job.name)
        if held is not None:
            message = f"paused by {held['by']}: {held['reason']}"
            logger.info(f"{job.name}: not started, {message}")
            ts = self.clock()
            self.state.record(RunRecord(job.name, job.bot, planned, "planned", ts, ts, "paused", None, message,
                                        None, None))
            return
        self._run(job, planned, "planned")

    # -- watched inboxes ----------------------------------------------------------
    def watch_inboxes(self) -> None:
        """Each watched job's new files, oldest first, each run once (arrivals.py)."""
        paused = self.state.paused()
        now = self.local_now()
        for job in self.schedules.jobs:
            if not job.when.on_arrival or job.name in paused or not job.when.counts_at(now):
                continue   # held by an admin, or outside its hours: the files wait in the inbox
            if time.monotonic() < self._busy_until.get(job.name, 0.0):
                continue
            for arrival in self.watch.arrived(job):
                if self.stop_requested.is_set():
                    return
                logger.info(f"{job.name}: {arrival.path.name} arrived in {job.inbox}")
                outcome = self._run(replace(job, input_file=arrival.path), self.local_now(), "arrival")
                if outcome.outcome == "locked":   # another run of the bot: this file and the rest wait for it
                    self._busy_until[job.name] = time.monotonic() + BUSY_RETRY_S
                    break
                self.state.take_arrival(job.name, arrival.path.name, arrival.size, arrival.mtime_ns, self.clock(),
                                        outcome.outcome, outcome.run_dir)

    def _run(self, job: Job, planned: datetime, reason: str) -> RunOutcome:
        logger.info(f"{job.name}: starting {job.bot} (planned {planned:%Y-%m-%d %H:%M:%S}, {reason})")
        self.running_now = f"{job.name} ({job.bot})"
        try:
            outcome = self.runner(job, self.project, should_stop=self.stop_requested.is_set)
        except Exception as exc:  # noqa: BLE001 - one run's defect is reported; the schedule goes on
            logger.exception(f"{job.name}: the run could not be started or followed")
            now = self.clock()
            outcome = RunOutcome(job.name, job.bot, "crashed", f"the scheduler could not run it: {exc!r}", now, now)
        finally:
            self.running_now = ""
        self.state.record(RunRecord(job.name, job.bot, planned, reason, outcome.started, outcome.finished,
                                    outcome.outcome, outcome.exit_code, outcome.message, outcome.input,
                                    outcome.run_dir))
        log = logger.warning if outcome.needs_notice else logger.info
        log(f"{job.name}: {outcome.outcome}: {outcome.message}")
        if outcome.needs_notice:
            self._notify(outcome, planned)
        self._apply_retention()
        return outcome

    def _apply_retention(self) -> None:
        """The retention policy, applied after each run: old screenshots go, their record stays."""
        from ..audit.retention import prune_screenshots
        from ..audit.signing import load_signer
        from ..project.settings import load_settings

        try:
            settings = load_settings(self.project)
            days = settings.audit.screenshots_keep_days
            if days is None:
                return
            report = prune_screenshots(self.project / settings.logs_dir, days, load_signer(settings, self.project),
                                       now=datetime.fromtimestamp(self.clock(), timezone.utc))
            if report.files:
                logger.info(f"retention: pruned {report.files} screenshot(s) of {report.runs} run(s) older than {days} days")
        except Exception as exc:  # noqa: BLE001 - retention must never stop the schedule
            logger.error(f"retention: not applied: {exc}")

    def _notify(self, outcome: RunOutcome, planned: datetime | None) -> None:
        settings = load_settings(self.project)   # read now: a change of notify: applies without a restart
        spec = settings.notify if "notify" in settings.model_fields_set or self.schedules.notify is None \
            else self.schedules.notify
        how = send_notice(spec, self.project, outcome.notice(planned))
        logger.info(f"{outcome.job}: notice written, {how}")

    def serve(self, poll_s: float = 1.0) -> None:
        """Run until stop() is called (the CLI calls it on SIGTERM and Ctrl-C)."""
        for problem in self.schedules.problems:
            logger.error(f"left out: {problem}")
        if self.schedules.notify is not None:
            logger.warning("schedules.yaml: notify: is used only while backroom.yaml has none; move it to backroom.yaml, "
                           "where runner services and the console read it too")
        logger.info(f"scheduler started: {len(self.schedules.jobs)} job(s), time zone {self.schedules.time_zone}")
        # the heartbeat goes on while a run takes the loop for an hour: a thread of its own, with its own connection
        beating = threading.Thread(target=self._beat_until_stopped, args=(self.clock(),), name="scheduler-heartbeat",
                                   daemon=True)
        beating.start()
        try:
            self.catch_up()
            while not self.stop_requested.is_set():
                self.run_pending()
                self.watch_inboxes()
                self.stop_requested.wait(poll_s)
        finally:
            self.stop_requested.set()
            beating.join()
        logger.info("scheduler stopped")

    def _beat_until_stopped(self, started: float) -> None:
        state = SchedulerState(self.state.path)
        host, pid = socket.gethostname(), os.getpid()
        try:
            while True:
                state.beat(host, pid, started, self.clock(), self.status_text())
                if self.stop_requested.wait(BEAT_S):
                    break
            state.beat(host, pid, started, self.clock(), "", stopped=True)   # said, so it is not taken for lost
        except Exception as exc:  # noqa: BLE001 - a heartbeat that cannot be written must not stop the schedule
            logger.error(f"scheduler heartbeat: {exc}")
        finally:
            state.close()

    def status_text(self) -> str:
        return f"running {self.running_now}" if self.running_now else self.next_text()

    def next_text(self) -> str:
        """'nightly invoices at 2026-11-27 02:00': the soonest planned run, for the console's status strip."""
        upcoming = [(when, name) for name, when in self.next_runs().items() if when is not None]
        watched = [job.name for job in self.schedules.jobs if job.when.on_arrival]
        parts = [f"{name} at {when:%Y-%m-%d %H:%M}" for when, name in sorted(upcoming)[:1]]
        parts += [f"{name} when a file arrives" for name in watched[:1]]
        return "; ".join(parts)

    def stop(self) -> None:
        self.stop_requested.set()

    def next_runs(self) -> dict[str, datetime | None]:
        """The next planned time of each job in the schedules' time zone (days the guard skips are skipped)."""
        out: dict[str, datetime | None] = {job.name: None for job in self.schedules.jobs}   # watched: no clock time
        for job, entry in zip(self.clock_jobs, self.jobs.jobs):
            fires = entry.next_run.astimezone(self.zone).replace(tzinfo=None)   # schedule keeps machine time
            out[job.name] = job.when.next_from(fires)
        return out
