"""The queue's tables carry a version. A SQLite file (one machine's) is brought up to date when opened;
tables on a server that several machines share are upgraded only by `backroom queue upgrade`, once the
runners are upgraded, and a runner refuses tables older or newer than it knows, saying what to do."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from runner.errors import ConfigurationError
from runner.intake.work_item import WorkItem
from runner.work_queue import RunnerRecord, open_queue
from runner.work_queue.sql_queue import SCHEMA_VERSION, schema_steps, statements

from .postgres_server import postgres_database

CLI = [sys.executable, "-m", "runner.cli"]


def test_a_sqlite_file_made_with_the_first_tables_is_brought_up_to_date_with_its_items(tmp_path):
    path = tmp_path / "queue.sqlite3"
    with sqlite3.connect(path) as conn:   # the first version's tables, as a file made by an older Backroom
        for statement in statements(schema_steps("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")[1]):
            conn.execute(statement)
        conn.execute("INSERT INTO items(bot, reference, data, data_hash, state, created_at, updated_at)"
                     " VALUES ('bot', 'A', '{}', 'h', 'pending', 1, 1)")
    queue = open_queue(f"sqlite:///{path}")
    try:
        assert queue.upgraded == (1, SCHEMA_VERSION)
        assert [i.reference for i in queue.items("bot")] == ["A"]
        queue.register_runner(RunnerRecord("r", "h", 1, ["bot"], "1", 10))   # the new tables are there
    finally:
        queue.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.postgres
def test_a_server_queue_with_older_tables_is_refused_until_queue_upgrade(project):
    url = postgres_database()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:   # version 1, as the first runners on PostgreSQL made it
        for statement in statements(schema_steps("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION")[1]):
            conn.execute(statement)
        conn.execute("CREATE TABLE backroom_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO backroom_schema VALUES (1)")
        conn.execute("INSERT INTO items(bot, reference, data, data_hash, state, created_at, updated_at)"
                     " VALUES ('bot', 'A', '{}', 'h', 'pending', 1, 1)")
    with pytest.raises(ConfigurationError, match="tables are version 1, older than this Backroom uses") as refused:
        open_queue(url)
    assert "backroom queue upgrade" in refused.value.hint
    listed = subprocess.run([*CLI, "--queue-url", url, "queue", "list"], cwd=project, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 2 and "backroom queue upgrade" in " ".join(listed.stderr.split()), listed.stderr

    done = subprocess.run([*CLI, "--queue-url", url, "queue", "upgrade"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"tables upgraded from version 1 to {SCHEMA_VERSION}" in " ".join(done.stdout.split())
    queue = open_queue(url)
    try:
        assert [i.reference for i in queue.items("bot")] == ["A"]
        queue.intake("bot", [WorkItem("B", {"n": 1}, "o.xlsx row 3")], "intake:o.xlsx")
        assert queue.runners() == [] and queue.runs() == []
    finally:
        queue.close()
    again = subprocess.run([*CLI, "--queue-url", url, "queue", "upgrade"], cwd=project, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr

    with psycopg.connect(url, autocommit=True) as conn:   # a newer Backroom upgraded them further
        conn.execute("UPDATE backroom_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigurationError, match="newer than this Backroom knows"):
        open_queue(url)
