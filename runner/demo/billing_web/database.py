"""SQLite storage of the legacy billing application: users, sessions, customers, orders."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

from .faults import FAULTS_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    salt TEXT NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    confirmation TEXT UNIQUE,
    reference TEXT NOT NULL,
    customer_code TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price TEXT NOT NULL,
    ship_date TEXT NOT NULL,
    priority TEXT NOT NULL,
    gift_wrap INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    supervisor_code_ok INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS orders_reference ON orders(reference);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    customer_code TEXT NOT NULL,
    customer_reference TEXT NOT NULL DEFAULT '',
    invoice_date TEXT NOT NULL,
    terms_days INTEGER NOT NULL,
    net_amount TEXT NOT NULL,
    tax_amount TEXT NOT NULL,
    total_amount TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS invoices_reference ON invoices(customer_reference);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    customer_code TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""

CUSTOMER_NAMES = [
    "Acme Tools", "Birch & Sons", "Cobalt Freight", "Delta Office Supply", "Elm Street Bakery",
    "Fjord Marine", "Granite Works", "Harbour Pharmacy", "Iris Florists", "Juniper Legal",
    "Kestrel Aviation", "Lumen Lighting", "Maple Dental", "Northwind Traders", "Orchid Spa",
    "Pioneer Farms", "Quarry Stoneworks", "Riverside Clinic", "Summit Outdoor", "Tidewater Fisheries",
    "Umber Paints", "Vale Vineyards", "Willow Day Care", "Xenon Labs", "Yarrow Herbs",
    "Zephyr Cycles", "Anchor Insurance", "Beacon Printing", "Cedar Joinery", "Dune Logistics",
]


def customer_codes() -> list[str]:
    return [f"C{n:03d}" for n in range(1, len(CUSTOMER_NAMES) + 1)]


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class BillingDatabase:
    """One connection per thread; the web server is threaded."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        with self.connect() as conn:
            conn.executescript(SCHEMA + FAULTS_SCHEMA)

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def seed(self, username: str, password: str) -> None:
        conn = self.connect()
        conn.execute(
            "INSERT OR REPLACE INTO users(username, password_sha256) VALUES (?, ?)",
            (username, hash_password(password)),
        )
        for code, name in zip(customer_codes(), CUSTOMER_NAMES):
            closed = 1 if code == "C013" else 0  # one closed account, as real ledgers have
            conn.execute("INSERT OR IGNORE INTO customers(code, name, closed) VALUES (?, ?, ?)", (code, name, closed))

    def check_password(self, username: str, password: str) -> bool:
        row = self.connect().execute("SELECT password_sha256 FROM users WHERE username = ?", (username,)).fetchone()
        return row is not None and row["password_sha256"] == hash_password(password)

    def customers(self) -> list[tuple[str, str]]:
        return [(r["code"], r["name"]) for r in self.connect().execute("SELECT code, name FROM customers ORDER BY code")]

    def log_fault(self, kind: str, screen: str, field: str = "", detail: str = "") -> None:
        self.connect().execute("INSERT INTO faults(kind, screen, field, detail) VALUES (?, ?, ?, ?)",
                               (kind, screen, field, detail))

    def customer(self, code: str) -> sqlite3.Row | None:
        return self.connect().execute("SELECT * FROM customers WHERE code = ?", (code,)).fetchone()

    def _insert_numbered(self, table: str, column: str, sql: str, values: dict, numbering) -> str:
        """Insert a row and give it a number made from its id, in one transaction."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row_id = conn.execute(sql, values).lastrowid
            number = values.get(column) or numbering(row_id)
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (number, row_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return number

    def insert_order(self, values: dict, username: str) -> str:
        return self._insert_numbered(
            "orders", "confirmation",
            "INSERT INTO orders(reference, customer_code, sku, quantity, unit_price, ship_date, priority,"
            " gift_wrap, notes, supervisor_code_ok, created_by)"
            " VALUES (:reference, :customer_code, :sku, :quantity, :unit_price, :ship_date, :priority,"
            " :gift_wrap, :notes, :supervisor_code_ok, :created_by)",
            {**values, "created_by": username}, lambda row_id: f"CNF-{100000 + row_id}")

    def insert_invoice(self, values: dict, username: str, number: str | None = None) -> str:
        """Store an invoice and give it the next number (or the one given, for loading old ledgers)."""
        return self._insert_numbered(
            "invoices", "number",
            "INSERT INTO invoices(number, customer_code, customer_reference, invoice_date, terms_days, net_amount,"
            " tax_amount, total_amount, description, created_by)"
            " VALUES (:number, :customer_code, :customer_reference, :invoice_date, :terms_days, :net_amount,"
            " :tax_amount, :total_amount, :description, :created_by)",
            {"description": "", **values, "number": number, "created_by": username},
            lambda row_id: f"INV-{700000 + row_id}")

    def insert_document(self, values: dict, username: str) -> str:
        return self._insert_numbered(
            "documents", "number",
            "INSERT INTO documents(customer_code, doc_type, filename, size, sha256, created_by)"
            " VALUES (:customer_code, :doc_type, :filename, :size, :sha256, :created_by)",
            {**values, "created_by": username}, lambda row_id: f"DOC-{500000 + row_id}")

    def find_invoices(self, customer_reference: str) -> list[sqlite3.Row]:
        return self.connect().execute(
            "SELECT * FROM invoices WHERE customer_reference = ? ORDER BY id", (customer_reference,)).fetchall()

    def find_invoices_like(self, prefix: str) -> list[sqlite3.Row]:
        return self.connect().execute("SELECT * FROM invoices WHERE substr(customer_reference, 1, ?) = ? ORDER BY id",
                                      (len(prefix), prefix)).fetchall()

    def find_orders_like(self, prefix: str) -> list[sqlite3.Row]:
        return self.connect().execute("SELECT * FROM orders WHERE substr(reference, 1, ?) = ? ORDER BY id",
                                      (len(prefix), prefix)).fetchall()

    def list_invoices(self, offset: int, limit: int) -> tuple[list[sqlite3.Row], int, str]:
        """One page of the receivables ledger, the count, and the total of all invoices (as text)."""
        conn = self.connect()
        total = conn.execute("SELECT count(*) FROM invoices").fetchone()[0]
        rows = conn.execute("SELECT * FROM invoices ORDER BY invoice_date, id LIMIT ? OFFSET ?",
                            (limit, offset)).fetchall()
        amounts = [Decimal(r[0]) for r in conn.execute("SELECT total_amount FROM invoices")]
        return rows, total, f"{sum(amounts, Decimal('0.00')):.2f}"

    def find_orders(self, reference: str) -> list[sqlite3.Row]:
        return self.connect().execute(
            "SELECT * FROM orders WHERE reference = ? ORDER BY id", (reference,)
        ).fetchall()

    def list_orders(self, offset: int, limit: int) -> tuple[list[sqlite3.Row], int]:
        conn = self.connect()
        total = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        rows = conn.execute("SELECT * FROM orders ORDER BY id LIMIT ? OFFSET ?", (limit, offset)).fetchall()
        return rows, total
