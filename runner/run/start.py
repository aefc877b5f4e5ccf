"""`start_run`: the one function that starts a run. The CLI, the menu, the console and the scheduler
call it (the last three through a child process, child.py); a runner service (`backroom worker`) calls
`start_queued_run` for the items already in the queue."""

from __future__ import annotations

from typing import Callable

from ..drivers.display import check_display, virtual_display
from ..errors import ConfigurationError
from .keying import run_keying
from .prepare import prepare_run
from .records import Progress, RunRequest, RunResult


def start_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunResult:
    if request.input_path is None:
        raise ConfigurationError(f"a run of {request.bot} needs its input", "Give the input workbook with --input.")
    result = _start(request, on_progress, should_stop)
    assert result is not None   # a run of an input is always opened
    return result


def start_queued_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> RunResult | None:
    """A run of the bot's items already in the queue (request.input_path None); None when there was none
    to claim, and then no run was made."""
    assert request.input_path is None
    return _start(request, on_progress, should_stop)


def _start(request: RunRequest, on_progress: Callable[[Progress], None] | None,
           should_stop: Callable[[], bool] | None) -> RunResult | None:
    prepared = prepare_run(request)
    desktop = any(m.kind == "desktop" for m in prepared.maps.values())
    run: Callable[..., RunResult | None]
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
