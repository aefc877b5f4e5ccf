"""The strip at the top of every console page: is the scheduler running and what runs next, and are
the runner services alive. It fetches itself again every few seconds (console.js)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, render_template

from ..errors import BackroomError
from ..scheduler.liveness import SchedulerLife, scheduler_life
from ..work_queue import open_queue
from .context import allowed, console

status = Blueprint("status", __name__)


@dataclass(frozen=True)
class Strip:
    scheduler: SchedulerLife
    runners_alive: int
    runners_lost: int
    runners_problem: str = ""


def strip_now() -> Strip:
    c = console()
    life = scheduler_life(c.project, time.time())
    try:
        queue = open_queue(c.settings.queue_url, c.project)
        try:
            runners = queue.runners()
        finally:
            queue.close()
    except BackroomError as exc:
        return Strip(life, 0, 0, exc.message)
    return Strip(life, sum(r.status == "alive" for r in runners), sum(r.status == "lost" for r in runners))


@status.route("/status/strip")
@allowed("view", "status_strip")
def strip():
    return render_template("console/status_strip.html", strip=strip_now())
