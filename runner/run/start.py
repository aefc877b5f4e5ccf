"""`start_run`: the one function that starts a run. The CLI, the menu, the console and the scheduler
call it (the last three through a child process, child.py)."""

from __future__ import annotations

from typing import Callable

from ..drivers.display import check_display, virtual_display
from .keying import run_keying
from .prepare import prepare_run
from .records import Progress, RunRequest, RunResult


def start_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunResult:
    prepared = prepare_run(request)
    desktop = any(m.kind == "desktop" for m in prepared.maps.values())
    run: Callable[..., RunResult]
    if prepared.bot.kind == "reconcile":
        from .reconciling import run_reconciliation as run
    else:
        run = run_keying
    if not request.virtual_display:
        if desktop:
            check_display()  # no screen: say so now, not after the first click hangs
        return run(request, prepared, on_progress, should_stop)
    with virtual_display(*prepared.settings.desktop.display_size):
        return run(request, prepared, on_progress, should_stop)
