"""The number a read after a save keeps: what the application gave the record, out of the words around it.

An application shows a new record's number inside a sentence (`Item 4 has been inserted. 12:08:51`), behind
a sign (`#2`) or glued to a word (`Issue2 Editing`). The recorder keeps the number alone and writes a
pattern that finds it in the same words next time: `Item (\\d+)`, `#(\\d+)`, `Issue(\\d+)`. A number the
address of the page also holds (`/issue4`, `?id=4`) is the record's; a time or a date never is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

# a reference as applications write them: 4, 100041, CNF-100041, SO-0100004, INV/2026/17
_TOKEN = re.compile(r"(?<![\w-])((?:[A-Za-z]{1,6}[-/])?\d+(?:[-/]\d+)*)(?![\w])|(\d+)")
_TIME_OR_DATE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?|\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*[ \t]?|[#№][ \t]?)$")


@dataclass(frozen=True)
class KeyPattern:
    pattern: str     # a regular expression whose first group is the number
    kept: str        # what it keeps of the sample's text

    def explain(self, text: str) -> str:
        return f"keeps {self.kept!r} of {text!r} (pattern {self.pattern!r})"


def _shape(token: str) -> str:
    """The token with its digits generalised: CNF-100041 -> CNF-\\d+."""
    return re.sub(r"\d+", r"\\d+", re.escape(token).replace(r"\-", "-"))


def key_pattern(text: str, address: str = "") -> KeyPattern | None:
    """How to keep the record's number out of `text` (shown on the page at `address`), or None when it holds
    no number. Of several numbers, the one the address's path also holds wins (`/issue4`), more so when the
    word before it is in the path too (`issue 4`, not `msg 4`); then one in its query; then the first."""
    text = " ".join(text.split())
    blanked = _TIME_OR_DATE.sub(lambda m: " " * len(m.group(0)), text)
    found = [(m.start(m.lastindex or 0), m.group(m.lastindex or 0)) for m in _TOKEN.finditer(blanked)]
    if not found:
        return None
    if len(found) == 1 and found[0][1] == text:
        return KeyPattern(f"^({_shape(text)})$", text)
    parts = urlsplit(address)
    in_path, in_query = _numbers(parts.path), _numbers(unquote_plus(parts.query))

    def score(candidate: tuple[int, str]) -> int:
        at, token = candidate
        digits = re.sub(r"\D", "", token)
        word = re.search(r"([A-Za-z]+)\W*$", text[:at])
        named = word is not None and word.group(1).lower() in parts.path.lower()
        return (2 if digits in in_path else 0) + (1 if digits in in_query else 0) + (2 if named and digits in in_path else 0)

    at, token = max(found, key=score)   # max keeps the first of equals
    before = _WORD_BEFORE.search(text[:at]) or re.search(r"[A-Za-z]+$", text[:at])   # Issue2: glued to a word
    if before is not None:
        prefix = re.escape(before.group(0)).replace("\\ ", " ").replace("\\#", "#")
        return KeyPattern(f"{prefix}({_shape(token)})", token)
    return KeyPattern(f"{'^' if at == 0 else ''}({_shape(token)})", token)


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\d+", text))
