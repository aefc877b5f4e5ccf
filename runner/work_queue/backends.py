"""Which queue a project uses, chosen by a URL (`queue:` in backroom.yaml).

`sqlite:///logs/queue.sqlite3` is a file relative to the project, `sqlite:////srv/q.sqlite3` an
absolute one (the same spelling as SQLAlchemy's). A plain path still means SQLite. A backend
registers its scheme here with how to open it and how to tell whether it holds anything yet; the
rest of Backroom knows only the `WorkQueue` Protocol and this function.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ConfigurationError
from .base import WorkQueue

Clock = Callable[[], float]


@dataclass(frozen=True)
class QueueBackend:
    scheme: str
    # (the URL's part after "scheme://", the project folder, a clock, whether to upgrade older tables)
    open: Callable[[str, Path, Clock, bool], WorkQueue]
    # whether the queue holds anything yet (a verifier must not create an empty one)
    exists: Callable[[str, Path], bool]
    # what a person reads in a message: a file's path, a server's address without its password
    describe: Callable[[str, Path], str]


_BACKENDS: dict[str, QueueBackend] = {}


def register_backend(backend: QueueBackend) -> None:
    _BACKENDS[backend.scheme] = backend


def _split(where: str | Path) -> tuple[QueueBackend, str]:
    text = str(where)
    scheme, sep, rest = text.partition("://")
    if not sep:   # a plain path: the local SQLite file, as before URLs
        scheme, rest = "sqlite", "/" + text
    backend = _BACKENDS.get(scheme)
    if backend is None:
        known = ", ".join(f"{name}://" for name in sorted(_BACKENDS))
        raise ConfigurationError(f"queue {text!r}: no queue backend for '{scheme}://' (known: {known})",
                                 "Set queue: in backroom.yaml to a URL such as sqlite:///logs/queue.sqlite3.")
    return backend, rest


def open_queue(where: str | Path, project: Path = Path("."), clock: Clock = time.time, upgrade: bool = False) -> WorkQueue:
    """The queue at `where` (a URL or a SQLite file's path), relative to `project`. Tables older than this
    Backroom are brought up to its version only with `upgrade` (backroom queue upgrade), where a backend
    does not do that by itself."""
    backend, rest = _split(where)
    return backend.open(rest, Path(project), clock, upgrade)


def queue_exists(where: str | Path, project: Path = Path(".")) -> bool:
    backend, rest = _split(where)
    return backend.exists(rest, Path(project))


def describe_queue(where: str | Path, project: Path = Path(".")) -> str:
    backend, rest = _split(where)
    return backend.describe(rest, Path(project))
