"""The work queue's contract, run against every backend: intake, leases, recovery, retries and a
person's decisions, through the WorkQueue Protocol alone. A new backend is added to BACKENDS and
must pass this file unchanged. At the end: how a project chooses its backend (a URL)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from runner.intake.work_item import WorkItem
from runner.errors import ConfigurationError
from runner.project.settings import load_settings
from runner.work_queue import AGE_BUCKETS, ItemQuery, ItemState, QueueError, age_bucket, describe_queue, open_queue, queue_exists

from .postgres_server import postgres_database

# backend name -> the URL of a fresh, empty queue under a test's folder (PostgreSQL: a fresh database on the
# server the suite starts, tests/postgres_server.py)
BACKENDS = {
    "sqlite": lambda folder: f"sqlite:///{folder}/queue.sqlite3",
    "postgresql": lambda folder: postgres_database(),
}
MARKS = {"postgresql": [pytest.mark.postgres]}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def items(*refs, qty=1):
    return [WorkItem(ref, {"qty": qty, "price": Decimal("12.50"), "ship": date(2026, 12, 24)}, f"o.xlsx row {i + 2}")
            for i, ref in enumerate(refs)]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, [])) for name in sorted(BACKENDS)])
def queue_url(request, tmp_path):
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def queue(queue_url, clock):
    q = open_queue(queue_url, clock=clock)
    yield q
    q.close()


def test_intake_is_idempotent_and_keeps_types(queue):
    first = queue.intake("bot", items("A", "B"), "intake:o.xlsx")
    second = queue.intake("bot", items("A", "B"), "intake:o.xlsx")
    assert first.added == ["A", "B"] and second.added == []
    assert second.already_queued == ["A", "B"]
    stored = queue.get("bot", "A")
    assert stored.data == {"qty": 1, "price": Decimal("12.50"), "ship": date(2026, 12, 24)}
    assert len(queue.items("bot")) == 2


def test_the_states_of_many_references_are_read_at_once_and_unknown_ones_left_out(queue):
    references = [f"R{n:04d}" for n in range(1203)]      # more than one batch of the query
    queue.intake("bot", items(*references), "intake:o.xlsx")
    queue.intake("other", items("R0001"), "intake:p.xlsx")
    claimed = queue.claim("bot", "me", 60, "run-1")
    queue.complete(claimed.id, "me", {"vars": {}}, "")
    states = queue.states_of("bot", references + ["nowhere", "R0002"])
    assert len(states) == 1203 and "nowhere" not in states
    assert states[claimed.reference] == ItemState.DONE
    assert sum(state == ItemState.PENDING for state in states.values()) == 1202
    assert queue.states_of("bot", []) == {}
    waiting = queue.waiting_references("bot")   # what is still to be worked, oldest first
    assert len(waiting) == 1202 and claimed.reference not in waiting and waiting == sorted(waiting)
    assert queue.waiting_references("nobody") == []


def test_items_are_found_by_bot_state_age_and_text_in_the_database_review_first(queue, clock):
    queue.intake("bot", items("SO-100", "SO-101", "SO-102"), "intake:monday.xlsx")
    clock.now += 3600
    queue.intake("bot", [WorkItem("SO_200", {"customer": "Ærø Trading", "qty": 1}, "tuesday.xlsx row 2"),
                         WorkItem("SO%201", {"customer": "Acme", "qty": 2}, "tuesday.xlsx row 3")], "intake:tuesday.xlsx")
    queue.intake("other", items("SO-100"), "intake:other.xlsx")
    first = queue.claim("bot", "me", 60, "run-1")          # SO-100 (the oldest): to review with a message
    queue.business_exception(first.id, "me", "customer C999 is closed")
    clock.now += 10
    second = queue.claim("bot", "me", 60, "run-1")
    queue.complete(second.id, "me", {"vars": {}}, "")

    def refs(**asked):
        found = queue.find_items(ItemQuery(**asked))
        return found.matched, [(i.bot, i.reference) for i in found.items]

    every = refs()
    assert every[0] == 6 and every[1][0] == ("bot", "SO-100")      # what needs a person first
    assert every[1][1] == ("bot", "SO-101")                        # then the newest change
    assert refs(bot="bot", states=(ItemState.PENDING,)) == (3, [("bot", r) for r in ("SO%201", "SO_200", "SO-102")])
    assert refs(created_before=clock.now - 1800)[0] == 3            # monday's three
    assert refs(text="c999") == (1, [("bot", "SO-100")])          # the message, any case
    assert refs(text="tuesday.xlsx")[0] == 2                        # the source
    assert refs(text="ACME") == (1, [("bot", "SO%201")])           # the data, any case
    assert refs(text="Ærø") == (1, [("bot", "SO_200")])
    assert refs(text="SO_2") == (1, [("bot", "SO_200")])           # _ and % are the text's own, not wildcards
    assert refs(text="SO%2") == (1, [("bot", "SO%201")])
    assert refs(text="12.50")[0] == 4                               # money in the data, as stored
    found = queue.find_items(ItemQuery(limit=2))
    assert found.matched == 6 and len(found.items) == 2


def test_an_input_mixing_new_known_and_repeated_rows_is_sorted_row_by_row(queue):
    queue.intake("bot", items("A", "B"), "intake:o.xlsx")
    mixed = items("A", "C", "D") + [WorkItem("C", {"qty": 9}, "o2.xlsx row 9"), WorkItem("E", {"qty": 1}, "o2.xlsx row 10")]
    report = queue.intake("bot", mixed, "intake:o2.xlsx")
    assert report.added == ["C", "D", "E"] and report.already_queued == ["A"]
    assert report.updated_pending == ["C"]   # the second row of C, read after the first
    assert queue.get("bot", "C").data == {"qty": 9} and len(queue.items("bot")) == 5
    assert [h.message for h in queue.history("bot", "C")] == ["from o.xlsx row 3", "data updated from o2.xlsx row 9"]


def test_a_changed_row_for_a_done_item_is_reported_not_requeued(queue):
    queue.intake("bot", items("A"), "intake:o.xlsx")
    claimed = queue.claim("bot", "h:1:r1", 60, "r1")
    queue.complete(claimed.id, "h:1:r1", {"vars": {"confirmation": "CNF-1"}})
    again = queue.intake("bot", items("A", qty=5), "intake:o2.xlsx")
    assert again.changed_after_done == ["A"]
    item = queue.get("bot", "A")
    assert item.state == ItemState.DONE and item.data["qty"] == 1
    assert "not keyed again" in queue.history("bot", "A")[-1].message
    assert queue.claim("bot", "h:1:r2", 60, "r2") is None


def test_a_lease_is_exclusive_until_it_expires(queue, clock):
    queue.intake("bot", items("A"), "intake")
    first = queue.claim("bot", "host-x:1:r1", 60, "r1")
    assert first.reference == "A" and first.attempts == 1 and not first.recovered
    assert queue.claim("bot", "host-x:2:r2", 60, "r2") is None  # leased, and its owner may be alive elsewhere
    clock.now += 61
    second = queue.claim("bot", "host-x:2:r2", 60, "r2")
    assert second.reference == "A" and second.recovered and second.attempts == 2
    with pytest.raises(QueueError, match="no longer leased"):
        queue.complete(first.id, "host-x:1:r1", {})
    history = queue.history("bot", "A")
    assert "recovered from host-x:1:r1" in history[-1].message and history[-1].actor == "run:r2"


def test_an_item_held_by_a_runner_that_died_is_recovered_at_once(queue_url):
    """A runner process claims with the owner its backend names, starts to commit, and is gone (no
    cleanup): the next claim takes the item back long before its hour-long lease ends."""
    queue = open_queue(queue_url)
    queue.intake("bot", items("A"), "intake")
    script = ("import os, sys; from runner.work_queue import open_queue; q = open_queue(sys.argv[1]); "
              "owner = q.new_owner('r1'); c = q.claim('bot', owner, 3600, 'r1'); q.mark_committing(c.id, owner); "
              "print(owner, flush=True); os._exit(0)")
    died = subprocess.run([sys.executable, "-c", script, queue_url], capture_output=True, text=True, timeout=60)
    assert died.returncode == 0, died.stderr
    assert queue.get("bot", "A").state == ItemState.IN_PROGRESS
    recovered = queue.claim("bot", queue.new_owner("r2"), 3600, "r2")
    assert recovered is not None and recovered.reference == "A"
    assert recovered.recovered and recovered.commit_started  # the next attempt must look before it keys
    assert died.stdout.strip() in queue.history("bot", "A")[-1].message
    queue.close()


def test_system_exceptions_back_off_then_go_to_review(queue, clock):
    queue.intake("bot", items("A"), "intake")
    claimed = queue.claim("bot", "h:1:r", 60, "r")
    queue.system_exception(claimed.id, "h:1:r", "System busy", retry_in_s=30)
    assert queue.get("bot", "A").state == ItemState.PENDING
    assert queue.claim("bot", "h:1:r", 60, "r") is None  # backing off
    assert queue.seconds_until_due("bot") == 30
    clock.now += 10
    assert queue.seconds_until_due("bot") == 20
    clock.now += 21
    claimed = queue.claim("bot", "h:1:r", 60, "r")
    assert claimed.attempts == 2
    queue.system_exception(claimed.id, "h:1:r", "System busy again", retry_in_s=None)
    item = queue.get("bot", "A")
    assert item.state == ItemState.SYSTEM_EXCEPTION and item.last_error == "System busy again"
    assert queue.claim("bot", "h:1:r", 60, "r") is None  # in review: never retried by itself


def test_business_exceptions_wait_for_a_person_who_retries_or_skips(queue):
    queue.intake("bot", items("A", "B"), "intake")
    for _ in range(2):
        claimed = queue.claim("bot", "h:1:r", 60, "r")
        queue.business_exception(claimed.id, "h:1:r", "customer account closed")
    assert queue.claim("bot", "h:1:r", 60, "r") is None
    retried = queue.retry("bot", "A", "user:alice", {"qty": 3})
    assert retried.state == ItemState.PENDING and retried.data["qty"] == 3 and retried.attempts == 0
    with pytest.raises(QueueError, match="needs a reason"):
        queue.skip("bot", "B", "user:bob", " ")
    queue.skip("bot", "B", "user:bob", "customer left; agreed with sales")
    a_history = queue.history("bot", "A")
    assert (a_history[-1].actor, a_history[-1].to_state, a_history[-1].message) == ("user:alice", "pending", "retry with qty=3")
    b_history = queue.history("bot", "B")
    assert (b_history[-1].actor, b_history[-1].to_state) == ("user:bob", "skipped")
    assert b_history[-1].message == "customer left; agreed with sales"
    with pytest.raises(QueueError, match="no field colour"):
        queue.retry("bot", "B", "user:bob", {"colour": "red"})
    claimed = queue.claim("bot", "h:1:r", 60, "r")
    queue.complete(claimed.id, "h:1:r", {})
    with pytest.raises(QueueError, match="done and cannot be skipped"):
        queue.skip("bot", "A", "user:bob", "too late")


def test_age_buckets():
    day = 86400
    assert [age_bucket(d * day) for d in (0.5, 6.9, 7, 14, 14.5, 40)] == \
        [AGE_BUCKETS[0], AGE_BUCKETS[0], AGE_BUCKETS[1], AGE_BUCKETS[1], AGE_BUCKETS[2], AGE_BUCKETS[2]]


def _claim_all(url, owner, out):
    q = open_queue(url)
    got = []
    while (item := q.claim("bot", owner, 600, owner)) is not None:
        got.append(item.reference)
        q.complete(item.id, owner, {})
    out.put(got)


def test_two_processes_never_claim_the_same_item(queue_url):
    q = open_queue(queue_url)
    refs = [f"R{n:04d}" for n in range(300)]
    q.intake("bot", items(*refs), "intake")
    q.close()
    out = multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(target=_claim_all, args=(queue_url, f"h:{n}:p{n}", out))
             for n in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(results[0] + results[1]) == refs
    assert not set(results[0]) & set(results[1])


def test_reloading_an_old_file_does_not_undo_a_persons_correction(queue):
    queue.intake("bot", items("A", "B"), "intake")
    for _ in range(2):
        claimed = queue.claim("bot", "h:1:r", 60, "r")
        queue.business_exception(claimed.id, "h:1:r", "bad quantity")
    queue.retry("bot", "A", "user:alice", {"qty": 7})
    report = queue.intake("bot", items("A", "B", qty=2), "intake:old.xlsx")
    assert report.changed_in_review == ["A", "B"]
    assert queue.get("bot", "A").data["qty"] == 7 and queue.get("bot", "B").data["qty"] == 1


# -- choosing a backend ------------------------------------------------------------------------------
def test_a_project_names_its_queue_by_url_relative_to_the_project(tmp_path):
    (tmp_path / "backroom.yaml").write_text("queue: sqlite:///records/work.sqlite3\n")
    settings = load_settings(tmp_path)
    assert not queue_exists(settings.queue_url, tmp_path)
    queue = open_queue(settings.queue_url, tmp_path)
    queue.intake("bot", items("A"), "intake")
    queue.close()
    assert (tmp_path / "records" / "work.sqlite3").is_file()
    assert queue_exists(settings.queue_url, tmp_path)
    assert describe_queue(settings.queue_url, tmp_path) == str(tmp_path / "records" / "work.sqlite3")


def test_unset_the_queue_follows_logs_dir_and_queue_path_still_means_a_sqlite_file(tmp_path):
    (tmp_path / "backroom.yaml").write_text("logs_dir: var/logs\n")
    assert load_settings(tmp_path).queue_url == "sqlite:///var/logs/queue.sqlite3"
    (tmp_path / "backroom.yaml").write_text("queue_path: old/queue.sqlite3\n")
    assert load_settings(tmp_path).queue_url == "sqlite:///old/queue.sqlite3"
    (tmp_path / "backroom.yaml").write_text("queue_path: old/queue.sqlite3\nqueue: sqlite:///new.sqlite3\n")
    with pytest.raises(ConfigurationError, match="keep queue"):
        load_settings(tmp_path)


def test_an_unknown_backend_or_a_sqlite_url_without_a_file_is_refused_with_what_to_write(tmp_path):
    with pytest.raises(ConfigurationError,
                       match=r"no queue backend for 'mssql://' \(known: postgresql://, sqlite://\)") as e:
        open_queue("mssql://backroom@db/queue", tmp_path)
    assert "sqlite:///logs/queue.sqlite3" in e.value.hint
    # a server that cannot be reached is said plainly, its password never
    with pytest.raises(ConfigurationError, match=r"queue postgresql://backroom:\*\*\*@nowhere.invalid/queue: cannot "
                                                 r"connect") as e:
        open_queue("postgresql://backroom:S3cret@nowhere.invalid/queue", tmp_path)
    assert "S3cret" not in str(e.value) and "PGPASSWORD" in e.value.hint
    with pytest.raises(ConfigurationError, match="needs a file"):
        open_queue("sqlite://", tmp_path)
    assert not any(tmp_path.iterdir())


def test_an_item_keyed_outside_a_run_is_done_and_never_keyed_again(queue):
    queue.intake("bot", items("B"), "intake:o.xlsx")
    assert queue.record_done("bot", items("A")[0], "record:enter.yaml", "keyed while recording recipes/enter.yaml")
    assert queue.record_done("bot", items("B")[0], "record:enter.yaml", "keyed while recording")   # pending: done
    assert queue.get("bot", "A").state == ItemState.DONE and queue.get("bot", "B").state == ItemState.DONE
    assert queue.history("bot", "A")[-1].actor == "record:enter.yaml"
    # what the recording read is the item's: its output columns, and a number no other item may read again
    assert queue.record_done("bot", items("D")[0], "record:enter.yaml", "keyed while recording",
                             {"issue_id": "41"}, {"Issue": "41"})
    assert queue.get("bot", "D").result["output"] == {"Issue": "41"}
    assert queue.holder_of("bot", "issue_id", "41", other_than="E") == "D"
    report = queue.intake("bot", items("A", "B"), "intake:o.xlsx")
    assert report.already_done == ["A", "B"] and queue.claim("bot", "h:1:r", 60, "r") is None
    queue.intake("bot", items("C"), "intake:o.xlsx")
    claimed = queue.claim("bot", "h:1:r", 60, "r")
    queue.business_exception(claimed.id, "h:1:r", "bad data")
    assert not queue.record_done("bot", items("C")[0], "record:x", "keyed")   # in review: a person decides
    assert queue.get("bot", "C").state == ItemState.BUSINESS_EXCEPTION
    assert queue.retry("bot", "A", "user:alice").state == ItemState.PENDING   # it was not saved after all
    claimed = queue.claim("bot", "h:1:r", 60, "r")
    queue.complete(claimed.id, "h:1:r", {})
    with pytest.raises(QueueError, match="only items in review or skipped"):
        queue.retry("bot", "A", "user:alice")                                # done by a run: final


def test_a_runner_registers_beats_and_is_lost_when_it_stops_beating(queue, clock):
    from runner.work_queue import RunnerRecord

    me = queue.register_runner(RunnerRecord("night-1", "host-a", 4242, ["rekey-orders"], "1.0", heartbeat_s=10))
    assert (me.status, me.bots, me.seen_ago) == ("alive", ["rekey-orders"], 0)
    with pytest.raises(ConfigurationError, match="night-1.*in use.*host-a"):   # a second one of the same name
        queue.register_runner(RunnerRecord("night-1", "host-b", 99, ["rekey-orders"], "1.0", heartbeat_s=10))
    clock.now += 25
    assert queue.runner_seen("night-1", "host-a", 4242, "rekey-orders", "SO-1", "run-1")
    [seen] = queue.runners()
    assert (seen.status, seen.reference, seen.run_id, seen.seen_ago) == ("alive", "SO-1", "run-1", 0)
    clock.now += 31   # three heartbeats missed: lost, its item shown as it was
    [lost] = queue.runners()
    assert (lost.status, lost.reference) == ("lost", "SO-1")
    # a lost runner's name may be taken; the old process's heartbeats then no longer count
    queue.register_runner(RunnerRecord("night-1", "host-b", 99, ["rekey-orders"], "1.0", heartbeat_s=10))
    assert not queue.runner_seen("night-1", "host-a", 4242)
    queue.runner_stopped("night-1", "host-b", 99, "stopped by SIGTERM")
    [stopped] = queue.runners()
    assert (stopped.status, stopped.host, stopped.message, stopped.reference) == ("stopped", "host-b",
                                                                                 "stopped by SIGTERM", None)


def test_the_run_registry_records_each_run_once_with_its_outcome(queue, clock):
    from runner.work_queue import RunRecord

    queue.record_run(RunRecord("rekey-orders", "run-1", "night-1", "host-a", "/srv/logs"))
    clock.now += 60
    queue.record_run(RunRecord("rekey-orders", "run-2", "cli", "host-b", "/home/ops/logs"))
    queue.record_run(RunRecord("rekey-orders", "run-1", "night-1", "host-a", "/srv/logs", outcome="success"))
    first, second = queue.runs("rekey-orders")
    assert (first.run_id, first.outcome, first.ended_at - first.started_at) == ("run-1", "success", 60)
    assert (second.run_id, second.outcome, second.ended_at, second.logs_dir) == ("run-2", None, None, "/home/ops/logs")
    assert queue.runs("other-bot") == []


def test_an_item_to_take_back_counts_as_work_even_when_nothing_is_pending(queue, clock):
    """An idle runner looks for work with has_claimable: an item a stopped runner held is work too."""
    assert not queue.has_claimable("bot")
    queue.intake("bot", items("A"), "intake:o.xlsx")
    assert queue.has_claimable("bot")
    queue.claim("bot", "other-host:4242:r1", 60, "r1")   # a runner on another machine holds it
    assert not queue.has_claimable("bot")
    clock.now += 61                                      # and stopped beating: its lease ran out
    assert queue.has_claimable("bot")
    assert queue.claim("bot", "this-host:1:r2", 60, "r2").recovered
    assert not queue.has_claimable("bot")
