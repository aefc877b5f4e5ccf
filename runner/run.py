"""`start_run`: the one function that starts a run. The CLI, the menu and the scheduler call it.

Everything a run could trip over is checked before any screen is touched: the bot, its
recipes and selector maps, the input workbook, the secrets, the app addresses and (for
desktop apps) the display. Then each work item runs on a clean screen (its own browser
context; desktop apps restarted after a failed item); a system exception is retried with
backoff, a business exception goes to a person. Whatever happens, the result workbook
and the report are written for what was done.
"""

from __future__ import annotations

import re
import secrets as _random
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from .audit.events import AuditEvent, AuditTrail, sha256_file
from .audit.report import build_report
from .audit.signing import load_signer
from .bot import Bot, load_bot
from .bot_logic import BotLogic, GroupingContext, Refused, load_bot_logic, run_make_items
from .documents import check_template, render_document
from .display import check_display, virtual_display
from .extras import require_desktop
from .drivers.web import WebDriver
from .commit_guard import may_be_in_app, person_must_check
from .engine import Engine, ItemHooks
from .work_item import WorkItem
from .work_queue import EvidenceHead, ItemState, QueuedItem, WorkQueue, open_queue
from .work_queue.sqlite_queue import make_owner
from .errors import (BackroomError, BotDefinitionError, ConfigurationError, ExitCode,
                     StepFailure, SystemException, exit_code_for)
from .interrupts import interrupts_deferred
from .intake import IntakeResult, read_workbook
from .reconcile.sources import SideRead, read_statement
from .recipe import RecipeBook, load_recipe_book
from .results_workbook import write_results
from .secrets import Redactor, resolve_secrets
from .selector_map import SelectorMap, load_selector_map
from .settings import AppSettings, Settings, load_settings
from .templating import TemplateProblem, as_text, render


@dataclass
class RunRequest:
    bot: str
    input_path: Path
    project: Path = Path(".")
    headed: bool = False
    app_urls: dict[str, str] = field(default_factory=dict)
    screenshots: str | None = None
    started_by: str = "cli"
    queue_path: Path | None = None   # default: settings.queue_path under the project
    virtual_display: bool = False    # start an Xvfb screen for this run (unattended desktop runs)
    app_commands: dict[str, str | list[str]] = field(default_factory=dict)  # desktop apps: how to start them
    run_id: str | None = None        # chosen by a launcher that must know the run folder before it exists


@dataclass
class ItemResult:
    reference: str
    outcome: str            # done, business_exception, system_exception, rejected, not_started
    message: str = ""
    attempts: int = 0
    row: int | None = None
    variables: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)   # the bot's output columns, as recorded in the queue
    work_item: str = ""     # the queue item covering this input row (itself, unless the bot groups rows)


@dataclass
class Progress:
    total: int
    finished: int
    counts: dict[str, int]
    current: str | None = None
    retrying: int = 0       # items that failed for a system reason and wait for another attempt


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    report_path: Path
    results_path: Path | None
    items: list[ItemResult]
    exit_code: ExitCode
    message: str = ""
    read_back: dict[str, int] = field(default_factory=dict)  # verified, retyped, refused, changed, rechecked, off

    @property
    def counts(self) -> dict[str, int]:
        return _count(self.items)


@dataclass
class PreparedRun:
    bot: Bot
    settings: Settings
    book: RecipeBook
    maps: dict[str, SelectorMap]
    intake: IntakeResult
    secrets: dict[str, str]
    apps: dict[str, dict]
    logic: BotLogic = field(default_factory=BotLogic)
    statement: SideRead | None = None   # reconcile bots: the statement, read and checked


@dataclass
class WorkPlan:
    """What this input becomes in the queue: items to work, input refused, and which item covers which row."""

    items: list[WorkItem]
    refused: list[tuple[WorkItem, str]]
    owners: dict[str, str]              # input reference -> the work item that covers it


RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + _random.token_hex(2)


def prepare_run(request: RunRequest) -> PreparedRun:
    """Validate everything before anything is keyed; raises DataError/ConfigurationError."""
    project = Path(request.project)
    settings = load_settings(project)
    if request.headed:
        settings.browser.headless = False
    bot = load_bot(project, request.bot)
    maps: dict[str, SelectorMap] = {}

    def map_for_app(app: str) -> SelectorMap:
        if app not in maps:
            maps[app] = load_selector_map(project / "selectors" / f"{app}.yaml")
        return maps[app]

    book = load_recipe_book(project / "recipes", bot.all_recipes, map_for_app)
    logic = load_bot_logic(bot.path)
    # Grouped items carry fields the bot's Python makes (an invoice's lines), not only input columns.
    known = set(bot.input.fields) if bot.input else set()
    for recipe in book.recipes.values():
        unknown = sorted(recipe.item_fields - known)
        if unknown and logic.make_items is None:
            raise BotDefinitionError(
                f"recipes/{recipe.path.name} uses item field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}, which bots/{bot.name}/bot.yaml does not define",
                "Add the field to the bot's input, or correct the recipe." if bot.input else
                "A reconciliation's ledger recipes have no item: remove the item fields.")
    for document in bot.documents:
        check_template(bot.path / document.template, f"bots/{bot.name}/bot.yaml")
    require_desktop([app for app, m in maps.items() if m.kind == "desktop"], bot.name)
    apps = {}
    for app, selector_map in maps.items():
        configured = settings.apps.get(app) or AppSettings()
        if app in request.app_urls:
            settings.apps[app] = configured.model_copy(update={"url": request.app_urls[app]})
        if app in request.app_commands:
            settings.apps[app] = configured.model_copy(update={"command": request.app_commands[app]})
        apps[app] = settings.app(app, selector_map.kind).model_dump()
    for option, named in (("--app-url", request.app_urls), ("--app-command", request.app_commands)):
        for app in named:
            if app not in maps:
                raise ConfigurationError(f"{option} names app '{app}', which no recipe of bot '{bot.name}' uses")
    intake, statement = None, None
    if bot.kind == "reconcile":
        statement = read_statement(Path(request.input_path), bot.reconcile)
    else:
        intake = read_workbook(Path(request.input_path), bot.input)
    secret_values = resolve_secrets(book.secrets)
    return PreparedRun(bot, settings, book, maps, intake, secret_values, apps, logic, statement)


def start_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunResult:
    prepared = prepare_run(request)
    desktop = any(m.kind == "desktop" for m in prepared.maps.values())
    if prepared.bot.kind == "reconcile":
        from .reconcile.flow import run_reconciliation as run
    else:
        run = _run_prepared
    if not request.virtual_display:
        if desktop:
            check_display()  # no screen: say so now, not after the first click hangs
        return run(request, prepared, on_progress, should_stop)
    with virtual_display(*prepared.settings.desktop.display_size):
        return run(request, prepared, on_progress, should_stop)


def _drivers(prepared: PreparedRun, request: RunRequest) -> dict:
    kinds = {m.kind for m in prepared.maps.values()}
    drivers = {}
    if "web" in kinds:
        drivers["web"] = WebDriver(prepared.settings)
    if "desktop" in kinds:
        from .drivers.desktop import DesktopDriver  # OpenCV and pyautogui load only for desktop bots

        # the settings prepare_run resolved (file, environment, command line), not resolved again
        desktop_apps = {app: AppSettings.model_validate(prepared.apps[app]) for app, m in prepared.maps.items()
                        if m.kind == "desktop"}
        drivers["desktop"] = DesktopDriver(prepared.settings, desktop_apps, Path(request.project),
                                           attended=not request.virtual_display)
    return drivers


def open_run(request: RunRequest, prepared: PreparedRun) -> tuple[str, Path, AuditTrail, str]:
    """A new run: its id, its folder under logs/, its audit trail (secrets scrubbed) and screenshot policy."""
    bot, settings = prepared.bot, prepared.settings
    run_id = request.run_id or new_run_id()
    if not RUN_ID.fullmatch(run_id):
        raise ConfigurationError(f"run id {run_id!r}: letters, digits and '-' only")
    signer = load_signer(settings, Path(request.project))  # before anything runs: a missing key stops nothing
    run_dir = Path(request.project) / settings.logs_dir / bot.name / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor()
    redactor.add(*prepared.secrets.values())
    redactor.add(*getattr(signer, "secret_values", ()))
    policy = request.screenshots or bot.screenshots or settings.screenshots
    return run_id, run_dir, AuditTrail(run_id, run_dir, redactor, signer), policy


def stopped_because(exc: BaseException, trail: AuditTrail) -> str:
    """Why a run stopped early, for its log and its last event; a defect is logged with its traceback
    (the caller re-raises it after the evidence is written)."""
    if isinstance(exc, KeyboardInterrupt):
        message = "interrupted"
    elif isinstance(exc, BackroomError):
        message = trail.redactor.scrub(str(exc).splitlines()[0])
    else:
        trail.log.exception("internal error")
        return trail.redactor.scrub(f"internal error: {exc!r}")
    trail.log.error(f"run stopped: {message}")
    return message


def seal_run_evidence(trail: AuditTrail, bot: str, queue_path: Path) -> None:
    seal = trail.seal(bot)
    if seal is not None:
        record_chain_head(queue_path, seal)


def record_chain_head(queue_path: Path, seal) -> None:
    """The bot's new chain head, kept in the queue outside the bot's folder: a deleted newest run, or a
    deleted bot folder, no longer goes unnoticed."""
    queue = open_queue(queue_path)
    try:
        queue.record_evidence_head(EvidenceHead(seal.bot, seal.run, seal.chain_length, seal.line_sha256))
    finally:
        queue.close()


def _why_stopped(exc: BaseException, trail: AuditTrail) -> str:
    """An exception that stops the run, in one line for the queue's history (masked like any message)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return trail.redactor.scrub(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__


def stop_drivers(drivers: dict) -> None:
    for driver in drivers.values():
        try:
            driver.stop()
        except Exception:  # noqa: BLE001 - the browser or the app may already be gone
            pass


def _run_prepared(request: RunRequest, prepared: PreparedRun, on_progress: Callable[[Progress], None] | None,
                  should_stop: Callable[[], bool] | None) -> RunResult:
    bot, settings = prepared.bot, prepared.settings
    queue = open_queue(request.queue_path or Path(request.project) / settings.queue_path)
    input_name = Path(request.input_path).name
    try:
        plan = _plan_work(prepared, request, queue)
    except BaseException:
        queue.close()
        raise
    run_id, run_dir, trail, policy = open_run(request, prepared)
    actor = f"intake:{input_name}"
    intake = queue.intake(bot.name, plan.items, actor=actor)
    review = queue.add_for_review(bot.name, plan.refused, actor=actor)
    superseded = _close_corrected(queue, bot, plan, actor, input_name)
    worked: dict[str, ItemResult] = {}
    rejected = [ItemResult(r.reference, "rejected", "; ".join(r.problems), 0, r.row) for r in prepared.intake.rejected]
    waiting = len(queue.items(bot.name, [ItemState.PENDING, ItemState.IN_PROGRESS]))
    total = waiting + len(rejected)

    def emit(kind: str, outcome: str, **fields) -> None:
        trail.emit(AuditEvent(run=run_id, seq=trail.next_seq(), kind=kind, outcome=outcome, **fields))

    def progress(current: str | None = None) -> None:
        if on_progress:
            finished = [r for r in worked.values() if r.outcome != "pending"] + rejected
            retrying = sum(1 for r in worked.values() if r.outcome == "pending")
            on_progress(Progress(total, len(finished), _count(finished), current, retrying))

    emit("run", "started", data={
        "bot": bot.name, "input": str(request.input_path), "items": len(plan.items),
        "rows": len(prepared.intake.items), "rejected": len(rejected), "policy": policy,
        "started_by": request.started_by, "apps": prepared.apps,
        "intake": {"added": len(intake.added), "already_queued": len(intake.already_queued),
                   "already_done": len(intake.already_done), "changed_after_done": intake.changed_after_done,
                   "updated_pending": intake.updated_pending, "changed_in_review": intake.changed_in_review,
                   "corrected": intake.corrected, "to_review": review.added, "superseded": superseded},
        "queue_waiting": waiting})
    trail.log.info(f"run {run_id} of {bot.name} started by {request.started_by}: {len(intake.added)} new item(s), "
                   f"{waiting} waiting in the queue, {len(intake.already_done)} already done")
    for ref in intake.changed_after_done:
        emit("intake", "changed_after_done", item=ref, message=f"{input_name} has different data for this item, "
             "which is already done; it was not keyed again. Check it by hand.")
    for ref in intake.changed_in_review:
        emit("intake", "kept_queued_data", item=ref, message=f"{input_name} has different data for this item, which is "
             "in review or was corrected by a person; the queued data is kept (backroom queue retry --set changes it).")
    for ref in intake.corrected:
        emit("intake", "corrected", item=ref, message=f"refused earlier; {input_name} corrects it and it will be worked")
    for item, reason in plan.refused:
        where = "in review" if item.reference in review.added else \
            f"already {review.existing[item.reference].state.value}" if item.reference in review.existing else ""
        emit("intake", "to_review" if item.reference in review.added else "refused", item=item.reference,
             message=reason, data={"source": item.source, "queue": where})
    progress()

    drivers = _drivers(prepared, request)
    engine = Engine(drivers, prepared.book, prepared.maps, settings, trail, prepared.secrets, prepared.apps, policy)
    owner = make_owner(run_id)
    abort: BaseException | None = None
    run_message = ""
    started_drivers = False
    try:
        while True:
            if should_stop and should_stop():
                run_message = "stopped by the operator after the current item"
                break
            claimed = queue.claim(bot.name, owner, settings.lease_s, run_id)
            if claimed is None:
                due = queue.next_due(bot.name)
                if due is None:
                    break  # nothing pending: the queue is drained for this bot
                time.sleep(min(max(due - time.time(), 0.05), 5.0))  # a retry is waiting for its back-off
                continue
            if not started_drivers:
                started_drivers = True
                try:
                    with interrupts_deferred():
                        for driver in drivers.values():
                            driver.start()
                except BaseException as exc:
                    # claimed before anything could start: given back, not left in progress
                    queue.release(claimed.id, owner, f"run stopped while starting: {_why_stopped(exc, trail)}")
                    raise
            progress(claimed.reference)
            worked[claimed.reference] = _work_claimed(engine, bot, queue, claimed, owner, settings.lease_s, emit, trail,
                                                      prepared.logic.check_item, run_dir)
            progress()
    except (KeyboardInterrupt, Exception) as exc:
        abort = exc
        run_message = stopped_because(exc, trail)
    finally:
        stop_drivers(drivers)
        results = rejected + _input_outcomes(queue, bot, prepared.intake.items, plan.owners, worked, run_id)
        for work_item in dict.fromkeys(r.work_item for r in results if r.outcome == "not_started"):
            if work_item not in worked:
                emit("item", "not_started", item=work_item, message=run_message or "not worked in this run")
        exit_code = _exit_code(results, abort)
        emit("run", _run_outcome(exit_code), message=run_message or None,
             data={"counts": _count(results), "exit_code": int(exit_code), "read_back": dict(engine.tally)})
        trail.close()
        queue.close()
        results_path = _write_results(prepared, request, run_dir, results)
        report_path = build_report(run_dir)
        seal_run_evidence(trail, bot.name, request.queue_path or Path(request.project) / settings.queue_path)
    if abort is not None and not isinstance(abort, (BackroomError, KeyboardInterrupt)):
        raise abort
    return RunResult(run_id, run_dir, report_path, results_path, results, exit_code, run_message,
                     dict(engine.tally))


class _QueueHooks(ItemHooks):
    """Keeps the lease alive while an item is worked and records when it is about to commit."""

    def __init__(self, queue: WorkQueue, claimed: QueuedItem, owner: str, lease_s: float):
        self.queue, self.item_id, self.owner, self.lease_s = queue, claimed.id, owner, lease_s
        self.bot, self.reference = claimed.bot, claimed.reference
        self.last_beat = time.monotonic()
        self.committed: tuple[str, str] | None = None   # (app, step) of the first step of this attempt that saves

    def heartbeat(self) -> None:
        if time.monotonic() - self.last_beat > self.lease_s / 10:
            self.queue.heartbeat(self.item_id, self.owner, self.lease_s)
            self.last_beat = time.monotonic()

    def key_taken(self, variable: str, value: str) -> str | None:
        return self.queue.holder_of(self.bot, variable, value, other_than=self.reference)

    def before_commit(self, step, app: str) -> None:
        self.queue.mark_committing(self.item_id, self.owner)
        if self.committed is None:
            self.committed = (app, step.where)


def _work_claimed(engine: Engine, bot: Bot, queue: WorkQueue, claimed: QueuedItem, owner: str, lease_s: float,
                  emit, trail: AuditTrail, item_check: Callable | None = None,
                  run_dir: Path | None = None) -> ItemResult:
    """One attempt at one claimed item; the queue decides what happens next."""
    item = claimed.as_work_item()
    attempt = claimed.attempts
    started = time.perf_counter()
    verify = bot.verify if claimed.commit_started or bot.verify_when == "always" else None
    emit("item", "started", item=item.reference, attempt=attempt,
         data={"source": item.source, "recovered": claimed.recovered, "verify_first": verify is not None})
    if claimed.recovered:
        trail.log.bind(item=item.reference).warning("recovered from a runner that stopped without finishing")
    elapsed = lambda: round((time.perf_counter() - started) * 1000, 1)  # noqa: E731
    hooks = _QueueHooks(queue, claimed, owner, lease_s)

    def to_review(message: str, failure: StepFailure | None = None) -> ItemResult:
        queue.business_exception(claimed.id, owner, message)
        shot = failure.screenshot if failure is not None and failure.screenshot else (None, None)
        emit("item", "business_exception", item=item.reference, attempt=attempt, message=message,
             duration_ms=elapsed(), screenshot=shot[0], screenshot_sha256=shot[1], data={"source": item.source})
        return ItemResult(item.reference, "business_exception", message, attempt)

    if person_must_check(claimed.commit_started, bot.verify):
        # Nothing can look it up: keying it again could make a second record. A person decides.
        return to_review(may_be_in_app(_saving_app(engine, bot)))
    try:
        if item_check is not None:
            _run_item_check(item_check, item, bot)
        outcome = engine.run_item(item, bot.recipes, attempt, verify, hooks)
        for path in _write_documents(bot, item, outcome.variables, run_dir):
            emit("document", "written", item=item.reference, attempt=attempt, value=path.name,
                 data={"file": str(path.relative_to(run_dir)), "sha256": sha256_file(path)})
    except StepFailure as failure:
        if failure.kind == "business":
            return to_review(failure.message, failure)
        if hooks.committed is not None and bot.verify is None:
            app, where = hooks.committed
            return to_review(f"{may_be_in_app(app, where)}. It stopped with: {failure.message}", failure)
        if attempt < bot.retry.attempts:
            delay = bot.retry.backoff_seconds * (2 ** (attempt - 1))
            queue.system_exception(claimed.id, owner, failure.message, retry_at=time.time() + delay)
            emit("item", "retrying", item=item.reference, attempt=attempt, message=failure.message,
                 duration_ms=elapsed(), data={"retry_in_s": delay})
            trail.log.bind(item=item.reference).warning(
                f"attempt {attempt} failed, retrying in {delay:g}s: {failure.message}")
            return ItemResult(item.reference, "pending", failure.message, attempt)
        queue.system_exception(claimed.id, owner, failure.message, retry_at=None)
        emit("item", "system_exception", item=item.reference, attempt=attempt, message=failure.message,
             duration_ms=elapsed(), data={"source": item.source})
        return ItemResult(item.reference, "system_exception", failure.message, attempt)
    except BaseException as exc:
        # The run is stopping (the app went away, Ctrl-C): give the item back for the next run.
        queue.release(claimed.id, owner, f"run stopped: {_why_stopped(exc, trail)}")
        raise
    output = _output_values(bot, item, outcome.variables)
    message = outcome.message if outcome.already_done else ""
    queue.complete(claimed.id, owner, {"vars": outcome.variables, "output": output}, message)
    emit("item", "done", item=item.reference, attempt=attempt, duration_ms=elapsed(), message=message or None,
         data={"source": item.source, "result": output, "already_done": outcome.already_done})
    return ItemResult(item.reference, "done", message, attempt, None, outcome.variables)


def _saving_app(engine: Engine, bot: Bot) -> str:
    """The app a keying bot's commit steps save into (its recipes' app), for a person's message."""
    apps = [engine.book[name].app for name in bot.recipes if name in engine.book.recipes]
    return apps[0] if apps else "the application"


def _run_item_check(item_check: Callable, item: WorkItem, bot: Bot) -> None:
    """The bot's own business rules; anything but a BusinessException is a system failure."""
    try:
        item_check(item)
    except StepFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - a defect in bot.py must not stop the other items
        raise SystemException(f"bots/{bot.name}/bot.py check_item failed: {type(exc).__name__}: {exc}") from None


_QUEUE_OUTCOME = {ItemState.DONE: "done", ItemState.BUSINESS_EXCEPTION: "business_exception",
                  ItemState.SYSTEM_EXCEPTION: "system_exception", ItemState.SKIPPED: "skipped",
                  ItemState.PENDING: "not_started", ItemState.IN_PROGRESS: "not_started"}


def _input_outcomes(queue: WorkQueue, bot: Bot, rows: list[WorkItem], owners: dict[str, str],
                    worked: dict[str, ItemResult], run_id: str) -> list[ItemResult]:
    """Where every row of this input stands now, whichever run did the work."""
    results = []
    for row in rows:
        reference = owners.get(row.reference, row.reference)
        queued = queue.get(bot.name, reference)
        if queued is None:  # only if the queue file was replaced while the run was going
            results.append(ItemResult(row.reference, "not_started", "not in the queue", 0, row.row, work_item=reference))
            continue
        outcome = _QUEUE_OUTCOME[queued.state]
        message = queued.last_error or ""
        if outcome == "done" and queued.run_id != run_id:
            message = f"done earlier, in run {queued.run_id}"
        elif outcome == "done":
            message = worked[reference].message if reference in worked else ""
        elif outcome == "not_started" and queued.attempts:
            message = f"waiting for retry: {message}" if queued.state == ItemState.PENDING else message
        if reference != row.reference and outcome != "done":
            message = f"{reference}: {message}" if message else reference
        recorded = queued.result or {}
        variables = recorded.get("vars", {})
        output = _output_values(bot, WorkItem(reference, queued.data), variables, row.data) if outcome == "done" else {}
        results.append(ItemResult(row.reference, outcome, message, queued.attempts, row.row, variables, output,
                                  work_item=reference))
    return results


def _output_values(bot: Bot, item: WorkItem, variables: dict, row: dict | None = None) -> dict[str, str]:
    values = {}
    for header, template in bot.output.columns.items():
        try:
            values[header] = as_text(render(template, {"item": item.data, "vars": variables,
                                                       "row": row if row is not None else item.data}))
        except TemplateProblem as exc:
            values[header] = f"(not available: {exc})"
    return values


def _write_documents(bot: Bot, item: WorkItem, variables: dict, run_dir: Path | None) -> list[Path]:
    """The bot's documents for a finished item, named and filled from the item and what was read."""
    written = []
    for document in bot.documents:
        context = {"item": item.data, "vars": variables, "reference": item.reference}
        try:
            name = as_text(render(document.file, context)).strip()
        except TemplateProblem as exc:
            raise SystemException(f"document file name {document.file!r}: {exc}") from None
        safe = "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in name) or f"{_safe_name(item)}.docx"
        path = render_document(bot.path / document.template, run_dir / "documents" / safe, context)
        variables.setdefault("documents", []).append(f"documents/{safe}")
        written.append(path)
    return written


def _safe_name(item: WorkItem) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in item.reference)


def _plan_work(prepared: PreparedRun, request: RunRequest, queue: WorkQueue) -> WorkPlan:
    """Rows become work items (grouped by the bot's make_items when it has one); refused input goes to review."""
    bot, intake = prepared.bot, prepared.intake
    name = Path(request.input_path).name
    refused = [(WorkItem(r.reference, {"problems": r.problems, "covers": [r.reference]}, f"{name} row {r.row}", r.row),
                "; ".join(r.problems)) for r in intake.rejected]
    owners = {r.reference: r.reference for r in intake.rejected}
    if prepared.logic.make_items is None:
        owners.update({item.reference: item.reference for item in intake.items})
        return WorkPlan(intake.items, refused, owners)
    refused_before = queue.refused_at_intake(bot.name)
    for queued in queue.items(bot.name):
        if queued.reference not in refused_before:
            for covered in queued.data.get("covers", []):
                owners[str(covered)] = queued.reference   # already on an item: never grouped again
    fresh = [row for row in intake.items if row.reference not in owners]
    context = GroupingContext(bot.path, Path(request.input_path), date.today(),
                              taken=lambda ref: ref not in refused_before and queue.get(bot.name, ref) is not None,
                              cell=intake.cell)
    items = []
    for made in run_make_items(prepared.logic, bot.path, fresh, context) if fresh else []:
        if isinstance(made, Refused):
            data = {**made.data, "problems": made.problems, "covers": made.covers}
            refused.append((WorkItem(made.reference, data, made.source or name), "; ".join(made.problems)))
            covers = made.covers
        else:
            covers = made.data.setdefault("covers", [])
            items.append(made)
        for covered in covers:
            owners[str(covered)] = made.reference
    return WorkPlan(items, refused, owners)


def _close_corrected(queue: WorkQueue, bot: Bot, plan: WorkPlan, actor: str, input_name: str) -> list[str]:
    """Input refused earlier whose rows a corrected file now puts on other work items: close it with the reason."""
    closed = []
    for reference in queue.refused_at_intake(bot.name):
        queued = queue.get(bot.name, reference)
        covers = [str(c) for c in (queued.data.get("covers") or [])]
        now_on = {plan.owners.get(c) for c in covers}
        if covers and None not in now_on and reference not in now_on:
            queue.skip(bot.name, reference, actor, f"corrected in {input_name}: now on {', '.join(sorted(now_on))}")
            closed.append(reference)
    return closed


def _write_results(prepared: PreparedRun, request: RunRequest, run_dir: Path, results: list[ItemResult]) -> Path | None:
    bot = prepared.bot
    rows = {}
    for r in results:
        if r.row is None:
            continue
        rows[r.row] = {"Status": r.outcome, "Message": r.message, **(r.output if r.outcome == "done" else {})}
    out = run_dir / f"{Path(request.input_path).stem}-results.xlsx"
    return write_results(Path(request.input_path), out, bot.input.sheet, bot.input.header_row, rows,
                         list(bot.output.columns))


def _count(results: list[ItemResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def _exit_code(results: list[ItemResult], abort: BaseException | None) -> ExitCode:
    if abort is not None:
        return exit_code_for(abort)
    if any(r.outcome not in ("done", "skipped") for r in results):
        return ExitCode.ITEMS_FAILED
    return ExitCode.OK


def _run_outcome(code: ExitCode) -> str:
    return {ExitCode.OK: "success", ExitCode.ITEMS_FAILED: "finished_with_exceptions",
            ExitCode.INTERRUPTED: "interrupted"}.get(code, "aborted")
