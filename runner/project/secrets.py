"""Secrets by name: values come from the environment or the system keyring, never from files.

A resolved value is registered with the run's Redactor, which scrubs it from every
log line and message as a last line of defence; recorded values are rendered with
masks in the first place (templating.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..errors import SecretMissingError
from .templating import MASK

KEYRING_SERVICE = "backroom"


def secret_from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # keyring is optional at run time
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError):
        return None


def find_secret(name: str) -> str | None:
    """A secret's value: BACKROOM_SECRET_<NAME>, else the system keyring; None when neither has it."""
    value = os.environ.get(f"BACKROOM_SECRET_{name.upper()}")
    if value is None:
        value = secret_from_keyring(name)
    return value or None


def resolve_secrets(names: set[str]) -> dict[str, str]:
    """Look every secret up before the run starts, so a missing one stops nothing half-way."""
    values = {}
    for name in sorted(names):
        value = find_secret(name)
        if value is None:
            raise SecretMissingError(name)
        values[name] = value
    return values


@dataclass
class Redactor:
    """Masks secret values where they stand as a word of their own in free text (an app's message
    that repeats what was typed): never inside a longer word, so a hash, an order reference or a
    run id that happens to contain a secret's characters stays whole. Only
    free text goes through it (messages, typed and read values); structured fields never do."""

    values: set[str] = field(default_factory=set)
    _pattern: re.Pattern | None = field(default=None, repr=False)

    def add(self, *values: str) -> None:
        self.values.update(v for v in values if v)
        self._pattern = None

    def scrub(self, text: str) -> str:
        if not self.values or not text:
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(v) for v in sorted(self.values, key=len, reverse=True))
            # not next to a letter or digit, nor joined to one by - . / (SO-1, 2026/11, v1.2)
            self._pattern = re.compile(rf"(?<![^\W_])(?<![^\W_][-./])(?:{alternatives})(?![^\W_])(?![-./][^\W_])")
        return self._pattern.sub(MASK, text)

    def js_pattern(self) -> str | None:
        """The same rule for the browser, which paints over text on a page that holds a secret."""
        if not self.values:
            return None
        alternatives = "|".join(re.sub(r"([\\^$.*+?()[\]{}|/])", r"\\\1", v)
                                for v in sorted(self.values, key=len, reverse=True))
        word = r"[\p{L}\p{N}]"
        return rf"(?<!{word})(?<!{word}[-./])(?:{alternatives})(?!{word})(?![-./]{word})"

    def scrub_data(self, data):
        """The same masking for the free text inside an event's data (lists and mappings of strings)."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {key: self.scrub_data(value) for key, value in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.scrub_data(value) for value in data]
        return data


def masked_secrets(names) -> dict[str, str]:
    return {name: MASK for name in names}
