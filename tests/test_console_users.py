"""Console users and sessions on a real SQLite file, with a clock the test moves; and the dashboard's
figures from a real work queue whose history the test writes at known times."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import pytest

from runner.project.bot import load_bot
from runner.console.figures import compute_figures
from runner.console.users import MAX_FAILURES, UserError, UserStore
from runner.intake.work_item import WorkItem
from runner.work_queue import open_queue


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_passwords_are_hashed_and_sessions_end_when_idle_old_revoked_or_disabled(tmp_path):
    clock = Clock()
    store = UserStore(tmp_path / "users.sqlite3", idle_s=600, max_s=3600, clock=clock)
    store.add("olga", ["operator"], "olga-operates-42")
    with pytest.raises(UserError, match="at least 10 characters"):
        store.add("short", ["operator"], "short")
    with pytest.raises(UserError, match="choose from operator, auditor, admin"):
        store.add("root", ["superuser"], "long-enough-123")
    with pytest.raises(UserError, match="already exists"):
        store.add("olga", ["auditor"], "another-pass-123")
    stored = sqlite3.connect(tmp_path / "users.sqlite3").execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "olga-operates-42" not in stored

    assert store.verify("olga", "wrong-password") is None
    user = store.verify("olga", "olga-operates-42")
    session = store.start_session(user)
    clock.now += 500
    assert store.session_user(session.session_token).name == "olga"   # used: the idle time starts again
    clock.now += 500
    assert store.session_user(session.session_token) is not None
    clock.now += 601
    assert store.session_user(session.session_token) is None          # idle too long
    session = store.start_session(user)
    for _ in range(7):
        clock.now += 500
        assert store.session_user(session.session_token) is not None   # in use all along
    clock.now += 150
    assert store.session_user(session.session_token) is None          # older than the longest session

    session = store.start_session(user)
    store.set_password("olga", "olga-new-pass-43")
    assert store.session_user(session.session_token) is None          # a new password ends sessions
    session = store.start_session(store.verify("olga", "olga-new-pass-43"))
    store.set_disabled("olga", True)
    assert store.session_user(session.session_token) is None
    assert store.verify("olga", "olga-new-pass-43") is None           # disabled: cannot sign in
    store.set_disabled("olga", False)
    store.end_session(store.start_session(store.verify("olga", "olga-new-pass-43")).session_token)


def test_wrong_passwords_lock_a_name_for_a_while(tmp_path):
    clock = Clock()
    store = UserStore(tmp_path / "users.sqlite3", clock=clock)
    store.add("abe", ["auditor"], "abe-audits-4242")
    for _ in range(MAX_FAILURES):
        assert store.verify("abe", "guess-guess-guess") is None
    assert store.locked_out("abe")
    assert store.verify("abe", "abe-audits-4242") is None             # even the right password, for now
    clock.now += 15 * 60 + 1
    assert store.verify("abe", "abe-audits-4242").name == "abe"


def test_dashboard_figures_from_a_queue_history(project, tmp_path):
    clock = Clock(datetime(2026, 11, 23, 15, 0).timestamp())
    queue = open_queue(tmp_path / "queue.sqlite3", clock=clock)
    jobs = [WorkItem(f"INV-{n}", {"jobs": [{"completed": date(2026, 11, 23 - 3 * n)}, {"completed": date(2026, 11, 20)}],
                                  "covers": []}, "jobs.xlsx") for n in (1, 2)]
    orders = [WorkItem(f"SO-{n}", {"quantity": n}, "orders.xlsx") for n in range(1, 6)]
    clock.now -= 20 * 86400                                     # items arrive 20 days ago
    queue.intake("rekey-orders", orders[:3], "intake:orders.xlsx")
    queue.intake("issue-invoices", jobs, "intake:jobs.xlsx")
    clock.now += 20 * 86400 - 3600                              # an hour ago, the runs
    first = queue.claim("rekey-orders", "run:a", 300, "a")      # SO-1: done first time in 90 s
    clock.now += 90
    queue.complete(first.id, "run:a", {})
    second = queue.claim("rekey-orders", "run:a", 300, "a")     # SO-2: fails once, retried, done
    clock.now += 30
    queue.system_exception(second.id, "run:a", "busy", retry_in_s=0)
    third = queue.claim("rekey-orders", "run:a", 300, "a")      # SO-3: to review
    queue.business_exception(third.id, "run:a", "unknown customer")
    again = queue.claim("rekey-orders", "run:a", 300, "a")
    clock.now += 30
    queue.complete(again.id, "run:a", {})
    assert [first.reference, second.reference, third.reference, again.reference] == ["SO-1", "SO-2", "SO-3", "SO-2"]
    queue.intake("rekey-orders", orders[3:], "intake:orders-2.xlsx")
    for _ in jobs:
        claimed = queue.claim("issue-invoices", "run:b", 300, "b")
        clock.now += 60
        queue.complete(claimed.id, "run:b", {})
    items = queue.items()
    changes = queue.changes_since(clock.now - 30 * 86400)
    queue.close()
    bots = {"issue-invoices": load_bot(project, "issue-invoices"), "rekey-orders": load_bot(project, "rekey-orders")}
    figures = compute_figures(items, changes, bots, now=clock.now)

    assert figures.backlog == 2 and figures.in_progress == 0         # SO-4, SO-5 wait
    assert figures.review_by_age == {"1-6 days": 0, "7-14 days": 0, "14+ days": 1}   # SO-3 arrived 20 days ago
    assert figures.done_24h == 4 and figures.throughput_per_hour == pytest.approx(4 / 24)
    # finished: SO-1, SO-2, SO-3, INV-1, INV-2; first time done: SO-1 and both invoices
    assert figures.finished_in_window == 5 and figures.first_pass_rate == pytest.approx(3 / 5)
    assert figures.average_handling_s == pytest.approx((90 + 30 + 60 + 60) / 4)
    (lead,) = figures.lead_times
    assert lead.label == "days from job done to invoice" and lead.count == 4
    assert lead.average_days == pytest.approx((3 + 3 + 6 + 3) / 4)     # jobs of 20, 20, 17, 20 Nov invoiced 23 Nov
    assert sum(done for _, done in figures.daily_done) == 4 and figures.daily_review[-1][1] == 1
