"""Options several commands share, and how their values are read."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import ConfigurationError

ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with bots/, recipes/ and selectors/.",
                             envvar="BACKROOM_PROJECT")


def _app_pairs(values: list[str], option: str, example: str, valid) -> dict[str, str]:
    """APP=VALUE options (repeatable) as a dict; a malformed one is refused with an example."""
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name or not valid(text):
            raise ConfigurationError(f"{option} {value!r}: expected {example}")
        pairs[name] = text
    return pairs


def parse_app_urls(values: list[str]) -> dict[str, str]:
    return _app_pairs(values, "--app-url", "APP=URL, e.g. billing=http://127.0.0.1:8700",
                      lambda url: url.startswith(("http://", "https://")))


def parse_app_commands(values: list[str]) -> dict[str, str | list[str]]:
    return dict(_app_pairs(values, "--app-command",
                           "APP=COMMAND, e.g. ledger='{python} -m runner.demo.ledger_desktop --db ledger.db'",
                           lambda command: bool(command.strip())))
