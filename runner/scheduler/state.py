"""What the scheduler remembers across restarts (logs/scheduler.sqlite3): when it first knew each
job, and every planned time it ran, made up or missed, with the outcome."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORGET_SCHEDULERS_AFTER_S = 7 * 86400   # a scheduler not heard of for a week is forgotten

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    bot TEXT NOT NULL,
    planned TEXT,                 -- the planned local time this run stands for
    reason TEXT NOT NULL,         -- planned, catch_up, missed
    started REAL, finished REAL,
    outcome TEXT NOT NULL, exit_code INTEGER, message TEXT NOT NULL DEFAULT '',
    input TEXT, run_dir TEXT
);
CREATE INDEX IF NOT EXISTS runs_job ON runs(job, id);
CREATE TABLE IF NOT EXISTS paused (job TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedulers (     -- each scheduler's heartbeat: two started by mistake are both seen
    host TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL, beat REAL NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0, next_text TEXT NOT NULL DEFAULT '', PRIMARY KEY (host, pid)
);
CREATE TABLE IF NOT EXISTS arrivals (       -- files a watched inbox's job has run, by name, size and time
    job TEXT NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    taken REAL NOT NULL, outcome TEXT NOT NULL, run_dir TEXT,
    PRIMARY KEY (job, file, size, mtime_ns)
);
"""


@dataclass
class RunRecord:
    job: str
    bot: str
    planned: datetime | None
    reason: str
    started: float | None
    finished: float | None
    outcome: str
    exit_code: int | None
    message: str
    input: str | None
    run_dir: str | None


class SchedulerState:
    def __init__(self, path: Path):
        self.path = Path(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def pause(self, job: str, by: str, at: float, reason: str) -> None:
        """An admin holds a job: the scheduler skips its planned runs (and records that) until resumed."""
        self.conn.execute("INSERT OR REPLACE INTO paused(job, by, at, reason) VALUES (?, ?, ?, ?)",
                          (job, by, at, reason))

    def resume(self, job: str) -> None:
        self.conn.execute("DELETE FROM paused WHERE job = ?", (job,))

    def paused(self) -> dict[str, sqlite3.Row]:
        return {row["job"]: row for row in self.conn.execute("SELECT * FROM paused")}

    def first_seen(self, job: str, now: datetime) -> datetime:
        """When the scheduler first knew this job: nothing planned before that was missed."""
        self.conn.execute("INSERT OR IGNORE INTO jobs(name, first_seen) VALUES (?, ?)", (job, now.isoformat()))
        row = self.conn.execute("SELECT first_seen FROM jobs WHERE name = ?", (job,)).fetchone()
        return datetime.fromisoformat(row[0])

    def record(self, record: RunRecord) -> None:
        self.conn.execute(
            "INSERT INTO runs(job, bot, planned, reason, started, finished, outcome, exit_code, message, input, run_dir)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.job, record.bot, record.planned.isoformat() if record.planned else None, record.reason,
             record.started, record.finished, record.outcome, record.exit_code, record.message, record.input,
             record.run_dir))

    def beat(self, host: str, pid: int, started: float, at: float, next_text: str, stopped: bool = False) -> None:
        """The scheduler says it is alive (every few seconds), what runs next, and at the end that it stopped."""
        self.conn.execute("INSERT OR REPLACE INTO schedulers(host, pid, started, beat, stopped, next_text) "
                          "VALUES (?, ?, ?, ?, ?, ?)", (host, pid, started, at, int(stopped), next_text))
        # the others that stopped long ago are history the status does not need
        self.conn.execute("DELETE FROM schedulers WHERE beat < ? AND NOT (host = ? AND pid = ?)",
                          (at - FORGET_SCHEDULERS_AFTER_S, host, pid))

    def beats(self) -> list[sqlite3.Row]:
        """Every scheduler's last heartbeat, the newest first."""
        return self.conn.execute("SELECT * FROM schedulers ORDER BY beat DESC").fetchall()

    def arrival_taken(self, job: str, file: str, size: int, mtime_ns: int) -> bool:
        return self.conn.execute("SELECT 1 FROM arrivals WHERE job = ? AND file = ? AND size = ? AND mtime_ns = ?",
                                 (job, file, size, mtime_ns)).fetchone() is not None

    def take_arrival(self, job: str, file: str, size: int, mtime_ns: int, taken: float, outcome: str,
                     run_dir: str | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO arrivals(job, file, size, mtime_ns, taken, outcome, run_dir) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", (job, file, size, mtime_ns, taken, outcome, run_dir))

    def last_planned(self, job: str) -> datetime | None:
        row = self.conn.execute("SELECT max(planned) FROM runs WHERE job = ?", (job,)).fetchone()
        return datetime.fromisoformat(row[0]) if row[0] else None

    def last(self, job: str, counting_locked: bool = True) -> RunRecord | None:
        """The job's latest record; without counting_locked, a start refused because the bot was busy is passed over."""
        where = "" if counting_locked else " AND outcome != 'locked'"
        row = self.conn.execute(f"SELECT * FROM runs WHERE job = ?{where} ORDER BY id DESC LIMIT 1", (job,)).fetchone()
        return _record(row) if row else None

    def history(self, job: str) -> list[RunRecord]:
        return [_record(r) for r in self.conn.execute("SELECT * FROM runs WHERE job = ? ORDER BY id", (job,))]


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(row["job"], row["bot"], datetime.fromisoformat(row["planned"]) if row["planned"] else None,
                     row["reason"], row["started"], row["finished"], row["outcome"], row["exit_code"],
                     row["message"], row["input"], row["run_dir"])
