"""Ctrl-C held back for a moment: while a browser or a desktop app is starting, an interrupt would
leave its driver half made, and stopping that driver could then hang until the run is killed (and
its item stays claimed). The interrupt is held until the start is done, then acted on as usual.

A terminal's Ctrl-C (and the scheduler's time limit) signals the whole process group, the programs
being started included. SIGINT is blocked while they start: a blocked signal is inherited across
exec, so a program that keeps its inherited signal mask (a desktop app, a launcher script) does
not die under the runner, which stops it itself. Some reset it (Node.js, and with it Playwright's
driver, which then dies with "connection closed"): whatever the start raised after an interrupt
arrived is the interrupt's doing and ends as one (exit 130, its item given back), not as a defect.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


def interrupts_reach_the_run() -> None:
    """SIGINT is how a run is asked to stop (Ctrl-C, the scheduler's time limit, the menu's and the
    console's "stop now"): it gives its item back and writes its evidence. A process started in the
    background by a shell without job control inherits SIGINT ignored, and so would every run it
    starts; a run puts Python's own handler back (main thread only: signals reach only that one)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only: nothing to hold back here
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    masks = hasattr(signal, "pthread_sigmask")   # POSIX; on Windows the handler alone holds it back
    if masks:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    failure: BaseException | None = None
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - judged below: an interrupt's consequence or a real failure
        failure = exc
    finally:
        if masks:
            if signal.SIGINT in signal.sigpending():
                received.append(signal.SIGINT)
            signal.signal(signal.SIGINT, signal.SIG_IGN)   # discards the pending one: it was counted above
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signal.SIGINT, None)  # someone else's handler (a menu, a recorder) decides
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt from failure
    if failure is not None:
        raise failure
