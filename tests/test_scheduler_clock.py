"""The scheduler driven by a clock the test moves: weekdays and holidays, made-up runs inside the
grace window and recorded misses outside it, notices written. The runs themselves are recorded by
a stand-in here; tests/test_scheduled_runs.py runs real `backroom run` processes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from runner.scheduler.config import load_schedules
from runner.scheduler.runs import RunOutcome
from runner.scheduler.service import Scheduler
from runner.scheduler.state import SchedulerState

LONDON = ZoneInfo("Europe/London")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).timestamp()


class TravellingClock:
    """This process's clock, moved by the test (time-machine): `schedule` reads it through datetime.now as
    it does in production, the scheduler's own catch-up through the clock it is given (this one)."""

    def __init__(self, traveller):
        self.traveller = traveller

    def __call__(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        self.traveller.shift(seconds)

    def move_to(self, when: float) -> None:
        self.traveller.move_to(when)


@pytest.fixture
def travel():
    """travel("2026-12-23T01:59") stops this process's clock at that London time until the test ends."""
    trips = []

    def start(text: str) -> TravellingClock:
        trip = time_machine.travel(at(text), tick=False)
        trips.append(trip)
        return TravellingClock(trip.start())

    yield start
    for trip in reversed(trips):
        trip.stop()


class Recorder:
    """Stands in for run_job: remembers when it was asked to run what, and answers as told."""

    def __init__(self, clock, outcome: str = "success"):
        self.clock, self.outcome, self.calls = clock, outcome, []

    def __call__(self, job, project, should_stop=None):
        when = datetime.fromtimestamp(self.clock(), LONDON).replace(tzinfo=None)
        self.calls.append((job.name, when))
        return RunOutcome(job.name, job.bot, self.outcome, "as told", self.clock(), self.clock() + 5, exit_code=0)


def write_schedules(project, when: str = "every weekday at 02:00", grace: str = "2h") -> None:
    (project / "schedules.yaml").write_text(
        "time_zone: Europe/London\n"
        f"grace: {grace}\n"
        "holidays: [2026-12-25, 2026-12-28]\n"
        "jobs:\n"
        "  - name: nightly orders\n"
        "    bot: rekey-orders\n"
        f"    when: {when}\n"
        "    input: {file: bots/rekey-orders/sample/orders.xlsx}\n")


def scheduler(project, clock, runner, state=None):
    return Scheduler(project, load_schedules(project), clock=clock, runner=runner,
                     state=state or SchedulerState(project / "logs" / "scheduler.sqlite3"))


def test_weekday_schedule_runs_on_working_days_only(project, travel):
    write_schedules(project)
    clock = travel("2026-12-23T01:59")
    runner = Recorder(clock)
    service = scheduler(project, clock, runner)
    for _ in range(7 * 24 * 4):          # a week, a quarter of an hour at a time
        clock.advance(15 * 60)
        service.run_pending()
    assert [when.strftime("%a %d %H:%M") for _, when in runner.calls] == [   # the first look after 02:00
        "Wed 23 02:14", "Thu 24 02:14", "Tue 29 02:14"]   # 25th and 28th holidays, 26-27 a weekend
    history = service.state.history("nightly orders")
    assert [r.planned for r in history] == [datetime(2026, 12, 23, 2), datetime(2026, 12, 24, 2),
                                            datetime(2026, 12, 29, 2)]
    assert {r.reason for r in history} == {"planned"}


def test_a_run_missed_while_down_is_made_up_inside_the_grace_window_once(project, travel):
    write_schedules(project)
    clock = travel("2026-12-22T12:00")
    first = scheduler(project, clock, Recorder(clock))     # the scheduler knows the job from Tuesday noon
    first.catch_up()
    first.state.close()
    clock.move_to(at("2026-12-23T03:30"))                     # down from Tuesday noon until 03:30 on Wednesday
    runner = Recorder(clock)
    again = scheduler(project, clock, runner)
    again.catch_up()
    again.catch_up()                                       # a second look makes nothing up twice
    assert runner.calls == [("nightly orders", datetime(2026, 12, 23, 3, 30))]
    record = again.state.last("nightly orders")
    assert record.reason == "catch_up" and record.planned == datetime(2026, 12, 23, 2, 0)


def test_a_run_missed_outside_the_grace_window_is_recorded_and_noticed_not_run(project, travel):
    write_schedules(project, grace="1h")
    clock = travel("2026-12-22T12:00")
    scheduler(project, clock, Recorder(clock)).catch_up()
    clock.move_to(at("2026-12-23T06:15"))
    runner = Recorder(clock)
    service = scheduler(project, clock, runner)
    service.catch_up()
    assert runner.calls == []
    record = service.state.last("nightly orders")
    assert record.outcome == "missed" and record.planned == datetime(2026, 12, 23, 2, 0)
    assert "4:15:00 late is outside the grace of 1:00:00, so it was skipped" in record.message
    notices = (project / "logs" / "notices.log").read_text()
    assert "Backroom: nightly orders (rekey-orders) missed its planned time" in notices
    assert "not mailed (no email under notify: in backroom.yaml)" in notices


def test_nothing_is_made_up_from_before_the_job_was_known(project, travel):
    write_schedules(project)
    clock = travel("2026-12-23T03:30")     # first start ever, after today's 02:00
    runner = Recorder(clock)
    scheduler(project, clock, runner).catch_up()
    assert runner.calls == []


def test_runs_that_need_a_person_leave_a_notice(project, travel):
    write_schedules(project, when="every hour between 08:00 and 18:00")
    clock = travel("2026-11-23T07:59:30")
    service = scheduler(project, clock, Recorder(clock, outcome="items_for_review"))
    for _ in range(3):
        clock.advance(timedelta(minutes=30).total_seconds())
        service.run_pending()
    assert [r.planned.strftime("%H:%M") for r in service.state.history("nightly orders")] == ["08:00", "09:00"]
    notices = (project / "logs" / "notices.log").read_text()
    assert notices.count("nightly orders (rekey-orders) items wait for review") == 2
    assert "Planned for: 2026-11-23 08:00" in notices
    assert "backroom queue list --state review --bot rekey-orders" in notices


def test_notices_follow_backroom_yaml_and_an_older_schedules_yaml_notify_until_backroom_yaml_has_one(project, travel):
    """notify: belongs in backroom.yaml (runner services and the console read it too); an older project's
    schedules.yaml notify: is still obeyed while backroom.yaml has none, and a change applies without a restart."""
    write_schedules(project, when="every hour between 08:00 and 18:00")
    with (project / "schedules.yaml").open("a") as schedules:
        schedules.write("notify: {notices_file: logs/older-notices.log}\n")
    clock = travel("2026-11-23T07:59:30")
    service = scheduler(project, clock, Recorder(clock, outcome="items_for_review"))
    clock.advance(60)
    service.run_pending()
    assert (project / "logs" / "older-notices.log").read_text().count("items wait for review") == 1
    with (project / "backroom.yaml").open("a") as settings:
        settings.write("notify: {notices_file: logs/ops-notices.log}\n")
    clock.advance(3600)
    service.run_pending()
    assert (project / "logs" / "ops-notices.log").read_text().count("items wait for review") == 1
    assert (project / "logs" / "older-notices.log").read_text().count("items wait for review") == 1
    assert not (project / "logs" / "notices.log").exists()


def test_a_paused_job_is_not_run_and_says_who_paused_it_until_resumed(project, travel):
    write_schedules(project)
    clock = travel("2026-12-23T01:59")
    runner = Recorder(clock)
    service = scheduler(project, clock, runner)
    service.state.pause("nightly orders", "boss", clock(), "month-end freeze")
    for _ in range(4 * 24):                # Wednesday: paused
        clock.advance(15 * 60)
        service.run_pending()
    assert runner.calls == []
    skipped = service.state.last("nightly orders")
    assert (skipped.outcome, skipped.message) == ("paused", "paused by boss: month-end freeze")
    assert skipped.planned == datetime(2026, 12, 23, 2)
    service.state.resume("nightly orders")
    for _ in range(4 * 24):                # Thursday: runs again
        clock.advance(15 * 60)
        service.run_pending()
    assert [when.strftime("%a %d") for _, when in runner.calls] == ["Thu 24"]


def test_the_retention_policy_is_applied_after_scheduled_runs(project, travel):
    """A run sealed now is a month old on the scheduler's clock: its screenshots go, its evidence stays."""
    from runner import load_settings
    from runner.audit.events import AuditEvent, AuditTrail
    from runner.audit.manifest import seal_run
    from runner.audit.signing import load_signer, load_verifier
    from runner.audit.verify import verify_run
    from runner.project.secrets import Redactor

    (project / "backroom.yaml").write_text((project / "backroom.yaml").read_text()
                                           + "\naudit:\n  screenshots_keep_days: 7\n")
    settings = load_settings(project)
    run_dir = project / "logs" / "rekey-orders" / "20261123-010000-aaaa"
    trail = AuditTrail(run_dir.name, run_dir, Redactor())
    (trail.screenshots_dir / "0001.jpg").write_bytes(b"a screenshot")
    trail.emit(AuditEvent(run=run_dir.name, seq=trail.next_seq(), kind="step", outcome="pass",
                          screenshot="screenshots/0001.jpg"))
    trail.close()
    seal_run(run_dir, run_dir.name, "rekey-orders", trail.written, trail.last_hash, load_signer(settings, project))
    write_schedules(project)
    clock = travel("2026-12-23T01:59")
    service = scheduler(project, clock, Recorder(clock))
    for _ in range(8):
        clock.advance(15 * 60)
        service.run_pending()
    assert not (run_dir / "screenshots" / "0001.jpg").exists()
    result = verify_run(run_dir, load_verifier(settings, project))
    assert result.ok and [f.kind for f in result.findings] == ["pruned"]


def test_the_readmes_notify_settings_are_what_backroom_yaml_accepts(project):
    import re
    from pathlib import Path

    from runner.project.settings import load_settings

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```yaml\n(notify:\n.*?)```", readme, re.S)
    with (project / "backroom.yaml").open("a") as settings:
        settings.write(block)
    notify = load_settings(project).notify
    assert (notify.email.to, notify.email.password_secret, notify.webhook.url_secret) == \
        (["ops@example.com"], "smtp_password", "chat_webhook")


def test_two_schedulers_started_by_mistake_are_both_seen_and_a_dead_one_is_not_called_running(project):
    """Each scheduler beats in a row of its own: the status names a second one running for the same project,
    leaves out one whose process is gone, and says stopped once the last one stopped."""
    import os
    import socket
    import subprocess

    from runner.scheduler.liveness import scheduler_life

    host, now = socket.gethostname(), time.time()
    other = subprocess.Popen(["sleep", "60"])       # a live process standing for a second scheduler
    gone = subprocess.Popen(["true"])
    gone.wait()                                     # a scheduler killed without a word
    state = SchedulerState(project / "logs" / "scheduler.sqlite3")
    try:
        state.beat(host, os.getpid(), now - 60, now, "next: nightly orders at 02:00")
        state.beat(host, other.pid, now - 30, now - 1, "next: nightly orders at 02:00")
        state.beat(host, gone.pid, now - 90, now - 2, "")
        said = scheduler_life(project, now).text()
        assert said.startswith(f"running on {host} (pid {os.getpid()}); next: nightly orders at 02:00")
        assert f"also running on {host} (pid {other.pid}): one scheduler per project is enough" in said
        assert str(gone.pid) not in said
        other.kill()
        other.wait()
        assert "also running" not in scheduler_life(project, now).text()
        state.beat(host, os.getpid(), now - 60, now + 1, "", stopped=True)
        assert scheduler_life(project, now + 1).text() == "stopped (just now)"
    finally:
        if other.poll() is None:
            other.kill()
        state.close()
