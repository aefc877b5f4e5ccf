"""A real terminal for tests: a tmux session on a private server, typed into and read back."""

from __future__ import annotations

import os
import shlex
import subprocess
import time


class Terminal:
    def __init__(self, command: list[str], cwd, env: dict[str, str], width: int = 180, height: int = 50):
        self.socket = f"backroom-test-{os.getpid()}-{time.monotonic_ns()}"
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The shell stays after the command ends so its last screen and exit code can be read.
        line = f"cd {shlex.quote(str(cwd))} && env {assignments} {shlex.join(command)}; echo \"[exit $?]\"; sleep 600"
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), line)
        self._tmux("set-option", "-t", "t", "history-limit", "5000")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        """Everything shown so far, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-5000", "-t", "t")

    def visible(self) -> list[str]:
        """The lines on the screen now, as a person sees them (no scrolled-off history, no joining)."""
        return self._tmux("capture-pane", "-p", "-t", "t").splitlines()

    def type(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def answer(self, text: str) -> None:
        self.type("-l", text)
        self.type("Enter")

    def wait_for(self, text: str, timeout: float = 60, count: int = 1) -> str:
        """Wait until `text` has shown `count` times; returns the screen."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if shown.count(text) >= count:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not show within {timeout} s; the terminal shows:\n{shown[-3000:]}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
