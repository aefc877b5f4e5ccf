"""Write the image of each named control, as a selector map's templates are made.

`python -m runner.demo.ledger_desktop --db x.db --export-templates DIR` visits every screen and
dialog, saves `DIR/<screen>/<control>.png` cropped to the control's face (inside its
border and focus ring, so focus and hover do not change the picture), and writes
`DIR/geometry.json` with each control's box on the screen, from which anchor offsets
and search regions are measured.
"""

from __future__ import annotations

import json
import time
import tkinter as tk
from pathlib import Path
from tkinter import font as tkfont

from PIL import ImageGrab

from .app import LedgerApp

ENTRY_SUFFIXES = (".user", ".password", ".account", ".amount", ".reference", ".date", ".posting_ref", ".name",
                  ".balance", ".message")


def _face_box(widget: tk.Widget) -> tuple[int, int, int, int]:
    """The control's box without its border; for a label, just the text."""
    x, y = widget.winfo_rootx(), widget.winfo_rooty()
    w, h = widget.winfo_width(), widget.winfo_height()
    inset = widget.winfo_pixels(str(widget.cget("bd"))) + widget.winfo_pixels(str(widget.cget("highlightthickness")))
    if isinstance(widget, tk.Label) and not isinstance(widget, tk.Button):
        text_w = tkfont.Font(font=widget.cget("font")).measure(widget.cget("text")) + 4
        anchor = widget.cget("anchor")
        left = x + w - inset - text_w - 1 if anchor == "e" else x + inset if anchor == "w" else x + (w - text_w) // 2
        return left, y + inset, text_w, h - 2 * inset
    return x + inset + 1, y + inset + 1, w - 2 * inset - 2, h - 2 * inset - 2


def _settle(app: LedgerApp) -> None:
    app.root.update_idletasks()
    app.root.update()
    time.sleep(0.25)
    app.root.update()


def export_templates(app: LedgerApp, folder: Path) -> None:
    try:
        _export(app, Path(folder))
    finally:
        app.root.destroy()


def _export(app: LedgerApp, folder: Path) -> None:
    geometry: dict[str, list[int]] = {}

    def grab(*names: str) -> None:
        _settle(app)
        screen = ImageGrab.grab()
        for name in names:
            widget = app.widgets[name]
            box = _face_box(widget)
            geometry[name] = list(box)
            if name.endswith(ENTRY_SUFFIXES):
                continue  # fields hold changing text: found through their label (an anchor), never as an image
            screen_part, control = name.split(".", 1)
            path = folder / screen_part / f"{control}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            x, y, w, h = box
            screen.crop((x, y, x + w, y + h)).save(path)

    grab("main.banner", "toolbar.lookup", "toolbar.post", "toolbar.inquiry", "signon.title", "signon.user_label",
         "signon.user", "signon.password_label", "signon.password", "signon.button")
    app.user = "clerk"
    app.show_post()
    grab("post.title", "post.account_label", "post.account", "post.amount_label", "post.amount",
         "post.reference_label", "post.reference", "post.date_label", "post.date", "post.button")
    for kind, heading, text in (("info", "POSTED", "Posted, reference P000000"),
                                ("locked", "RECORD LOCKED", "Record C0000 is locked by user BATCH01. Try again later."),
                                ("error", "ERROR", "Account C0000 not found"),
                                ("info", "EXPORTED", "Statement written: statement-C0000.csv")):
        app.message(kind, heading, text)
        grab("dialog." + heading.lower().replace(" ", "_"), "dialog.ok", "dialog.message")
        app._close_dialog()
    app.show_inquiry()
    status = [w for w in app.body.winfo_children() if isinstance(w, tk.Label) and w.cget("text") == ""][0]
    for text, name in (("ON FILE", "inquiry.on_file"), ("NOT FOUND", "inquiry.not_found")):
        status.configure(text=text, fg="#006000" if text == "ON FILE" else "#a00000")
        app.widgets[name] = status
        grab(name)
    grab("inquiry.title", "inquiry.reference_label", "inquiry.reference", "inquiry.find", "inquiry.posting_ref_label",
         "inquiry.posting_ref")
    app.show_lookup()
    grab("lookup.title", "lookup.account_label", "lookup.account", "lookup.balance_label", "lookup.balance",
         "lookup.find", "lookup.export")
    (folder / "geometry.json").write_text(json.dumps(geometry, indent=1))
