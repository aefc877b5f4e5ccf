"""A runner service (`backroom worker`): works its bots' queued items as they arrive, on any machine that
shares the queue, registered in the queue with a heartbeat."""

from .service import RunnerService, WorkerOptions

__all__ = ["RunnerService", "WorkerOptions"]
