"""`RunSession`: one run from its folder to its seal, the same for every kind of bot.

    with RunSession(request, prepared) as session:
        session.emit("run", "started", data=...)
        try:
            session.start_drivers()
            ... the bot's work, through session.engine ...
        except (KeyboardInterrupt, Exception) as exc:
            session.stopped_by(exc)
        session.end(exit_code, message, data)     # the last event; the trail is closed
        ... files the run writes after its events (a results workbook) ...
    # leaving it: drivers stopped, report built, evidence sealed and its chain head recorded in the queue

Whatever happens inside, the run's evidence is finished: an exception that escapes the block ends
the run as aborted (or interrupted) before it goes on up. A defect (not a BackroomError, not a
Ctrl-C) recorded with `stopped_by` is raised again once the evidence is sealed.
"""

from __future__ import annotations

import re
import secrets as _random
import socket
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from ..audit.events import AuditEvent, AuditTrail
from ..audit.manifest import seal_run
from ..audit.report import build_report
from ..audit.signing import load_signer
from ..drivers.web import WebDriver
from ..engine.core import Engine
from ..errors import BackroomError, ConfigurationError, ExitCode, exit_code_for
from ..project.secrets import Redactor
from ..project.settings import AppSettings, Settings
from ..work_queue import EvidenceHead, RunRecord, WorkQueue, open_queue
from .interrupts import interrupts_deferred
from .lock import run_lock
from .records import PreparedRun, RunRequest

RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")
RUN_OUTCOME = {ExitCode.OK: "success", ExitCode.ITEMS_FAILED: "finished_with_exceptions",
               ExitCode.INTERRUPTED: "interrupted"}


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + _random.token_hex(2)


def run_queue_url(request: RunRequest, settings: Settings) -> str | Path:
    return request.queue or settings.queue_url


def open_run_queue(request: RunRequest, settings: Settings) -> WorkQueue:
    return open_queue(run_queue_url(request, settings), Path(request.project))


def run_outcome(code: ExitCode) -> str:
    return RUN_OUTCOME.get(code, "aborted")


class RunSession:
    def __init__(self, request: RunRequest, prepared: PreparedRun):
        self.request, self.prepared = request, prepared
        self.bot, self.settings = prepared.bot, prepared.settings
        self.project = Path(request.project)
        self.queue_url = run_queue_url(request, self.settings)
        self.run_id = request.run_id or new_run_id()
        if not RUN_ID.fullmatch(self.run_id):
            raise ConfigurationError(f"run id {self.run_id!r}: letters, digits and '-' only")
        self.policy = request.screenshots or self.bot.screenshots or self.settings.screenshots
        self.workers = request.workers or self.bot.workers   # items worked at once (run/lanes.py)
        self.abort: BaseException | None = None   # what stopped the run early, if anything
        self.message = ""                         # the run's last word: why it stopped, or its headline
        self.stop_requested = False               # asked to stop after its current item (should_stop)
        self.exit_code: ExitCode | None = None
        self.report_path: Path | None = None
        self.drivers: dict[str, Any] = {}
        self._drivers_started: set[int] = set()   # the driver sets started (the run's, each worker's)

    # -- opening -------------------------------------------------------------------------------
    def __enter__(self) -> "RunSession":
        # before anything runs: a missing key stops nothing
        self.signer = load_signer(self.settings, self.project)
        self.run_dir = self.project / self.settings.logs_dir / self.bot.name / self.run_id
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._held = ExitStack()
        self._held.enter_context(run_lock(self.run_dir))   # going: not killed, whatever its evidence says yet
        self._register(outcome=None)
        redactor = Redactor()
        redactor.add(*self.prepared.secrets.values())
        redactor.add(*getattr(self.signer, "secret_values", ()))
        self.trail = AuditTrail(self.run_id, self.run_dir, redactor)
        self.drivers = make_drivers(self.prepared, self.project, attended=not self.request.virtual_display)
        self.engine = Engine(self.drivers, self.prepared.book, self.prepared.maps, self.settings, self.trail,
                             self.prepared.secrets, self.prepared.apps, self.policy)
        return self

    def new_lane(self) -> tuple[dict[str, Any], Engine]:
        """Another worker's own screens and engine, writing to this run's one trail."""
        drivers = make_drivers(self.prepared, self.project, attended=not self.request.virtual_display)
        return drivers, Engine(drivers, self.prepared.book, self.prepared.maps, self.settings, self.trail,
                               self.prepared.secrets, self.prepared.apps, self.policy)

    def open_queue(self) -> WorkQueue:
        return open_queue(self.queue_url, self.project)

    # -- during the run ------------------------------------------------------------------------
    def emit(self, kind: str, outcome: str, **fields) -> None:
        self.trail.emit(AuditEvent(run=self.run_id, seq=self.trail.next_seq(), kind=kind, outcome=outcome, **fields))

    @property
    def log(self):
        return self.trail.log

    def start_drivers(self, drivers: dict[str, Any] | None = None) -> None:
        """Browsers and apps start with Ctrl-C held back (interrupts.py); once per run (or per worker, for a
        worker's own `drivers`)."""
        drivers = self.drivers if drivers is None else drivers
        if id(drivers) in self._drivers_started:
            return
        self._drivers_started.add(id(drivers))
        start_all(drivers)

    def stop_drivers(self, drivers: dict[str, Any] | None = None, who: str = "") -> None:
        """Close the browser and the programs the run (or one worker, `who`) started; what that took (a program
        that had to be killed) is an event while the trail is open."""
        for note in stop_all(self.drivers if drivers is None else drivers):
            if not self.ended:
                self.emit("app", "closed", message=f"{who}{note}")
                self.log.info(f"{who}{note}")

    def masked(self, text: str) -> str:
        return self.trail.redactor.scrub(text)

    def why_stopped(self, exc: BaseException) -> str:
        return why_stopped(exc, self.trail.redactor)

    def who_asked_to_stop(self) -> str:
        asked = self.request.stop_asker() if self.request.stop_asker is not None else ""
        return asked or self.request.stopped_by

    def stopped_by(self, exc: BaseException) -> str:
        """The run stops early: why, in its log and (by `end`) its last event. A defect is logged with its
        traceback and raised again when the session closes, after the evidence is written."""
        self.abort = exc
        if isinstance(exc, KeyboardInterrupt):
            asked = self.request.stop_asker() if self.request.stop_asker is not None else ""
            self.message = f"stopped now by {asked}" if asked else "interrupted"
        elif isinstance(exc, BackroomError):
            self.message = self.masked(str(exc).splitlines()[0])
        else:
            self.log.exception("internal error")
            self.message = self.masked(f"internal error: {exc!r}")
            return self.message
        self.log.error(f"run stopped: {self.message}")
        return self.message

    # -- the end -------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.exit_code is not None

    def end(self, exit_code: ExitCode, message: str | None = None, data: dict | None = None) -> None:
        """The run's last event, with its outcome; nothing is written to the trail after it."""
        self.stop_drivers()
        self.exit_code = exit_code
        if message is not None:
            self.message = message
        self.emit("run", run_outcome(exit_code), message=self.message or None,
                  data={**(data or {}), "exit_code": int(exit_code)})
        self.trail.close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and not self.ended:
            self.stopped_by(exc)
        if not self.ended:
            self.end(exit_code_for(self.abort) if self.abort is not None else ExitCode.INTERNAL)
        self.stop_drivers()
        try:
            self.report_path = build_report(self.run_dir)
            self._seal_and_register(run_outcome(self.exit_code) if self.exit_code is not None else "aborted")
        finally:
            self._held.close()
        if exc is None and self.abort is not None and not isinstance(self.abort, (BackroomError, KeyboardInterrupt)):
            raise self.abort

    def _register(self, outcome: str | None, queue: WorkQueue | None = None) -> None:
        """The run in the run registry: where its evidence is, for every machine (`outcome` None: going)."""
        opened = queue is None
        queue = self.open_queue() if queue is None else queue
        try:
            queue.record_run(RunRecord(self.bot.name, self.run_id, self.request.runner or socket.gethostname(),
                                       socket.gethostname(), str((self.project / self.settings.logs_dir).resolve()),
                                       outcome))
        finally:
            if opened:
                queue.close()

    def _seal_and_register(self, outcome: str) -> None:
        """After the last file of the run is written: the signed manifest, the run in its bot's chain, that chain's
        new head in the queue, and the run's outcome in the run registry (one visit to the queue for both)."""
        queue = self.open_queue()
        try:
            if self.signer is not None:
                with queue.evidence_lock(self.bot.name):   # the chain's next line and its head, one sealer at a time
                    seal = seal_run(self.run_dir, self.run_id, self.bot.name, self.trail.written, self.trail.last_hash,
                                    self.signer, written_sha256=self.trail.written_sha256)
                    queue.record_evidence_head(EvidenceHead(seal.bot, seal.run, seal.chain_length, seal.line_sha256))
            self._register(outcome, queue)
        finally:
            queue.close()


def make_drivers(prepared: PreparedRun, project: Path, attended: bool) -> dict[str, Any]:
    """The screens a bot's recipes work on: a browser for web apps, the desktop for desktop programs."""
    kinds = {m.kind for m in prepared.maps.values()}
    drivers: dict[str, Any] = {}
    if "web" in kinds:
        drivers["web"] = WebDriver(prepared.settings, keep_screen=prepared.bot.clean_screen == "after_failure")
    if "desktop" in kinds:
        from ..drivers.desktop import DesktopDriver  # OpenCV and pyautogui load only for desktop bots

        # the settings prepare_run resolved (file, environment, command line), not resolved again
        desktop_apps = {app: AppSettings.model_validate(prepared.apps[app])
                        for app, m in prepared.maps.items() if m.kind == "desktop"}
        drivers["desktop"] = DesktopDriver(prepared.settings, desktop_apps, project, attended=attended)
    return drivers


def start_all(drivers: dict[str, Any]) -> None:
    """Start every driver, with Ctrl-C held back (interrupts.py) so nothing is left half made."""
    with interrupts_deferred():
        for driver in drivers.values():
            driver.start()


def stop_all(drivers: dict[str, Any]) -> list[str]:
    """Stop every driver; what that took (a program that had to be killed), in notes."""
    notes: list[str] = []
    for driver in drivers.values():
        try:
            notes += driver.stop()
        except Exception:  # noqa: BLE001 - the browser or the app may already be gone
            continue
    return notes


def why_stopped(exc: BaseException, redactor: Redactor) -> str:
    """An exception that stops the run, in one line for the queue's history (masked like any message)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return redactor.scrub(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__


@contextmanager
def chain_sealing(queue_url: str | Path, project: Path, bot: str) -> Iterator[Callable[[Any], None]]:
    """The bot's evidence lock held while a run is added to its chain (audit close); the function given records
    the chain's new head in the queue, outside the bot's folder, so a deleted newest run or bot folder is noticed."""
    queue = open_queue(queue_url, project)
    try:
        with queue.evidence_lock(bot):
            yield lambda seal: queue.record_evidence_head(
                EvidenceHead(seal.bot, seal.run, seal.chain_length, seal.line_sha256))
    finally:
        queue.close()
