"""The screen desktop bots work on: check it before anything runs, or bring up a virtual one.

On Linux an unattended run gets its own Xvfb display (`--virtual-display`, and the
scheduler) of the configured size, stopped when the run ends. A run that needs a
display and has none fails at once with a message, instead of hanging on the first click.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import DisplayError
from ..project.extras import needs_extra


def display_name() -> str | None:
    return os.environ.get("DISPLAY") or None


def check_display() -> None:
    """Raise DisplayError unless a desktop session can be opened right now."""
    if sys.platform != "linux":
        return  # Windows and macOS always have the signed-in user's desktop
    name = display_name()
    if not name:
        raise DisplayError("no display: DISPLAY is not set, so there is no screen to work on")
    with needs_extra("desktop", "a desktop screen"):
        from Xlib import error as xerror
        from Xlib.display import Display

    _ensure_xauthority()
    try:
        Display(name).close()
    except (xerror.DisplayError, xerror.ConnectionClosedError, OSError) as exc:
        raise DisplayError(f"cannot open display {name}: {exc}") from None


def _ensure_xauthority() -> None:
    """python-xlib refuses to connect without an authority file and prints a warning on every
    connection when the file is empty. Where there is none worth reading (Xvfb needs no cookie),
    point XAUTHORITY at a file of Backroom's own with one entry for no display: the user's
    file is never touched, and every client connects as it would without one."""
    path = Path(os.environ.get("XAUTHORITY") or Path.home() / ".Xauthority")
    if path.is_file() and path.stat().st_size > 0:
        return
    own = Path(tempfile.gettempdir()) / f"backroom-{os.getuid()}.xauthority"
    if own.exists() and own.stat().st_uid != os.getuid():  # not ours: never trust a shared temp name
        own = Path(tempfile.mkstemp(suffix=".xauthority")[1])
        own.unlink()
    if not own.exists():
        def field(data: bytes) -> bytes:
            return struct.pack(">H", len(data)) + data

        entry = struct.pack(">H", 256) + field(b"backroom-no-host") + field(b"65535") \
            + field(b"MIT-MAGIC-COOKIE-1") + field(bytes(16))
        own.write_bytes(entry)
    os.environ["XAUTHORITY"] = str(own)


READY_TIMEOUT_S = 10


def _wait_until_accepting(name: str, timeout_s: float) -> None:
    """The socket exists before the server answers; on a loaded machine the gap is visible."""
    from Xlib import error as xerror
    from Xlib.display import Display

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            Display(name).close()
            return
        except (xerror.DisplayError, xerror.ConnectionClosedError, OSError, OverflowError) as exc:
            # OverflowError: with no socket yet, python-xlib tries TCP port 6000 + n, out of range for the
            # high display numbers xvfbwrapper picks
            if time.monotonic() >= deadline:
                raise DisplayError(f"display {name} did not accept connections within {timeout_s:g}s: {exc}") from None
            time.sleep(0.05)


@contextmanager
def virtual_display(width: int, height: int, depth: int = 24) -> Iterator[str]:
    """An Xvfb display for the duration of the block; DISPLAY points at it meanwhile."""
    if sys.platform != "linux":
        yield display_name() or ""
        return
    if shutil.which("Xvfb") is None:
        raise DisplayError("--virtual-display needs Xvfb, which is not installed",
                           "Install it: apt-get install xvfb")
    with needs_extra("desktop", "--virtual-display"):
        from xvfbwrapper import Xvfb

    _ensure_xauthority()
    # -noreset: by default Xvfb resets itself whenever its last client disconnects, dropping
    # anyone connecting at that moment (a check, then the bot, then the app relaunched).
    xvfb = Xvfb(width=width, height=height, colordepth=depth, set_xdg_session_type=True,
                extra_args=["-nolisten", "tcp", "-noreset"])
    try:
        xvfb.start()
        _wait_until_accepting(os.environ["DISPLAY"], READY_TIMEOUT_S)
    except BaseException as exc:
        xvfb.stop()   # never left running behind a run that could not use it
        if isinstance(exc, (RuntimeError, OSError, DisplayError)):
            raise DisplayError(f"could not start a virtual display: {exc}") from None
        raise
    try:
        yield os.environ["DISPLAY"]
    finally:
        xvfb.stop()


def stop_abandoned_display(name: str) -> bool:
    """Stop the Xvfb serving `name` whose owner died without stopping it (a worker process killed): the programs
    on it lose their screen and quit with it. Only an Xvfb of this user, found by the X server's lock file."""
    if sys.platform != "linux" or not name.startswith(":"):
        return False
    number = name[1:].split(".")[0]
    try:
        pid = int(Path(f"/tmp/.X{number}-lock").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if not command or not command[0].endswith(b"Xvfb") or name.encode() not in command \
                or Path(f"/proc/{pid}").stat().st_uid != os.getuid():
            return False
        os.kill(pid, signal.SIGTERM)
        return True
    except (OSError, ValueError):
        return False
