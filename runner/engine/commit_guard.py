"""A commit is never repeated blindly.

An item whose attempt got past a step marked `commits: true` may already be in the legacy
system. It is worked again only through the bot's verify recipe, which looks it up first;
a bot without one sends it to a person, who checks the application and then says so when
sending it back to work.
"""

from __future__ import annotations


def may_be_in_app(app: str, where: str = "", write: str = "") -> str:
    """The review message for an item that may already have been saved; `write` is the request the browser
    sent (its method and address), when it was one."""
    reached = f"an attempt got past {where}, which saves" if where else \
        "an earlier attempt reached a step that saves" if not write else "an attempt wrote"
    sent = f" (the browser sent {write})" if write else ""
    return f"may already be in {app}: {reached}{sent}; check {app} before retrying"


def person_must_check(commit_started: bool, verify_recipe: str | None) -> bool:
    """Only a person can tell whether this item is already in the application."""
    return commit_started and verify_recipe is None
