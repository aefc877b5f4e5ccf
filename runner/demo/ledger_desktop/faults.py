"""Faults LEDGER/AR injects on request, as real desktop programs misbehave, each one logged in its `faults` table.

- drop_keys: a key that arrives hard on the heels of the one before it (a fast burst of typing) is lost now
  and then, as a busy program loses keystrokes; keys typed at a clerk's pace are kept.
- autocomplete: typing an account number opens a list of accounts under the field. It covers the fields
  below until a moment after the last key; a click on it picks that account.
- slow_dialog_ms: a message box stays in front, holding the keyboard, this long after OK is pressed.
"""

from __future__ import annotations

import random
import tkinter as tk
from dataclasses import dataclass

FAST_KEY_MS = 15          # keys closer together than this are a burst
AUTOCOMPLETE_MS = 800     # how long the list stays after the last key

FAULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,          -- drop_keys, autocomplete, slow_dialog
    field TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""


@dataclass
class LedgerFaults:
    drop_keys: float = 0.0
    autocomplete: bool = False
    slow_dialog_ms: int = 0
    seed: int | None = None


class FaultInjector:
    """Attaches the configured faults to LEDGER's widgets and logs each one through `log(kind, field, detail)`."""

    def __init__(self, faults: LedgerFaults, log, accounts: list[str]):
        self.faults = faults
        self.log = log
        self.accounts = accounts
        self.random = random.Random(faults.seed)
        self.last_key_ms: int | None = None
        self.popup: tk.Toplevel | None = None
        self._hide_job = None

    # -- dropped keys ----------------------------------------------------
    def watch_typing(self, entry: tk.Entry, name: str) -> None:
        if not self.faults.drop_keys:
            return
        tag = f"Faults{id(entry)}"
        entry.bindtags((tag,) + entry.bindtags())  # before the Entry class inserts the character
        entry.bind_class(tag, "<KeyPress>", lambda event: self._maybe_drop(event, name))

    def _maybe_drop(self, event, name: str):
        if not (event.char and event.char.isprintable()):
            return None  # Shift, End, Control+C: not typing
        previous, self.last_key_ms = self.last_key_ms, event.time
        fast = previous is not None and 0 <= event.time - previous < FAST_KEY_MS
        if fast and self.random.random() < self.faults.drop_keys:
            self.log("drop_keys", name, f"lost {event.char!r}")
            return "break"
        return None

    # -- the account list --------------------------------------------------
    def suggest(self, entry: tk.Entry, name: str) -> None:
        if not self.faults.autocomplete:
            return
        entry.bind("<KeyRelease>", lambda _e: self._show_list(entry, name), add="+")

    def _show_list(self, entry: tk.Entry, name: str) -> None:
        typed = entry.get().strip().upper()
        matches = [a for a in self.accounts if typed and a.startswith(typed[:2])]
        if not matches:
            return self._hide()
        if self.popup is None:
            self.popup = tk.Toplevel(entry)
            self.popup.overrideredirect(True)
            listbox = tk.Listbox(self.popup, height=min(len(matches), 8), width=24, bd=1, relief="solid",
                                 background="#ffffe1")
            listbox.pack()
            listbox.bind("<ButtonPress-1>", lambda e: self._pick(entry, name, listbox.get(listbox.nearest(e.y))))
            self.popup.geometry(f"+{entry.winfo_rootx()}+{entry.winfo_rooty() + entry.winfo_height()}")
            self.log("autocomplete", name, f"list shown over the fields below {name}")
        listbox = self.popup.winfo_children()[0]
        listbox.delete(0, "end")
        for account in matches:
            listbox.insert("end", account)
        if self._hide_job is not None:
            entry.after_cancel(self._hide_job)
        self._hide_job = entry.after(AUTOCOMPLETE_MS, self._hide)

    def _pick(self, entry: tk.Entry, name: str, account: str) -> str:
        self.log("autocomplete", name, f"picked {account} from the list over {entry.get()!r}")
        entry.delete(0, "end")
        entry.insert(0, account)
        self._hide()
        return "break"

    def _hide(self) -> None:
        self._hide_job = None
        if self.popup is not None:
            self.popup.destroy()
            self.popup = None

    # -- message boxes ---------------------------------------------------
    def close_later(self, close, heading: str) -> bool:
        """Delay a message box's closing; True when it was delayed (the caller closes it later)."""
        if not self.faults.slow_dialog_ms:
            return False
        self.log("slow_dialog", heading, f"closes {self.faults.slow_dialog_ms} ms after OK")
        return True
