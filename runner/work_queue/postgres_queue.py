"""The work queue on PostgreSQL: one queue for runners on many machines (`queue: postgresql://...`).

The rules are the SQL queue's (sql_queue.py); what is PostgreSQL's own: the database's clock for every
lease and history time (never a runner's, so machines whose clocks differ agree on when a lease ends),
claims that skip rows another runner is taking (`FOR UPDATE SKIP LOCKED`), the rows a change reads locked
until it commits, and intakes of one bot taken one at a time (an advisory lock) so two runners reading
the same workbook add each row once. The unique reference per bot is a constraint of the table.

The connection's password comes from the environment like libpq's (PGPASSWORD, ~/.pgpass, a service
file), never from backroom.yaml.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigurationError
from ..project.extras import needs_extra
from .backends import QueueBackend, register_backend
from .sql_queue import SQLWorkQueue

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS backroom_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot TEXT NOT NULL,
    reference TEXT NOT NULL,
    data TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION,
    commit_started INTEGER NOT NULL DEFAULT 0,
    run_id TEXT,
    last_error TEXT,
    result TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    CONSTRAINT items_one_reference_per_bot UNIQUE (bot, reference)
);
CREATE INDEX IF NOT EXISTS items_claim ON items(bot, state, not_before);
CREATE TABLE IF NOT EXISTS state_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES items(id),
    at DOUBLE PRECISION NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS state_changes_item ON state_changes(item_id, id);
CREATE INDEX IF NOT EXISTS state_changes_at ON state_changes(at);
CREATE TABLE IF NOT EXISTS evidence_heads (
    bot TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    chain_length INTEGER NOT NULL,
    line_sha256 TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);
"""
SCHEMA_LOCK = 0x6261636b726f6f6d   # "backroom": one creator of the tables at a time


class PostgresWorkQueue(SQLWorkQueue):
    FOR_UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    GREATEST = "greatest"
    RESULT_VARIABLE = "(result::jsonb -> 'vars' ->> ?)"

    def __init__(self, url: str, clock: Callable[[], float] | None = None):
        with needs_extra("postgres", "a queue on PostgreSQL"):
            import psycopg
            from psycopg.rows import dict_row
        self.url = url
        self.clock = clock   # None: the database's clock (a test passes its own)
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConfigurationError(f"queue {describe_url(url)}: cannot connect: {str(exc).strip()}",
                                     "Check the server's address and that it is running; the password comes from "
                                     "PGPASSWORD or ~/.pgpass.") from None
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)
            row = conn.execute("SELECT max(version) AS version FROM backroom_schema").fetchone()
            if row["version"] is None:
                conn.execute("INSERT INTO backroom_schema(version) VALUES (%s)", (SCHEMA_VERSION,))
            elif row["version"] > SCHEMA_VERSION:
                raise ConfigurationError(f"queue {describe_url(url)}: its tables are version {row['version']}, "
                                         f"newer than this Backroom knows ({SCHEMA_VERSION})",
                                         "Upgrade Backroom on this machine to the version the other runners use.")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self.conn.transaction():
            yield self.conn

    def _now(self, conn: Any) -> float:
        if self.clock is not None:
            return self.clock()
        return conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").fetchone()["now"]

    def _run(self, conn: Any, statement: str, args: tuple | list = ()) -> Any:
        if not args:
            return conn.execute(statement)
        return conn.execute(statement.replace("%", "%%").replace("?", "%s"), args)

    def _insert(self, conn: Any, statement: str, args: tuple) -> int:
        return self._run(conn, statement + " RETURNING id", args).fetchone()["id"]

    def _lock_bot(self, conn: Any, bot: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"intake:{bot}",))


def describe_url(url: str) -> str:
    """The server's address for a person's eyes: never its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _open(rest: str, project: Path, clock: Callable[[], float]) -> PostgresWorkQueue:
    return PostgresWorkQueue(f"postgresql://{rest}", None if clock is time.time else clock)


def _exists(rest: str, project: Path) -> bool:
    """Whether the database holds Backroom's queue yet (looked at, never created)."""
    with needs_extra("postgres", "a queue on PostgreSQL"):
        import psycopg
    url = f"postgresql://{rest}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()
            return bool(row and row[0])
    except psycopg.OperationalError as exc:
        raise ConfigurationError(f"queue {describe_url(url)}: cannot connect: {str(exc).strip()}") from None


register_backend(QueueBackend(
    scheme="postgresql",
    open=_open,
    exists=_exists,
    describe=lambda rest, project: describe_url(f"postgresql://{rest}")))
