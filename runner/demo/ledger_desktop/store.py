"""SQLite storage of LEDGER/AR: customers, open items, payments, and the lock simulation.

Money is kept in integer cents. Like the real thing, the ledger accepts the same
payment reference twice: keeping payments from being posted twice is the bot's job.
"""

from __future__ import annotations

import csv
import hashlib
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .faults import FAULTS_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    account TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS open_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL REFERENCES customers(account),
    document TEXT NOT NULL,
    doc_date TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    paid_cents INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    posting_ref TEXT UNIQUE,
    account TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    payment_ref TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    posted_by TEXT NOT NULL,
    posted_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS payments_ref ON payments(payment_ref);
CREATE TABLE IF NOT EXISTS locks_shown (
    account TEXT PRIMARY KEY
);
"""

CUSTOMERS = [
    ("C1001", "Acme Tools"), ("C1002", "Birch & Sons"), ("C1003", "Cobalt Freight"),
    ("C1004", "Delta Office Supply"), ("C1005", "Elm Street Bakery"), ("C1006", "Fjord Marine"),
    ("C1007", "Granite Works"), ("C1008", "Harbour Pharmacy"), ("C1009", "Iris Florists"),
    ("C1010", "Juniper Legal"), ("C1011", "Kestrel Aviation"), ("C1012", "Lumen Lighting"),
    ("C1013", "Café Müller"), ("C1014", "Northwind Traders"), ("C1015", "Orchid Spa"),
]


class LedgerError(Exception):
    """A refusal the ledger shows to the clerk in an error dialog."""


class RecordLocked(Exception):
    """Another user holds the account record: try again later."""


@dataclass(frozen=True)
class Payment:
    posting_ref: str
    account: str
    amount_cents: int
    payment_ref: str
    payment_date: str


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:,.2f}"


def parse_amount(text: str) -> int:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise LedgerError(f"Amount '{text}' is not a number") from None
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise LedgerError(f"Amount '{text}' must be positive with at most 2 decimals")
    return int(value * 100)


class LedgerStore:
    def __init__(self, path: Path, lock_accounts: set[str] | None = None, lock_rate: float = 0.0, seed: int = 0):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA + FAULTS_SCHEMA)
        self.lock_accounts = set(lock_accounts or ())
        self.lock_rate = lock_rate
        self.random = random.Random(seed)

    def close(self) -> None:
        self.db.close()

    def log_fault(self, kind: str, field: str, detail: str) -> None:
        self.db.execute("INSERT INTO faults(kind, field, detail) VALUES (?, ?, ?)", (kind, field, detail))

    # -- users -----------------------------------------------------------
    def check_user(self, username: str, password: str) -> bool:
        row = self.db.execute("SELECT password_sha256 FROM users WHERE username = ?", (username,)).fetchone()
        return row is not None and row[0] == hash_password(password)

    # -- accounts --------------------------------------------------------
    def customer(self, account: str) -> str:
        row = self.db.execute("SELECT name FROM customers WHERE account = ?", (account.strip().upper(),)).fetchone()
        if row is None:
            raise LedgerError(f"Account {account.strip() or '(blank)'} not found")
        return row[0]

    def open_items(self, account: str) -> list[tuple[str, str, int, int]]:
        """(document, date, amount, still open) for each item with something left to pay."""
        return self.db.execute(
            "SELECT document, doc_date, amount_cents, amount_cents - paid_cents FROM open_items "
            "WHERE account = ? AND paid_cents < amount_cents ORDER BY doc_date, id", (account,)).fetchall()

    def balance(self, account: str) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(amount_cents - paid_cents), 0) FROM open_items WHERE account = ?",
                              (account,)).fetchone()
        return row[0]

    # -- payments --------------------------------------------------------
    def post_payment(self, account: str, amount_text: str, payment_ref: str, payment_date: str, user: str) -> Payment:
        account = account.strip().upper()
        self.customer(account)
        cents = parse_amount(amount_text)
        if not payment_ref.strip():
            raise LedgerError("Payment reference is required")
        try:
            date.fromisoformat(payment_date.strip())
        except ValueError:
            raise LedgerError(f"Date '{payment_date}' must be YYYY-MM-DD") from None
        self._maybe_locked(account)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO payments (account, amount_cents, payment_ref, payment_date, posted_by) VALUES (?, ?, ?, ?, ?)",
                (account, cents, payment_ref.strip(), payment_date.strip(), user))
            posting_ref = f"P{100000 + cur.lastrowid}"
            self.db.execute("UPDATE payments SET posting_ref = ? WHERE id = ?", (posting_ref, cur.lastrowid))
            self._apply(account, cents)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return Payment(posting_ref, account, cents, payment_ref.strip(), payment_date.strip())

    def _maybe_locked(self, account: str) -> None:
        if account in self.lock_accounts:
            shown = self.db.execute("SELECT 1 FROM locks_shown WHERE account = ?", (account,)).fetchone()
            if not shown:
                self.db.execute("INSERT INTO locks_shown (account) VALUES (?)", (account,))
                raise RecordLocked(f"Record {account} is locked by user BATCH01. Try again later.")
        if self.lock_rate and self.random.random() < self.lock_rate:
            raise RecordLocked(f"Record {account} is locked by user BATCH01. Try again later.")

    def _apply(self, account: str, cents: int) -> None:
        """Settle open items oldest first, as the ledger's cash application does."""
        left = cents
        for item_id, open_cents in self.db.execute(
                "SELECT id, amount_cents - paid_cents FROM open_items WHERE account = ? AND paid_cents < amount_cents "
                "ORDER BY doc_date, id", (account,)).fetchall():
            if left <= 0:
                break
            paid = min(left, open_cents)
            self.db.execute("UPDATE open_items SET paid_cents = paid_cents + ? WHERE id = ?", (paid, item_id))
            left -= paid

    def find_payment(self, payment_ref: str) -> Payment | None:
        row = self.db.execute(
            "SELECT posting_ref, account, amount_cents, payment_ref, payment_date FROM payments "
            "WHERE payment_ref = ? ORDER BY id DESC LIMIT 1", (payment_ref.strip(),)).fetchone()
        return Payment(*row) if row else None

    def payments(self) -> list[Payment]:
        rows = self.db.execute("SELECT posting_ref, account, amount_cents, payment_ref, payment_date FROM payments "
                               "ORDER BY id").fetchall()
        return [Payment(*r) for r in rows]

    # -- statements ------------------------------------------------------
    def export_statement(self, account: str, folder: Path) -> Path:
        """The account statement as the ledger's export writes it: one CSV per account."""
        account = account.strip().upper()
        name = self.customer(account)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"statement-{account}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["Account", "Name", "Type", "Document", "Date", "Amount"])
            for document, doc_date, amount, _ in self.db.execute(
                    "SELECT document, doc_date, amount_cents, paid_cents FROM open_items WHERE account = ? "
                    "ORDER BY doc_date, id", (account,)):
                writer.writerow([account, name, "INVOICE", document, doc_date, money(amount)])
            for p in self.db.execute("SELECT posting_ref, payment_date, amount_cents, payment_ref FROM payments "
                                     "WHERE account = ? ORDER BY id", (account,)):
                writer.writerow([account, name, "PAYMENT", f"{p[0]} {p[3]}", p[1], money(-p[2])])
            writer.writerow([account, name, "BALANCE", "", date.today().isoformat(), money(self.balance(account))])
        return path


def create_ledger(path: Path, password: str = "ar-1995", invoices_per_customer: int = 3, seed: int = 7) -> Path:
    """A fresh ledger database with customers, open invoices and the user 'clerk'."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO users VALUES (?, ?)", ("clerk", hash_password(password)))
    db.executemany("INSERT INTO customers VALUES (?, ?)", CUSTOMERS)
    start = date(2026, 8, 1)
    number = 50000
    for account, _ in CUSTOMERS:
        for _ in range(invoices_per_customer):
            number += 1
            db.execute("INSERT INTO open_items (account, document, doc_date, amount_cents) VALUES (?, ?, ?, ?)",
                       (account, f"INV{number}", (start + timedelta(days=rng.randrange(90))).isoformat(),
                        rng.randrange(5000, 250000)))
    db.commit()
    db.close()
    return path
