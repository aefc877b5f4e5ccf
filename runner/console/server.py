"""Serving the console with waitress (a production WSGI server that also runs on Windows)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from waitress import create_server

from ..project.settings import Settings
from .app import create_app


class RunningConsole:
    def __init__(self, project: Path, host: str, port: int, settings: Settings | None = None):
        self.app = create_app(project, settings)
        self.server = create_server(self.app, host=host, port=port, threads=8, ident="Backroom",
                                    clear_untrusted_proxy_headers=True)
        self.url = f"http://{host}:{self.server.effective_port}"

    @property
    def console(self):
        return self.app.extensions["backroom"]

    def serve(self) -> None:
        self.server.run()

    def close(self) -> None:
        self.console.launcher.stop_all()
        self.server.close()
        self.console.users.close()


@contextmanager
def console_in_thread(project: Path, host: str = "127.0.0.1", port: int = 0,
                      settings: Settings | None = None) -> Iterator[RunningConsole]:
    running = RunningConsole(project, host, port, settings)
    thread = threading.Thread(target=running.serve, name="backroom-console", daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.close()
        thread.join(timeout=10)
