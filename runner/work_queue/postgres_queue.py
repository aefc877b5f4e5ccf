"""The work queue on PostgreSQL: one queue for runners on many machines (`queue: postgresql://...`).

The rules are the SQL queue's (sql_queue.py); what is PostgreSQL's own: the database's clock for every
lease and history time (never a runner's, so machines whose clocks differ agree on when a lease ends),
claims that skip rows another runner is taking (`FOR UPDATE SKIP LOCKED`), the rows a change reads locked
until it commits, and intakes of one bot taken one at a time (an advisory lock) so two runners reading
the same workbook add each row once. The unique reference per bot is a constraint of the table.

The connection's password comes from where libpq looks (PGPASSWORD, ~/.pgpass, a service file) or from
Backroom's secret `queue_password` (the environment or the keyring), never from backroom.yaml.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

from loguru import logger

from ..errors import BackroomError, ConfigurationError, QueueUnreachable
from ..project.extras import needs_extra
from ..project.secrets import find_secret
from .backends import QueueBackend, register_backend
from ..intake.work_item import WorkItem
from .base import IntakeReport, ItemState, QueuedItem
from .sql_queue import SQLWorkQueue, data_hash, dump_data, schema_steps

SCHEMA_STEPS = schema_steps(key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", real="DOUBLE PRECISION")
SCHEMA_LOCK = 0x6261636b726f6f6d   # "backroom": one creator of the tables at a time
SESSION_ENDED = {"57P01", "57P02", "57P03"}   # the server ended the session: shut down, crashed, starting up
RECONNECT_S = 120.0   # how long a runner keeps trying to reach a server that went away before it gives up
POOL_SIZE = 20        # connections a process keeps to one queue at most (its runs, lanes, heartbeat, console pages)


class QueuePools:
    """One psycopg_pool ConnectionPool per queue (URL and password) in this process: a queue object takes a
    connection when it opens and gives it back when it closes, so a run's, a console page's or a heartbeat's
    short uses of the queue do not each connect anew. Connections are checked as they are handed out (a
    server restart leaves dead ones in the pool), and closed after a minute unused."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)
        # the pool's own words on connections it could not make go nowhere: the queue says them (_connected)
        pool_log = logging.getLogger("psycopg.pool")
        pool_log.addHandler(logging.NullHandler())
        pool_log.propagate = False

    def pool(self, url: str) -> Any:
        password = queue_password(url)
        key = (url, password.get("password"))
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                from psycopg.rows import dict_row
                from psycopg_pool import ConnectionPool

                pool = ConnectionPool(url, kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": 10,
                                                   **password},
                                      min_size=0, max_size=POOL_SIZE, check=ConnectionPool.check_connection,
                                      max_idle=60, name=f"backroom-queue-{len(self._pools) + 1}", open=True)
                self._pools[key] = pool
        return pool

    def close_all(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close(timeout=1)


POOLS = QueuePools()


class PostgresWorkQueue(SQLWorkQueue):
    FOR_UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    GREATEST = "greatest"
    RESULT_VARIABLE = "(result::jsonb -> 'vars' ->> ?)"

    def __init__(self, url: str, clock: Callable[[], float] | None = None, reconnect_s: float = RECONNECT_S,
                 upgrade: bool = False):
        with needs_extra("postgres", "a queue on PostgreSQL"):
            import psycopg
        self._psycopg = psycopg
        self.url = url
        self.clock = clock   # None: the database's clock (a test passes its own)
        self.reconnect_s = reconnect_s
        self._pool: Any = None    # the pool the connection in hand came from, to give it back to
        try:
            self.conn = self._connect(first=True)
        except psycopg.OperationalError as exc:
            raise ConfigurationError(f"queue {describe_url(url)}: cannot connect: {str(exc).strip()}",
                                     "Check the server's address and that it is running; the password comes from "
                                     "PGPASSWORD, ~/.pgpass, BACKROOM_SECRET_QUEUE_PASSWORD or the keyring "
                                     "(keyring set backroom queue_password).") from None
        # tables older than this Backroom are upgraded only when asked (backroom queue upgrade): runners of
        # the older version on other machines may still be using them. Looked at on every open: a long-lived
        # process (the console, a runner) notices tables a newer Backroom upgraded meanwhile.
        self.upgraded = self._ready_tables(SCHEMA_STEPS, describe_url(url), upgrade)
        self._refuse_if_moved(describe_url(url))

    @contextmanager
    def evidence_lock(self, bot: str) -> Iterator[None]:
        """A lock of the server's, per bot, on this queue's connection: released when the block ends, or by the server
        when the connection is gone (a runner killed while sealing)."""
        key = int.from_bytes(hashlib.sha256(f"backroom evidence chain {bot}".encode()).digest()[:8], "big", signed=True)
        self._run(self.conn, "SELECT pg_advisory_lock(?)", (key,))
        try:
            yield
        finally:
            try:
                self._run(self.conn, "SELECT pg_advisory_unlock(?)", (key,))
            except BackroomError:
                pass   # the connection was lost, and the lock with it

    def _lock_schema(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def _schema_version(self, conn: Any) -> int | None:
        if conn.execute("SELECT to_regclass('items') IS NULL AS none").fetchone()["none"]:
            return None
        conn.execute("CREATE TABLE IF NOT EXISTS backroom_schema (version INTEGER NOT NULL)")
        return conn.execute("SELECT max(version) AS version FROM backroom_schema").fetchone()["version"] or 1

    def _set_schema_version(self, conn: Any, version: int) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS backroom_schema (version INTEGER NOT NULL)")
        conn.execute("DELETE FROM backroom_schema")
        conn.execute("INSERT INTO backroom_schema(version) VALUES (%s)", (version,))

    def _connect(self, first: bool = False, wait_s: float = 10.0) -> Any:
        """A connection from the queue's pool. The pool says only that it waited, so when it has none to give,
        one connection of our own says why (refused, no such database, a wrong password); the first of a
        queue object is tried that way at once, so a wrong address is said without waiting."""
        from psycopg_pool import PoolTimeout

        pool = POOLS.pool(self.url)
        if first and pool.get_stats().get("connections_num", 0) == 0:   # the pool never connected yet
            self._psycopg.connect(self.url, connect_timeout=10, **queue_password(self.url)).close()
        try:
            conn = pool.getconn(timeout=wait_s)
        except PoolTimeout:
            self._psycopg.connect(self.url, connect_timeout=10, **queue_password(self.url)).close()
            raise self._psycopg.OperationalError(f"every one of the {POOL_SIZE} connections to the queue is in use "
                                                 "in this process") from None
        self._pool = pool
        return conn

    def _give_back(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.putconn(self.conn)   # a broken or closed one is thrown away by the pool

    def close(self) -> None:
        self._give_back()

    def _connected(self) -> Any:
        """The connection, made again with back-off when the server dropped it (restarted, a network blip):
        said in the log each time, and a QueueUnreachable once `reconnect_s` has passed."""
        if not self.conn.broken and not self.conn.closed:
            return self.conn
        self._give_back()
        deadline, wait = time.monotonic() + self.reconnect_s, 0.5
        while True:
            try:
                self.conn = self._connect(wait_s=max(0.1, min(wait, deadline - time.monotonic())))
                logger.warning(f"queue {describe_url(self.url)}: connected again")
                return self.conn
            except self._psycopg.OperationalError as exc:
                if time.monotonic() + wait > deadline:
                    raise QueueUnreachable(f"queue {describe_url(self.url)}: the server cannot be reached "
                                           f"({str(exc).strip().splitlines()[0]}); tried for {self.reconnect_s:g} s") from None
                logger.warning(f"queue {describe_url(self.url)}: the server cannot be reached, trying again in "
                               f"{wait:g} s: {str(exc).strip().splitlines()[0]}")
                time.sleep(wait)   # back-off between attempts to reach a server that is down
                wait = min(wait * 2, 10.0)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = self._connected()
        try:
            with conn.transaction():
                yield conn
        except self._psycopg.OperationalError as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: Exception) -> QueueUnreachable:
        """The connection broke during a call (the next call connects again). The server ending the session
        (restarted, or an administrator) means nothing of the call was done, and it is tried once more;
        otherwise a change in flight may or may not have been committed, and the run is told."""
        error = QueueUnreachable(f"queue {describe_url(self.url)}: the connection to the server was lost "
                                 f"({str(exc).strip().splitlines()[0]})")
        error.nothing_done = getattr(exc, "sqlstate", None) in SESSION_ENDED
        return error

    def _now(self, conn: Any) -> float:
        if self.clock is not None:
            return self.clock()
        return conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").fetchone()["now"]

    def _run(self, conn: Any, statement: str, args: tuple | list = ()) -> Any:
        if conn is self.conn and conn.broken:   # a read outside a transaction: connect again first
            conn = self._connected()
        try:
            if not args:
                return conn.execute(statement)
            return conn.execute(statement.replace("%", "%%").replace("?", "%s"), args)
        except self._psycopg.OperationalError as exc:
            raise self._lost(exc) from None

    def _insert(self, conn: Any, statement: str, args: tuple) -> int:
        return self._run(conn, statement + " RETURNING id", args).fetchone()["id"]

    def _lock_bot(self, conn: Any, bot: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"intake:{bot}",))

    # -- the busy paths in one statement each: a round trip to the server is most of their cost ----------
    def intake(self, bot: str, items: list[WorkItem], actor: str) -> IntakeReport:
        """New rows go in with one INSERT (and their histories with another); rows the queue has seen are
        decided one by one, as on every backend."""
        report = IntakeReport()
        with self._tx() as conn:
            self._lock_bot(conn, bot)
            now = self._now(conn)
            known = {r["reference"]: r for r in conn.execute(
                "SELECT reference, data_hash, state FROM items WHERE bot = %s AND reference = ANY(%s)",
                (bot, [i.reference for i in items]))}
            new: dict[str, WorkItem] = {}
            for item in items:
                if item.reference not in known and item.reference not in new:
                    new[item.reference] = item
            if new:
                datas = [dump_data(i.data) for i in new.values()]
                added = conn.execute(
                    "INSERT INTO items(bot, reference, data, data_hash, source, state, created_at, updated_at)"
                    " SELECT %s, r, d, h, s, 'pending', %s, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
                    " AS t(r, d, h, s) RETURNING id, reference",
                    (bot, now, now, list(new), datas, [data_hash(d) for d in datas],
                     [i.source for i in new.values()])).fetchall()
                ids = {r["reference"]: r["id"] for r in added}
                conn.execute("INSERT INTO state_changes(item_id, at, to_state, actor, message)"
                             " SELECT i, %s, 'pending', %s, m FROM unnest(%s::bigint[], %s::text[]) AS t(i, m)",
                             (now, actor, [ids[r] for r in new], [f"from {i.source}" for i in new.values()]))
                report.added.extend(new)
                if len(new) >= self.ANALYZE_FROM_ROWS:
                    conn.execute("ANALYZE items")
            for item in items:   # seen before, or a second row of one reference in this input
                if item.reference in new and new[item.reference] is item:
                    continue
                seen = known.get(item.reference)
                if seen is not None and seen["data_hash"] == data_hash(dump_data(item.data)):
                    # the same data again: nothing changes, whatever its state (as _intake_one decides)
                    (report.already_done if seen["state"] == ItemState.DONE else report.already_queued).append(
                        item.reference)
                else:
                    self._intake_one(conn, bot, item, actor, now, report)
        return report

    def claim(self, bot: str, owner: str, lease_s: float, run_id: str) -> QueuedItem | None:
        """The next due pending item in one statement; only when there is none, the slower look for an item
        whose runner stopped (sql_queue.py)."""
        row = self._one(
            f"WITH now AS ({self._now_sql}),"
            # the clock as an expression, not a join: the server then walks the claim index in order and stops at
            # the first due row (with the time as an index bound it may fetch every pending row and sort them)
            " next AS (SELECT i.id FROM items i WHERE i.bot = %(bot)s AND i.state = 'pending'"
            f"   AND i.not_before <= ({self._now_sql}) ORDER BY i.not_before, i.id LIMIT 1 FOR UPDATE SKIP LOCKED),"
            " claimed AS (UPDATE items SET state = 'in_progress', attempts = items.attempts + 1,"
            "   lease_owner = %(owner)s, lease_expires = now.t + %(lease)s, run_id = %(run)s, updated_at = now.t"
            "   FROM next, now WHERE items.id = next.id RETURNING items.*),"
            " logged AS (INSERT INTO state_changes(item_id, at, from_state, to_state, actor, message, run_id)"
            "   SELECT c.id, now.t, 'pending', 'in_progress', %(actor)s, 'attempt ' || c.attempts, %(run)s"
            "   FROM claimed c, now)"
            " SELECT * FROM claimed",
            {"bot": bot, "owner": owner, "lease": lease_s, "run": run_id, "actor": f"run:{run_id}",
             "now": self._clock_value()})
        if row is not None:
            return self._item(row)
        return super().claim(bot, owner, lease_s, run_id)

    def _finish(self, item_id: int, owner: str, state: ItemState, message: str, *, result: dict | None = None,
                retry_in_s: float | None = None) -> None:
        done = self._one(
            f"WITH now AS ({self._now_sql}),"
            " held AS (SELECT id, state, run_id FROM items WHERE id = %(id)s AND state = 'in_progress'"
            "   AND lease_owner = %(owner)s FOR UPDATE),"
            " finished AS (UPDATE items SET state = %(state)s, lease_owner = NULL, lease_expires = NULL,"
            "   last_error = %(error)s, result = COALESCE(%(result)s, items.result),"
            "   not_before = CASE WHEN %(retry)s::float8 IS NULL THEN 0 ELSE now.t + %(retry)s::float8 END,"
            "   updated_at = now.t FROM held, now WHERE items.id = held.id RETURNING items.id, held.state AS was,"
            "   items.run_id),"
            " logged AS (INSERT INTO state_changes(item_id, at, from_state, to_state, actor, message, run_id)"
            "   SELECT f.id, now.t, f.was, %(state)s, 'run:' || f.run_id, %(message)s, f.run_id FROM finished f, now)"
            " SELECT count(*) AS n FROM finished",
            {"id": item_id, "owner": owner, "state": state.value, "message": message, "retry": retry_in_s,
             "error": None if state == ItemState.DONE else message,
             "result": dump_data(result) if result is not None else None, "now": self._clock_value()})
        if not done["n"]:
            with self._tx() as conn:
                self._owned(conn, item_id, owner)   # says why: not leased by this runner any more

    def _one(self, statement: str, args: dict) -> Any:
        """One statement that changes the queue, on its own (autocommit): connected again first if need be."""
        try:
            return self._connected().execute(statement, args).fetchone()
        except self._psycopg.OperationalError as exc:
            raise self._lost(exc) from None

    _now_sql = "SELECT COALESCE(%(now)s::float8, extract(epoch FROM clock_timestamp())::float8) AS t"
    ANALYZE_FROM_ROWS = 5000   # an intake this large refreshes the planner's figures for the claims after it

    def _clock_value(self) -> float | None:
        return self.clock() if self.clock is not None else None


def _once_more_if_nothing_was_done(method: Callable) -> Callable:
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except QueueUnreachable as exc:
            if not getattr(exc, "nothing_done", False):
                raise
            logger.warning(f"{exc}; connecting again")
            return method(self, *args, **kwargs)
    return call


# every call a runner, a person or the console makes (the Protocol's), tried once more when the server had
# ended the session before doing anything of it
for _name in ("intake", "record_done", "add_for_review", "refused_at_intake", "claim", "seconds_until_due", "has_claimable",
              "heartbeat", "mark_committing", "complete", "business_exception", "system_exception", "release", "retry",
              "skip", "holder_of", "record_evidence_head", "evidence_heads", "get", "items", "history",
              "changes_since", "dump", "load", "mark_moved", "register_runner", "runner_seen", "runner_stopped", "runners",
              "record_run", "runs"):
    setattr(PostgresWorkQueue, _name, _once_more_if_nothing_was_done(getattr(PostgresWorkQueue, _name)))


QUEUE_PASSWORD_SECRET = "queue_password"


def queue_password(url: str) -> dict[str, Any]:
    """The password libpq does not find by itself (the URL, PGPASSWORD, ~/.pgpass): Backroom's secret
    `queue_password`, from BACKROOM_SECRET_QUEUE_PASSWORD or the system keyring, like every secret."""
    if urlsplit(url).password is not None or os.environ.get("PGPASSWORD"):
        return {}
    value = find_secret(QUEUE_PASSWORD_SECRET)
    return {"password": value} if value else {}


def describe_url(url: str) -> str:
    """The server's address for a person's eyes: never its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _open(rest: str, project: Path, clock: Callable[[], float], upgrade: bool = False) -> PostgresWorkQueue:
    return PostgresWorkQueue(f"postgresql://{rest}", None if clock is time.time else clock, upgrade=upgrade)


def _exists(rest: str, project: Path) -> bool:
    """Whether the database holds Backroom's queue yet (looked at, never created)."""
    with needs_extra("postgres", "a queue on PostgreSQL"):
        import psycopg
    url = f"postgresql://{rest}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10, **queue_password(url)) as conn:
            row = conn.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()
            return bool(row and row[0])
    except psycopg.OperationalError as exc:
        raise ConfigurationError(f"queue {describe_url(url)}: cannot connect: {str(exc).strip()}") from None


register_backend(QueueBackend(
    scheme="postgresql",
    open=_open,
    exists=_exists,
    describe=lambda rest, project: describe_url(f"postgresql://{rest}")))
