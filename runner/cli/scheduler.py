"""`backroom scheduler`: run the schedules in the foreground, as a service manager expects;
`backroom scheduler status`: each job's next and last runs with their outcome."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from loguru import logger
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..scheduler.config import load_schedules
from ..scheduler.service import STATE_FILE, Scheduler
from ..scheduler.state import SchedulerState
from ..project.settings import logs_folder
from ..project.yaml_source import display_path
from ..scheduler.liveness import scheduler_life

scheduler_app = typer.Typer(help="Unattended runs from schedules.yaml.", invoke_without_command=True)
out = Console()
ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with bots/ and schedules.yaml.",
                             envvar="BACKROOM_PROJECT")
FileOption = typer.Option(None, "--file", "-f", help="The schedules file (default: schedules.yaml in the project).")


@scheduler_app.callback()
def serve(ctx: typer.Context, project: Path = ProjectOption, file: Optional[Path] = FileOption,
          poll: float = typer.Option(1.0, help="Seconds between looks at the clock.")) -> None:
    """Run the schedules until SIGTERM or Ctrl-C; a run in progress is asked to stop and give its item back."""
    if ctx.invoked_subcommand is not None:
        return
    schedules = load_schedules(project, file)
    for problem in schedules.problems:
        out.print(Text(f"left out: {problem}", style="yellow"), highlight=False)
    scheduler = Scheduler(project, schedules)
    log_file = logs_folder(project) / "scheduler.log"
    sink = logger.add(log_file, level="INFO", enqueue=False, encoding="utf-8")

    def stop(signum, frame) -> None:
        logger.info(f"{signal.Signals(signum).name}: stopping after asking any running bot to stop")
        scheduler.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        scheduler.serve(poll)
    finally:
        scheduler.state.close()
        logger.remove(sink)


@scheduler_app.command()
def status(project: Path = ProjectOption, file: Optional[Path] = FileOption) -> None:
    """Each job: when it runs, when it runs next, its last run and how that ended."""
    schedules = load_schedules(project, file)
    state = SchedulerState(logs_folder(project) / STATE_FILE)
    try:
        scheduler = Scheduler(project, schedules, state=state)
        upcoming = scheduler.next_runs()
        table = Table(title=f"Schedules ({schedules.time_zone})")
        for column in ("job", "bot", "when", "next run", "last run", "outcome"):
            table.add_column(column)
        for job in schedules.jobs:
            last = state.last(job.name, counting_locked=False)
            last_text = f"{last.planned:%Y-%m-%d %H:%M} ({last.reason})" if last and last.planned else "never"
            next_run = upcoming.get(job.name)
            next_text = f"{next_run:%Y-%m-%d %H:%M}" if isinstance(next_run, datetime) else \
                f"a file in {display_path(job.inbox, project)}" if job.when.on_arrival and job.inbox else "-"
            table.add_row(Text(job.name), job.bot, Text(job.when.text), Text(next_text), last_text,
                          Text(f"{last.outcome}: {last.message}" if last else ""))
        out.print(table)
        out.print(Text(f"Scheduler: {scheduler_life(project, time.time()).text()}"), highlight=False)
        for problem in schedules.problems:
            out.print(Text(f"left out: {problem}", style="yellow"), highlight=False)
    finally:
        state.close()
