"""LEDGER/AR 3.1: the bundled legacy accounts-receivable desktop program (Tk, 1990s look).

Sign-on, a menu and a toolbar, account lookup with open items and balance, payment
posting with a modal "Posted, reference N" dialog, payment inquiry, and a statement
export. Function keys as the manual taught: F2 lookup, F3 post, F4 inquiry.
Message dialogs copy their text with Ctrl+C, as Windows message boxes do.
"""

from __future__ import annotations

import tkinter as tk
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .faults import FaultInjector, LedgerFaults
from .store import CUSTOMERS, LedgerError, LedgerStore, RecordLocked, money

TITLE = "LEDGER/AR 3.1"


@dataclass(frozen=True)
class Theme:
    face: str       # window and button face
    banner: str     # the title banner behind the white text
    field: str      # entry background
    accent: str     # screen titles


THEMES = {
    "classic": Theme(face="#c0c0c0", banner="#000080", field="#ffffff", accent="#000080"),
    "slate": Theme(face="#d4d0c8", banner="#3a6ea5", field="#fffff0", accent="#3a6ea5"),
}


@dataclass
class LedgerOptions:
    db_path: Path
    export_dir: Path
    x: int = 40
    y: int = 40
    theme: str = "classic"
    font_size: int = 10
    faults: LedgerFaults = field(default_factory=LedgerFaults)


class LedgerApp:
    def __init__(self, store: LedgerStore, options: LedgerOptions):
        self.store = store
        self.options = options
        self.theme = THEMES[options.theme]
        self.user: str | None = None
        self.root = tk.Tk(className="Ledger")
        self.root.title(f"{TITLE} - Accounts Receivable")
        self.root.geometry(f"760x520+{options.x}+{options.y}")
        self.root.configure(background=self.theme.face)
        self.root.resizable(False, False)
        size = options.font_size
        self.font = ("DejaVu Sans", size)
        self.bold = ("DejaVu Sans", size, "bold")
        self.heading = ("DejaVu Sans", size + 4, "bold")
        self.mono = ("DejaVu Sans Mono", size)
        self.root.option_add("*Font", self.font)
        # by option name, not class: the class Background also covers activeForeground
        self.root.option_add("*background", self.theme.face)
        self.root.option_add("*highlightBackground", self.theme.face)
        self.root.option_add("*Entry.background", self.theme.field)
        self.root.option_add("*Entry.readonlyBackground", self.theme.face)
        self.root.option_add("*activeBackground", self.theme.face)  # no hover highlight, as in 1995
        self.root.option_add("*activeForeground", "black")
        self.widgets: dict[str, tk.Widget] = {}   # named controls, for the template export
        self.dialog: tk.Toplevel | None = None
        self._closing = False
        self._focus_before: tk.Widget | None = None
        self.faults = FaultInjector(options.faults, store.log_fault, [account for account, _ in CUSTOMERS])
        self._build_chrome()
        self.body = tk.Frame(self.root, bd=2, relief="groove")
        self.body.pack(fill="both", expand=True, padx=6, pady=4)
        self.status = tk.Label(self.root, text="Not signed on", anchor="w", bd=1, relief="sunken")
        self.status.pack(fill="x", side="bottom")
        for key, screen in (("<F2>", self.show_lookup), ("<F3>", self.show_post), ("<F4>", self.show_inquiry)):
            self.root.bind_all(key, lambda _e, s=screen: self._if_signed_on(s))
        self.show_sign_on()
        # Take the keyboard when the window first shows, before anything is drawn: a later
        # focus grab would move the focus away from a field someone already clicked.
        self.root.bind("<Map>", self._on_map, add="+")

    def _on_map(self, event) -> None:
        if event.widget is self.root:
            self.root.unbind("<Map>")
            focused = self.root.focus_get() or self.root.focus_lastfor()
            self.root.focus_force()
            if focused is not None:
                focused.focus_set()

    # -- window chrome ---------------------------------------------------
    def _build_chrome(self) -> None:
        menubar = tk.Menu(self.root, tearoff=False)
        file_menu = tk.Menu(menubar, tearoff=False)
        file_menu.add_command(label="Export statement", command=lambda: self._if_signed_on(self.show_lookup))
        file_menu.add_command(label="Sign off", command=self.sign_off)
        file_menu.add_separator()
        file_menu.add_command(label="Exit", command=self.root.destroy)
        accounts = tk.Menu(menubar, tearoff=False)
        accounts.add_command(label="Account lookup", accelerator="F2", command=lambda: self._if_signed_on(self.show_lookup))
        accounts.add_command(label="Post payment", accelerator="F3", command=lambda: self._if_signed_on(self.show_post))
        accounts.add_command(label="Payment inquiry", accelerator="F4", command=lambda: self._if_signed_on(self.show_inquiry))
        menubar.add_cascade(label="File", menu=file_menu)
        menubar.add_cascade(label="Accounts", menu=accounts)
        self.root.configure(menu=menubar)
        banner = tk.Frame(self.root, background=self.theme.banner)
        banner.pack(fill="x")
        label = tk.Label(banner, text="LEDGER/AR  ACCOUNTS RECEIVABLE", fg="white", bg=self.theme.banner, font=self.bold)
        label.pack(side="left", padx=8, pady=4)
        self.widgets["main.banner"] = label
        toolbar = tk.Frame(self.root, bd=1, relief="raised")
        toolbar.pack(fill="x")
        for name, text, screen in (("toolbar.lookup", "F2 Lookup", self.show_lookup),
                                   ("toolbar.post", "F3 Post", self.show_post),
                                   ("toolbar.inquiry", "F4 Inquiry", self.show_inquiry)):
            button = tk.Button(toolbar, text=text, width=11, command=lambda s=screen: self._if_signed_on(s))
            button.pack(side="left", padx=2, pady=2)
            self.widgets[name] = button

    def _if_signed_on(self, screen) -> None:
        if self.user and self.dialog is None:
            screen()

    def _screen(self, title: str, name: str) -> tk.Frame:
        for child in self.body.winfo_children():
            child.destroy()
        heading = tk.Label(self.body, text=title, font=self.heading, fg=self.theme.accent)
        heading.grid(row=0, column=0, columnspan=4, sticky="w", padx=12, pady=(10, 14))
        self.widgets[f"{name}.title"] = heading
        return self.body

    def _field(self, parent, row: int, label: str, name: str, width: int = 24, show: str | None = None,
               readonly: bool = False) -> tk.Entry:
        caption = tk.Label(parent, text=label, anchor="e", width=16)
        caption.grid(row=row, column=0, sticky="e", padx=(12, 6), pady=5)
        entry = tk.Entry(parent, width=width, show=show or "", bd=2, relief="sunken")
        if readonly:
            entry.configure(state="readonly")
        else:
            self.faults.watch_typing(entry, name)
        entry.grid(row=row, column=1, sticky="w", pady=5)
        self.widgets[f"{name}_label"] = caption
        self.widgets[name] = entry
        return entry

    def _button(self, parent, row: int, column: int, text: str, name: str, command) -> tk.Button:
        button = tk.Button(parent, text=text, width=10, command=command, bd=3, relief="raised")
        button.grid(row=row, column=column, sticky="w", padx=(0, 8), pady=10)
        self.widgets[name] = button
        return button

    @staticmethod
    def _set(entry: tk.Entry, text: str) -> None:
        state = entry.cget("state")
        entry.configure(state="normal")
        entry.delete(0, "end")
        entry.insert(0, text)
        entry.configure(state=state)

    # -- sign on ---------------------------------------------------------
    def show_sign_on(self) -> None:
        body = self._screen("SIGN ON", "signon")
        user = self._field(body, 1, "User ID:", "signon.user", width=16)
        password = self._field(body, 2, "Password:", "signon.password", width=16, show="*")
        buttons = tk.Frame(body)
        buttons.grid(row=3, column=1, sticky="w")
        self._button(buttons, 0, 0, "Sign on", "signon.button", lambda: self.sign_on(user.get(), password.get()))
        password.bind("<Return>", lambda _e: self.sign_on(user.get(), password.get()))
        user.focus_set()

    def sign_on(self, user: str, password: str) -> None:
        if not self.store.check_user(user.strip(), password):
            self.message("error", "ERROR", "Invalid user ID or password")
            return
        self.user = user.strip()
        self.status.configure(text=f"User: {self.user}    Ready")
        self.show_post()

    def sign_off(self) -> None:
        self.user = None
        self.status.configure(text="Not signed on")
        self.show_sign_on()

    # -- account lookup --------------------------------------------------
    def show_lookup(self) -> None:
        body = self._screen("ACCOUNT LOOKUP", "lookup")
        account = self._field(body, 1, "Account no:", "lookup.account", width=10)
        name = self._field(body, 2, "Name:", "lookup.name", width=32, readonly=True)
        balance = self._field(body, 3, "Balance:", "lookup.balance", width=14, readonly=True)
        items = tk.Listbox(body, width=60, height=8, font=self.mono, bd=2, relief="sunken")
        items.grid(row=5, column=0, columnspan=4, padx=12, sticky="w")
        self.widgets["lookup.items"] = items

        def find() -> None:
            try:
                self._set(name, self.store.customer(account.get()))
            except LedgerError as exc:
                self.message("error", "ERROR", str(exc))
                return
            code = account.get().strip().upper()
            self._set(balance, money(self.store.balance(code)))
            items.delete(0, "end")
            items.insert("end", f"{'Document':<10} {'Date':<10} {'Amount':>12} {'Open':>12}")
            for document, doc_date, amount, open_cents in self.store.open_items(code):
                items.insert("end", f"{document:<10} {doc_date:<10} {money(amount):>12} {money(open_cents):>12}")

        def export() -> None:
            try:
                path = self.store.export_statement(account.get(), self.options.export_dir)
            except LedgerError as exc:
                self.message("error", "ERROR", str(exc))
                return
            self.message("info", "EXPORTED", f"Statement written: {path.name}")

        buttons = tk.Frame(body)
        buttons.grid(row=4, column=1, sticky="w")
        self._button(buttons, 0, 0, "Find", "lookup.find", find)
        self._button(buttons, 0, 1, "Export", "lookup.export", export)
        account.bind("<Return>", lambda _e: find())
        account.focus_set()

    # -- payment posting -------------------------------------------------
    def show_post(self) -> None:
        body = self._screen("POST PAYMENT", "post")
        account = self._field(body, 1, "Account no:", "post.account", width=10)
        amount = self._field(body, 2, "Amount:", "post.amount", width=14)
        reference = self._field(body, 3, "Payment ref:", "post.reference", width=24)
        paid_on = self._field(body, 4, "Date:", "post.date", width=12)
        paid_on.insert(0, date.today().isoformat())
        self.faults.suggest(account, "post.account")
        fields = (account, amount, reference, paid_on)

        def post() -> None:
            try:
                payment = self.store.post_payment(account.get(), amount.get(), reference.get(), paid_on.get(), self.user)
            except RecordLocked as exc:
                self.message("locked", "RECORD LOCKED", str(exc))
                return
            except LedgerError as exc:
                self.message("error", "ERROR", str(exc))
                return
            for entry in fields[:3]:
                entry.delete(0, "end")
            account.focus_set()  # where the clerk goes on after OK
            self.message("info", "POSTED", f"Posted, reference {payment.posting_ref}")

        def clear() -> None:
            for entry in fields[:3]:
                entry.delete(0, "end")

        buttons = tk.Frame(body)
        buttons.grid(row=5, column=1, sticky="w")
        self._button(buttons, 0, 0, "Post", "post.button", post)
        self._button(buttons, 0, 1, "Clear", "post.clear", clear)
        account.focus_set()

    # -- payment inquiry -------------------------------------------------
    def show_inquiry(self) -> None:
        body = self._screen("PAYMENT INQUIRY", "inquiry")
        reference = self._field(body, 1, "Payment ref:", "inquiry.reference", width=24)
        buttons = tk.Frame(body)
        buttons.grid(row=2, column=1, sticky="w")
        status = tk.Label(body, text="", font=self.bold)
        status.grid(row=3, column=1, sticky="w", pady=4)
        posting = self._field(body, 4, "Posting ref:", "inquiry.posting_ref", width=12, readonly=True)
        account = self._field(body, 5, "Account no:", "inquiry.account", width=10, readonly=True)
        amount = self._field(body, 6, "Amount:", "inquiry.amount", width=14, readonly=True)

        def find() -> None:
            payment = self.store.find_payment(reference.get())
            status.configure(text="ON FILE" if payment else "NOT FOUND", fg="#006000" if payment else "#a00000")
            self.widgets["inquiry.on_file" if payment else "inquiry.not_found"] = status
            self._set(posting, payment.posting_ref if payment else "")
            self._set(account, payment.account if payment else "")
            self._set(amount, money(payment.amount_cents) if payment else "")

        self._button(buttons, 0, 0, "Find", "inquiry.find", find)
        reference.bind("<Return>", lambda _e: find())
        reference.focus_set()

    # -- message dialogs -------------------------------------------------
    def message(self, kind: str, heading: str, text: str) -> None:
        """A modal message box: a heading, the message (selectable, Ctrl+C copies it) and OK."""
        self._focus_before = self.root.focus_get()
        dialog = tk.Toplevel(self.root, bd=2, relief="raised")
        dialog.title(f"{TITLE} - {heading.title()}")
        dialog.transient(self.root)
        width, height = 420, 150
        x = self.root.winfo_rootx() + (760 - width) // 2
        y = self.root.winfo_rooty() + (520 - height) // 2
        dialog.geometry(f"{width}x{height}+{x}+{y}")
        icon = {"info": ("i", "#000080"), "locked": ("!", "#a06000"), "error": ("X", "#a00000")}[kind]
        tk.Label(dialog, text=icon[0], font=self.heading, fg="white", bg=icon[1], width=2).grid(
            row=0, column=0, rowspan=2, padx=12, pady=12, sticky="n")
        title = tk.Label(dialog, text=heading, font=self.bold, fg=icon[1])
        title.grid(row=0, column=1, sticky="w", pady=(12, 4))
        entry = tk.Entry(dialog, width=44, bd=0, relief="flat")
        entry.insert(0, text)
        entry.configure(state="readonly", readonlybackground=self.theme.face)
        entry.grid(row=1, column=1, sticky="w", padx=(0, 12))
        ok = tk.Button(dialog, text="OK", width=8, bd=3, command=self._close_dialog)
        ok.grid(row=2, column=1, pady=12)
        self.widgets["dialog." + heading.lower().replace(" ", "_")] = title
        self.widgets["dialog.message"] = entry
        self.widgets["dialog.ok"] = ok

        def copy(_event=None):
            self.root.clipboard_clear()
            self.root.clipboard_append(text)
            return "break"

        for sequence in ("<Control-c>", "<Control-C>"):
            dialog.bind(sequence, copy)
        dialog.bind("<Return>", lambda _e: self._close_dialog())
        dialog.bind("<Escape>", lambda _e: self._close_dialog())
        self.dialog = dialog
        dialog.protocol("WM_DELETE_WINDOW", self._close_dialog)
        dialog.wait_visibility()
        dialog.grab_set()
        dialog.focus_force()
        ok.focus_set()

    def _close_dialog(self) -> None:
        if self.dialog is None or self._closing:
            return
        if self.faults.close_later(self._close_dialog, self.dialog.title()):
            self._closing = True  # still in front and holding the keyboard, as a busy program's box does
            self.dialog.after(self.faults.faults.slow_dialog_ms, self._finish_closing)
            return
        self._finish_closing()

    def _finish_closing(self) -> None:
        self._closing = False
        if self.dialog is not None:
            self.dialog.grab_release()
            self.dialog.destroy()
            self.dialog = None
            self.root.focus_force()
            if self._focus_before is not None and self._focus_before.winfo_exists():
                self._focus_before.focus_set()

    def run(self) -> None:
        self.root.mainloop()
