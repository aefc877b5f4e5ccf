"""Shared fixtures: a copy of the project in a temporary folder and a real BILLSYS on 127.0.0.1."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from runner.demo.billing_web import BillingSettings
from runner.demo.sample_orders import sample_rows, write_orders_workbook
from runner.demo.server import start_billing_app

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Pw-planted-8842-secret"
SUPERVISOR = "SUPV-31337-CODE"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of bots/, recipes/, selectors/ and backroom.yaml; runs write to its logs/."""
    root = tmp_path / "project"
    for folder in ("bots", "recipes", "selectors"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(ROOT / "backroom.yaml", root / "backroom.yaml")
    return root


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("BACKROOM_SECRET_BILLING_PASSWORD", PASSWORD)
    monkeypatch.setenv("BACKROOM_SECRET_SUPERVISOR_CODE", SUPERVISOR)


def start_billing(tmp_path: Path, port: int = 0, **overrides):
    overrides.setdefault("seed", 5)
    overrides.setdefault("supervisor_code", SUPERVISOR)
    settings = BillingSettings(db_path=tmp_path / "billsys.db", password=PASSWORD, **overrides)
    return start_billing_app(settings, port=port)


@pytest.fixture
def billing(tmp_path: Path, secrets_env):
    with start_billing(tmp_path) as app:
        yield app


def project_with_sealed_runs(base: Path, seeds: tuple[int, ...], supervisor: str = SUPERVISOR,
                             screenshots: str | None = None) -> Path:
    """A project copy under `base` with one sealed run of rekey-orders (2 orders) per seed, chained, made
    once for a module's tests to copy and tamper with."""
    import os

    from runner import RunRequest, start_run

    project = base / "project"
    for folder in ("bots", "recipes", "selectors"):
        shutil.copytree(ROOT / folder, project / folder)
    shutil.copy(ROOT / "backroom.yaml", project / "backroom.yaml")
    os.environ["BACKROOM_SECRET_BILLING_PASSWORD"] = PASSWORD
    os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"] = supervisor
    try:
        with start_billing(base, supervisor_code=supervisor) as app:
            for n, seed in enumerate(seeds):
                workbook, _ = make_orders(base / f"orders-{n}.xlsx", 2, seed=seed)
                start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                     app_urls={"billing": app.url}, screenshots=screenshots))
    finally:
        del os.environ["BACKROOM_SECRET_BILLING_PASSWORD"], os.environ["BACKROOM_SECRET_SUPERVISOR_CODE"]
    return project


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, process=None) -> None:
    """Poll `condition` until it holds; fail if `timeout_s` passes first, or `process` ends first."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (exit {process.returncode}) before {what}")
        assert time.monotonic() < deadline, f"waited {timeout_s:g}s for {what}"
        time.sleep(0.05)


def killed_after_a_save(command: list[str], cwd: Path, env: dict, saved: Callable[[], int], at: int,
                        timeout_s: float) -> int:
    """Start a run and SIGKILL it the moment the application holds `at` records: right after a save, before the
    run has read its number or marked it done. How many records the application holds then."""
    killed = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: saved() >= at, timeout_s, f"record {at} to be saved", killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    return saved()


def first_result(run: subprocess.CompletedProcess, project: Path, column: str):
    """What the result workbook a run printed the path of holds in `column` for its first item."""
    import openpyxl

    results = next(line.split(":", 1)[1].strip() for line in run.stdout.splitlines()
                   if line.startswith("Result workbook:"))
    sheet = openpyxl.load_workbook(project / results).active
    header = [c.value for c in sheet[1]]
    assert column in header, header
    return sheet.cell(2, header.index(column) + 1).value


def after_the_rerun(run: subprocess.CompletedProcess, project: Path, bot: str, app: str) -> dict[str, dict]:
    """The run after killed_after_a_save: the item the kill caught after its save was not keyed again but waits for
    a person, saying why; what every item that has a result read (its variables), by reference."""
    from runner import load_settings
    from runner.work_queue import open_queue

    assert run.returncode in (0, 1), run.stdout + run.stderr
    review = [line for line in run.stdout.splitlines() if f"may already be in {app}" in line]
    assert run.returncode == 0 or len(review) == 1, run.stdout
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        return {item.reference: item.result["vars"] for item in queue.items(bot) if item.result}
    finally:
        queue.close()


class WebhookReceiver:
    """A chat tool's incoming webhook, on 127.0.0.1: keeps each JSON body it is sent with its path and content
    type; answers 500 to a path ending in /no."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received: list[tuple[str, dict, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, json.loads(body), self.headers["Content-Type"]))
                self.send_response(500 if self.path.endswith("/no") else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [body for _, body, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def faults_logged(db_path: Path) -> list[dict]:
    """The faults BILLSYS or LEDGER/AR injected, from the `faults` table of their own database."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM faults ORDER BY id")]


def orders_in_db(db_path: Path) -> list[dict]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY id")]


def make_orders(path: Path, count: int, seed: int = 11) -> tuple[Path, list[list]]:
    rows = sample_rows(count, seed=seed)
    return write_orders_workbook(path, rows), rows


# -- the desktop estate ---------------------------------------------------------
LEDGER_PASSWORD = "Ledger-planted-5521-secret"


@pytest.fixture(scope="session")
def screen():
    """A real X display (Xvfb) for the session's desktop tests; DISPLAY points at it."""
    from runner.drivers.display import virtual_display

    with virtual_display(1024, 768) as name:
        yield name


class Ledger:
    """A fresh LEDGER/AR database and the command that starts the app on it."""

    def __init__(self, folder: Path):
        from runner.demo.ledger_desktop import create_ledger

        self.db = create_ledger(folder / "ledger.db", password=LEDGER_PASSWORD)
        self.folder = folder

    def command(self, *extra: str) -> str:
        return " ".join(["{python}", "-m", "runner.demo.ledger_desktop", "--db", str(self.db), *extra])

    def payments(self) -> list[dict]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM payments ORDER BY id")]


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch) -> Ledger:
    monkeypatch.setenv("BACKROOM_SECRET_LEDGER_PASSWORD", LEDGER_PASSWORD)
    return Ledger(tmp_path)


def make_payments(path: Path, rows: list[list]) -> Path:
    from runner.demo.sample_payments import write_payments_workbook

    return write_payments_workbook(path, rows)


# -- markers: `-m web`, `-m desktop`, `-m "not slow"` run a part of the suite alone ----------------------
# Modules that start Chromium against a web application (BILLSYS, the console, Roundup), and those that
# take minutes; desktop tests are the ones that use the virtual screen.
WEB_MODULES = {"test_audit_evidence", "test_audit_pack", "test_bad_input", "test_cli", "test_commit_guard",
               "test_console", "test_console_security", "test_every_fault", "test_invoices",
               "test_menu", "test_queue_runs", "test_read_back_web", "test_reconcile_bot", "test_recorder_web",
               "test_rekey_end_to_end", "test_report_and_masking", "test_resilience", "test_scheduled_runs",
               "test_scheduler_service", "test_third_party_tracker", "test_secret_masking", "test_tamper_matrix",
               "test_recorder_third_party"}
DESKTOP_MODULES = {"test_desktop_bot", "test_read_back_desktop", "test_recorder_desktop", "test_desktop_apps"}
SLOW_MODULES = {"test_every_fault"}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in WEB_MODULES:
            item.add_marker(pytest.mark.web)
        if module in DESKTOP_MODULES or {"screen", "ledger"} & set(item.fixturenames):
            item.add_marker(pytest.mark.desktop)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


_WATCHED_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                                     getattr(signal, "SIGBREAK", None)) if s is not None)


def _signal_state() -> dict:
    state: dict = {signal.Signals(s).name: signal.getsignal(s) for s in _WATCHED_SIGNALS}
    if hasattr(signal, "pthread_sigmask"):
        state["blocked"] = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    return state


@pytest.fixture(autouse=True)
def signals_left_as_they_were():
    """Every test leaves this process's signal handlers and mask as it found them: a handler left
    behind (a Ctrl-C ignored, a stop handler of a command run in-process) changes later tests."""
    before = _signal_state()
    yield
    after = _signal_state()
    if after != before:
        for number in _WATCHED_SIGNALS:
            signal.signal(number, before[signal.Signals(number).name])
        if "blocked" in before:
            signal.pthread_sigmask(signal.SIG_SETMASK, before["blocked"])
        changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
        pytest.fail(f"the test left signal handling changed (restored now): {changed}")


@pytest.fixture(scope="session", autouse=True)
def postgres_stopped_at_the_end():
    """The PostgreSQL server a test started (tests/postgres_server.py) is stopped when the suite ends."""
    from .postgres_server import stop_postgres

    yield
    stop_postgres()


def pytest_configure(config):
    """A suite started from a background job (CI, `... &` in a script) inherits SIGINT ignored; the tests
    of Ctrl-C handling need what a terminal gives: Python's own handler."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
