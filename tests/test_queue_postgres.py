"""The work queue on a real PostgreSQL server (the one the suite starts): a run keys through it as the
README shows, and what only a server database has: a lapsed lease taken back by the database's clock,
claims under contention, and a password never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from runner.intake.work_item import WorkItem
from runner.work_queue import ItemState, describe_queue, open_queue, queue_exists

from .conftest import make_orders, start_billing
from .postgres_server import postgres_database
from .test_read_back_web import assert_orders_match

pytestmark = pytest.mark.postgres


def test_a_run_keys_its_orders_through_a_queue_on_postgresql(project, secrets_env, tmp_path):
    url = postgres_database()
    assert not queue_exists(url)   # looked at, not created
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 3, seed=61)
    env = {**os.environ, "BACKROOM_QUEUE_URL": url, "COLUMNS": "200"}
    with start_billing(tmp_path) as app:
        # as the README shows it: the queue named in the environment (or by queue: in backroom.yaml)
        done = subprocess.run([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(workbook),
                               "--app-url", f"billing={app.url}"], cwd=project, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert_orders_match(app.settings.db_path, rows)
    assert not (project / "logs" / "queue.sqlite3").exists()   # nothing went to a local file
    queue = open_queue(url)
    try:
        items = queue.items("rekey-orders")
        assert sorted(i.reference for i in items) == sorted(r[0] for r in rows)
        assert all(i.state == ItemState.DONE and i.result["vars"]["confirmation"].startswith("CNF-") for i in items)
        head = queue.evidence_heads()["rekey-orders"]   # the bot's chain head, beside its items
        assert head.chain_length == 1
    finally:
        queue.close()
    # the queue's commands read the same server
    shown = subprocess.run([sys.executable, "-m", "runner.cli", "queue"], cwd=project, env=env, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0 and "rekey-orders" in shown.stdout, shown.stdout + shown.stderr
    again = subprocess.run([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(workbook),
                            "--app-url", "billing=http://127.0.0.1:9"], cwd=project, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr   # all done already: nothing to key, no browser


def test_a_lapsed_lease_is_taken_back_by_the_database_clock(tmp_path):
    url = postgres_database()
    queue = open_queue(url)   # the database's clock: no clock passed
    try:
        queue.intake("bot", [WorkItem("A", {"qty": 1}, "o.xlsx row 2")], "intake:o.xlsx")
        # a runner on another machine (its process cannot be looked for) holds it for a very short lease
        first = queue.claim("bot", "other-host:4242:r1", 0.2, "r1")
        assert first is not None and queue.claim("bot", "this-host:1:r2", 60, "r2") is None

        def lease_ran_out() -> bool:
            row = queue.conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8 - lease_expires AS late "
                                     "FROM items WHERE reference = 'A'").fetchone()
            return row["late"] > 0

        from .conftest import wait_until

        wait_until(lease_ran_out, 10, "the lease to run out on the server's clock")
        taken = queue.claim("bot", "this-host:1:r2", 60, "r2")
        assert taken is not None and taken.recovered and taken.attempts == 2
        assert "recovered from other-host:4242:r1" in queue.history("bot", "A")[-1].message
    finally:
        queue.close()


def test_sixteen_claimers_at_once_never_share_an_item(tmp_path):
    url = postgres_database()
    queue = open_queue(url)
    refs = [f"R{n:04d}" for n in range(400)]
    queue.intake("bot", [WorkItem(r, {"n": i}, f"o.xlsx row {i + 2}") for i, r in enumerate(refs)], "intake:o.xlsx")
    queue.close()

    def claim_all(number: int) -> list[str]:
        mine = open_queue(url)
        owner, got = f"host-{number}:1:r{number}", []
        try:
            while (item := mine.claim("bot", owner, 600, f"r{number}")) is not None:
                got.append(item.reference)
                mine.complete(item.id, owner, {})
        finally:
            mine.close()
        return got

    with ThreadPoolExecutor(16) as pool:
        claimed = list(pool.map(claim_all, range(16)))
    everything = [ref for got in claimed for ref in got]
    assert sorted(everything) == refs   # each once, none lost
    assert sum(1 for got in claimed if got) > 1   # they really worked side by side


def test_a_password_in_the_url_is_never_shown():
    url = postgres_database().replace("postgresql://postgres@", "postgresql://postgres:S3cret-pw@")
    assert "S3cret-pw" not in describe_queue(url) and "***" in describe_queue(url)


def test_a_sqlite_queue_moves_to_postgresql_once_with_every_history(project, tmp_path):
    from datetime import date
    from decimal import Decimal

    from runner.errors import ConfigurationError
    from runner.work_queue import EvidenceHead

    local = open_queue("sqlite:///logs/queue.sqlite3", project)
    data = {"qty": 3, "price": Decimal("12.50"), "ship": date(2026, 12, 24)}
    local.intake("rekey-orders", [WorkItem(r, data, f"orders.xlsx row {n}") for n, r in enumerate("ABC", 2)],
                 "intake:orders.xlsx")
    first = local.claim("rekey-orders", "h:1:r1", 60, "r1")
    local.complete(first.id, "h:1:r1", {"vars": {"confirmation": "CNF-1"}})
    held = local.claim("rekey-orders", "h:1:r1", 60, "r1")
    local.record_evidence_head(EvidenceHead("rekey-orders", "r1", 4, "ab" * 32))
    url = postgres_database()
    command = [sys.executable, "-m", "runner.cli", "queue", "migrate", "--from", "sqlite:///logs/queue.sqlite3",
               "--to", url]
    refused = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "being worked (B)" in refused.stdout + refused.stderr   # a runner holds B
    assert not queue_exists(url) or open_queue(url).items() == []
    local.release(held.id, "h:1:r1", "run stopped")
    before = {i.reference: (i.state, i.data, i.result, [(h.from_state, h.to_state, h.actor, h.message, h.at)
                                                        for h in local.history("rekey-orders", i.reference)])
              for i in local.items()}
    local.close()

    # as the README shows it
    moved = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "Moved 3 item(s)" in moved.stdout
    shared = open_queue(url)
    try:
        after = {i.reference: (i.state, i.data, i.result, [(h.from_state, h.to_state, h.actor, h.message, h.at)
                                                           for h in shared.history("rekey-orders", i.reference)])
                 for i in shared.items()}
        assert after == before   # states, typed data, results and whole histories, times included
        assert shared.evidence_heads()["rekey-orders"].chain_length == 4
        assert shared.claim("rekey-orders", "h:2:r2", 60, "r2").reference in {"B", "C"}   # work goes on there
    finally:
        shared.close()
    # once: the old queue refuses to be worked, and to be moved again
    with pytest.raises(ConfigurationError, match="was moved to postgresql://"):
        open_queue("sqlite:///logs/queue.sqlite3", project)
    again = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "was moved to" in again.stdout + again.stderr
    # and a target that holds anything is refused
    other = open_queue("sqlite:///other.sqlite3", project)
    other.intake("rekey-orders", [WorkItem("Z", data, "x row 2")], "intake:x")
    other.close()
    into_full = subprocess.run([*command[:5], "--from", "sqlite:///other.sqlite3", "--to", url], cwd=project,
                               capture_output=True, text=True, timeout=120)
    assert into_full.returncode == 2 and "already holds" in into_full.stdout + into_full.stderr


def test_a_dropped_connection_is_made_again_and_a_server_gone_for_good_is_said_plainly(tmp_path):
    import psycopg

    from runner.errors import QueueUnreachable
    from runner.work_queue.postgres_queue import PostgresWorkQueue

    url = postgres_database()
    queue = open_queue(url)
    try:
        queue.intake("bot", [WorkItem("A", {"qty": 1}, "o.xlsx row 2"), WorkItem("B", {"qty": 2}, "o.xlsx row 3")],
                     "intake:o.xlsx")
        with psycopg.connect(url, autocommit=True) as admin:   # the server drops the runner's connection
            admin.execute("SELECT pg_terminate_backend(%s)", (queue.conn.info.backend_pid,))
        claimed = queue.claim("bot", "h:1:r1", 60, "r1")   # made again, and the claim goes through
        assert claimed is not None and claimed.reference == "A"
        queue.complete(claimed.id, "h:1:r1", {})
        assert queue.get("bot", "A").state == ItemState.DONE
    finally:
        queue.close()
    # a server that does not come back: tried with back-off for reconnect_s, then said in one line
    lost = PostgresWorkQueue(url, reconnect_s=1.0)
    lost.url = url.rsplit(":", 1)[0] + ":9/" + url.rsplit("/", 1)[1]   # where nothing listens any more
    lost.conn.close()
    with pytest.raises(QueueUnreachable, match=r"the server cannot be reached .*tried for 1 s"):
        lost.claim("bot", "h:1:r2", 60, "r2")


class MemoryKeyring:
    """A keyring held in memory, set through keyring's own API: what a machine's keyring would answer."""

    def __new__(cls, entries: dict):
        import keyring.backend

        class Backend(keyring.backend.KeyringBackend):
            priority = 1

            def get_password(self, service, username):
                return entries.get((service, username))

            def set_password(self, service, username, password):
                entries[(service, username)] = password

            def delete_password(self, service, username):
                entries.pop((service, username), None)

        return Backend()


def test_the_queue_password_comes_from_the_environment_or_the_keyring_and_is_never_shown(monkeypatch):
    import keyring

    from runner.errors import ConfigurationError

    from .postgres_server import ROLE_PASSWORD, postgres_database_with_password

    url = postgres_database_with_password()   # a role that must give a password; the URL has none
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", os.devnull)
    monkeypatch.delenv("BACKROOM_SECRET_QUEUE_PASSWORD", raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring({}))
    try:
        with pytest.raises(ConfigurationError, match="cannot connect") as refused:
            open_queue(url)
        assert "keyring set backroom queue_password" in refused.value.hint
        monkeypatch.setenv("BACKROOM_SECRET_QUEUE_PASSWORD", ROLE_PASSWORD)
        open_queue(url).close()
        monkeypatch.delenv("BACKROOM_SECRET_QUEUE_PASSWORD")
        keyring.set_keyring(MemoryKeyring({("backroom", "queue_password"): ROLE_PASSWORD}))
        queue = open_queue(url)
        try:
            queue.intake("bot", [WorkItem("A", {"n": 1}, "o.xlsx row 2")], "intake:o.xlsx")
            assert [i.reference for i in queue.items("bot")] == ["A"]
        finally:
            queue.close()
        keyring.set_keyring(MemoryKeyring({("backroom", "queue_password"): "not-the-password"}))
        with pytest.raises(ConfigurationError) as wrong:
            open_queue(url)
        assert "not-the-password" not in str(wrong.value) and ROLE_PASSWORD not in str(wrong.value)
    finally:
        keyring.set_keyring(before)


def test_queue_objects_of_one_process_share_pooled_connections_and_never_get_a_dead_one(tmp_path):
    import psycopg

    from runner.work_queue.postgres_queue import POOLS

    url = postgres_database()
    for n in range(10):   # a run, a console page, a heartbeat: each opens the queue and closes it
        queue = open_queue(url)
        queue.intake("bot", [WorkItem(f"R{n}", {"n": n}, "o.xlsx")], "intake:o.xlsx")
        queue.close()
    assert POOLS.pool(url).get_stats()["connections_num"] == 1   # one connection made, used ten times
    with psycopg.connect(url, autocommit=True) as admin:   # the server ends the idle pooled connection (a restart)
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND pid <> pg_backend_pid()")
    queue = open_queue(url)   # checked as it is handed out: a fresh one
    try:
        assert len(queue.items("bot")) == 10
    finally:
        queue.close()


@pytest.mark.postgres
def test_sealers_on_a_share_that_ignores_file_locks_keep_one_chain_through_the_queues_lock(project, monkeypatch):
    """Two machines seal runs of one bot into one shared folder whose file locks do nothing (some SMB shares). The
    queue's evidence lock, held on the server, still puts each run after the one before, and the chain's head in
    the queue is its last line: verify finds nothing wrong."""
    import contextlib
    import threading

    from runner.audit import manifest
    from runner.audit.events import AuditEvent, AuditTrail
    from runner.audit.signing import load_signer, load_verifier
    from runner.audit.verify import verify_bot_chain
    from runner.project.secrets import Redactor
    from runner.project.settings import load_settings
    from runner.work_queue import EvidenceHead

    url = postgres_database()
    settings = load_settings(project)
    signer = load_signer(settings, project)
    monkeypatch.setattr(manifest, "FileLock", lambda path: contextlib.nullcontext())   # the share's locks: none
    bot_dir = project / "logs" / "rekey-orders"
    start = threading.Barrier(2)

    def machine(name: str) -> None:
        queue = open_queue(url)
        try:
            start.wait()
            for n in range(12):
                run_dir = bot_dir / f"20261127-0100{n:02d}-{name}"
                trail = AuditTrail(run_dir.name, run_dir, Redactor())
                trail.emit(AuditEvent(run=run_dir.name, seq=trail.next_seq(), kind="run", outcome="started"))
                trail.close()
                with queue.evidence_lock("rekey-orders"):
                    seal = manifest.seal_run(run_dir, run_dir.name, "rekey-orders", trail.written, trail.last_hash,
                                             signer)
                    queue.record_evidence_head(EvidenceHead(seal.bot, seal.run, seal.chain_length, seal.line_sha256))
        finally:
            queue.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(machine, ["node-a", "node-b"]))
    queue = open_queue(url)
    try:
        head = queue.evidence_heads()["rekey-orders"]
        # while one holds the lock, the server shows it to everyone; once left, it is gone
        with queue.evidence_lock("rekey-orders"):
            other = open_queue(url)
            held = other.conn.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
                                      " AND granted").fetchone()["n"]
        left = other.conn.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'").fetchone()["n"]
        other.close()
    finally:
        queue.close()
    assert (held, left) == (1, 0)
    assert head.chain_length == 24 and len(manifest.chain_entries(bot_dir)) == 24
    assert verify_bot_chain(bot_dir, load_verifier(settings, project), head) == []
