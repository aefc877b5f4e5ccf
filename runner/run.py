"""`start_run`: the one function that starts a run. The CLI, the menu and the scheduler call it.

Everything a run could trip over is checked before any screen is touched: the bot, its
recipes and selector maps, the input workbook, the secrets, the app addresses and (for
desktop apps) the display. Then each work item runs on a clean screen (its own browser
context; desktop apps restarted after a failed item); a system exception is retried with
backoff, a business exception goes to a person. Whatever happens, the result workbook
and the report are written for what was done.
"""

from __future__ import annotations

import secrets as _random
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from .audit.events import AuditEvent, AuditTrail
from .audit.report import build_report
from .bot import Bot, load_bot
from .bot_logic import load_item_check
from .display import check_display, virtual_display
from .drivers.web import WebDriver
from .engine import Engine, ItemHooks
from .work_item import WorkItem
from .work_queue import ItemState, QueuedItem, WorkQueue, open_queue
from .work_queue.sqlite_queue import make_owner
from .errors import (AppUnreachableError, BackroomError, BotDefinitionError, ConfigurationError, ExitCode,
                     StepFailure, SystemException, exit_code_for)
from .intake import IntakeResult, read_workbook
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


@dataclass
class ItemResult:
    reference: str
    outcome: str            # done, business_exception, system_exception, rejected, not_started
    message: str = ""
    attempts: int = 0
    row: int | None = None
    variables: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)   # the bot's output columns, as recorded in the queue


@dataclass
class Progress:
    total: int
    finished: int
    counts: dict[str, int]
    current: str | None = None


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    report_path: Path
    results_path: Path | None
    items: list[ItemResult]
    exit_code: ExitCode
    message: str = ""

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
    item_check: Callable | None = None


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

    book = load_recipe_book(project / "recipes", bot.recipes + ([bot.verify] if bot.verify else []), map_for_app)
    known = set(bot.input.fields)
    for recipe in book.recipes.values():
        unknown = sorted(recipe.item_fields - known)
        if unknown:
            raise BotDefinitionError(
                f"recipes/{recipe.path.name} uses item field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}, which bots/{bot.name}/bot.yaml does not define",
                "Add the field to the bot's input, or correct the recipe.")
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
    intake = read_workbook(Path(request.input_path), bot.input)
    secret_values = resolve_secrets(book.secrets)
    return PreparedRun(bot, settings, book, maps, intake, secret_values, apps, load_item_check(bot.path))


def start_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunResult:
    prepared = prepare_run(request)
    desktop = any(m.kind == "desktop" for m in prepared.maps.values())
    if not request.virtual_display:
        if desktop:
            check_display()  # no screen: say so now, not after the first click hangs
        return _run_prepared(request, prepared, on_progress, should_stop)
    with virtual_display(*prepared.settings.desktop.display_size):
        return _run_prepared(request, prepared, on_progress, should_stop)


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


def _run_prepared(request: RunRequest, prepared: PreparedRun, on_progress: Callable[[Progress], None] | None,
                  should_stop: Callable[[], bool] | None) -> RunResult:
    bot, settings = prepared.bot, prepared.settings
    run_id = new_run_id()
    run_dir = Path(request.project) / settings.logs_dir / bot.name / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor()
    redactor.add(*prepared.secrets.values())
    trail = AuditTrail(run_id, run_dir, redactor)
    policy = request.screenshots or bot.screenshots or settings.screenshots
    queue = open_queue(request.queue_path or Path(request.project) / settings.queue_path)
    input_name = Path(request.input_path).name
    intake = queue.intake(bot.name, prepared.intake.items, actor=f"intake:{input_name}")
    worked: dict[str, ItemResult] = {}
    rejected = [ItemResult(r.reference, "rejected", "; ".join(r.problems), 0, r.row) for r in prepared.intake.rejected]
    waiting = len(queue.items(bot.name, [ItemState.PENDING, ItemState.IN_PROGRESS]))
    total = waiting + len(rejected)

    def emit(kind: str, outcome: str, **fields) -> None:
        trail.emit(AuditEvent(run=run_id, seq=trail.next_seq(), kind=kind, outcome=outcome, **fields))

    def progress(current: str | None = None) -> None:
        if on_progress:
            finished = [r for r in worked.values() if r.outcome != "pending"] + rejected
            on_progress(Progress(total, len(finished), _count(finished), current))

    emit("run", "started", data={
        "bot": bot.name, "input": str(request.input_path), "items": len(prepared.intake.items),
        "rejected": len(rejected), "policy": policy, "started_by": request.started_by, "apps": prepared.apps,
        "intake": {"added": len(intake.added), "already_queued": len(intake.already_queued),
                   "already_done": len(intake.already_done), "changed_after_done": intake.changed_after_done,
                   "updated_pending": intake.updated_pending, "changed_in_review": intake.changed_in_review},
        "queue_waiting": waiting})
    trail.log.info(f"run {run_id} of {bot.name} started by {request.started_by}: {len(intake.added)} new item(s), "
                   f"{waiting} waiting in the queue, {len(intake.already_done)} already done")
    for ref in intake.changed_after_done:
        emit("intake", "changed_after_done", item=ref, message=f"{input_name} has different data for this item, "
             "which is already done; it was not keyed again. Check it by hand.")
    for ref in intake.changed_in_review:
        emit("intake", "kept_queued_data", item=ref, message=f"{input_name} has different data for this item, which is "
             "in review or was corrected by a person; the queued data is kept (backroom queue retry --set changes it).")
    for result, problem in zip(rejected, prepared.intake.rejected):
        emit("intake", "rejected", item=result.reference, message=result.message,
             data={"source": f"{input_name} row {problem.row}"})
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
                for driver in drivers.values():
                    driver.start()
            progress(claimed.reference)
            worked[claimed.reference] = _work_claimed(engine, bot, queue, claimed, owner, settings.lease_s, emit, trail,
                                                      prepared.item_check)
            progress()
    except (AppUnreachableError, KeyboardInterrupt, BackroomError) as exc:
        abort = exc
        run_message = str(exc).splitlines()[0] if not isinstance(exc, KeyboardInterrupt) else "interrupted"
        trail.log.error(f"run stopped: {run_message}")
    except Exception as exc:  # a defect: keep the evidence, then let the caller report it
        abort = exc
        run_message = f"internal error: {exc!r}"
        trail.log.exception("internal error")
    finally:
        for driver in drivers.values():
            try:
                driver.stop()
            except Exception:  # noqa: BLE001 - the browser or the app may already be gone
                pass
        results = rejected + _input_outcomes(queue, bot, prepared.intake.items, worked, run_id)
        for result in results:
            if result.outcome == "not_started" and result.reference not in worked:
                emit("item", "not_started", item=result.reference, message=run_message or result.message)
        exit_code = _exit_code(results, abort)
        emit("run", _run_outcome(exit_code), message=run_message or None,
             data={"counts": _count(results), "exit_code": int(exit_code)})
        trail.close()
        queue.close()
        results_path = _write_results(prepared, request, run_dir, results)
        report_path = build_report(run_dir)
    if abort is not None and not isinstance(abort, (BackroomError, KeyboardInterrupt)):
        raise abort
    return RunResult(run_id, run_dir, report_path, results_path, results, exit_code, run_message)


class _QueueHooks(ItemHooks):
    """Keeps the lease alive while an item is worked and records when it is about to commit."""

    def __init__(self, queue: WorkQueue, item_id: int, owner: str, lease_s: float):
        self.queue, self.item_id, self.owner, self.lease_s = queue, item_id, owner, lease_s
        self.last_beat = time.monotonic()

    def heartbeat(self) -> None:
        if time.monotonic() - self.last_beat > self.lease_s / 10:
            self.queue.heartbeat(self.item_id, self.owner, self.lease_s)
            self.last_beat = time.monotonic()

    def before_commit(self, step) -> None:
        self.queue.mark_committing(self.item_id, self.owner)


def _work_claimed(engine: Engine, bot: Bot, queue: WorkQueue, claimed: QueuedItem, owner: str, lease_s: float,
                  emit, trail: AuditTrail, item_check: Callable | None = None) -> ItemResult:
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
    try:
        if item_check is not None:
            _run_item_check(item_check, item, bot)
        outcome = engine.run_item(item, bot.recipes, attempt, verify, _QueueHooks(queue, claimed.id, owner, lease_s))
    except StepFailure as failure:
        if failure.kind == "business":
            queue.business_exception(claimed.id, owner, failure.message)
            emit("item", "business_exception", item=item.reference, attempt=attempt, message=failure.message,
                 duration_ms=elapsed(), data={"source": item.source})
            return ItemResult(item.reference, "business_exception", failure.message, attempt)
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
        queue.release(claimed.id, owner, f"run stopped: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        raise
    output = _output_values(bot, item, outcome.variables)
    message = outcome.message if outcome.already_done else ""
    queue.complete(claimed.id, owner, {"vars": outcome.variables, "output": output}, message)
    emit("item", "done", item=item.reference, attempt=attempt, duration_ms=elapsed(), message=message or None,
         data={"source": item.source, "result": output, "already_done": outcome.already_done})
    return ItemResult(item.reference, "done", message, attempt, None, outcome.variables)


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


def _input_outcomes(queue: WorkQueue, bot: Bot, items: list[WorkItem], worked: dict[str, ItemResult],
                    run_id: str) -> list[ItemResult]:
    """Where every row of this input stands now, whichever run did the work."""
    results = []
    for item in items:
        queued = queue.get(bot.name, item.reference)
        outcome = _QUEUE_OUTCOME[queued.state]
        message = queued.last_error or ""
        if outcome == "done" and queued.run_id != run_id:
            message = f"done earlier, in run {queued.run_id}"
        elif outcome == "done":
            message = worked[item.reference].message if item.reference in worked else ""
        elif outcome == "not_started" and queued.attempts:
            message = f"waiting for retry: {message}" if queued.state == ItemState.PENDING else message
        recorded = queued.result or {}
        results.append(ItemResult(item.reference, outcome, message, queued.attempts, item.row,
                                  recorded.get("vars", {}), recorded.get("output", {})))
    return results


def _output_values(bot: Bot, item: WorkItem, variables: dict) -> dict[str, str]:
    values = {}
    for header, template in bot.output.columns.items():
        try:
            values[header] = as_text(render(template, {"item": item.data, "vars": variables}))
        except TemplateProblem as exc:
            values[header] = f"(not available: {exc})"
    return values


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
