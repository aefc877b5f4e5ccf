"""Who is running: one run per bot at a time from the scheduler, the menu and the console, each runner
service with a lock of its own, and every run holding a lock of its own while it is going.

File locks under <logs_dir>/locks/: the operating system drops one when its holder dies, so a crashed
runner never blocks the next start, and a run whose lock is free but whose evidence is unsealed was
killed. `locks/<bot>.lock` is the bot's (one run at a time from the places a person starts runs);
`locks/<bot>@<runner>.lock` a runner service's, which works the queue beside them;
`locks/runs/<bot>/<run>.lock` a run's own, held from its folder's making to its seal.
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


def lock_path(project: Path, bot: str, holder: str | None = None) -> Path:
    folder = logs_folder(project) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (f"{bot}@{holder}.lock" if holder else f"{bot}.lock")


def _held(path: Path) -> bool:
    if not path.exists():
        return False
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def is_running(project: Path, bot: str) -> bool:
    """Whether a run of the bot is going on this machine: started by a person or a schedule, or a runner's."""
    main = lock_path(project, bot)
    return _held(main) or any(_held(p) for p in main.parent.glob(f"{bot}@*.lock"))


@contextmanager
def bot_lock(project: Path, bot: str, holder: str | None = None) -> Iterator[None]:
    """Hold the bot's lock for the block (with `holder`, that runner service's); BotBusyError at once when
    another run has it."""
    lock = FileLock(lock_path(project, bot, holder))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BotBusyError(f"another run of {bot} is still going; this one was not started") from None
    try:
        yield
    finally:
        lock.release()


def run_lock_path(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    return run_dir.parent.parent / "locks" / "runs" / run_dir.parent.name / f"{run_dir.name}.lock"


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Held while the run is going; its file is removed once the run is sealed."""
    path = run_lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    lock.acquire(timeout=0)
    try:
        yield
    finally:
        lock.release()
        path.unlink(missing_ok=True)


def run_is_running(run_dir: Path) -> bool:
    """Whether the run in this folder is going now (its evidence is not finished yet), not killed."""
    return _held(run_lock_path(run_dir))
