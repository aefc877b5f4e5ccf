"""`start_run`: the one function that starts a run. The CLI, the menu and the scheduler call it.

Everything a run could trip over is checked before the browser starts: the bot, its
recipes and selector maps, the input workbook, the secrets and the app addresses. Then
each work item runs in its own browser context; a system exception is retried with
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
from .drivers.web import WebDriver
from .engine import Engine
from .work_item import WorkItem
from .errors import (AppUnreachableError, BackroomError, BotDefinitionError, ConfigurationError, ExitCode,
                     StepFailure, exit_code_for)
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


@dataclass
class ItemResult:
    reference: str
    outcome: str            # done, business_exception, system_exception, rejected, not_started
    message: str = ""
    attempts: int = 0
    row: int | None = None
    variables: dict = field(default_factory=dict)


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

    book = load_recipe_book(project / "recipes", bot.recipes, map_for_app)
    known = set(bot.input.fields)
    for recipe in book.recipes.values():
        unknown = sorted(recipe.item_fields - known)
        if unknown:
            raise BotDefinitionError(
                f"recipes/{recipe.path.name} uses item field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}, which bots/{bot.name}/bot.yaml does not define",
                "Add the field to the bot's input, or correct the recipe.")
    apps = {}
    for app in maps:
        if app in request.app_urls:
            configured = settings.apps.get(app)
            settings.apps[app] = AppSettings(url=request.app_urls[app], user=configured.user if configured else "")
        apps[app] = settings.app(app).model_dump()
    for app in request.app_urls:
        if app not in maps:
            raise ConfigurationError(f"--app-url names app '{app}', which no recipe of bot '{bot.name}' uses")
    intake = read_workbook(Path(request.input_path), bot.input)
    secret_values = resolve_secrets(book.secrets)
    return PreparedRun(bot, settings, book, maps, intake, secret_values, apps)


def start_run(request: RunRequest, on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunResult:
    prepared = prepare_run(request)
    bot, settings = prepared.bot, prepared.settings
    run_id = new_run_id()
    run_dir = Path(request.project) / settings.logs_dir / bot.name / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor()
    redactor.add(*prepared.secrets.values())
    trail = AuditTrail(run_id, run_dir, redactor)
    policy = request.screenshots or bot.screenshots or settings.screenshots
    items = prepared.intake.items
    results: list[ItemResult] = []
    total = len(items) + len(prepared.intake.rejected)

    def emit(kind: str, outcome: str, **fields) -> None:
        trail.emit(AuditEvent(run=run_id, seq=trail.next_seq(), kind=kind, outcome=outcome, **fields))

    def progress(current: str | None = None) -> None:
        if on_progress:
            on_progress(Progress(total, len(results), _count(results), current))

    emit("run", "started", data={"bot": bot.name, "input": str(request.input_path), "items": len(items),
                                 "rejected": len(prepared.intake.rejected), "policy": policy,
                                 "started_by": request.started_by, "apps": prepared.apps})
    trail.log.info(f"run {run_id} of {bot.name} started by {request.started_by}: {total} rows")
    for rejected in prepared.intake.rejected:
        message = "; ".join(rejected.problems)
        emit("intake", "rejected", item=rejected.reference, message=message,
             data={"source": f"{Path(request.input_path).name} row {rejected.row}"})
        results.append(ItemResult(rejected.reference, "rejected", message, 0, rejected.row))
    progress()

    driver = WebDriver(settings)
    engine = Engine(driver, prepared.book, prepared.maps, settings, trail, prepared.secrets, prepared.apps, policy)
    abort: BaseException | None = None
    run_message = ""
    try:
        driver.start()
        for item in items:
            if should_stop and should_stop():
                run_message = "stopped by the operator after the current item"
                break
            progress(item.reference)
            results.append(_work_item(engine, bot, item, emit, trail))
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
        try:
            driver.stop()
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        done_refs = {r.reference for r in results}
        for item in items:
            if item.reference not in done_refs:
                emit("item", "not_started", item=item.reference, message=run_message or "not started",
                     data={"source": item.source})
                results.append(ItemResult(item.reference, "not_started", run_message, 0, item.row))
        exit_code = _exit_code(results, abort)
        emit("run", _run_outcome(exit_code), message=run_message or None,
             data={"counts": _count(results), "exit_code": int(exit_code)})
        trail.close()
        results_path = _write_results(prepared, request, run_dir, results)
        report_path = build_report(run_dir)
    if abort is not None and not isinstance(abort, (BackroomError, KeyboardInterrupt)):
        raise abort
    return RunResult(run_id, run_dir, report_path, results_path, results, exit_code, run_message)


def _work_item(engine: Engine, bot: Bot, item: WorkItem, emit, trail: AuditTrail) -> ItemResult:
    """One work item with retries: system exceptions are retried with backoff, business ones are not."""
    last: StepFailure | None = None
    started = time.perf_counter()
    for attempt in range(1, bot.retry.attempts + 1):
        emit("item", "started", item=item.reference, attempt=attempt, data={"source": item.source})
        try:
            variables = engine.run_item(item, bot.recipes, attempt)
        except StepFailure as failure:
            last = failure
            if failure.kind == "business":
                break
            if attempt < bot.retry.attempts:
                delay = bot.retry.backoff_seconds * (2 ** (attempt - 1))
                emit("item", "retrying", item=item.reference, attempt=attempt, message=failure.message,
                     data={"retry_in_s": delay})
                trail.log.bind(item=item.reference).warning(f"attempt {attempt} failed, retrying in {delay:g}s: {failure.message}")
                time.sleep(delay)
            continue
        result = _output_values(bot, item, variables)
        emit("item", "done", item=item.reference, attempt=attempt,
             duration_ms=round((time.perf_counter() - started) * 1000, 1),
             data={"source": item.source, "result": result})
        return ItemResult(item.reference, "done", "", attempt, item.row, variables)
    outcome = "business_exception" if last.kind == "business" else "system_exception"
    emit("item", outcome, item=item.reference, attempt=attempt, message=last.message,
         duration_ms=round((time.perf_counter() - started) * 1000, 1), data={"source": item.source})
    trail.log.bind(item=item.reference).warning(f"{outcome}: {last.message}")
    return ItemResult(item.reference, outcome, last.message, attempt, item.row)


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
    items_by_ref = {i.reference: i for i in prepared.intake.items}
    for r in results:
        if r.row is None:
            continue
        values = {"Status": r.outcome, "Message": r.message}
        if r.outcome == "done":
            values.update(_output_values(bot, items_by_ref[r.reference], r.variables))
        rows[r.row] = values
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
    if any(r.outcome != "done" for r in results):
        return ExitCode.ITEMS_FAILED
    return ExitCode.OK


def _run_outcome(code: ExitCode) -> str:
    return {ExitCode.OK: "success", ExitCode.ITEMS_FAILED: "finished_with_exceptions",
            ExitCode.INTERRUPTED: "interrupted"}.get(code, "aborted")
