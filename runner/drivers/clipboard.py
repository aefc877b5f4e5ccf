"""The system clipboard, for typing what a keyboard layout cannot and for reading values back.

On Linux this talks to xclip directly with its output sent nowhere: xclip stays in the
background to serve what was copied, and one that inherited our stdout would keep a
caller's pipe open after the run ends. Elsewhere pyperclip does the job.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from ..errors import DisplayError

TIMEOUT_S = 5


def _xclip() -> str:
    path = shutil.which("xclip")
    if path is None:
        raise DisplayError("the desktop driver needs xclip for the clipboard", "Install it: apt-get install xclip")
    return path


def copy(text: str) -> None:
    if sys.platform != "linux":
        import pyperclip

        pyperclip.copy(text)
        return
    subprocess.run([_xclip(), "-selection", "clipboard", "-in"], input=text.encode("utf-8"), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT_S)


def paste() -> str:
    if sys.platform != "linux":
        import pyperclip

        return pyperclip.paste()
    done = subprocess.run([_xclip(), "-selection", "clipboard", "-out"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, timeout=TIMEOUT_S)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""
