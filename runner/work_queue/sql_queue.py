"""The work queue's rules in SQL, for every SQL backend: what intake does with a row it has seen, who may
finish an item, what a person's retry or skip may change. A backend (sqlite_queue.py, postgres_queue.py)
supplies its connection, transactions, clock and the few statements its database spells differently.

Every state change is one transaction that also writes a row to `state_changes`, so the history of an
item can never disagree with its state. A lease names its owner (host:pid:run); a claim takes back items
whose lease expired, or whose owner on this host is no longer alive, so a killed runner's item goes back
to work on the next run at once.

Statements are written with `?` placeholders; a backend whose driver wants another style converts them
(`_run`).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import ConfigurationError
from ..intake.work_item import WorkItem
from .base import (REVIEW_STATES, EvidenceHead, FoundItems, IntakeReport, ItemQuery, ItemState, LeaseLost, QueueError,
                   QueuedItem, ReviewReport, RunnerRecord, RunRecord, StateChange)


# -- item data survives the round trip with its types (money stays Decimal, dates stay dates)
def _encode(value: Any) -> Any:
    """json.dumps calls this for what JSON has no type for, at any depth (an invoice's lines)."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"work item data cannot hold {type(value).__name__} values")


def _decode(obj: dict) -> Any:
    if "$decimal" in obj:
        return Decimal(obj["$decimal"])
    if "$datetime" in obj:
        return datetime.fromisoformat(obj["$datetime"])
    if "$date" in obj:
        return date.fromisoformat(obj["$date"])
    return obj


def dump_data(data: dict) -> str:
    return json.dumps(data, default=_encode, sort_keys=True, ensure_ascii=False)


def load_data(text: str | None) -> dict | None:
    return json.loads(text, object_hook=_decode) if text else None


def queue_schema(key: str, real: str) -> str:
    """The queue's tables, the same on every SQL backend but for how each spells a generated key and a float."""
    return f"""
CREATE TABLE IF NOT EXISTS items (
    id {key},
    bot TEXT NOT NULL,
    reference TEXT NOT NULL,
    data TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before {real} NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires {real},
    commit_started INTEGER NOT NULL DEFAULT 0,
    run_id TEXT,
    last_error TEXT,
    result TEXT,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    CONSTRAINT items_one_reference_per_bot UNIQUE (bot, reference)
);
-- in the order claims take them: the next due item is the index's first entry, not a sort
CREATE INDEX IF NOT EXISTS items_claim ON items(bot, state, not_before, id);
CREATE TABLE IF NOT EXISTS state_changes (
    id {key},
    item_id BIGINT NOT NULL REFERENCES items(id),
    at {real} NOT NULL,
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
    recorded_at {real} NOT NULL
);
-- set by backroom queue migrate: this queue's items now live at `url`, and it is never worked again
CREATE TABLE IF NOT EXISTS queue_moved (url TEXT NOT NULL, at {real} NOT NULL);
"""


def registry_schema(real: str) -> str:
    """Schema version 2: the runners that work the queue (backroom worker) and every run they made, with
    where its evidence was written."""
    return f"""
CREATE TABLE IF NOT EXISTS runners (
    name TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    bots TEXT NOT NULL,
    version TEXT NOT NULL,
    heartbeat_s {real} NOT NULL,
    started_at {real} NOT NULL,
    last_seen {real} NOT NULL,
    state TEXT NOT NULL,
    bot TEXT,
    reference TEXT,
    run_id TEXT,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS runs (
    bot TEXT NOT NULL,
    run_id TEXT NOT NULL,
    runner TEXT NOT NULL,
    host TEXT NOT NULL,
    logs_dir TEXT NOT NULL,
    started_at {real} NOT NULL,
    ended_at {real},
    outcome TEXT,
    PRIMARY KEY (bot, run_id)
);
"""


SCHEMA_VERSION = 2   # the tables this Backroom reads and writes


def schema_steps(key: str, real: str) -> dict[int, str]:
    """Each schema version's step from the one before (1: the first tables), in a backend's spelling."""
    # version 2 also makes any of version 1's indexes a table made before them lacks (all IF NOT EXISTS)
    return {1: queue_schema(key, real), 2: queue_schema(key, real) + registry_schema(real)}


def statements(script: str) -> list[str]:
    """A schema step's statements one by one (every driver runs them so, inside the caller's transaction)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def data_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_owner(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def owner_dead(owner: str | None) -> bool:
    """True when the lease owner ran on this host and its process is gone (another host's process is never
    looked for: its lease runs out instead)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    return host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text))


def holder_stopped(row: Any, now: float) -> bool:
    """An item in progress whose runner stopped: its lease ran out, or its process on this host is gone."""
    return row["lease_expires"] < now or owner_dead(row["lease_owner"])


ITEM_COLUMNS = ("bot", "reference", "data", "data_hash", "source", "state", "attempts", "not_before", "lease_owner",
                "lease_expires", "commit_started", "run_id", "last_error", "result", "created_at", "updated_at")
RUN_COLUMNS = ("bot", "run_id", "runner", "host", "logs_dir", "started_at", "ended_at", "outcome")
CHANGE_COLUMNS = ("at", "from_state", "to_state", "actor", "message", "run_id")


class QueueMoved(ConfigurationError):
    """The queue was moved to another backend (backroom queue migrate)."""


class SQLWorkQueue:
    """The WorkQueue Protocol over SQL. Subclasses provide `conn`, `_tx`, `_now`, `_insert` and the
    statements their database spells its own way."""

    conn: Any
    FOR_UPDATE = ""                                   # how a transaction locks the rows it reads to change
    SKIP_LOCKED = ""                                  # ... and passes over rows another claim is taking
    GREATEST = "max"                                  # the larger of two values
    RESULT_VARIABLE = "json_extract(result, '$.vars.' || ?)"   # a variable recorded in an item's result

    # -- what a backend provides -------------------------------------------------------------
    def _tx(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _now(self, conn: Any) -> float:
        raise NotImplementedError

    def _insert(self, conn: Any, statement: str, args: tuple) -> int:
        """Run an INSERT into items and return the new row's id."""
        raise NotImplementedError

    def _run(self, conn: Any, statement: str, args: tuple | list = ()) -> Any:
        return conn.execute(statement, args)

    def _lock_bot(self, conn: Any, bot: str) -> None:
        """Adding items of one bot is done one transaction at a time (two runners reading one workbook)."""

    def new_owner(self, run_id: str) -> str:
        """Who holds a lease: this host and process, so a claim on this host can tell a dead holder at once."""
        return make_owner(run_id)

    def close(self) -> None:
        self.conn.close()

    # -- the tables' version --------------------------------------------------------------------
    def _schema_version(self, conn: Any) -> int | None:
        """The version the tables are at; None when there are none yet."""
        raise NotImplementedError

    def _set_schema_version(self, conn: Any, version: int) -> None:
        raise NotImplementedError

    def _lock_schema(self, conn: Any) -> None:
        """One runner at a time makes or changes the tables."""

    def _ready_tables(self, steps: dict[int, str], where: str, upgrade: bool) -> tuple[int, int]:
        """Make the tables of a new queue, or bring older ones up to this Backroom's version when `upgrade`
        (backroom queue upgrade); refuse tables newer than it knows. Returns (the version found, 0 for
        none, the version now)."""
        with self._tx() as conn:
            self._lock_schema(conn)
            found = self._schema_version(conn)
            if found is not None and found > SCHEMA_VERSION:
                raise ConfigurationError(f"queue {where}: its tables are version {found}, newer than this Backroom "
                                         f"knows ({SCHEMA_VERSION})",
                                         "Upgrade Backroom on this machine to the version the other runners use.")
            if found is not None and found < SCHEMA_VERSION and not upgrade:
                raise ConfigurationError(f"queue {where}: its tables are version {found}, older than this Backroom "
                                         f"uses ({SCHEMA_VERSION})",
                                         "Stop the runners, upgrade Backroom on each machine, then run once: "
                                         "backroom queue upgrade")
            for version in range((found or 0) + 1, SCHEMA_VERSION + 1):
                for statement in statements(steps[version]):
                    self._run(conn, statement)
            if found != SCHEMA_VERSION:
                self._set_schema_version(conn, SCHEMA_VERSION)
        return found or 0, SCHEMA_VERSION

    # -- the runners working the queue, and the runs they made (schema version 2) -------------------
    def register_runner(self, runner: RunnerRecord) -> RunnerRecord:
        """A runner service starting: refused while a live runner of that name is seen elsewhere."""
        with self._tx() as conn:
            now = self._now(conn)
            row = self._run(conn, f"SELECT * FROM runners WHERE name = ?{self.FOR_UPDATE}", (runner.name,)).fetchone()
            if row is not None:
                held = self._runner(row, now)
                gone = owner_dead(f"{held.host}:{held.pid}:")   # on this host, its process has ended
                if held.status == "alive" and (held.host, held.pid) != (runner.host, runner.pid) and not gone:
                    raise ConfigurationError(
                        f"runner name {runner.name!r} is in use: it runs on {held.host} (process {held.pid}), "
                        f"seen {held.seen_ago:.0f} s ago", "Give this runner another --name, or stop that one first.")
                self._run(conn, "DELETE FROM runners WHERE name = ?", (runner.name,))
            self._run(conn, "INSERT INTO runners(name, host, pid, bots, version, heartbeat_s, started_at, last_seen, state,"
                            " message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', '')",
                      (runner.name, runner.host, runner.pid, json.dumps(runner.bots), runner.version, runner.heartbeat_s,
                       now, now))
            return self._runner(self._run(conn, "SELECT * FROM runners WHERE name = ?", (runner.name,)).fetchone(), now)

    def runner_seen(self, name: str, host: str, pid: int, bot: str | None = None, reference: str | None = None,
                    run_id: str | None = None, message: str = "") -> bool:
        """A runner's heartbeat, with what it is working on; False when the name is no longer its own."""
        with self._tx() as conn:
            changed = self._run(conn, "UPDATE runners SET last_seen = ?, bot = ?, reference = ?, run_id = ?, message = ?"
                                      " WHERE name = ? AND host = ? AND pid = ? AND state = 'running'",
                                (self._now(conn), bot, reference, run_id, message, name, host, pid))
            return changed.rowcount == 1

    def runner_stopped(self, name: str, host: str, pid: int, message: str) -> None:
        with self._tx() as conn:
            self._run(conn, "UPDATE runners SET state = 'stopped', last_seen = ?, bot = NULL, reference = NULL,"
                            " run_id = NULL, message = ? WHERE name = ? AND host = ? AND pid = ?",
                      (self._now(conn), message, name, host, pid))

    def runners(self) -> list[RunnerRecord]:
        with self._tx() as conn:
            now = self._now(conn)
            return [self._runner(r, now) for r in self._run(conn, "SELECT * FROM runners ORDER BY name").fetchall()]

    @staticmethod
    def _runner(row: Any, now: float) -> RunnerRecord:
        return RunnerRecord(row["name"], row["host"], row["pid"], json.loads(row["bots"]), row["version"],
                            row["heartbeat_s"], row["started_at"], row["last_seen"], row["state"], row["bot"],
                            row["reference"], row["run_id"], row["message"], max(0.0, now - row["last_seen"]))

    def record_run(self, run: RunRecord) -> None:
        """A run starting (no outcome yet) or ending (its outcome): the registry `audit verify --all` reads."""
        with self._tx() as conn:
            now = self._now(conn)
            self._run(conn, "INSERT INTO runs(bot, run_id, runner, host, logs_dir, started_at, ended_at, outcome)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(bot, run_id) DO UPDATE SET"
                            " ended_at = excluded.ended_at, outcome = excluded.outcome",
                      (run.bot, run.run_id, run.runner, run.host, run.logs_dir, now,
                       now if run.outcome is not None else None, run.outcome))

    def runs(self, bot: str | None = None) -> list[RunRecord]:
        sql, args = "SELECT * FROM runs", []
        if bot is not None:
            sql, args = sql + " WHERE bot = ?", [bot]
        return [RunRecord(r["bot"], r["run_id"], r["runner"], r["host"], r["logs_dir"], r["outcome"], r["started_at"],
                          r["ended_at"]) for r in self._run(self.conn, sql + " ORDER BY started_at, run_id", args).fetchall()]

    # -- moving a queue to another backend (migrate.py) --------------------------------------------
    def _refuse_if_moved(self, where: str) -> None:
        """A queue moved elsewhere is never worked again: its items live on where they went."""
        row = self._run(self.conn, "SELECT url, at FROM queue_moved ORDER BY at DESC LIMIT 1").fetchone()
        if row is not None:
            moved = datetime.fromtimestamp(row["at"]).strftime("%Y-%m-%d %H:%M")
            raise QueueMoved(f"queue {where} was moved to {row['url']} on {moved}",
                             f"Set queue: in backroom.yaml (or BACKROOM_QUEUE_URL) to {row['url']}.")

    def dump(self) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
        """Every item, every change of state (with its item's id), every evidence head and every registered run,
        oldest first."""
        items = [dict(r) for r in self._run(self.conn, "SELECT * FROM items ORDER BY id").fetchall()]
        changes = [dict(r) for r in self._run(self.conn, "SELECT * FROM state_changes ORDER BY id").fetchall()]
        heads = [dict(r) for r in self._run(self.conn, "SELECT * FROM evidence_heads ORDER BY bot").fetchall()]
        runs = [dict(r) for r in self._run(self.conn, "SELECT * FROM runs ORDER BY started_at").fetchall()]
        return items, changes, heads, runs

    def load(self, items: list[dict], changes: list[dict], heads: list[dict], runs: list[dict]) -> None:
        """Take in what another queue's dump holds, in one transaction; only into a queue that holds nothing."""
        with self._tx() as conn:
            held = self._run(conn, "SELECT count(*) AS n FROM items").fetchone()["n"] \
                + self._run(conn, "SELECT count(*) AS n FROM evidence_heads").fetchone()["n"]
            if held:
                raise QueueError(f"the target queue already holds {held} item(s) or sealed run(s): a queue is moved "
                                 "once, into an empty one", "Name an empty database as the target.")
            new_ids: dict[int, int] = {}
            for row in items:
                values = tuple(row[c] for c in ITEM_COLUMNS)
                new_ids[row["id"]] = self._insert(
                    conn, f"INSERT INTO items({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' * len(ITEM_COLUMNS))})",
                    values)
            for change in changes:
                self._run(conn, f"INSERT INTO state_changes(item_id, {', '.join(CHANGE_COLUMNS)})"
                                f" VALUES (?, {', '.join('?' * len(CHANGE_COLUMNS))})",
                          (new_ids[change["item_id"]], *(change[c] for c in CHANGE_COLUMNS)))
            for head in heads:
                self._run(conn, "INSERT INTO evidence_heads(bot, run_id, chain_length, line_sha256, recorded_at)"
                                " VALUES (?, ?, ?, ?, ?)",
                          (head["bot"], head["run_id"], head["chain_length"], head["line_sha256"], head["recorded_at"]))
            for run in runs:
                self._run(conn, f"INSERT INTO runs({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                          tuple(run[c] for c in RUN_COLUMNS))

    def mark_moved(self, url: str) -> None:
        with self._tx() as conn:
            self._run(conn, "INSERT INTO queue_moved(url, at) VALUES (?, ?)", (url, self._now(conn)))

    # -- shared pieces -----------------------------------------------------------------------
    def _log(self, conn, item_id: int, from_state: str | None, to_state: str, actor: str, message: str = "",
             run_id: str | None = None, now: float | None = None) -> None:
        self._run(conn, "INSERT INTO state_changes(item_id, at, from_state, to_state, actor, message, run_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (item_id, self._now(conn) if now is None else now, from_state, to_state, actor, message, run_id))

    @staticmethod
    def _item(row: Any, recovered: bool = False) -> QueuedItem:
        return QueuedItem(
            id=row["id"], bot=row["bot"], reference=row["reference"], data=load_data(row["data"]) or {},
            state=ItemState(row["state"]), attempts=row["attempts"], source=row["source"],
            created_at=row["created_at"], updated_at=row["updated_at"], run_id=row["run_id"],
            last_error=row["last_error"], result=load_data(row["result"]), commit_started=bool(row["commit_started"]),
            recovered=recovered, lease_owner=row["lease_owner"],
        )

    def _row(self, conn, bot: str, reference: str) -> Any:
        return self._run(conn, f"SELECT * FROM items WHERE bot = ? AND reference = ?{self.FOR_UPDATE}",
                         (bot, reference)).fetchone()

    def _by_id(self, conn, item_id: int) -> Any:
        return self._run(conn, "SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()

    def _last_actor(self, conn, item_id: int) -> str:
        row = self._run(conn, "SELECT actor FROM state_changes WHERE item_id = ? ORDER BY id DESC LIMIT 1",
                        (item_id,)).fetchone()
        return row["actor"] if row else ""

    # -- intake ------------------------------------------------------------------
    def intake(self, bot: str, items: list[WorkItem], actor: str) -> IntakeReport:
        report = IntakeReport()
        with self._tx() as conn:
            self._lock_bot(conn, bot)
            now = self._now(conn)
            for item in items:
                self._intake_one(conn, bot, item, actor, now, report)
        return report

    def _intake_one(self, conn, bot: str, item: WorkItem, actor: str, now: float, report: IntakeReport) -> None:
        """One row of an input: added, or what its earlier item's state makes of it."""
        data = dump_data(item.data)
        digest = data_hash(data)
        row = self._row(conn, bot, item.reference)
        if row is None:
            item_id = self._insert(
                conn, "INSERT INTO items(bot, reference, data, data_hash, source, state, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (bot, item.reference, data, digest, item.source, now, now))
            self._log(conn, item_id, None, "pending", actor, f"from {item.source}", now=now)
            report.added.append(item.reference)
            return
        same = row["data_hash"] == digest
        state = row["state"]
        if state == ItemState.DONE:
            (report.already_done if same else report.changed_after_done).append(item.reference)
            if not same:
                self._log(conn, row["id"], state, state, actor,
                          f"{item.source} has different data for this done item; not keyed again", now=now)
        elif state == ItemState.BUSINESS_EXCEPTION and self._last_actor(conn, row["id"]).startswith("intake:"):
            if same:
                report.already_queued.append(item.reference)
                return
            # It was refused when read; the corrected file replaces it and it goes to work.
            self._run(conn, "UPDATE items SET data = ?, data_hash = ?, source = ?, state = 'pending',"
                            " attempts = 0, last_error = NULL, not_before = 0, updated_at = ? WHERE id = ?",
                      (data, digest, item.source, now, row["id"]))
            self._log(conn, row["id"], state, "pending", actor, f"corrected in {item.source}", now=now)
            report.corrected.append(item.reference)
        elif same:
            report.already_queued.append(item.reference)
        elif state == ItemState.PENDING and self._last_actor(conn, row["id"]).startswith("user:"):
            # A person corrected this item; an older file must not undo the correction.
            report.changed_in_review.append(item.reference)
        elif state == ItemState.PENDING:
            self._run(conn, "UPDATE items SET data = ?, data_hash = ?, source = ?, updated_at = ? WHERE id = ?",
                      (data, digest, item.source, now, row["id"]))
            self._log(conn, row["id"], state, state, actor, f"data updated from {item.source}", now=now)
            report.updated_pending.append(item.reference)
        else:
            report.changed_in_review.append(item.reference)

    def record_done(self, bot: str, item: WorkItem, actor: str, message: str, variables: dict | None = None,
                    output: dict | None = None) -> bool:
        data = dump_data(item.data)
        result = dump_data({"vars": variables or {}, "output": output or {}, "keyed_outside_a_run": message})
        with self._tx() as conn:
            self._lock_bot(conn, bot)
            now = self._now(conn)
            row = self._row(conn, bot, item.reference)
            if row is None:
                item_id = self._insert(
                    conn, "INSERT INTO items(bot, reference, data, data_hash, source, state, last_error, result,"
                          " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?)",
                    (bot, item.reference, data, data_hash(data), item.source, message, result, now, now))
                self._log(conn, item_id, None, "done", actor, message, now=now)
                return True
            if row["state"] != ItemState.PENDING:
                return False
            self._run(conn, "UPDATE items SET state = 'done', last_error = ?, result = ?, updated_at = ? WHERE id = ?",
                      (message, result, now, row["id"]))
            self._log(conn, row["id"], "pending", "done", actor, message, now=now)
            return True

    def add_for_review(self, bot: str, items: list[tuple[WorkItem, str]], actor: str) -> ReviewReport:
        """Put items straight into review with a reason: rows refused at intake, lines a
        reconciliation could not match. An item already queued is left as it is (a person may
        have decided about it already); the report says which."""
        report = ReviewReport()
        with self._tx() as conn:
            self._lock_bot(conn, bot)
            now = self._now(conn)
            for item, reason in items:
                row = self._row(conn, bot, item.reference)
                if row is not None:
                    report.existing[item.reference] = self._item(row)
                    continue
                data = dump_data(item.data)
                item_id = self._insert(
                    conn, "INSERT INTO items(bot, reference, data, data_hash, source, state, last_error, created_at,"
                          " updated_at) VALUES (?, ?, ?, ?, ?, 'business_exception', ?, ?, ?)",
                    (bot, item.reference, data, data_hash(data), item.source, reason, now, now))
                self._log(conn, item_id, None, "business_exception", actor, reason, now=now)
                report.added.append(item.reference)
        return report

    def refused_at_intake(self, bot: str) -> set[str]:
        """References in review because their input was refused when read (not because a run failed)."""
        rows = self._run(self.conn,
                         "SELECT i.reference AS reference FROM items i WHERE i.bot = ? AND i.state = 'business_exception'"
                         " AND (SELECT s.actor FROM state_changes s WHERE s.item_id = i.id ORDER BY s.id DESC LIMIT 1)"
                         " LIKE 'intake:%'", (bot,)).fetchall()
        return {r["reference"] for r in rows}

    # -- the runner's side ---------------------------------------------------------
    def _claimable(self, conn, bot: str, now: float) -> tuple[Any, bool]:
        """The row to lease next and whether it is taken back from a runner that stopped: pending and due
        first, else in progress under a lease that ran out or whose holder on this host is gone."""
        row = self._run(conn, "SELECT * FROM items WHERE bot = ? AND state = 'pending' AND not_before <= ?"
                              f" ORDER BY not_before, id LIMIT 1{self.SKIP_LOCKED}", (bot, now)).fetchone()
        if row is not None:
            return row, False
        for candidate in self._run(conn, f"SELECT * FROM items WHERE bot = ? AND state = 'in_progress' ORDER BY id"
                                         f"{self.SKIP_LOCKED}", (bot,)).fetchall():
            if holder_stopped(candidate, now):
                return candidate, True
        return None, False

    def claim(self, bot: str, owner: str, lease_s: float, run_id: str) -> QueuedItem | None:
        """Lease the next item: pending and due, or in progress under a lease that is no longer held."""
        with self._tx() as conn:
            now = self._now(conn)
            row, recovered = self._claimable(conn, bot, now)
            if row is None:
                return None
            self._run(conn, "UPDATE items SET state = 'in_progress', attempts = attempts + 1, lease_owner = ?,"
                            " lease_expires = ?, run_id = ?, updated_at = ? WHERE id = ?",
                      (owner, now + lease_s, run_id, now, row["id"]))
            message = f"attempt {row['attempts'] + 1}"
            if recovered:
                message += f"; recovered from {row['lease_owner']}, which stopped without finishing"
            self._log(conn, row["id"], row["state"], "in_progress", f"run:{run_id}", message, run_id, now=now)
            fresh = self._by_id(conn, row["id"])
        return self._item(fresh, recovered)

    def has_claimable(self, bot: str) -> bool:
        """Whether a claim now would get an item: one due, or one to take back from a runner that stopped (its
        lease ran out, or its process on this host is gone)."""
        now = self._now(self.conn)
        if self._run(self.conn, "SELECT 1 AS due FROM items WHERE bot = ? AND state = 'pending' AND not_before <= ?"
                                " LIMIT 1", (bot, now)).fetchone() is not None:
            return True
        return any(holder_stopped(r, now) for r in self._run(
            self.conn, "SELECT lease_owner, lease_expires FROM items WHERE bot = ? AND state = 'in_progress'",
            (bot,)).fetchall())

    def seconds_until_due(self, bot: str) -> float | None:
        row = self._run(self.conn, "SELECT min(not_before) AS due FROM items WHERE bot = ? AND state = 'pending'",
                        (bot,)).fetchone()
        return None if row["due"] is None else max(row["due"] - self._now(self.conn), 0.0)

    def _owned(self, conn, item_id: int, owner: str) -> Any:
        row = self._run(conn, f"SELECT * FROM items WHERE id = ?{self.FOR_UPDATE}", (item_id,)).fetchone()
        if row is None or row["state"] != ItemState.IN_PROGRESS or row["lease_owner"] != owner:
            taken = f", now held by {row['lease_owner']}" if row and row["lease_owner"] else ""
            raise LeaseLost(f"item {row['reference'] if row else item_id} is no longer leased by this runner "
                            f"(state {row['state'] if row else 'missing'}{taken})")
        return row

    def heartbeat(self, item_id: int, owner: str, lease_s: float) -> None:
        with self._tx() as conn:
            self._owned(conn, item_id, owner)
            self._run(conn, "UPDATE items SET lease_expires = ? WHERE id = ?", (self._now(conn) + lease_s, item_id))

    def mark_committing(self, item_id: int, owner: str) -> None:
        """Recorded before the step that changes the legacy system, so a retry checks first."""
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            if not row["commit_started"]:
                self._run(conn, "UPDATE items SET commit_started = 1 WHERE id = ?", (item_id,))

    def _finish(self, item_id: int, owner: str, state: ItemState, message: str, *, result: dict | None = None,
                retry_in_s: float | None = None) -> None:
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            now = self._now(conn)
            self._run(conn, "UPDATE items SET state = ?, lease_owner = NULL, lease_expires = NULL, last_error = ?,"
                            " result = ?, not_before = ?, updated_at = ? WHERE id = ?",
                      (state.value, None if state == ItemState.DONE else message,
                       dump_data(result) if result is not None else row["result"],
                       now + retry_in_s if retry_in_s is not None else 0.0, now, item_id))
            self._log(conn, item_id, row["state"], state.value, f"run:{row['run_id']}", message, row["run_id"], now=now)

    def complete(self, item_id: int, owner: str, result: dict, message: str = "") -> None:
        self._finish(item_id, owner, ItemState.DONE, message, result=result)

    def business_exception(self, item_id: int, owner: str, message: str) -> None:
        self._finish(item_id, owner, ItemState.BUSINESS_EXCEPTION, message)

    def system_exception(self, item_id: int, owner: str, message: str, retry_in_s: float | None) -> None:
        """With retry_in_s the item waits and is worked again; without, it goes to a person."""
        if retry_in_s is None:
            self._finish(item_id, owner, ItemState.SYSTEM_EXCEPTION, message)
        else:
            self._finish(item_id, owner, ItemState.PENDING, f"will retry: {message}", retry_in_s=retry_in_s)

    def release(self, item_id: int, owner: str, message: str) -> None:
        """Give an item back untouched (the run stopped before working it)."""
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            self._run(conn, f"UPDATE items SET state = 'pending', attempts = {self.GREATEST}(attempts - 1, 0),"
                            " lease_owner = NULL, lease_expires = NULL, updated_at = ? WHERE id = ?",
                      (self._now(conn), item_id))
            self._log(conn, item_id, row["state"], "pending", f"run:{row['run_id']}", message, row["run_id"])

    # -- a person's side -----------------------------------------------------------
    def _by_reference(self, conn, bot: str, reference: str) -> Any:
        row = self._row(conn, bot, reference)
        if row is None:
            raise QueueError(f"no work item '{reference}' for bot '{bot}'")
        return row

    def retry(self, bot: str, reference: str, actor: str, changes: dict[str, Any] | None = None,
              checked_not_in_app: bool = False) -> QueuedItem:
        with self._tx() as conn:
            row = self._by_reference(conn, bot, reference)
            # done outside a run (keyed while recording) is a person's word, which a person may take back
            recorded_done = row["state"] == ItemState.DONE and self._last_actor(conn, row["id"]).startswith("record:")
            if row["state"] not in [s.value for s in (*REVIEW_STATES, ItemState.SKIPPED)] and not recorded_done:
                raise QueueError(f"'{reference}' is {row['state']}; only items in review or skipped can be retried")
            if row["state"] == ItemState.BUSINESS_EXCEPTION and self._last_actor(conn, row["id"]).startswith("intake:"):
                raise QueueError(f"'{reference}' was refused when {row['source'] or 'its input'} was read: "
                                 f"{row['last_error']}",
                                 "Correct the input file and run the bot again (the corrected row replaces it), "
                                 "or skip it with a reason.")
            data = load_data(row["data"]) or {}
            unknown = sorted(set(changes or {}) - set(data))
            if unknown:
                raise QueueError(f"'{reference}' has no field {', '.join(unknown)} (fields: {', '.join(sorted(data))})")
            data.update(changes or {})
            text = dump_data(data)
            # commit_started stays unless a person checked the application: an earlier attempt may have submitted.
            keep_commit = row["commit_started"] and not checked_not_in_app
            self._run(conn, "UPDATE items SET state = 'pending', data = ?, data_hash = ?, attempts = 0, not_before = 0,"
                            " commit_started = ?, updated_at = ? WHERE id = ?",
                      (text, data_hash(text), int(bool(keep_commit)), self._now(conn), row["id"]))
            what = f"retry with {', '.join(f'{k}={v}' for k, v in changes.items())}" if changes else "retry"
            if row["commit_started"] and checked_not_in_app:
                what += " (checked by a person: not in the application)"
            self._log(conn, row["id"], row["state"], "pending", actor, what)
            return self._item(self._by_id(conn, row["id"]))

    def skip(self, bot: str, reference: str, actor: str, reason: str) -> QueuedItem:
        if not reason.strip():
            raise QueueError("a skip needs a reason", "Say why, e.g. --reason 'duplicate of SO-1042'")
        with self._tx() as conn:
            row = self._by_reference(conn, bot, reference)
            if row["state"] in (ItemState.DONE, ItemState.IN_PROGRESS):
                raise QueueError(f"'{reference}' is {row['state']} and cannot be skipped")
            self._run(conn, "UPDATE items SET state = 'skipped', last_error = ?, updated_at = ? WHERE id = ?",
                      (reason, self._now(conn), row["id"]))
            self._log(conn, row["id"], row["state"], "skipped", actor, reason)
            return self._item(self._by_id(conn, row["id"]))

    # -- reading -------------------------------------------------------------------
    def holder_of(self, bot: str, variable: str, value: str, other_than: str) -> str | None:
        if not variable.isidentifier():
            raise ValueError(f"not a variable name: {variable!r}")
        row = self._run(self.conn, f"SELECT reference FROM items WHERE bot = ? AND reference != ? AND result IS NOT NULL"
                                   f" AND {self.RESULT_VARIABLE} = ? ORDER BY id LIMIT 1",
                        (bot, other_than, variable, value)).fetchone()
        return row["reference"] if row else None

    def record_evidence_head(self, head: EvidenceHead) -> None:
        with self._tx() as conn:  # never moves back: a late writer with an older head changes nothing
            self._run(conn, "INSERT INTO evidence_heads(bot, run_id, chain_length, line_sha256, recorded_at)"
                            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(bot) DO UPDATE SET run_id = excluded.run_id,"
                            " chain_length = excluded.chain_length, line_sha256 = excluded.line_sha256,"
                            " recorded_at = excluded.recorded_at"
                            " WHERE excluded.chain_length > evidence_heads.chain_length",
                      (head.bot, head.run, head.chain_length, head.line_sha256, self._now(conn)))

    def evidence_lock(self, bot: str) -> AbstractContextManager[None]:
        """A file queue is one machine's: the bot folder's file lock (manifest.seal_run) serializes its sealers."""
        return nullcontext()

    def evidence_heads(self) -> dict[str, EvidenceHead]:
        return {r["bot"]: EvidenceHead(r["bot"], r["run_id"], r["chain_length"], r["line_sha256"])
                for r in self._run(self.conn, "SELECT * FROM evidence_heads").fetchall()}

    def get(self, bot: str, reference: str) -> QueuedItem | None:
        row = self._run(self.conn, "SELECT * FROM items WHERE bot = ? AND reference = ?", (bot, reference)).fetchone()
        return self._item(row) if row else None

    def items(self, bot: str | None = None, states: list[ItemState] | None = None) -> list[QueuedItem]:
        sql, args = "SELECT * FROM items WHERE 1 = 1", []
        if bot:
            sql += " AND bot = ?"
            args.append(bot)
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += [ItemState(s).value for s in states]
        return [self._item(r) for r in self._run(self.conn, sql + " ORDER BY created_at, id", args).fetchall()]

    def find_items(self, query: ItemQuery) -> FoundItems:
        where, args = "1 = 1", list[Any]()
        if query.bot:
            where += " AND bot = ?"
            args.append(query.bot)
        if query.states:
            where += f" AND state IN ({', '.join('?' * len(query.states))})"
            args += [ItemState(s).value for s in query.states]
        if query.created_before is not None:
            where += " AND created_at < ?"
            args.append(query.created_before)
        if query.text:
            # lower() on both sides: PostgreSQL's LIKE minds case; '!' escapes the text's own % and _
            needle = "%" + query.text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
            where += " AND (" + " OR ".join(f"lower(COALESCE({column}, '')) LIKE ? ESCAPE '!'"
                                            for column in ("reference", "last_error", "source", "data")) + ")"
            args += [needle] * 4
        matched = self._run(self.conn, f"SELECT COUNT(*) AS n FROM items WHERE {where}", args).fetchone()["n"]
        review = ", ".join(f"'{state.value}'" for state in REVIEW_STATES)
        rows = self._run(self.conn, f"SELECT * FROM items WHERE {where} ORDER BY CASE WHEN state IN ({review}) "
                                    "THEN 0 ELSE 1 END, updated_at DESC, id DESC LIMIT ?",
                         [*args, query.limit]).fetchall()
        return FoundItems(int(matched), [self._item(r) for r in rows])

    def waiting_references(self, bot: str) -> list[str]:
        rows = self._run(self.conn, "SELECT reference FROM items WHERE bot = ? AND state IN ('pending', 'in_progress') "
                                    "ORDER BY created_at, id", (bot,)).fetchall()
        return [row["reference"] for row in rows]

    def states_of(self, bot: str, references: list[str]) -> dict[str, ItemState]:
        found: dict[str, ItemState] = {}
        unique = sorted(set(references))
        for start in range(0, len(unique), 500):   # a few hundred at a time: within any server's limit on arguments
            chunk = unique[start:start + 500]
            rows = self._run(self.conn, f"SELECT reference, state FROM items WHERE bot = ? AND reference IN "
                                        f"({', '.join('?' * len(chunk))})", [bot, *chunk]).fetchall()
            found.update({row["reference"]: ItemState(row["state"]) for row in rows})
        return found

    def history(self, bot: str, reference: str) -> list[StateChange]:
        row = self.get(bot, reference)
        if row is None:
            raise QueueError(f"no work item '{reference}' for bot '{bot}'")
        return [StateChange(r["at"], reference, r["from_state"], r["to_state"], r["actor"], r["message"], r["run_id"])
                for r in self._run(self.conn, "SELECT * FROM state_changes WHERE item_id = ? ORDER BY id",
                                   (row.id,)).fetchall()]

    def changes_since(self, since: float) -> list[tuple[str, StateChange]]:
        """Every change of state since a moment, oldest first, with its bot: the console's figures."""
        rows = self._run(self.conn,
                         "SELECT i.bot AS bot, i.reference AS reference, c.at AS at, c.from_state AS from_state,"
                         " c.to_state AS to_state, c.actor AS actor, c.message AS message, c.run_id AS run_id"
                         " FROM state_changes c JOIN items i ON i.id = c.item_id WHERE c.at >= ? ORDER BY c.id",
                         (since,)).fetchall()
        return [(r["bot"], StateChange(r["at"], r["reference"], r["from_state"], r["to_state"], r["actor"],
                                       r["message"], r["run_id"])) for r in rows]
