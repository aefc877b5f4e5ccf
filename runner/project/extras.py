"""Optional parts of Backroom and the extra that installs each: a web-only install stays small, and a
missing part says which extra brings it instead of an ImportError from deep inside a driver."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..errors import ConfigurationError

# the top-level modules each extra installs (a missing one of these is the extra missing, nothing else)
EXTRAS = {
    "desktop": {"pyautogui", "cv2", "numpy", "mss", "Xlib", "xvfbwrapper", "pyperclip", "PIL", "pyscreeze",
                "pymsgbox", "pytweening", "mouseinfo"},
    "recorder": {"pynput", "evdev"},
    "postgres": {"psycopg", "psycopg_binary", "psycopg_pool"},
}


@contextmanager
def needs_extra(extra: str, what: str) -> Iterator[None]:
    """Import what `what` needs inside this block; a module of `extra` that is not installed is a
    ConfigurationError naming the extra."""
    try:
        yield
    except ImportError as exc:
        name = (exc.name or "").split(".")[0]
        if name not in EXTRAS[extra]:
            raise
        raise ConfigurationError(f"{what} needs the Python package {name!r}, which is not installed",
                                 f"Install Backroom's {extra} extra: pip install 'backroom[{extra}]'") from None
