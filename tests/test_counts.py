"""The one count of a run's items, in the words every surface uses."""

from __future__ import annotations

import pytest

from runner.work_queue.counts import ItemCounts, count_items, counted


def test_each_item_is_counted_once_under_its_last_outcome_in_the_bots_word():
    counts = count_items([("C001-2026-10", "pending"), ("C002-2026-10", "done"), ("C001-2026-10", "done"),
                          ("C003-2026-10", "business_exception"), ("J-7", "rejected"), ("C004-2026-10", None),
                          ("C005-2026-10", "skipped")], unit="invoices", rows=14)
    assert (counts.done, counts.review, counts.skipped, counts.not_started, counts.retrying) == (2, 2, 1, 1, 0)
    assert counts.total == 6 and counts.finished == 5
    assert counts.text() == "6 invoices from 14 input rows: 2 done, 2 for review, 1 skipped, 1 not started"


def test_one_item_one_row_and_a_run_without_input():
    assert count_items({"SO-1": "done"}, "orders", rows=1).text() == "1 order from 1 input row: 1 done"
    assert count_items({}, "payments").text() == "0 payments: 0 done"
    assert counted(1, "items") == "1 item" and counted(2, "business") == "2 business" and counted(1, "class") == "1 class"


def test_at_the_end_items_waiting_for_a_retry_are_not_started_and_a_bar_leaves_them_out():
    live = count_items({"a": "pending", "b": "done", "c": None}, "orders")
    assert live.parts() == ["1 done", "1 retrying", "1 not started"]
    assert live.parts(waiting=False) == ["1 done", "1 retrying"]
    assert live.ended().parts() == ["1 done", "2 not started"] and live.ended().total == live.total


def test_counts_survive_a_runs_last_event_and_older_runs_are_grouped_the_same_way():
    counts = count_items({"a": "done", "b": "system_exception"}, "orders", rows=2)
    assert ItemCounts.from_data(counts.as_data()) == counts
    older = ItemCounts.from_data({"done": 17, "business_exception": 1, "rejected": 2, "not_started": 3})
    assert older.text() == "23 items: 17 done, 3 for review, 3 not started"
    assert ItemCounts.from_data({}) is None and ItemCounts.from_data(None) is None


def test_an_outcome_nobody_knows_is_an_error_not_a_silent_zero():
    with pytest.raises(ValueError, match="no count for the outcome 'vanished'"):
        count_items({"a": "vanished"})
