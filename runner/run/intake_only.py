"""`backroom queue add`: an input's rows into the queue without working them, for the runners that work
the queue (backroom worker) to take. Everything a run would refuse is refused first, the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from .plan import QueuedInput, plan_work, queue_plan
from .prepare import prepare_run
from .records import RunRequest
from .session import open_run_queue


@dataclass
class AddedInput:
    input_name: str
    rows: int            # input rows read, refused ones included
    queued: QueuedInput  # what the queue did with them


def add_input(request: RunRequest) -> AddedInput:
    prepared = prepare_run(request)
    if prepared.intake is None:
        raise ConfigurationError(f"bot '{request.bot}' reconciles a statement: there is nothing to queue",
                                 f"Run it with: backroom run {request.bot} --input <statement>")
    assert request.input_path is not None
    queue = open_run_queue(request, prepared.settings)
    try:
        plan = plan_work(prepared, Path(request.input_path), queue)
        queued = queue_plan(queue, prepared.bot, plan, Path(request.input_path).name)
    finally:
        queue.close()
    return AddedInput(Path(request.input_path).name, len(prepared.intake.items) + len(prepared.intake.rejected), queued)
