"""LEDGER/AR 3.1: the bundled legacy accounts-receivable desktop program that desktop bots drive."""

from .store import CUSTOMERS, LedgerStore, Payment, create_ledger

__all__ = ["CUSTOMERS", "LedgerStore", "Payment", "create_ledger"]
