"""The recorder keeps the number a read after a save shows, not the sentence around it, and writes the pattern
that finds it again: what two applications nobody here wrote show ('Item 4 has been inserted. 12:08:51',
'Issue2 Editing', '#2') and what a legacy screen shows ('CNF-100041')."""

from __future__ import annotations

import re

import pytest

from runner.recorder.key_pattern import key_pattern

CASES = [
    ("Item 4 has been inserted. 12:08:51", "", "Item (\\d+)", "4"),     # the time is never the number
    ("#2", "", "#(\\d+)", "2"),
    ("Issue2 Editing", "", "Issue(\\d+)", "2"),
    ("CNF-100041", "", "^(CNF-\\d+)$", "CNF-100041"),
    ("4", "", "^(\\d+)$", "4"),
    ("issue 3 created", "", "issue (\\d+)", "3"),
    ("msg 7 created / issue 3 created", "http://h/issue3", "issue (\\d+)", "3"),   # the number the address holds
    # both numbers are in the address: the one whose word is in its path
    ("msg 1 created issue 1 created", "http://h:8080/issue1?@ok_message=msg%201%20created", "issue (\\d+)", "1"),
    ("Saved on 24/11/2026 as SO-17", "", "as (SO-\\d+)", "SO-17"),      # a date is never the number
]


@pytest.mark.parametrize("text,address,pattern,kept", CASES)
def test_the_number_is_kept_out_of_the_words_around_it(text, address, pattern, kept):
    found = key_pattern(text, address)
    assert found is not None and (found.pattern, found.kept) == (pattern, kept)
    match = re.search(found.pattern, text)
    assert match.group(1) == kept
    # the same words around another record's number: the pattern keeps that number
    another = re.sub(r"\d+", "981", kept)
    other = text[:match.start(1)] + another + text[match.end(1):]
    assert re.search(found.pattern, other).group(1) == another


def test_no_number_no_pattern():
    assert key_pattern("Saved.") is None and key_pattern("at 12:08:51 on 2026-12-03") is None
