"""A reconciliation run: read the ledger from the legacy screen, match it against the statement,
write the reconciliation workbook, and put every line that needs a person into review. It goes
through the same RunSession as a keying run: the same audit trail, report, seal and exit codes."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Callable

from ..audit.events import sha256_file
from ..audit.report import REPORT_FILE
from ..errors import ExitCode, StepFailure, exit_code_for
from ..project.money import minor_units
from ..reconcile.matching import reconcile
from ..reconcile.review import headline, match_rules, review_items, rules_text, search_text
from ..reconcile.sources import ledger_from_screen
from ..reconcile.summary import compute_figures
from ..reconcile.workbook import WorkbookContext, write_reconciliation
from ..intake.work_item import WorkItem
from ..work_queue import ItemState
from .records import ItemResult, PreparedRun, Progress, RunRequest, RunResult
from .retry import RetryPolicy
from ..work_queue.counts import count_items
from .session import RunSession

LEDGER_ITEM = "ledger"


def run_reconciliation(request: RunRequest, prepared: PreparedRun, on_progress: Callable | None = None,
                       should_stop: Callable[[], bool] | None = None) -> RunResult:
    bot = prepared.bot
    spec = bot.reconcile
    statement = prepared.statement
    assert spec is not None and statement is not None and request.input_path is not None
    input_name = Path(request.input_path).name

    def progress(outcomes: dict[str, str | None], current: str | None = None) -> None:
        """Before matching, the run's one item is the ledger; its end counts every item for review too."""
        if on_progress:
            on_progress(Progress(count_items(outcomes, bot.unit), current))

    results: list[ItemResult] = []
    results_path = None
    with RunSession(request, prepared) as session:
        run_id = session.run_id
        session.emit("run", "started", data={
            "bot": bot.name, "input": str(request.input_path), "kind": "reconcile",
            "statement_lines": len(statement.lines), "unreadable": len(statement.problems),
            "policy": session.policy, "started_by": request.started_by, "apps": prepared.apps})
        session.log.info(f"reconciliation {run_id} of {bot.name} started by {request.started_by}: "
                         f"{len(statement.lines)} statement line(s) from {input_name}")
        progress({LEDGER_ITEM: None}, LEDGER_ITEM)
        try:
            session.start_drivers()
            variables = _read_ledger(session)
            rows = variables.get(spec.ledger.rows)
            if not isinstance(rows, list):
                raise StepFailure(f"the ledger recipes did not read a table into '{spec.ledger.rows}'",
                                  "Add a read_table step with into: " + spec.ledger.rows)
            stated = variables.get(spec.ledger.total) if spec.ledger.total else None
            ledger = ledger_from_screen(rows, stated, spec, spec.ledger_name)
            progress({LEDGER_ITEM: "done"}, "matching")
            started = time.perf_counter()
            result = reconcile(ledger.lines, statement.lines, match_rules(spec))
            figures = compute_figures(result, ledger, statement, 10 ** minor_units(spec.currency))
            matched_in = round(time.perf_counter() - started, 3)
            workbook_name = f"reconciliation-{Path(request.input_path).stem}.xlsx"
            review, review_refs = review_items(result, figures, workbook_name, run_id, spec.ledger_name)
            queue = session.open_queue()
            try:
                queued = queue.add_for_review(bot.name, review, actor=f"run:{run_id}")
            finally:
                queue.close()
            results_path = write_reconciliation(session.run_dir / workbook_name, result, figures, WorkbookContext(
                title=f"{spec.ledger_name} vs {input_name}", run_id=run_id, currency=spec.currency,
                places=minor_units(spec.currency), rules_text=rules_text(spec),
                search_text=search_text(result, spec), review_refs=review_refs))
            session.emit("reconcile", "matched", duration_ms=matched_in * 1000, message=headline(result, figures),
                         data={"workbook": workbook_name, "sha256": sha256_file(results_path),
                               "counts": {"ledger_lines": figures.ledger_lines,
                                          "statement_lines": figures.statement_lines,
                                          "matches": len(result.matches),
                                          "unmatched_ledger": len(result.unmatched_ledger),
                                          "unmatched_statement": len(result.unmatched_statement),
                                          "duplicates": len(result.duplicates), "unreadable": len(figures.problems)},
                               "rules": dict(Counter(m.rule for m in result.matches)),
                               "figures": {"ledger_figure": figures.ledger_figure,
                                           "statement_figure": figures.statement_figure,
                                           "to_explain": figures.to_explain, "explained": figures.explained,
                                           "unexplained": figures.unexplained},
                               "group_search": vars(result.group_search)})
            for item, reason in review:
                earlier = queued.existing.get(item.reference)
                outcome = "business_exception" if earlier is None or earlier.state in (
                    ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION) else earlier.state.value
                shown = reason if earlier is None or outcome == "business_exception" else \
                    f"{reason}; {earlier.state.value} earlier: {earlier.last_error or ''}".rstrip(": ")
                session.emit("item", outcome, item=item.reference, message=shown,
                             data={"source": item.source, "evidence": item.data})
                results.append(ItemResult(item.reference, outcome, shown, 0, work_item=item.reference))
            results.insert(0, ItemResult(LEDGER_ITEM, "done", f"{figures.ledger_lines} ledger lines read", 1,
                                         work_item=LEDGER_ITEM))
            session.message = headline(result, figures)
            session.log.info(session.message)
        except StepFailure as failure:
            session.abort = failure
            session.message = f"the ledger could not be read: {failure.message}"
            session.emit("item", "system_exception", item=LEDGER_ITEM, message=failure.message)
            results.append(ItemResult(LEDGER_ITEM, "system_exception", failure.message, 1, work_item=LEDGER_ITEM))
            session.log.error(session.message)
        except (KeyboardInterrupt, Exception) as exc:
            session.stopped_by(exc)
        if isinstance(session.abort, StepFailure):
            code = ExitCode.ITEMS_FAILED
        elif session.abort is not None:
            code = exit_code_for(session.abort)
        else:
            code = ExitCode.ITEMS_FAILED if any(r.outcome == "business_exception" for r in results) else ExitCode.OK
        counts = count_items({r.work_item or r.reference: r.outcome for r in results}, bot.unit).ended()
        session.end(code, data={"counts": counts.as_data()})
    if on_progress:
        on_progress(Progress(counts))
    return RunResult(session.run_id, session.run_dir, session.run_dir / REPORT_FILE, results_path, results, code,
                     session.message, counts=counts)


def _read_ledger(session: RunSession) -> dict:
    """Run the ledger recipes; a busy screen is retried with back-off like any system exception."""
    bot, spec = session.bot, session.bot.reconcile
    assert spec is not None
    retry = RetryPolicy.of(bot)
    item = WorkItem(LEDGER_ITEM, {}, spec.ledger_name)
    attempt = 0
    while True:
        attempt += 1
        session.emit("item", "started", item=LEDGER_ITEM, attempt=attempt, data={"source": spec.ledger_name})
        try:
            outcome = session.engine.run_item(item, spec.ledger.recipes, attempt)
        except StepFailure as failure:
            delay = retry.delay_after(attempt)
            if failure.kind == "business" or delay is None:
                raise
            session.emit("item", "retrying", item=LEDGER_ITEM, attempt=attempt, message=failure.message,
                         data={"retry_in_s": delay})
            session.log.warning(f"reading the ledger failed (attempt {attempt}), retrying: {failure.message}")
            time.sleep(delay)
            continue
        rows = outcome.variables.get(spec.ledger.rows)
        session.emit("item", "done", item=LEDGER_ITEM, attempt=attempt,
                     message=f"{len(rows) if isinstance(rows, list) else 0} ledger lines read",
                     data={"source": spec.ledger_name})
        return outcome.variables
