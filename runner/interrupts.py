"""Ctrl-C held back for a moment: while a browser or a desktop app is starting, an interrupt would
leave its driver half made, and stopping that driver could then hang until the run is killed (and
its item stays claimed). The interrupt is held until the start is done, then acted on as usual."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only: nothing to hold back here
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signal.SIGINT, None)  # someone else's handler (a menu, a recorder) decides
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt
