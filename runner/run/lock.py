"""One run per bot at a time, whoever starts it (scheduler, menu, console).

A file lock under <logs_dir>/locks/: the operating system drops it when its holder dies, so a
crashed runner never blocks the next start.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from ..errors import BackroomError, ExitCode
from ..project.settings import logs_folder


class BotBusyError(BackroomError):
    exit_code = ExitCode.ENVIRONMENT
    hint = "Wait for it to finish (see the runs list), then start it again."


def lock_path(project: Path, bot: str) -> Path:
    folder = logs_folder(project) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{bot}.lock"


def is_running(project: Path, bot: str) -> bool:
    lock = FileLock(lock_path(project, bot))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


@contextmanager
def bot_lock(project: Path, bot: str) -> Iterator[None]:
    """Hold the bot's lock for the block; BotBusyError at once when another run has it."""
    lock = FileLock(lock_path(project, bot))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BotBusyError(f"another run of {bot} is still going; this one was not started") from None
    try:
        yield
    finally:
        lock.release()
