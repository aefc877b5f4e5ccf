"""Tryton, the ERP from PyPI (trytond with its sale and party modules), and its web client sao from npm,
as a legacy web application nobody on this project wrote.

A database is made once per test session (trytond-admin, then proteus for the company, parties and
products: tests/third_party/tryton_setup.py) and copied for each test; each copy gets a trytond of its
own on 127.0.0.1 serving sao. Sales are read back from Tryton's own SQLite file, never from its screens.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ADMIN_PASSWORD = "Tryton-planted-5830-secret"
DATABASE = "sales"
SAO = Path(__file__).parent / "tryton_sao"           # package.json and lock; quickstart.sh runs npm ci there
PARTIES = ["Acme Hardware", "Bolt and Nut Ltd", "Corner Shop", "Dunmore Garage", "Elm Street Diner"]
PRODUCTS = {"Bracket": "4.20", "Hinge": "2.75", "Lock": "19.90", "Padlock": "11.50"}
BIN = Path(sys.executable).parent


def sao_root() -> Path:
    """The web client's folder; its index.html loads node_modules/... beside itself, which npm put one up."""
    root = SAO / "node_modules" / "tryton-sao"
    if not (root / "index.html").is_file():
        raise RuntimeError(f"the Tryton web client is not installed: run npm ci in {SAO} (quickstart.sh test does)")
    link = root / "node_modules"
    if not link.exists():
        link.symlink_to("..")
    return root


def _config(folder: Path, port: int) -> Path:
    conf = folder / "trytond.conf"
    conf.write_text(f"[database]\nuri = sqlite://\npath = {folder}\n"
                    f"[web]\nlisten = 127.0.0.1:{port}\nroot = {sao_root()}\n"
                    "[session]\nmax_attempt = 1000\n")
    return conf


def _run(command: list[str], timeout: int, **options) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **options)
    if done.returncode:
        raise RuntimeError(f"{command[1] if command[0] == sys.executable else command[0]} failed "
                           f"(exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")


def make_database(folder: Path) -> Path:
    """An empty sales database with the sale module, a company, parties and products: the template."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{DATABASE}.sqlite").touch()
    conf = _config(folder, 0)
    password = folder / "admin-password"
    password.write_text(ADMIN_PASSWORD)
    env = {**os.environ, "TRYTONPASSFILE": str(password)}
    _run([str(BIN / "trytond-admin"), "-c", str(conf), "-d", DATABASE, "--all", "-u", "sale",
          "--email", "admin@example.invalid",
          "--activate-dependencies"], timeout=600, env=env)
    _run([sys.executable, str(Path(__file__).parent / "tryton_setup.py"), str(conf), DATABASE, ADMIN_PASSWORD,
          repr(PARTIES), repr(PRODUCTS)], timeout=300)
    return folder / f"{DATABASE}.sqlite"


@dataclass
class RunningTryton:
    folder: Path
    url: str
    process: subprocess.Popen

    @property
    def database(self) -> Path:
        return self.folder / f"{DATABASE}.sqlite"

    def _query(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql, args).fetchall()

    def count(self) -> int:
        return self._query("SELECT count(*) FROM sale_sale")[0][0]

    def sales(self) -> list[dict]:
        """Every sale as Tryton stores it: its number, reference, party, date, description and lines."""
        rows = self._query(
            "SELECT s.id, s.number, s.reference, p.name, s.sale_date, s.description, s.state FROM sale_sale s "
            "JOIN party_party p ON p.id = s.party ORDER BY s.id")
        lines = self._query(
            "SELECT l.sale, t.name, l.quantity, l.unit_price FROM sale_line l JOIN product_product pr "
            "ON pr.id = l.product JOIN product_template t ON t.id = pr.template ORDER BY l.id")
        return [{"id": id_, "number": number, "reference": reference, "party": party, "sale_date": date,
                 "description": description, "state": state,
                 "lines": [(name, float(quantity), _decimal(price)) for sale, name, quantity, price in lines
                           if sale == id_]}
                for id_, number, reference, party, date, description, state in rows]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _decimal(stored) -> Decimal:
    """A Numeric column as SQLite gives it Tryton's way (the bytes of its text)."""
    return Decimal(stored.decode() if isinstance(stored, bytes) else str(stored))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_tryton(folder: Path, template: Path) -> RunningTryton:
    """A trytond of its own on a copy of the template database, once it answers."""
    from ..conftest import wait_until

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, folder / f"{DATABASE}.sqlite")
    port = _free_port()
    conf = _config(folder, port)
    log = (folder / "trytond.log").open("wb")
    process = subprocess.Popen([str(BIN / "trytond"), "-c", str(conf), "-d", DATABASE], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"trytond ended: {(folder / 'trytond.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, timeout_s=60, what="trytond to answer")
    return RunningTryton(folder, url, process)
