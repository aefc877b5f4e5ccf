"""`backroom worker`: a runner service in the foreground, as systemd or Windows' service manager expects."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from loguru import logger

from ..project.settings import logs_folder
from ..worker import RunnerService, WorkerOptions
from .options import ProjectOption, parse_app_commands, parse_app_urls


def worker(
    bot: List[str] = typer.Option(..., "--bot", "-b", help="A bot whose queued items this runner works (repeatable)."),
    name: Optional[str] = typer.Option(None, "--name", help="This runner's name, unique among the runners "
                                       "(default: the machine's name)."),
    poll: float = typer.Option(2.0, "--poll", help="Seconds between looks at the queue when idle."),
    heartbeat: float = typer.Option(10.0, "--heartbeat", help="Seconds between heartbeats; lost after 3 missed."),
    virtual_display: bool = typer.Option(False, "--virtual-display", help="Each run on a virtual screen (desktop bots)."),
    app_url: List[str] = typer.Option([], "--app-url", help="APP=URL: where an app runs (repeatable)."),
    app_command: List[str] = typer.Option([], "--app-command", help="APP=COMMAND: how a desktop app starts (repeatable)."),
    project: Path = ProjectOption,
) -> None:
    """Work the bots' queued items as they arrive, until SIGTERM or Ctrl-C (after the current item)."""
    if poll <= 0 or heartbeat <= 0:
        raise typer.BadParameter("--poll and --heartbeat are seconds, more than 0")
    options = WorkerOptions(list(dict.fromkeys(bot)), project, poll_s=poll, heartbeat_s=heartbeat,
                            virtual_display=virtual_display, app_urls=parse_app_urls(app_url),
                            app_commands=parse_app_commands(app_command))
    if name:
        options.name = name
    service = RunnerService(options)
    sink = logger.add(logs_folder(project) / f"worker-{options.name}.log", level="INFO", encoding="utf-8")
    # what the service does, for the service manager's journal (warnings reach stderr already)
    said = logger.add(sys.stderr, level="INFO", format="{level}: {message}",
                      filter=lambda record: record["name"].startswith("runner.worker") and record["level"].no < 30)

    def stop(signum, frame) -> None:
        if service.stopping.is_set():   # asked twice: the current item is given back too
            raise KeyboardInterrupt
        service.stop(f"{signal.Signals(signum).name} received")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        service.serve()
    finally:
        logger.remove(sink)
        logger.remove(said)
