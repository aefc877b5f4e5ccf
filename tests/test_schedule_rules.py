"""Schedules as an operations team writes them: phrases, business days, holidays, what was planned
before a moment, and a schedules.yaml with mistakes named by line while the good jobs are kept."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import schedule

from runner.errors import ConfigurationError
from runner.scheduler.calendar import BusinessCalendar
from runner.scheduler.config import load_schedules, parse_duration
from runner.scheduler.when import parse_when

CHRISTMAS = BusinessCalendar(frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)}))


def test_weekday_rule_skips_weekends_and_holidays():
    when = parse_when("every weekday at 02:00", CHRISTMAS)
    assert when.counts_at(datetime(2026, 12, 24, 2, 0))            # Thursday
    assert not when.counts_at(datetime(2026, 12, 25, 2, 0))        # Christmas Day
    assert not when.counts_at(datetime(2026, 12, 26, 2, 0))        # Saturday
    assert not when.counts_at(datetime(2026, 12, 28, 2, 0))        # a bank holiday Monday
    assert when.previous(datetime(2026, 12, 29, 1, 59)) == datetime(2026, 12, 24, 2, 0)
    assert when.previous(datetime(2026, 12, 29, 2, 0)) == datetime(2026, 12, 29, 2, 0)


def test_named_days_hours_and_minutes():
    when = parse_when("every Monday and Thursday at 06:30", CHRISTMAS)
    assert when.previous(datetime(2026, 12, 30, 12, 0)) == datetime(2026, 12, 24, 6, 30)   # Monday 28th is a holiday
    hourly = parse_when("every hour between 08:00 and 18:00")
    assert hourly.previous(datetime(2026, 11, 23, 7, 59)) == datetime(2026, 11, 22, 18, 0)
    assert hourly.previous(datetime(2026, 11, 23, 12, 40)) == datetime(2026, 11, 23, 12, 0)
    quarter = parse_when("every 15 minutes between 08:00 and 18:00 on weekdays", CHRISTMAS)
    assert quarter.previous(datetime(2026, 11, 23, 9, 44)) == datetime(2026, 11, 23, 9, 30)
    assert quarter.previous(datetime(2026, 11, 22, 9, 44)) == datetime(2026, 11, 20, 18, 0)   # Sunday -> Friday


def test_first_and_last_business_day_of_the_month():
    first = parse_when("first business day of the month at 06:00", CHRISTMAS)
    assert first.previous(datetime(2027, 1, 20)) == datetime(2027, 1, 4, 6, 0)      # 1st a holiday, 2-3 a weekend
    assert not first.counts_at(datetime(2027, 1, 1, 6, 0))
    last = parse_when("last business day of the month at 18:00", CHRISTMAS)
    assert last.previous(datetime(2027, 1, 29, 17, 59)) == datetime(2026, 12, 31, 18, 0)
    assert last.previous(datetime(2027, 1, 30)) == datetime(2027, 1, 29, 18, 0)         # Friday; 30-31 a weekend


@pytest.mark.parametrize("phrase, says", [
    ("every weekday at 25:00", "'25:00' in 'every weekday at 25:00' is not a time of day"),
    ("every funday at 02:00", "'funday' in 'every funday at 02:00' is not a day of the week"),
    ("at noon", "'at noon' is not a schedule Backroom understands (for example: every weekday at 02:00"),
])
def test_phrases_that_do_not_parse_say_why(phrase, says):
    with pytest.raises(ValueError) as caught:
        parse_when(phrase)
    assert says in str(caught.value)


def test_phrases_are_put_on_the_schedule_package():
    scheduler = schedule.Scheduler()
    fired = []
    job = parse_when("every weekday at 02:00").schedule_on(scheduler, "Europe/London", lambda: fired.append(1))
    assert job.unit == "days" and job.at_time.strftime("%H:%M") == "02:00"
    assert str(job.at_time_zone) == "Europe/London"
    seconds = parse_when("every 2 seconds").schedule_on(scheduler, "UTC", lambda: fired.append(2))
    assert seconds.unit == "seconds" and seconds.interval == 2
    hourly = parse_when("every hour at :15 between 08:00 and 18:00").schedule_on(scheduler, "UTC", lambda: None)
    assert hourly.unit == "hours" and hourly.at_time.minute == 15
    assert len(scheduler.jobs) == 3


def test_durations():
    assert parse_duration("45m") == timedelta(minutes=45)
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration(90) == timedelta(seconds=90)
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        parse_duration("soon")


def test_schedules_file_reports_bad_jobs_by_line_and_keeps_the_good(project):
    (project / "inbox" / "jobs").mkdir(parents=True)
    (project / "schedules.yaml").write_text(
        "time_zone: Europe/London\n"                                   # 1
        "grace: 2h\n"                                                  # 2
        "holidays: [2026-12-25]\n"                                     # 3
        "jobs:\n"                                                      # 4
        "  - name: nightly invoices\n"                                 # 5
        "    bot: issue-invoices\n"                                    # 6
        "    when: every weekday at 02:00\n"                           # 7
        "    input: {newest_in: inbox/jobs}\n"                         # 8
        "    max_run_time: 45m\n"                                      # 9
        "  - name: bad time\n"                                         # 10
        "    bot: rekey-orders\n"                                      # 11
        "    when: every weekday at 2 am\n"                            # 12
        "    input: {file: bots/rekey-orders/sample/orders.xlsx}\n"    # 13
        "  - name: unknown bot\n"                                      # 14
        "    bot: pay-salaries\n"                                      # 15
        "    when: every day at 03:00\n"                               # 16
        "    input: {file: bots/rekey-orders/sample/orders.xlsx}\n"    # 17
        "  - name: no inbox\n"                                         # 18
        "    bot: reconcile-accounts\n"                                # 19
        "    when: first business day of the month at 06:00\n"         # 20
        "    input: {newest_in: inbox/statements}\n")                  # 21
    schedules = load_schedules(project)
    assert [job.name for job in schedules.jobs] == ["nightly invoices"]
    job = schedules.jobs[0]
    assert job.max_run_time == timedelta(minutes=45) and job.where == "schedules.yaml:5"
    assert not job.when.counts_at(datetime(2026, 12, 25, 2, 0))
    assert schedules.problems == [
        "schedules.yaml:12: job 'bad time': 'every weekday at 2 am' is not a schedule Backroom understands "
        "(for example: every weekday at 02:00; every hour between 08:00 and 18:00; "
        "first business day of the month at 06:00; every 30 seconds; whenever a file arrives)",
        "schedules.yaml:15: job 'unknown bot': no bot named 'pay-salaries' (bots: issue-invoices, post-payments, "
        "reconcile-accounts, rekey-orders)",
        "schedules.yaml:21: job 'no inbox': inbox folder inbox/statements does not exist",
    ]
    assert job.input_path() is None                       # an empty inbox: nothing to run on
    older, newer = project / "inbox" / "jobs" / "a.xlsx", project / "inbox" / "jobs" / "b.xlsx"
    older.write_bytes(b"x")
    newer.write_bytes(b"y")
    import os
    os.utime(older, (1_000_000, 1_000_000))
    assert job.input_path() == newer


def test_a_broken_schedules_file_stops_the_scheduler_with_its_line(project):
    (project / "schedules.yaml").write_text("time_zone: Mars/Olympus\njobs: []\n")
    with pytest.raises(ConfigurationError, match=r"schedules.yaml:1: time_zone: unknown time zone 'Mars/Olympus'"):
        load_schedules(project)


def test_next_planned_time_skips_weekends_and_holidays():
    when = parse_when("every weekday at 02:00", CHRISTMAS)
    assert when.next_from(datetime(2026, 12, 24, 3, 0)) == datetime(2026, 12, 29, 2, 0)
    assert when.next_from(datetime(2026, 12, 24, 2, 0)) == datetime(2026, 12, 24, 2, 0)
    first = parse_when("first business day of the month at 06:00", CHRISTMAS)
    assert first.next_from(datetime(2026, 12, 31, 7, 0)) == datetime(2027, 1, 4, 6, 0)


def test_the_bundled_schedules_file_is_valid():
    from .conftest import ROOT

    schedules = load_schedules(ROOT)
    assert schedules.problems == []
    assert [job.bot for job in schedules.jobs] == ["issue-invoices", "reconcile-accounts", "post-payments"]
    assert schedules.jobs[2].virtual_display and schedules.time_zone == "Europe/London"
