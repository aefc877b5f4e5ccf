"""Matching ledger lines against statement lines, the way a careful clerk does it, in order:

1. suspected duplicates on either side are set aside (never matched, listed for a person);
2. the same reference (one to one; a payment naming several invoices; part payments of one
   invoice carrying its reference), with amounts equal within the tolerance;
3. the same amount within the date window, exact amounts first, then within the tolerance;
4. one payment covering several invoices, and several payments for one invoice, by a bounded
   search over the nearest candidates (the bound and how often it was reached are reported).

Amounts are integers of the currency's minor unit internally (exact, and fast over 100,000
lines); every line is used at most once.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

LEDGER, STATEMENT = "ledger", "statement"

RULE_REFERENCE = "reference"
RULE_REFERENCE_SEVERAL = "reference: one payment, several invoices"
RULE_REFERENCE_PARTS = "reference: part payments of one invoice"
RULE_AMOUNT_DATE = "amount and date"
RULE_TOLERANCE_DATE = "amount within tolerance and date"
RULE_MANY_TO_ONE = "amount: one payment, several invoices"
RULE_ONE_TO_MANY = "amount: several payments, one invoice"

_TOKEN_SPLIT = re.compile(r"[\s,;/&+]+")


@dataclass
class Line:
    side: str                 # ledger or statement
    index: int                # position on its side, in input order
    reference: str
    on: date
    amount: Decimal
    minor: int                # amount in the currency's minor unit (cents)
    account: str = ""
    description: str = ""
    source: str = ""          # where it was read: statement.xlsx!A7, BILLSYS ledger page 2 row 5

    @property
    def key(self) -> str:
        return normal_reference(self.reference)


@dataclass
class Match:
    rule: str
    ledger: list[Line]
    statement: list[Line]

    @property
    def ledger_total(self) -> int:
        return sum(line.minor for line in self.ledger)

    @property
    def statement_total(self) -> int:
        return sum(line.minor for line in self.statement)

    @property
    def difference(self) -> int:
        """Statement minus ledger, in minor units; non-zero only for tolerance matches."""
        return self.statement_total - self.ledger_total


@dataclass
class Duplicate:
    line: Line
    first: Line               # the line it repeats, which stays in the matching


@dataclass
class MatchRules:
    date_window_days: int = 3
    tolerance_minor: int = 0          # e.g. 5 = five cents
    group_max_lines: int = 4          # at most this many lines on the "several" side
    group_max_candidates: int = 15    # nearest candidates considered per search
    group_max_steps: int = 20_000     # combinations tried per search before giving up
    same_account: bool = True         # when both sides name an account, it must agree


@dataclass
class GroupSearchStats:
    searched: int = 0
    found: int = 0
    candidates_cut: int = 0     # searches that had more candidates than group_max_candidates
    steps_exhausted: int = 0    # searches stopped by group_max_steps
    steps: int = 0


@dataclass
class Reconciliation:
    matches: list[Match] = field(default_factory=list)
    unmatched_ledger: list[Line] = field(default_factory=list)
    unmatched_statement: list[Line] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    group_search: GroupSearchStats = field(default_factory=GroupSearchStats)
    # Unmatched line index -> a hint for the reviewer (same reference with another amount ...)
    hints: dict[tuple[str, int], str] = field(default_factory=dict)


def normal_reference(reference: str) -> str:
    return re.sub(r"\s+", "", reference or "").upper()


def reference_tokens(reference: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split((reference or "").upper()) if t]


class _Pool:
    """The lines of one side still free to match, indexed by amount and by date."""

    def __init__(self, lines: list[Line]):
        self.free = {line.index: line for line in lines}
        self.by_minor: dict[int, list[Line]] = defaultdict(list)
        self.by_ref: dict[str, list[Line]] = defaultdict(list)
        for line in sorted(lines, key=lambda ln: (ln.on, ln.index)):
            self.by_minor[line.minor].append(line)
            if line.key:
                self.by_ref[line.key].append(line)
        self.minors = sorted(self.by_minor)

    def take(self, line: Line) -> None:
        del self.free[line.index]

    def is_free(self, line: Line) -> bool:
        return line.index in self.free

    def near_amount(self, minor: int, tolerance: int) -> list[Line]:
        lo, hi = bisect_left(self.minors, minor - tolerance), bisect_right(self.minors, minor + tolerance)
        found = []
        for key in self.minors[lo:hi]:
            bucket = self.by_minor[key]
            bucket[:] = [ln for ln in bucket if ln.index in self.free]  # drop used lines as we pass
            found.extend(bucket)
        return found


def _accounts_agree(a: Line, b: Line, rules: MatchRules) -> bool:
    return not rules.same_account or not a.account or not b.account or a.account == b.account


def _days(a: Line, b: Line) -> int:
    return abs((a.on - b.on).days)


def find_duplicates(lines: list[Line]) -> tuple[list[Line], list[Duplicate]]:
    """Same reference, amount and date (or, without a reference, same amount, date and text)."""
    first_seen: dict[tuple, Line] = {}
    kept, duplicates = [], []
    for line in lines:
        key = (line.key, line.minor, line.on) if line.key else ("", line.minor, line.on, line.description.strip().upper())
        if key in first_seen:
            duplicates.append(Duplicate(line, first_seen[key]))
        else:
            first_seen[key] = line
            kept.append(line)
    return kept, duplicates


def reconcile(ledger: list[Line], statement: list[Line], rules: MatchRules | None = None) -> Reconciliation:
    rules = rules or MatchRules()
    result = Reconciliation()
    ledger_kept, dup_ledger = find_duplicates(ledger)
    statement_kept, dup_statement = find_duplicates(statement)
    result.duplicates = dup_ledger + dup_statement
    ledger_pool, statement_pool = _Pool(ledger_kept), _Pool(statement_kept)

    def record(rule: str, ledger_lines: list[Line], statement_lines: list[Line]) -> None:
        for line in ledger_lines:
            ledger_pool.take(line)
        for line in statement_lines:
            statement_pool.take(line)
        result.matches.append(Match(rule, ledger_lines, statement_lines))

    _match_references(ledger_pool, statement_pool, rules, record)
    _match_amounts(ledger_pool, statement_pool, rules, record, tolerance=0, rule=RULE_AMOUNT_DATE)
    if rules.tolerance_minor:
        _match_amounts(ledger_pool, statement_pool, rules, record, tolerance=rules.tolerance_minor,
                       rule=RULE_TOLERANCE_DATE)
    _match_groups(statement_pool, ledger_pool, rules, result.group_search,
                  lambda one, several: record(RULE_MANY_TO_ONE, several, [one]))
    _match_groups(ledger_pool, statement_pool, rules, result.group_search,
                  lambda one, several: record(RULE_ONE_TO_MANY, [one], several))
    result.unmatched_ledger = sorted(ledger_pool.free.values(), key=lambda ln: ln.index)
    result.unmatched_statement = sorted(statement_pool.free.values(), key=lambda ln: ln.index)
    _explain_unmatched(result, ledger_pool, statement_pool)
    return result


def _match_references(ledger: _Pool, statement: _Pool, rules: MatchRules, record) -> None:
    tol = rules.tolerance_minor
    for line in sorted(statement.free.values(), key=lambda ln: ln.index):
        if not line.key:
            continue
        same = [c for c in ledger.by_ref.get(line.key, ()) if ledger.is_free(c) and _accounts_agree(c, line, rules)]
        best = min(same, key=lambda c: (abs(c.minor - line.minor), _days(c, line), c.index), default=None)
        if best is not None and abs(best.minor - line.minor) <= tol:
            record(RULE_REFERENCE, [best], [line])
            continue
        tokens = reference_tokens(line.reference)
        if len(tokens) > 1:  # "INV-1001 / INV-1002": one payment naming several invoices
            named = []
            for token in dict.fromkeys(tokens):
                free = [c for c in ledger.by_ref.get(token, ()) if ledger.is_free(c) and _accounts_agree(c, line, rules)]
                if free:
                    named.append(free[0])
            if len(named) > 1 and abs(sum(c.minor for c in named) - line.minor) <= tol:
                record(RULE_REFERENCE_SEVERAL, named, [line])
    for invoice in sorted(ledger.free.values(), key=lambda ln: ln.index):
        if not invoice.key:
            continue
        parts = [p for p in statement.by_ref.get(invoice.key, ()) if statement.is_free(p)
                 and _accounts_agree(invoice, p, rules)]
        if len(parts) > 1 and abs(sum(p.minor for p in parts) - invoice.minor) <= tol:
            record(RULE_REFERENCE_PARTS, [invoice], parts)


def _match_amounts(ledger: _Pool, statement: _Pool, rules: MatchRules, record, tolerance: int, rule: str) -> None:
    window = rules.date_window_days
    for line in sorted(statement.free.values(), key=lambda ln: (ln.on, ln.index)):
        best, best_key = None, None
        for candidate in ledger.near_amount(line.minor, tolerance):
            days = _days(candidate, line)
            if days > window or not _accounts_agree(candidate, line, rules):
                continue
            key = (abs(candidate.minor - line.minor), days, candidate.index)
            if best_key is None or key < best_key:
                best, best_key = candidate, key
        if best is not None:
            record(rule, [best], [line])


class _DateIndex:
    """Free lines of one side sorted by date, per account and all together, to find the nearest fast."""

    ALL = object()

    def __init__(self, pool: _Pool):
        self.lines: dict[object, list[Line]] = defaultdict(list)
        for line in sorted(pool.free.values(), key=lambda ln: (ln.on, ln.index)):
            self.lines[line.account].append(line)
            self.lines[self.ALL].append(line)
        self.ordinals = {key: [ln.on.toordinal() for ln in lines] for key, lines in self.lines.items()}

    def around(self, line: Line, window: int, rules: MatchRules) -> list[Line]:
        # A line naming an account may only pair with that account's lines or lines naming none.
        keys = [line.account, ""] if (rules.same_account and line.account) else [self.ALL]
        day, found = line.on.toordinal(), []
        for key in keys:
            if key in self.lines:
                ords = self.ordinals[key]
                found.extend(self.lines[key][bisect_left(ords, day - window):bisect_right(ords, day + window)])
        return found


def _match_groups(one_side: _Pool, several_side: _Pool, rules: MatchRules, stats: GroupSearchStats, record) -> None:
    """For each free line on one side, look for 2..N free lines on the other that add up to it."""
    if rules.group_max_lines < 2 or not one_side.free or not several_side.free:
        return
    index = _DateIndex(several_side)
    tol = rules.tolerance_minor
    for line in sorted(one_side.free.values(), key=lambda ln: (ln.on, ln.index)):
        if not one_side.is_free(line):
            continue
        sign = 1 if line.minor >= 0 else -1
        candidates = [c for c in index.around(line, rules.date_window_days, rules)
                      if several_side.is_free(c) and c.minor * sign > 0 and abs(c.minor) <= abs(line.minor) + tol
                      and _accounts_agree(c, line, rules)]
        if len(candidates) < 2:
            continue
        stats.searched += 1
        if len(candidates) > rules.group_max_candidates:
            stats.candidates_cut += 1
            candidates.sort(key=lambda c: (_days(c, line), c.index))
            candidates = candidates[:rules.group_max_candidates]
        found, steps, exhausted = _subset_sum(candidates, line.minor, tol, rules.group_max_lines, rules.group_max_steps)
        stats.steps += steps
        stats.steps_exhausted += exhausted
        if found:
            stats.found += 1
            record(line, sorted(found, key=lambda c: c.index))


def _subset_sum(candidates: list[Line], target: int, tol: int, max_lines: int, max_steps: int):
    """Depth-first search for 2..max_lines candidates summing to target within tol; bounded by steps."""
    ordered = sorted(candidates, key=lambda c: -abs(c.minor))
    steps = 0
    chosen: list[Line] = []

    def search(start: int, total: int) -> bool:
        nonlocal steps
        for i in range(start, len(ordered)):
            steps += 1
            if steps > max_steps:
                return False
            candidate = ordered[i]
            new_total = total + candidate.minor
            if abs(new_total) > abs(target) + tol:
                continue
            chosen.append(candidate)
            if len(chosen) >= 2 and abs(new_total - target) <= tol:
                return True
            if len(chosen) < max_lines and search(i + 1, new_total):
                return True
            chosen.pop()
        return False

    found = search(0, 0)
    return (list(chosen) if found else None), steps, int(steps > max_steps)


def _explain_unmatched(result: Reconciliation, ledger: _Pool, statement: _Pool) -> None:
    """Tell the reviewer what came close: the same reference with another amount."""
    for line in result.unmatched_statement:
        same = ledger.by_ref.get(line.key, []) if line.key else []
        if same:
            other = same[0]
            state = "unmatched" if ledger.is_free(other) else "already matched"
            result.hints[(STATEMENT, line.index)] = (
                f"ledger has reference {other.reference} for {other.amount} ({state}, {other.source})")
    for line in result.unmatched_ledger:
        same = statement.by_ref.get(line.key, []) if line.key else []
        if same:
            other = same[0]
            result.hints[(LEDGER, line.index)] = (
                f"statement has reference {other.reference} for {other.amount} ({other.source})")
