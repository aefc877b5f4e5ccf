"""The SQLite work queue: one file in WAL mode, safe for several runner processes on one machine.

Every state change is one transaction that also writes a row to `state_changes`, so the
history of an item can never disagree with its state. A lease names its owner
(host:pid:run); a claim takes back items whose lease expired, or whose owner on this host
is no longer alive, so a killed runner's item goes back to work on the next run at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigurationError
from ..intake.work_item import WorkItem
from .backends import QueueBackend, register_backend
from .base import (REVIEW_STATES, EvidenceHead, IntakeReport, ItemState, QueueError, QueuedItem, ReviewReport,
                   StateChange)

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
"""


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made (always set after one)."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def make_owner(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def _owner_dead(owner: str | None) -> bool:
    """True when the lease owner ran on this host and its process is gone."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    return host == socket.gethostname() and pid_text.isdigit() and not _pid_alive(int(pid_text))


class SQLiteWorkQueue:
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

    def new_owner(self, run_id: str) -> str:
        """Who holds a lease: this host and process, so a claim on this host can tell a dead holder at once.
        One file is one machine's queue, so the lease clock is this machine's clock."""
        return make_owner(run_id)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _log(self, conn, item_id: int, from_state: str | None, to_state: str, actor: str, message: str = "",
             run_id: str | None = None) -> None:
        conn.execute("INSERT INTO state_changes(item_id, at, from_state, to_state, actor, message, run_id)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)", (item_id, self.clock(), from_state, to_state, actor, message, run_id))

    @staticmethod
    def _item(row: sqlite3.Row, recovered: bool = False) -> QueuedItem:
        return QueuedItem(
            id=row["id"], bot=row["bot"], reference=row["reference"], data=load_data(row["data"]) or {},
            state=ItemState(row["state"]), attempts=row["attempts"], source=row["source"],
            created_at=row["created_at"], updated_at=row["updated_at"], run_id=row["run_id"],
            last_error=row["last_error"], result=load_data(row["result"]), commit_started=bool(row["commit_started"]),
            recovered=recovered,
        )

    # -- intake ------------------------------------------------------------------
    def intake(self, bot: str, items: list[WorkItem], actor: str) -> IntakeReport:
        report = IntakeReport()
        now = self.clock()
        with self._tx() as conn:
            for item in items:
                data = dump_data(item.data)
                digest = hashlib.sha256(data.encode()).hexdigest()
                row = conn.execute("SELECT * FROM items WHERE bot = ? AND reference = ?",
                                   (bot, item.reference)).fetchone()
                if row is None:
                    cur = conn.execute(
                        "INSERT INTO items(bot, reference, data, data_hash, source, state, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                        (bot, item.reference, data, digest, item.source, now, now))
                    self._log(conn, _row_id(cur), None, "pending", actor, f"from {item.source}")
                    report.added.append(item.reference)
                    continue
                same = row["data_hash"] == digest
                state = row["state"]
                if state == ItemState.DONE:
                    (report.already_done if same else report.changed_after_done).append(item.reference)
                    if not same:
                        self._log(conn, row["id"], state, state, actor,
                                  f"{item.source} has different data for this done item; not keyed again")
                elif state == ItemState.BUSINESS_EXCEPTION and self._last_actor(conn, row["id"]).startswith("intake:"):
                    if same:
                        report.already_queued.append(item.reference)
                        continue
                    # It was refused when read; the corrected file replaces it and it goes to work.
                    conn.execute("UPDATE items SET data = ?, data_hash = ?, source = ?, state = 'pending', attempts = 0,"
                                 " last_error = NULL, not_before = 0, updated_at = ? WHERE id = ?",
                                 (data, digest, item.source, now, row["id"]))
                    self._log(conn, row["id"], state, "pending", actor, f"corrected in {item.source}")
                    report.corrected.append(item.reference)
                elif same:
                    report.already_queued.append(item.reference)
                elif state == ItemState.PENDING and self._last_actor(conn, row["id"]).startswith("user:"):
                    # A person corrected this item; an older file must not undo the correction.
                    report.changed_in_review.append(item.reference)
                elif state == ItemState.PENDING:
                    conn.execute("UPDATE items SET data = ?, data_hash = ?, source = ?, updated_at = ? WHERE id = ?",
                                 (data, digest, item.source, now, row["id"]))
                    self._log(conn, row["id"], state, state, actor, f"data updated from {item.source}")
                    report.updated_pending.append(item.reference)
                else:
                    report.changed_in_review.append(item.reference)
        return report

    def record_done(self, bot: str, item: WorkItem, actor: str, message: str) -> bool:
        now = self.clock()
        data = dump_data(item.data)
        result = dump_data({"vars": {}, "output": {}, "keyed_outside_a_run": message})
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM items WHERE bot = ? AND reference = ?", (bot, item.reference)).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO items(bot, reference, data, data_hash, source, state, last_error, result, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?)",
                    (bot, item.reference, data, hashlib.sha256(data.encode()).hexdigest(), item.source, message,
                     result, now, now))
                self._log(conn, _row_id(cur), None, "done", actor, message)
                return True
            if row["state"] != ItemState.PENDING:
                return False
            conn.execute("UPDATE items SET state = 'done', last_error = ?, result = ?, updated_at = ? WHERE id = ?",
                         (message, result, now, row["id"]))
            self._log(conn, row["id"], "pending", "done", actor, message)
            return True

    def add_for_review(self, bot: str, items: list[tuple[WorkItem, str]], actor: str) -> ReviewReport:
        """Put items straight into review with a reason: rows refused at intake, lines a
        reconciliation could not match. An item already queued is left as it is (a person may
        have decided about it already); the report says which."""
        report = ReviewReport()
        now = self.clock()
        with self._tx() as conn:
            for item, reason in items:
                row = conn.execute("SELECT * FROM items WHERE bot = ? AND reference = ?",
                                   (bot, item.reference)).fetchone()
                if row is not None:
                    report.existing[item.reference] = self._item(row)
                    continue
                data = dump_data(item.data)
                cur = conn.execute(
                    "INSERT INTO items(bot, reference, data, data_hash, source, state, last_error, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, 'business_exception', ?, ?, ?)",
                    (bot, item.reference, data, hashlib.sha256(data.encode()).hexdigest(), item.source, reason,
                     now, now))
                self._log(conn, _row_id(cur), None, "business_exception", actor, reason)
                report.added.append(item.reference)
        return report

    def refused_at_intake(self, bot: str) -> set[str]:
        """References in review because their input was refused when read (not because a run failed)."""
        rows = self.conn.execute(
            "SELECT i.reference FROM items i WHERE i.bot = ? AND i.state = 'business_exception' AND"
            " (SELECT s.actor FROM state_changes s WHERE s.item_id = i.id ORDER BY s.id DESC LIMIT 1) LIKE 'intake:%'",
            (bot,)).fetchall()
        return {r[0] for r in rows}

    @staticmethod
    def _last_actor(conn, item_id: int) -> str:
        row = conn.execute("SELECT actor FROM state_changes WHERE item_id = ? ORDER BY id DESC LIMIT 1",
                           (item_id,)).fetchone()
        return row["actor"] if row else ""

    # -- the runner's side ---------------------------------------------------------
    def claim(self, bot: str, owner: str, lease_s: float, run_id: str) -> QueuedItem | None:
        """Lease the next item: pending and due, or in progress under a lease that is no longer held."""
        now = self.clock()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM items WHERE bot = ? AND state = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT 1",
                (bot, now)).fetchone()
            recovered = False
            if row is None:
                for candidate in conn.execute("SELECT * FROM items WHERE bot = ? AND state = 'in_progress' ORDER BY id",
                                              (bot,)).fetchall():
                    if candidate["lease_expires"] < now or _owner_dead(candidate["lease_owner"]):
                        row, recovered = candidate, True
                        break
            if row is None:
                return None
            conn.execute(
                "UPDATE items SET state = 'in_progress', attempts = attempts + 1, lease_owner = ?, lease_expires = ?,"
                " run_id = ?, updated_at = ? WHERE id = ?", (owner, now + lease_s, run_id, now, row["id"]))
            message = f"attempt {row['attempts'] + 1}"
            if recovered:
                message += f"; recovered from {row['lease_owner']}, which stopped without finishing"
            self._log(conn, row["id"], row["state"], "in_progress", f"run:{run_id}", message, run_id)
            fresh = conn.execute("SELECT * FROM items WHERE id = ?", (row["id"],)).fetchone()
        return self._item(fresh, recovered)

    def seconds_until_due(self, bot: str) -> float | None:
        row = self.conn.execute("SELECT min(not_before) FROM items WHERE bot = ? AND state = 'pending'", (bot,)).fetchone()
        return None if row[0] is None else max(row[0] - self.clock(), 0.0)

    def _owned(self, conn, item_id: int, owner: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None or row["state"] != ItemState.IN_PROGRESS or row["lease_owner"] != owner:
            raise QueueError(f"item {row['reference'] if row else item_id} is no longer leased by this runner "
                             f"(state {row['state'] if row else 'missing'})")
        return row

    def heartbeat(self, item_id: int, owner: str, lease_s: float) -> None:
        with self._tx() as conn:
            self._owned(conn, item_id, owner)
            conn.execute("UPDATE items SET lease_expires = ? WHERE id = ?", (self.clock() + lease_s, item_id))

    def mark_committing(self, item_id: int, owner: str) -> None:
        """Recorded before the step that changes the legacy system, so a retry checks first."""
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            if not row["commit_started"]:
                conn.execute("UPDATE items SET commit_started = 1 WHERE id = ?", (item_id,))

    def _finish(self, item_id: int, owner: str, state: ItemState, message: str, *, result: dict | None = None,
                not_before: float = 0.0) -> None:
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            conn.execute(
                "UPDATE items SET state = ?, lease_owner = NULL, lease_expires = NULL, last_error = ?, result = ?,"
                " not_before = ?, updated_at = ? WHERE id = ?",
                (state.value, None if state == ItemState.DONE else message,
                 dump_data(result) if result is not None else row["result"], not_before, self.clock(), item_id))
            self._log(conn, item_id, row["state"], state.value, f"run:{row['run_id']}", message, row["run_id"])

    def complete(self, item_id: int, owner: str, result: dict, message: str = "") -> None:
        self._finish(item_id, owner, ItemState.DONE, message, result=result)

    def business_exception(self, item_id: int, owner: str, message: str) -> None:
        self._finish(item_id, owner, ItemState.BUSINESS_EXCEPTION, message)

    def system_exception(self, item_id: int, owner: str, message: str, retry_in_s: float | None) -> None:
        """With retry_in_s the item waits and is worked again; without, it goes to a person."""
        if retry_in_s is None:
            self._finish(item_id, owner, ItemState.SYSTEM_EXCEPTION, message)
        else:
            self._finish(item_id, owner, ItemState.PENDING, f"will retry: {message}",
                         not_before=self.clock() + retry_in_s)

    def release(self, item_id: int, owner: str, message: str) -> None:
        """Give an item back untouched (the run stopped before working it)."""
        with self._tx() as conn:
            row = self._owned(conn, item_id, owner)
            conn.execute("UPDATE items SET state = 'pending', attempts = max(attempts - 1, 0), lease_owner = NULL,"
                         " lease_expires = NULL, updated_at = ? WHERE id = ?", (self.clock(), item_id))
            self._log(conn, item_id, row["state"], "pending", f"run:{row['run_id']}", message, row["run_id"])

    # -- a person's side -----------------------------------------------------------
    def _by_reference(self, conn, bot: str, reference: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM items WHERE bot = ? AND reference = ?", (bot, reference)).fetchone()
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
            conn.execute("UPDATE items SET state = 'pending', data = ?, data_hash = ?, attempts = 0, not_before = 0,"
                         " commit_started = ?, updated_at = ? WHERE id = ?",
                         (text, hashlib.sha256(text.encode()).hexdigest(), int(bool(keep_commit)), self.clock(),
                          row["id"]))
            what = f"retry with {', '.join(f'{k}={v}' for k, v in changes.items())}" if changes else "retry"
            if row["commit_started"] and checked_not_in_app:
                what += " (checked by a person: not in the application)"
            self._log(conn, row["id"], row["state"], "pending", actor, what)
            return self._item(conn.execute("SELECT * FROM items WHERE id = ?", (row["id"],)).fetchone())

    def skip(self, bot: str, reference: str, actor: str, reason: str) -> QueuedItem:
        if not reason.strip():
            raise QueueError("a skip needs a reason", "Say why, e.g. --reason 'duplicate of SO-1042'")
        with self._tx() as conn:
            row = self._by_reference(conn, bot, reference)
            if row["state"] in (ItemState.DONE, ItemState.IN_PROGRESS):
                raise QueueError(f"'{reference}' is {row['state']} and cannot be skipped")
            conn.execute("UPDATE items SET state = 'skipped', last_error = ?, updated_at = ? WHERE id = ?",
                         (reason, self.clock(), row["id"]))
            self._log(conn, row["id"], row["state"], "skipped", actor, reason)
            return self._item(conn.execute("SELECT * FROM items WHERE id = ?", (row["id"],)).fetchone())

    # -- reading -------------------------------------------------------------------
    def holder_of(self, bot: str, variable: str, value: str, other_than: str) -> str | None:
        if not variable.isidentifier():
            raise ValueError(f"not a variable name: {variable!r}")
        row = self.conn.execute(
            f"SELECT reference FROM items WHERE bot = ? AND reference != ? AND result IS NOT NULL"
            f" AND json_extract(result, '$.vars.{variable}') = ? ORDER BY id LIMIT 1",
            (bot, other_than, value)).fetchone()
        return row["reference"] if row else None

    def record_evidence_head(self, head: EvidenceHead) -> None:
        with self._tx() as conn:  # never moves back: a late writer with an older head changes nothing
            conn.execute("INSERT INTO evidence_heads(bot, run_id, chain_length, line_sha256, recorded_at)"
                         " VALUES (?, ?, ?, ?, ?) ON CONFLICT(bot) DO UPDATE SET run_id = excluded.run_id,"
                         " chain_length = excluded.chain_length, line_sha256 = excluded.line_sha256,"
                         " recorded_at = excluded.recorded_at WHERE excluded.chain_length > evidence_heads.chain_length",
                         (head.bot, head.run, head.chain_length, head.line_sha256, self.clock()))

    def evidence_heads(self) -> dict[str, EvidenceHead]:
        return {r["bot"]: EvidenceHead(r["bot"], r["run_id"], r["chain_length"], r["line_sha256"])
                for r in self.conn.execute("SELECT * FROM evidence_heads")}

    def get(self, bot: str, reference: str) -> QueuedItem | None:
        row = self.conn.execute("SELECT * FROM items WHERE bot = ? AND reference = ?", (bot, reference)).fetchone()
        return self._item(row) if row else None

    def items(self, bot: str | None = None, states: list[ItemState] | None = None) -> list[QueuedItem]:
        sql, args = "SELECT * FROM items WHERE 1 = 1", []
        if bot:
            sql += " AND bot = ?"
            args.append(bot)
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += [ItemState(s).value for s in states]
        return [self._item(r) for r in self.conn.execute(sql + " ORDER BY created_at, id", args)]

    def history(self, bot: str, reference: str) -> list[StateChange]:
        row = self._by_reference(self.conn, bot, reference)
        return [StateChange(r["at"], reference, r["from_state"], r["to_state"], r["actor"], r["message"], r["run_id"])
                for r in self.conn.execute("SELECT * FROM state_changes WHERE item_id = ? ORDER BY id", (row["id"],))]

    def changes_since(self, since: float) -> list[tuple[str, StateChange]]:
        """Every change of state since a moment, oldest first, with its bot: the console's figures."""
        rows = self.conn.execute(
            "SELECT i.bot, i.reference, c.* FROM state_changes c JOIN items i ON i.id = c.item_id"
            " WHERE c.at >= ? ORDER BY c.id", (since,))
        return [(r["bot"], StateChange(r["at"], r["reference"], r["from_state"], r["to_state"], r["actor"],
                                       r["message"], r["run_id"])) for r in rows]


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
