"""Generated receivables ledgers and bank statements with a known answer.

Every case a reconciliation must handle is generated on purpose (payment by reference,
by amount and date, within tolerance, one payment for several invoices, part payments,
an unpaid invoice, an unknown receipt, a receipt the bank posted twice), and the answer
is returned with it so a test can check every pair. With `isolated=True` each case sits in
its own stretch of days, so no case can be matched to another by chance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

CASES = ("reference", "amount", "tolerance", "several_by_reference", "parts_by_reference", "many_to_one",
         "one_to_many", "unpaid", "unknown_receipt", "bank_duplicate", "ledger_duplicate")


@dataclass
class LedgerRow:
    reference: str
    account: str
    on: date
    amount: Decimal
    description: str = ""


@dataclass
class StatementRow:
    txn: str                  # the bank's transaction id, in the description
    reference: str
    account: str
    on: date
    amount: Decimal

    @property
    def description(self) -> str:
        return f"Receipt {self.txn}"


@dataclass
class Expected:
    rule: str                      # a matching rule name, or unmatched_ledger / unmatched_statement / duplicate
    ledger: tuple[str, ...]        # ledger references
    statement: tuple[str, ...]     # statement transaction ids


@dataclass
class Sample:
    ledger: list[LedgerRow] = field(default_factory=list)
    statement: list[StatementRow] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    opening_balance: Decimal = Decimal("0.00")

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((s.amount for s in self.statement), Decimal("0.00"))

    def as_lines(self):
        """(ledger, statement) as matching lines; statement lines carry their transaction id as description."""
        from runner.reconcile.matching import LEDGER, STATEMENT, Line

        ledger = [Line(LEDGER, i, r.reference, r.on, r.amount, int(r.amount * 100), r.account, r.description,
                       f"ledger {i}") for i, r in enumerate(self.ledger)]
        statement = [Line(STATEMENT, i, r.reference, r.on, r.amount, int(r.amount * 100), r.account, r.txn,
                          f"statement {i}") for i, r in enumerate(self.statement)]
        return ledger, statement


def make_sample(count: int, seed: int = 7, *, isolated: bool = True, window_days: int = 3,
                tolerance: Decimal = Decimal("0.05"), start: date = date(2026, 1, 5),
                weights: dict[str, int] | None = None) -> Sample:
    """About `count` ledger lines, with statement lines to match, in random but known cases."""
    from runner.reconcile.matching import (RULE_AMOUNT_DATE, RULE_MANY_TO_ONE, RULE_ONE_TO_MANY, RULE_REFERENCE,
                                           RULE_REFERENCE_PARTS, RULE_REFERENCE_SEVERAL, RULE_TOLERANCE_DATE)

    rng = random.Random(seed)
    weights = weights or {"reference": 40, "amount": 25, "tolerance": 8, "several_by_reference": 4,
                          "parts_by_reference": 4, "many_to_one": 5, "one_to_many": 5, "unpaid": 4,
                          "unknown_receipt": 3, "bank_duplicate": 1, "ledger_duplicate": 1}
    names, chances = zip(*weights.items())
    sample = Sample(opening_balance=Decimal("10000.00"))
    used_cents: set[int] = set()
    counters = {"inv": 100000, "txn": 500000}

    def amount() -> Decimal:
        while True:  # distinct amounts: no two cases can pair by chance
            cents = rng.randint(5_000, 9_999_999)
            if isolated and any(c in used_cents for c in range(cents - 10, cents + 11)):
                continue
            used_cents.add(cents)
            return Decimal(cents).scaleb(-2)

    def invoice(account: str, on: date, value: Decimal) -> LedgerRow:
        counters["inv"] += 1
        row = LedgerRow(f"INV-{counters['inv']}", account, on, value, "Invoice")
        sample.ledger.append(row)
        return row

    def receipt(account: str, on: date, value: Decimal, reference: str = "") -> StatementRow:
        counters["txn"] += 1
        row = StatementRow(f"TXN{counters['txn']}", reference, account, on, value)
        sample.statement.append(row)
        return row

    def part_of(value: Decimal) -> Decimal:
        # never half: two equal parts on one day with one reference are rightly suspected duplicates
        return (value * Decimal(rng.choice([*range(20, 45), *range(56, 81)])) / 100).quantize(Decimal("0.01"))

    def expect(rule: str, ledger: list[LedgerRow], statement: list[StatementRow]) -> None:
        sample.expected.append(Expected(rule, tuple(r.reference for r in ledger), tuple(s.txn for s in statement)))

    slot = 0
    while len(sample.ledger) < count:
        case = rng.choices(names, chances)[0]
        if isolated:
            day = start + timedelta(days=slot * (2 * window_days + 3))
        else:
            day = start + timedelta(days=rng.randint(0, 364))
        slot += 1
        account = f"C{rng.randint(1, 30):03d}" if not isolated else f"C{slot % 30 + 1:03d}"
        late = timedelta(days=rng.randint(0, window_days))
        if case == "reference":
            inv = invoice(account, day, amount())
            expect(RULE_REFERENCE, [inv], [receipt(account, day + late, inv.amount, inv.reference)])
        elif case == "amount":
            inv = invoice(account, day, amount())
            expect(RULE_AMOUNT_DATE, [inv], [receipt(account, day + late, inv.amount)])
        elif case == "tolerance":
            inv = invoice(account, day, amount())
            fee = Decimal(rng.randint(1, int(tolerance * 100))).scaleb(-2)
            expect(RULE_TOLERANCE_DATE, [inv], [receipt(account, day + late, inv.amount - fee)])
        elif case == "several_by_reference":
            invs = [invoice(account, day, amount()) for _ in range(rng.randint(2, 3))]
            total = sum((i.amount for i in invs), Decimal(0))
            ref = " / ".join(i.reference for i in invs)
            expect(RULE_REFERENCE_SEVERAL, invs, [receipt(account, day + late, total, ref)])
        elif case == "parts_by_reference":
            inv = invoice(account, day, amount())
            first = part_of(inv.amount)
            parts = [receipt(account, day + late, first, inv.reference),
                     receipt(account, day + late, inv.amount - first, inv.reference)]
            expect(RULE_REFERENCE_PARTS, [inv], parts)
        elif case == "many_to_one":
            invs = [invoice(account, day, amount()) for _ in range(rng.randint(2, 3))]
            total = sum((i.amount for i in invs), Decimal(0))
            expect(RULE_MANY_TO_ONE, invs, [receipt(account, day + late, total)])
        elif case == "one_to_many":
            inv = invoice(account, day, amount())
            first = part_of(inv.amount)
            expect(RULE_ONE_TO_MANY, [inv], [receipt(account, day + late, first),
                                             receipt(account, day + late, inv.amount - first)])
        elif case == "unpaid":
            expect("unmatched_ledger", [invoice(account, day, amount())], [])
        elif case == "unknown_receipt":
            expect("unmatched_statement", [], [receipt(account, day, amount(), f"UNKNOWN-{slot}")])
        elif case == "bank_duplicate":
            inv = invoice(account, day, amount())
            paid = receipt(account, day + late, inv.amount, inv.reference)
            twice = receipt(account, paid.on, paid.amount, paid.reference)
            expect(RULE_REFERENCE, [inv], [paid])
            expect("duplicate", [], [twice])
        elif case == "ledger_duplicate":
            inv = invoice(account, day, amount())
            again = invoice(account, day, inv.amount)
            again.reference = inv.reference
            expect(RULE_REFERENCE, [inv], [receipt(account, day + late, inv.amount, inv.reference)])
            expect("duplicate", [again], [])
    sample.statement.sort(key=lambda s: (s.on, s.txn))  # a bank statement is in date order, not the ledger's
    return sample


STATEMENT_HEADERS = ["Date", "Reference", "Description", "Customer", "Amount"]


def write_statement(path, sample: Sample, *, with_balances: bool = True):
    """The bank statement as a bank's export would look: balance rows, then receipts in date order."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Statement"
    sheet.append(STATEMENT_HEADERS)
    first = min((s.on for s in sample.statement), default=date.today())
    last = max((s.on for s in sample.statement), default=date.today())
    if with_balances:
        sheet.append([first, "", "Opening balance", "", sample.opening_balance])
    for s in sample.statement:
        sheet.append([s.on, s.reference, s.description, s.account, s.amount])
    if with_balances:
        sheet.append([last, "", "Closing balance", "", sample.closing_balance])
    for row in sheet.iter_rows(min_row=2):
        row[0].number_format = "yyyy-mm-dd"
        row[4].number_format = "#,##0.00"
    book.save(path)
    return path


def load_ledger(db_path, sample: Sample) -> None:
    """Put the sample's invoices into a BILLSYS database, as if they had been keyed over the month. An invoice
    the sample has twice (a ledger duplicate) is stored the way BILLSYS stores an invoice keyed twice: under a
    number of its own, with the first one's number as its customer reference."""
    from .billing_web.database import BillingDatabase

    db = BillingDatabase(db_path)
    db.seed("clerk", "clerk")
    numbers: set[str] = set()
    for row in sample.ledger:
        again = row.reference in numbers
        numbers.add(row.reference)
        db.insert_invoice({"customer_code": row.account, "customer_reference": row.reference if again else "",
                           "invoice_date": row.on.isoformat(), "terms_days": 30, "net_amount": f"{row.amount:.2f}",
                           "tax_amount": "0.00", "total_amount": f"{row.amount:.2f}", "description": row.description},
                          "loader", number=None if again else row.reference)
