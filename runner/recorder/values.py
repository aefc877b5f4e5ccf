"""What a recorded value stands for: a field of the sample work item, a secret, the app's user.

A builder records with one real work item in front of them (`--sample orders.xlsx`); every value
they type that equals one of its fields is written as `{{ item.<field> }}`, so the recipe works
for every item. A value equal to a configured secret, or typed into a password field, becomes a
`{{ secrets.<name> }}` reference: the clear value is never written anywhere.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from ..errors import InputFileError
from ..intake.work_item import WorkItem

DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%y", "%d-%b-%Y")
SECRET_ENV_PREFIX = "BACKROOM_SECRET_"


def snake(text: str) -> str:
    """'Order reference:' -> 'order_reference'; a readable identifier from a label."""
    words = re.findall(r"[A-Za-z0-9]+", text.replace("#", " no "))
    name = "_".join(w.lower() for w in words)[:40].strip("_")
    if not name:
        return "field"
    return name if not name[0].isdigit() else f"n{name}"


@dataclass
class Match:
    template: str          # what to write in the recipe
    comment: str = ""      # a note for the reviewer (other fields with the same value)


@dataclass
class ValueMatcher:
    """Turns typed values into templates; knows the sample item, the secrets and the app's user."""

    app: str
    item: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)    # name -> value, never written out
    app_user: str = ""
    other_apps: frozenset[str] = frozenset()   # the project's other apps: their secrets are not this app's
    # asks the builder which secret a value is when several could be (None: never asks, names a new one)
    ask: Callable[[str, list[str]], str | None] | None = None

    def _forms(self, value: Any) -> list[tuple[str, str]]:
        """(text as it would be typed, expression) for a sample field's value."""
        if isinstance(value, bool):
            return []
        if isinstance(value, (datetime, date)):
            return [(value.strftime(fmt), f".strftime('{fmt}')") for fmt in DATE_FORMATS]
        if isinstance(value, Decimal):
            return [(str(value), ""), (f"{value:.2f}", "")]
        if isinstance(value, float):
            return [(repr(value), ""), (f"{value:.2f}", ""), (f"{value:g}", "")]
        return [(str(value), "")]

    def field_matches(self, text: str) -> list[tuple[str, str]]:
        found = []
        if text == "":
            return found
        for name, value in self.item.items():
            for typed, suffix in self._forms(value):
                if typed == text:
                    found.append((name, suffix))
                    break
        return found

    def item_template(self, text: str) -> str | None:
        """The template for a value the sample item holds (one field, or two typed together), else None."""
        matches = self.field_matches(text)
        if matches:
            return "{{ item.%s%s }}" % matches[0]
        return self.joined_fields(text)

    def joined_fields(self, text: str) -> str | None:
        """A value typed as two of the sample's fields with a separator ('HD-7 Scanner offline')."""
        for separator in (" ", " - ", ", ", "/"):
            first, sep, rest = text.partition(separator)
            while sep:
                a, b = self.field_matches(first), self.field_matches(rest)
                if a and b:
                    return "{{ item.%s%s }}%s{{ item.%s%s }}" % (a[0] + (separator,) + b[0])
                more, sep, rest = rest.partition(separator)
                first = f"{first}{separator}{more}"
        return None

    def mentions_item(self, text: str) -> bool:
        """Whether the text holds one of the sample item's values (three characters or more) in it."""
        return any(len(typed) >= 3 and typed in text for value in self.item.values() for typed, _ in self._forms(value))

    def without_record(self, text: str) -> str:
        """The text with the sample item's values taken out: what is left is the page's own words."""
        values = sorted({typed for value in self.item.values() for typed, _ in self._forms(value) if len(typed) >= 2},
                        key=len, reverse=True)
        for typed in values:
            text = text.replace(typed, " ")
        return text

    def _belongs_elsewhere(self, name: str) -> bool:
        return any(name == other or name.startswith(f"{other}_") for other in self.other_apps)

    def secret_match(self, text: str, element: str) -> Match | None:
        """The secret a typed value is: the one secret with that value that is not another app's (a password
        that happens to be another system's is not that system's secret); of several, the builder says."""
        same = sorted(name for name, value in self.secrets.items() if value and value == text)
        if not same:
            return None
        own = [name for name in same if not self._belongs_elsewhere(name)]
        if len(own) == 1:
            return Match("{{ secrets.%s }}" % own[0], "a configured secret's value: written as a reference")
        new = f"{self.app}_{element}"
        if len(own) > 1 and self.ask is not None:
            chosen = self.ask(element, own)
            if chosen in own:
                return Match("{{ secrets.%s }}" % chosen, f"the builder chose it of {', '.join(own)}")
        shared = ", ".join(own or same)
        why = "several secrets have this value" if len(own) > 1 else "another app's secret has this value"
        return Match("{{ secrets.%s }}" % new, f"{why} ({shared}): a secret of its own; set "
                     f"BACKROOM_SECRET_{new.upper()} or keyring set backroom {new}")

    def typed(self, text: str | None, password: bool, element: str) -> Match:
        """The template for a typed value; a password field's value is never seen (text is None)."""
        if text is not None:
            secret = self.secret_match(text, element)
            if secret:
                return secret
        if password or text is None:
            name = f"{self.app}_{element}"
            note = f"password field: set BACKROOM_SECRET_{name.upper()} or keyring set backroom {name}"
            return Match("{{ secrets.%s }}" % name, note)
        matches = self.field_matches(text)
        if matches:
            (name, suffix), *others = matches
            comment = f"also equals item.{', item.'.join(n for n, _ in others)}" if others else ""
            return Match("{{ item.%s%s }}" % (name, suffix), comment)
        joined = self.joined_fields(text)
        if joined:
            return Match(joined, "two fields of the sample item, as typed together")
        if self.app_user and text == self.app_user:
            return Match("{{ app.user }}", "the app's user from backroom.yaml")
        return Match(text, "typed as recorded" if self.item else "")

    def chosen(self, value: str, label: str) -> Match:
        for candidate in (label, value):
            matches = self.field_matches(candidate)
            if matches:
                return Match("{{ item.%s }}" % matches[0][0])
        return Match(label or value)

    def checked(self, state: bool) -> Match:
        flags = [name for name, value in self.item.items() if isinstance(value, bool)]
        if len(flags) == 1 and self.item[flags[0]] == state:
            return Match("{{ item.%s }}" % flags[0])
        comment = f"one of item.{', item.'.join(flags)}?" if flags else ""
        return Match("true" if state else "false", comment)

    def uploaded(self, names: list[str]) -> Match:
        for fname, value in self.item.items():
            if isinstance(value, str) and value and Path(value).name in names:
                return Match("{{ item.%s }}" % fname)
        return Match(names[0] if len(names) == 1 else ", ".join(names),
                     "the file's name as chosen: give its path, or a field holding it")


def configured_secrets(project: Path | None = None) -> dict[str, str]:
    """The secrets a typed value may be: those set in the environment, and those the project's recipes
    already use that the system keyring holds, by the name a recipe uses."""
    found = {key[len(SECRET_ENV_PREFIX):].lower(): value for key, value in os.environ.items()
             if key.startswith(SECRET_ENV_PREFIX) and value}
    if project is not None:
        from ..project.secrets import secret_from_keyring

        used = {m for path in sorted((Path(project) / "recipes").glob("*.yaml"))
                for m in re.findall(r"secrets\.(\w+)", path.read_text(encoding="utf-8", errors="replace"))}
        for name in sorted(used - set(found)):
            value = secret_from_keyring(name)
            if value:
                found[name] = value
    return found


@dataclass
class Sample:
    data: dict[str, Any]            # the first item's fields, by the names recipes use
    item: WorkItem | None = None    # read through a bot: the work item it is in the bot's queue


def read_sample(path: Path, project: Path, bot: str | None) -> Sample:
    """The first work item of a sample file: through the bot's input definition when one is named
    (typed fields with the bot's names), else the header row's names in snake case."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"sample file {path} not found", "Give an existing .xlsx or .csv with one item per row.")
    if bot:
        from ..project.bot import load_bot
        from ..intake.workbook import read_workbook

        definition = load_bot(project, bot)
        result = read_workbook(path, definition.input)
        if not result.items:
            problems = "; ".join(p for r in result.rejected for p in r.problems)
            raise InputFileError(f"{path.name}: no usable row for bot {bot}: {problems}")
        return Sample(dict(result.items[0].data), result.items[0])
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    else:
        from ..intake.workbook import open_sheet

        workbook, sheet = open_sheet(path, None)
        try:
            rows = [list(r) for r in sheet.iter_rows(min_row=1, max_row=2, values_only=True)]
        finally:
            workbook.close()
    if len(rows) < 2:
        raise InputFileError(f"{path.name}: needs a header row and at least one item row")
    return Sample({snake(str(h)): v for h, v in zip(rows[0], rows[1]) if h is not None and v is not None})
