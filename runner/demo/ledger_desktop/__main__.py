"""`python -m runner.demo.ledger_desktop --db ledger.db`: start LEDGER/AR on the current display."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .app import THEMES, LedgerApp, LedgerOptions
from .faults import LedgerFaults
from .store import LedgerStore, create_ledger


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ledger", description="LEDGER/AR 3.1, accounts receivable.")
    parser.add_argument("--db", type=Path, required=True, help="SQLite database (created with demo data if missing)")
    parser.add_argument("--export-dir", type=Path, help="where statements are written (default: beside the database)")
    parser.add_argument("--x", type=int, default=40, help="window position on the screen")
    parser.add_argument("--y", type=int, default=40)
    parser.add_argument("--theme", choices=sorted(THEMES), default="classic")
    parser.add_argument("--font-size", type=int, default=10)
    parser.add_argument("--lock-once", default="", help="accounts whose first posting finds the record locked")
    parser.add_argument("--lock-rate", type=float, default=0.0, help="share of postings that find the record locked")
    parser.add_argument("--drop-keys", type=float, default=0.0,
                        help="share of keys typed in a fast burst that are lost (0 to 1)")
    parser.add_argument("--autocomplete", action="store_true",
                        help="typing an account number opens a list over the fields below")
    parser.add_argument("--slow-dialog-ms", type=int, default=0, help="message boxes close this long after OK")
    parser.add_argument("--fault-seed", type=int, help="seed for the faults' chances")
    parser.add_argument("--ask-on-close", action="store_true",
                        help="closing the window asks to save changes instead of quitting (waits for a person)")
    parser.add_argument("--export-templates", type=Path, help="write the controls' images there and exit")
    args = parser.parse_args(argv)
    if not args.db.exists():
        create_ledger(args.db)
    options = LedgerOptions(db_path=args.db, export_dir=args.export_dir or args.db.parent / "exports",
                            x=args.x, y=args.y, theme=args.theme, font_size=args.font_size,
                            faults=LedgerFaults(args.drop_keys, args.autocomplete, args.slow_dialog_ms, args.fault_seed))
    locks = {a.strip().upper() for a in args.lock_once.split(",") if a.strip()}
    store = LedgerStore(args.db, lock_accounts=locks, lock_rate=args.lock_rate)
    app = LedgerApp(store, options)
    if args.ask_on_close:
        app.root.protocol("WM_DELETE_WINDOW", lambda: app.message("info", "Exit", "Save changes before closing?"))
    if args.export_templates:
        from .template_export import export_templates

        app.root.after(300, lambda: export_templates(app, args.export_templates))
    # Like the legacy programs it stands for, LEDGER/AR marks its database in use while it is open and
    # clears the mark when it quits; a program that is killed leaves the mark behind.
    in_use = args.db.with_name(args.db.name + ".inuse")
    in_use.write_text(f"{os.getpid()}\n")
    try:
        app.run()
    finally:
        store.close()
        in_use.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
