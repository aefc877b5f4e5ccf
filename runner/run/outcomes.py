"""Where each input row stands after a run, and the files made from it: the bot's output columns,
its documents (.docx) and the results workbook beside the input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..project.bot import Bot
from .documents import render_document
from ..errors import ExitCode, SystemException, exit_code_for
from ..intake.results_workbook import write_results
from ..project.templating import TemplateProblem, as_text, render
from ..intake.work_item import WorkItem
from ..work_queue import ItemState, WorkQueue
from .records import ItemResult, PreparedRun


_QUEUE_OUTCOME = {ItemState.DONE: "done", ItemState.BUSINESS_EXCEPTION: "business_exception",
                  ItemState.SYSTEM_EXCEPTION: "system_exception", ItemState.SKIPPED: "skipped",
                  ItemState.PENDING: "not_started", ItemState.IN_PROGRESS: "not_started"}


def queue_outcome(state: ItemState) -> str | None:
    """An item's outcome from its state in the queue; None while it is still to be worked."""
    return None if state in (ItemState.PENDING, ItemState.IN_PROGRESS) else _QUEUE_OUTCOME[state]


def input_outcomes(queue: WorkQueue, bot: Bot, rows: list[WorkItem], owners: dict[str, str],
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
        output = output_values(bot, WorkItem(reference, queued.data), variables, row.data) if outcome == "done" else {}
        results.append(ItemResult(row.reference, outcome, message, queued.attempts, row.row, variables, output,
                                  work_item=reference))
    return results


def output_values(bot: Bot, item: WorkItem, variables: dict, row: dict | None = None) -> dict[str, Any]:
    """The bot's output columns for an item. A column that is one expression giving a date, a count or
    an amount keeps that type (the result workbook types its cell); anything else is text."""
    values: dict[str, Any] = {}
    for header, template in bot.output.columns.items():
        try:
            value = render(template, {"item": item.data, "vars": variables,
                                      "row": row if row is not None else item.data})
        except TemplateProblem as exc:
            values[header] = f"(not available: {exc})"
            continue
        typed = isinstance(value, (date, int, float, Decimal)) and not isinstance(value, bool)
        values[header] = value if typed else as_text(value)
    return values


def write_documents(bot: Bot, item: WorkItem, variables: dict, run_dir: Path) -> list[Path]:
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


def write_results_workbook(prepared: PreparedRun, input_path: Path, run_dir: Path, results: list[ItemResult]) -> Path | None:
    bot = prepared.bot
    rows = {}
    for r in results:
        if r.row is None:
            continue
        rows[r.row] = {"Status": r.outcome, "Message": r.message, **(r.output if r.outcome == "done" else {})}
    out = run_dir / f"{Path(input_path).stem}-results.xlsx"
    return write_results(Path(input_path), out, bot.input.sheet, bot.input.header_row, rows,
                         list(bot.output.columns))


def keying_exit_code(results: list[ItemResult], abort: BaseException | None, stopped: bool = False) -> ExitCode:
    """`stopped`: a person (or a runner service) asked the run to stop after its item: a run that left work
    undone is then a stopped run, not one with items for review."""
    if abort is not None:
        return exit_code_for(abort)
    if stopped and any(r.outcome == "not_started" for r in results):
        return ExitCode.INTERRUPTED
    if any(r.outcome not in ("done", "skipped") for r in results):
        return ExitCode.ITEMS_FAILED
    return ExitCode.OK
