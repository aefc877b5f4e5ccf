"""The clock the scheduler's own reckoning reads (what was missed while it was down, when a run
started and ended): `time.time` in production; tests move it."""

from __future__ import annotations

from typing import Callable

Clock = Callable[[], float]   # seconds since the epoch, like time.time

