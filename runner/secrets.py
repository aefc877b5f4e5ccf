"""Secrets by name: values come from the environment or the system keyring, never from files.

A resolved value is registered with the run's Redactor, which scrubs it from every
log line and message as a last line of defence; recorded values are rendered with
masks in the first place (templating.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import SecretMissingError
from .templating import MASK

KEYRING_SERVICE = "backroom"


def _from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # keyring is optional at run time
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError):
        return None


def resolve_secrets(names: set[str]) -> dict[str, str]:
    """Look every secret up before the run starts, so a missing one stops nothing half-way."""
    values = {}
    for name in sorted(names):
        value = os.environ.get(f"BACKROOM_SECRET_{name.upper()}")
        if value is None:
            value = _from_keyring(name)
        if not value:
            raise SecretMissingError(name)
        values[name] = value
    return values


@dataclass
class Redactor:
    """Replaces known secret values in any text with a mask."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        self.values.update(v for v in values if v and len(v) >= 3)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text


def masked_secrets(names) -> dict[str, str]:
    return {name: MASK for name in names}
