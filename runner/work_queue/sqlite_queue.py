"""The SQLite work queue: one file in WAL mode, safe for several runner processes on one machine.

The rules are the SQL queue's (sql_queue.py). SQLite's own: each change is a `BEGIN IMMEDIATE`
transaction, so writers take turns and a claim never sees an item another runner is taking; one
file is one machine's queue, so the lease clock is this machine's clock, and its tables are brought up
to this Backroom's version when it opens them (every runner of the file is this machine's Backroom).
The version is the file's `user_version`.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigurationError
from .backends import QueueBackend, register_backend
from .sql_queue import SQLWorkQueue, schema_steps

SCHEMA_STEPS = schema_steps(key="INTEGER PRIMARY KEY AUTOINCREMENT", real="REAL")


class SQLiteWorkQueue(SQLWorkQueue):
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        # SQLite's own lower() folds ASCII letters only: a clerk searching "müller" means "Müller" too
        self.conn.create_function("lower", 1, lambda text: text.lower() if isinstance(text, str) else text,
                                  deterministic=True)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.upgraded = self._ready_tables(SCHEMA_STEPS, str(self.path), upgrade=True)
        self._refuse_if_moved(str(self.path))

    def _schema_version(self, conn: Any) -> int | None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version:
            return version
        # a file made before its tables had a version holds version 1's
        return 1 if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone() else None

    def _set_schema_version(self, conn: Any, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version)}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _now(self, conn: Any) -> float:
        return self.clock()

    def _insert(self, conn: Any, statement: str, args: tuple) -> int:
        cursor = conn.execute(statement, args)
        assert cursor.lastrowid is not None   # always set after an INSERT
        return cursor.lastrowid


def sqlite_file(rest: str, project: Path) -> Path:
    """sqlite:///logs/queue.sqlite3 is relative to the project, sqlite:////srv/queue.sqlite3 absolute."""
    if not rest.startswith("/") or rest == "/":
        raise ConfigurationError(f"queue sqlite://{rest}: a SQLite queue needs a file",
                                 "Write it as sqlite:///logs/queue.sqlite3 (relative to the project) or "
                                 "sqlite:////srv/backroom/queue.sqlite3 (absolute).")
    return Path(project) / rest[1:]


register_backend(QueueBackend(
    scheme="sqlite",
    open=lambda rest, project, clock, upgrade: SQLiteWorkQueue(sqlite_file(rest, project), clock),
    exists=lambda rest, project: sqlite_file(rest, project).is_file(),
    describe=lambda rest, project: str(sqlite_file(rest, project))))
