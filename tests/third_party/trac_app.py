"""Trac, the wiki and issue tracker from PyPI, as a second legacy web application nobody on this
project wrote. A fresh environment (SQLite) in a folder of the test's, served in-process by waitress on
127.0.0.1, where anyone may file tickets (as on many an intranet tracker). Its tickets are read back
from its own database, never from its screens.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunningTrac:
    home: Path
    url: str
    server: object
    thread: threading.Thread

    def tickets(self) -> list[dict]:
        """Every ticket as Trac stores it."""
        with sqlite3.connect(self.home / "db" / "trac.db") as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(
                "SELECT id, type, priority, summary, description FROM ticket ORDER BY id")]

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


def _admin(home: Path, *args: str) -> None:
    command = [sys.executable, "-c", "import sys; from trac.admin.console import run; sys.exit(run())",
               str(home), *args]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def start_trac(folder: Path) -> RunningTrac:
    import waitress
    from trac.web.main import dispatch_request

    home = folder / "trac"
    _admin(home, "initenv", "Helpdesk", "sqlite:db/trac.db")
    _admin(home, "permission", "add", "anonymous", "TICKET_CREATE", "TICKET_MODIFY")

    def app(environ, start_response):
        environ["trac.env_path"] = str(home)
        return dispatch_request(environ, start_response)

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="trac", daemon=True)
    thread.start()
    return RunningTrac(home, f"http://127.0.0.1:{server.effective_port}", server, thread)
