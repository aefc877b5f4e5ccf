"""A run in a child process of its own: how the menu, the console and the scheduler start runs.

The child leaves the terminal's process group, so a Ctrl-C typed at the menu reaches the
menu only: the menu asks what to do while the browser and the legacy app keep working.
"Stop after the current item" is an event the run checks between items; "stop now" is
Ctrl-C sent to the child's own group, which gives the item back to the queue. The child
holds the bot's lock for its whole life, so the lock outlives a launcher that dies. A run
that does not stop when asked is killed with its whole process group (its browser too).
"""

from __future__ import annotations

import multiprocessing
import os
import queue as _queue
import signal
import subprocess
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any

from ..errors import BackroomError, ExitCode
from .records import Progress, RunRequest, RunResult


class ChildRunError(BackroomError):
    """An error the child reported, carried back with its message, hint and exit code."""

    def __init__(self, message: str, hint: str, exit_code: int, kind: str = ""):
        super().__init__(message, hint)
        self.exit_code = ExitCode(exit_code)
        self.kind = kind   # the child's exception class (BotBusyError: another run of the bot holds its lock)


@dataclass
class ChildEnded:
    result: RunResult | None = None
    error: ChildRunError | None = None
    exit_status: int | None = None   # the process's own exit code when it died without a word (-9: killed)


ASKER_BYTES = 200   # room for who asked a run to stop: a console user's name, "the scheduler (time limit)"


def _child_main(request: RunRequest, messages: Any, stop_after_item: Any, asked_by: Any) -> None:
    from ..console_log import configure_console_log
    from .interrupts import interrupts_reach_the_run
    from .lock import bot_lock
    from .start import start_run

    if hasattr(os, "setsid"):
        os.setsid()  # away from the terminal's Ctrl-C; the launcher decides what a Ctrl-C means
        interrupts_reach_the_run()  # "stop now" is SIGINT, even when the launcher was started in the background
    else:  # Windows: the console's Ctrl-C reaches every process attached to it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGBREAK, signal.default_int_handler)  # type: ignore[attr-defined]  # Windows only
    configure_console_log("ERROR")  # warnings are in the run log; the launcher shows progress
    request = replace(request, stop_asker=lambda: bytes(asked_by.value).decode("utf-8", "replace"))
    try:
        try:
            with bot_lock(request.project, request.bot):
                messages.put(("holding", time.time()))   # the run is on from here: its lock is held
                result = start_run(request, on_progress=lambda p: messages.put(("progress", p)),
                                   should_stop=stop_after_item.is_set)
        finally:
            messages.put(("released", time.time()))   # the run is over for the lock: another may begin
        messages.put(("result", result))
    except BackroomError as exc:
        messages.put(("error", (exc.message, exc.hint, int(exc.exit_code), type(exc).__name__)))
    except KeyboardInterrupt:
        messages.put(("error", ("stopped before the run began", "", int(ExitCode.INTERRUPTED), "KeyboardInterrupt")))
    except BaseException as exc:  # noqa: BLE001 - a defect: carry it back whole
        messages.put(("error", (f"internal error: {exc!r}", traceback.format_exc(limit=8), int(ExitCode.INTERNAL),
                                type(exc).__name__)))


class ChildRun:
    """Start with `ChildRun(request)`; read `next_message()` until it returns a ChildEnded."""

    def __init__(self, request: RunRequest):
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads or browsers
        self.request = request
        self._messages = context.Queue()
        self._stop_after_item = context.Event()
        # who asked it to stop, for the run's own words
        self._asked_by: Any = context.Array("c", ASKER_BYTES)
        self.process = context.Process(target=_child_main, args=(request, self._messages, self._stop_after_item,
                                                                 self._asked_by),
                                       name=f"backroom-run-{request.bot}", daemon=False)
        self.process.start()
        self.last_progress: Progress | None = None
        self.holding_since: float | None = None   # when the child took the bot's lock: the run's real start
        self.released_at: float | None = None     # when it let the lock go: the run's real end
        self.ended: ChildEnded | None = None

    @property
    def stop_requested(self) -> bool:
        return self._stop_after_item.is_set()

    def _asked(self, by: str) -> None:
        if by:
            said = by.encode("utf-8")[:ASKER_BYTES - 1].decode("utf-8", "ignore").encode("utf-8")
            self._asked_by.value = said

    def stop_after_current_item(self, by: str = "") -> None:
        """`by`: who asks (a console user, a runner service); the run's message names them."""
        self._asked(by)
        self._stop_after_item.set()

    def stop_now(self, by: str = "") -> None:
        """Ctrl-C to the run's own process group: it gives its item back and writes its report."""
        if self.process.pid is None or not self.process.is_alive():
            return
        self._asked(by)
        if os.name == "nt":
            os.kill(self.process.pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]  # Windows only
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
        except ProcessLookupError:   # so new it has no process group of its own yet: it alone is there
            try:
                os.kill(self.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """The run and everything it started (browser, desktop apps), at once: for a run that did not stop
        when asked. Its item goes back to the queue at once (its holder is gone), its evidence ends torn."""
        if self.process.pid is None or not self.process.is_alive():
            return
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.process.pid)], capture_output=True)
        else:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:   # no group of its own yet: it alone is there
                try:
                    os.kill(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def next_message(self, timeout: float = 0.2) -> Progress | ChildEnded | None:
        """The next progress report, the end, or None when nothing came within the timeout."""
        if self.ended is not None:
            return self.ended
        try:
            kind, payload = self._messages.get(timeout=timeout)
        except _queue.Empty:
            if not self.process.is_alive():
                return self._died()
            return None
        if kind == "progress":
            self.last_progress = payload
            return payload
        if kind in ("holding", "released"):
            self._note_lock(kind, payload)
            return None
        self.process.join(timeout=30)
        self.ended = ChildEnded(result=payload) if kind == "result" else ChildEnded(error=ChildRunError(*payload))
        return self.ended

    def _died(self) -> ChildEnded:
        try:  # it may have said goodbye just before exiting
            while True:
                kind, payload = self._messages.get(timeout=0.5)
                if kind in ("result", "error"):
                    self.ended = ChildEnded(result=payload) if kind == "result" else \
                        ChildEnded(error=ChildRunError(*payload))
                    return self.ended
                if kind in ("holding", "released"):
                    self._note_lock(kind, payload)
        except _queue.Empty:
            pass
        self.process.join(timeout=5)
        code = self.process.exitcode
        self.ended = ChildEnded(error=ChildRunError(
            f"the run ended abnormally (exit code {code})",
            "Its audit report, if it got that far, is in the runs list; the item it held goes back to the "
            "queue at the next claim.", int(ExitCode.INTERNAL), "died"), exit_status=code)
        return self.ended

    def _note_lock(self, kind: str, at: float) -> None:
        if kind == "holding":
            self.holding_since = at
        else:
            self.released_at = at

    def wait(self) -> ChildEnded:
        while True:
            message = self.next_message(timeout=1.0)
            if isinstance(message, ChildEnded):
                return message
