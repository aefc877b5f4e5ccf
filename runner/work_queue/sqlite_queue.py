"""The SQLite work queue: one file in WAL mode, safe for several runner processes on one machine.

The rules are the SQL queue's (sql_queue.py). SQLite's own: each change is a `BEGIN IMMEDIATE`
transaction, so writers take turns and a claim never sees an item another runner is taking; one
file is one machine's queue, so the lease clock is this machine's clock.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigurationError
from .backends import QueueBackend, register_backend
from .sql_queue import SQLWorkQueue

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    reference TEXT NOT NULL,
    data TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires REAL,
    commit_started INTEGER NOT NULL DEFAULT 0,
    run_id TEXT,
    last_error TEXT,
    result TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (bot, reference)
);
CREATE INDEX IF NOT EXISTS items_claim ON items(bot, state, not_before);
CREATE TABLE IF NOT EXISTS state_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items(id),
    at REAL NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS state_changes_item ON state_changes(item_id, id);
CREATE TABLE IF NOT EXISTS evidence_heads (
    bot TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    chain_length INTEGER NOT NULL,
    line_sha256 TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
-- set by backroom queue migrate: this queue's items now live at `url`, and it is never worked again
CREATE TABLE IF NOT EXISTS queue_moved (url TEXT NOT NULL, at REAL NOT NULL);
"""


class SQLiteWorkQueue(SQLWorkQueue):
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(SCHEMA)
        self._refuse_if_moved(str(self.path))

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
    open=lambda rest, project, clock: SQLiteWorkQueue(sqlite_file(rest, project), clock),
    exists=lambda rest, project: sqlite_file(rest, project).is_file(),
    describe=lambda rest, project: str(sqlite_file(rest, project))))
