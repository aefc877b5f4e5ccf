"""A run, from its request to its sealed evidence: prepare (check everything), plan the input into
the queue, work each claimed item through the engine inside one RunSession, write what came of it."""

from .child import ChildEnded, ChildRun, ChildRunError
from .lock import BotBusyError, bot_lock, is_running, lock_path, run_is_running
from .prepare import prepare_run
from .records import ItemResult, PreparedRun, Progress, RunRequest, RunResult
from .retry import RetryPolicy
from .session import RunSession, chain_sealing, new_run_id
from .start import start_queued_run, start_run

__all__ = ["BotBusyError", "ChildEnded", "ChildRun", "ChildRunError", "ItemResult", "PreparedRun", "Progress",
           "RetryPolicy", "RunRequest", "RunResult", "RunSession", "bot_lock", "is_running", "lock_path",
           "new_run_id", "prepare_run", "chain_sealing", "run_is_running", "start_queued_run", "start_run"]
