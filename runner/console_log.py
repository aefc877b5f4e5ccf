"""Loguru's console sink: warnings for people; a run's own log and its events go to its folder."""

from __future__ import annotations

import sys

from loguru import logger

_state = {"configured": False}


def configure_console_log(level: str = "WARNING") -> None:
    """Replace loguru's default stderr sink once; safe to call from the CLI and from library use."""
    if _state["configured"]:
        return
    try:
        logger.remove(0)  # loguru's default sink would echo every line of every run's log
    except ValueError:
        pass  # the application already configured loguru itself: leave its sinks alone
    else:
        logger.add(sys.stderr, level=level, format="<level>{level}</level>: {message}")
    _state["configured"] = True
