"""Roundup, the issue tracker from PyPI, as a legacy web application nobody on this project wrote.

A fresh tracker (classic template, SQLite) in a folder of the test's, served in-process by waitress on
127.0.0.1 (Roundup's own server refuses to run as root, which CI is). Its data is read back through
Roundup's own API, never from its screens.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ADMIN_PASSWORD = "Tracker-planted-2719-secret"


@dataclass
class RunningTracker:
    home: Path
    url: str
    server: object
    thread: threading.Thread

    def issues(self) -> list[dict]:
        """Every issue as Roundup stores it: title, priority name and the text of its messages."""
        import roundup.instance

        db = roundup.instance.open(str(self.home)).open("admin")
        try:
            return [{"id": issue, "title": db.issue.get(issue, "title"),
                     "priority": db.priority.get(db.issue.get(issue, "priority"), "name"),
                     "notes": [db.msg.get(m, "content") for m in db.issue.get(issue, "messages")]}
                    for issue in db.issue.list()]
        finally:
            db.close()

    def count(self) -> int:
        """How many issues Roundup holds, read from its own database file (cheap enough to watch a run with)."""
        import sqlite3

        with sqlite3.connect(f"file:{self.home / 'db' / 'db'}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM _issue WHERE __retired__ = 0").fetchone()[0]

    def file_by_hand(self, title: str, priority: str) -> str:
        """An issue a person filed already, through Roundup's own API."""
        import roundup.instance

        db = roundup.instance.open(str(self.home)).open("admin")
        try:
            issue = db.issue.create(title=title, priority=db.priority.lookup(priority))
            db.commit()
            return issue
        finally:
            db.close()

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


def _admin(home: Path, *args: str) -> None:
    command = [sys.executable, "-c", "import sys; from roundup.scripts.roundup_admin import run; sys.exit(run())",
               "-i", str(home), *args]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def start_tracker(folder: Path) -> RunningTracker:
    import waitress
    from roundup.cgi.wsgi_handler import RequestDispatcher

    home = folder / "tracker"
    _admin(home, "install", "classic", "sqlite")
    server = waitress.create_server(lambda environ, start: app(environ, start), host="127.0.0.1", port=0, threads=4)
    url = f"http://127.0.0.1:{server.effective_port}/"
    config = (home / "config.ini").read_text()
    config = config.replace("#web = NO DEFAULT", f"web = {url}")
    config = config.replace("#domain = NO DEFAULT", "domain = example.invalid")
    config = config.replace("#host = NO DEFAULT", "host = localhost")  # mail is written to a file, never sent
    config = re.sub(r"(?m)^(\[mail\][\s\S]*?)^debug = $", lambda m: m.group(1) + f"debug = {folder / 'mail.log'}",
                    config, count=1)
    (home / "config.ini").write_text(config)
    _admin(home, "initialise", ADMIN_PASSWORD)
    app = RequestDispatcher(str(home))
    thread = threading.Thread(target=server.run, name="roundup", daemon=True)
    thread.start()
    return RunningTracker(home, url, server, thread)
