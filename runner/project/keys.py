"""Key names a `press` step may use, checked when a recipe is loaded (a typo is refused by `backroom
check` with its line, not found by the run at 2 a.m.).

A web page takes Playwright's names, exactly as written (`Enter`, `Control+S`, `ArrowDown`, `F3`,
`KeyA`); a desktop app the same words in any case plus the short forms clerks use (`Ctrl+S`,
`Esc`, `Up`), which the desktop driver passes to pyautogui. Any single character is a key too.
"""

from __future__ import annotations

import difflib

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FUNCTION = [f"F{n}" for n in range(1, 25)]
WEB_MODIFIERS = ("Shift", "Control", "Alt", "Meta", "ControlOrMeta")
WEB_KEYS = frozenset([
    *WEB_MODIFIERS, "ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight", "MetaLeft",
    "MetaRight", "AltGraph", "Enter", "Tab", "Escape", "Backspace", "Delete", "Insert", "Home", "End", "PageUp",
    "PageDown", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space", "CapsLock", "NumLock", "ScrollLock",
    "PrintScreen", "Pause", "ContextMenu", "Backquote", "Minus", "Equal", "BracketLeft", "BracketRight",
    "Backslash", "Semicolon", "Quote", "Comma", "Period", "Slash", "IntlBackslash", "NumpadAdd", "NumpadSubtract",
    "NumpadMultiply", "NumpadDivide", "NumpadDecimal", "NumpadEnter", "NumpadEqual", *_FUNCTION,
    *(f"Key{c}" for c in _LETTERS), *(f"Digit{n}" for n in range(10)), *(f"Numpad{n}" for n in range(10))])
# lower-cased; the desktop driver maps the long forms to pyautogui's names (drivers/desktop.py KEY_NAMES)
DESKTOP_MODIFIERS = frozenset({"shift", "control", "ctrl", "alt", "meta", "win"})
DESKTOP_KEYS = frozenset({
    *DESKTOP_MODIFIERS, "enter", "return", "tab", "escape", "esc", "backspace", "delete", "del", "insert", "home",
    "end", "pageup", "pagedown", "up", "down", "left", "right", "arrowup", "arrowdown", "arrowleft", "arrowright",
    "space", "spacebar", "capslock", "numlock", "scrolllock", "printscreen", "prtsc", "pause", "apps",
    *(f.lower() for f in _FUNCTION)})


def key_problem(key: str, kind: str) -> str | None:
    """What is wrong with a key (or a combination such as Control+S) for a screen of this kind; None if
    nothing is."""
    if not key:
        return "an empty key"
    parts = key.split("+") if key != "+" else ["+"]
    if "" in parts:
        return f"'{key}' has an empty part: write combinations as Control+S"
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if len(part) == 1 and last:
            continue
        if kind == "web":
            known = WEB_KEYS if last else frozenset(WEB_MODIFIERS)
            if part in known:
                continue
            near = difflib.get_close_matches(part, sorted(known), n=1, cutoff=0.6) or \
                [k for k in sorted(known) if k.lower() == part.lower()]
        else:
            known = DESKTOP_KEYS if last else DESKTOP_MODIFIERS
            if part.lower() in known:
                continue
            near = difflib.get_close_matches(part.lower(), sorted(known), n=1, cutoff=0.6)
        role = "key" if last else "modifier (Shift, Control, Alt, Meta)"
        return f"unknown {role} '{part}' in '{key}'" + (f"; did you mean '{near[0]}'?" if near else "")
    return None
