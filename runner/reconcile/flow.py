"""A reconciliation run: read the ledger from the legacy screen, match it against the statement,
write the reconciliation workbook, and put every line that needs a person into review.

Started by `start_run` like every run, so it has the same audit trail, report and exit codes.
Review items have stable references (side, date, amount, reference), so running the same
reconciliation again adds nothing twice, and a line a person has explained (skipped with a
reason) is shown as explained instead of coming back.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Callable

from ..audit.events import AuditEvent, sha256_file
from ..audit.report import build_report
from ..interrupts import interrupts_deferred
from ..errors import BackroomError, ExitCode, StepFailure, exit_code_for
from ..money import minor_units
from ..work_item import WorkItem
from ..work_queue import ItemState, open_queue
from .matching import Line, MatchRules, Reconciliation, reconcile
from .sources import SideRead, ledger_from_screen
from .summary import Figures, compute_figures
from .workbook import WorkbookContext, write_reconciliation

LEDGER_ITEM = "ledger"


def _rules(spec) -> MatchRules:
    m = spec.matching
    return MatchRules(date_window_days=m.date_window_days, tolerance_minor=spec.tolerance_minor(),
                      group_max_lines=m.group_max_lines, group_max_candidates=m.group_max_candidates,
                      group_max_steps=m.group_max_steps, same_account=m.same_account)


def review_reference(line: Line, seen: Counter) -> str:
    """Stable across runs: the same statement line gets the same review item every time."""
    what = line.reference or line.description or "no reference"
    base = f"{line.side}:{line.on.isoformat()}:{line.amount}:{what}"
    seen[base] += 1
    return base if seen[base] == 1 else f"{base}#{seen[base]}"


def _evidence(line: Line, why: str, hint: str, workbook: str, run_id: str) -> dict:
    return {"side": line.side, "reference": line.reference, "date": line.on, "amount": line.amount,
            "account": line.account, "description": line.description, "read_at": line.source, "why": why,
            "note": hint, "workbook": workbook, "run": run_id}


def _review_items(result: Reconciliation, figures: Figures, workbook: str, run_id: str,
                  ledger_name: str) -> tuple[list[tuple[WorkItem, str]], dict[tuple[str, int], str]]:
    seen: Counter = Counter()
    items, refs = [], {}

    def add(line: Line, why: str, reason: str) -> None:
        ref = review_reference(line, seen)
        hint = result.hints.get((line.side, line.index), "")
        data = _evidence(line, why, hint, workbook, run_id)
        items.append((WorkItem(ref, data, line.source), reason + (f" ({hint})" if hint else "")))
        refs[(line.side, line.index)] = ref

    for line in result.unmatched_ledger:
        add(line, "unmatched in ledger", f"{ledger_name} line {line.reference} {line.amount} of {line.on} "
            f"has no matching statement line")
    for line in result.unmatched_statement:
        add(line, "unmatched in statement", f"statement line {line.reference or line.description} {line.amount} "
            f"of {line.on} has no matching {ledger_name} line")
    for duplicate in result.duplicates:
        add(duplicate.line, "suspected duplicate", f"{duplicate.line.side} line at {duplicate.line.source} repeats "
            f"{duplicate.first.source}; set aside, not matched")
    for number, problem in enumerate(figures.problems, start=1):
        ref = f"{problem.side}:unreadable:{problem.place}"
        data = {"side": problem.side, "read_at": problem.place, "why": "unreadable", "values": problem.raw,
                "workbook": workbook, "run": run_id}
        items.append((WorkItem(ref, data, problem.place), problem.message))
    if figures.unexplained != 0:
        ref = f"unexplained:{run_id}"
        data = {"why": "unexplained difference", "amount": figures.unexplained, "workbook": workbook, "run": run_id}
        items.append((WorkItem(ref, data, workbook), f"unexplained difference of {figures.unexplained}: "
                      "see the Summary sheet"))
    return items, refs


def run_reconciliation(request, prepared, on_progress: Callable | None = None,
                       should_stop: Callable[[], bool] | None = None):
    from ..engine import Engine
    from ..run import (ItemResult, Progress, RunResult, _drivers, _run_outcome, open_run, seal_run_evidence,
                       stop_drivers, stopped_because)

    bot, settings = prepared.bot, prepared.settings
    spec = bot.reconcile
    run_id, run_dir, trail, policy = open_run(request, prepared)
    statement: SideRead = prepared.statement
    input_name = Path(request.input_path).name

    def emit(kind: str, outcome: str, **fields) -> None:
        trail.emit(AuditEvent(run=run_id, seq=trail.next_seq(), kind=kind, outcome=outcome, **fields))

    def progress(finished: int, counts: dict, current: str | None = None) -> None:
        if on_progress:
            on_progress(Progress(2, finished, counts, current))

    emit("run", "started", data={"bot": bot.name, "input": str(request.input_path), "kind": "reconcile",
                                 "statement_lines": len(statement.lines), "unreadable": len(statement.problems),
                                 "policy": policy, "started_by": request.started_by, "apps": prepared.apps})
    trail.log.info(f"reconciliation {run_id} of {bot.name} started by {request.started_by}: "
                   f"{len(statement.lines)} statement line(s) from {input_name}")
    progress(0, {}, LEDGER_ITEM)
    drivers = _drivers(prepared, request)
    engine = Engine(drivers, prepared.book, prepared.maps, settings, trail, prepared.secrets, prepared.apps, policy)
    results: list = []
    abort: BaseException | None = None
    message, results_path = "", None
    try:
        with interrupts_deferred():
            for driver in drivers.values():
                driver.start()
        variables = _read_ledger(engine, bot, emit, trail)
        rows = variables.get(spec.ledger.rows)
        if not isinstance(rows, list):
            raise StepFailure(f"the ledger recipes did not read a table into '{spec.ledger.rows}'",
                              "Add a read_table step with into: " + spec.ledger.rows)
        stated = variables.get(spec.ledger.total) if spec.ledger.total else None
        ledger = ledger_from_screen(rows, stated, spec, bot.reconcile.ledger_name)
        progress(1, {"done": 1}, "matching")
        started = time.perf_counter()
        result = reconcile(ledger.lines, statement.lines, _rules(spec))
        figures = compute_figures(result, ledger, statement, 10 ** minor_units(spec.currency))
        matched_in = round(time.perf_counter() - started, 3)
        workbook_name = f"reconciliation-{Path(request.input_path).stem}.xlsx"
        review, review_refs = _review_items(result, figures, workbook_name, run_id, spec.ledger_name)
        queue = open_queue(request.queue_path or Path(request.project) / settings.queue_path)
        try:
            queued = queue.add_for_review(bot.name, review, actor=f"run:{run_id}")
        finally:
            queue.close()
        results_path = write_reconciliation(run_dir / workbook_name, result, figures, WorkbookContext(
            title=f"{spec.ledger_name} vs {input_name}", run_id=run_id, currency=spec.currency,
            places=minor_units(spec.currency), rules_text=_rules_text(spec),
            search_text=_search_text(result, spec), review_refs=review_refs))
        emit("reconcile", "matched", duration_ms=matched_in * 1000, message=_headline(result, figures),
             data={"workbook": workbook_name, "sha256": sha256_file(results_path),
                   "counts": {"ledger_lines": figures.ledger_lines, "statement_lines": figures.statement_lines,
                              "matches": len(result.matches), "unmatched_ledger": len(result.unmatched_ledger),
                              "unmatched_statement": len(result.unmatched_statement),
                              "duplicates": len(result.duplicates), "unreadable": len(figures.problems)},
                   "rules": dict(Counter(m.rule for m in result.matches)),
                   "figures": {"ledger_figure": figures.ledger_figure, "statement_figure": figures.statement_figure,
                               "to_explain": figures.to_explain, "explained": figures.explained,
                               "unexplained": figures.unexplained},
                   "group_search": vars(result.group_search)})
        for item, reason in review:
            earlier = queued.existing.get(item.reference)
            outcome = "business_exception" if earlier is None or earlier.state in (
                ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION) else earlier.state.value
            shown = reason if earlier is None or outcome == "business_exception" else \
                f"{reason}; {earlier.state.value} earlier: {earlier.last_error or ''}".rstrip(": ")
            emit("item", outcome, item=item.reference, message=shown, data={"source": item.source,
                                                                            "evidence": item.data})
            results.append(ItemResult(item.reference, outcome, shown, 0, work_item=item.reference))
        results.insert(0, ItemResult(LEDGER_ITEM, "done", f"{figures.ledger_lines} ledger lines read", 1,
                                     work_item=LEDGER_ITEM))
        message = _headline(result, figures)
        trail.log.info(message)
    except StepFailure as failure:
        abort = failure
        message = f"the ledger could not be read: {failure.message}"
        emit("item", "system_exception", item=LEDGER_ITEM, message=failure.message)
        results.append(ItemResult(LEDGER_ITEM, "system_exception", failure.message, 1, work_item=LEDGER_ITEM))
        trail.log.error(message)
    except (KeyboardInterrupt, Exception) as exc:
        abort = exc
        message = stopped_because(exc, trail)
    finally:
        stop_drivers(drivers)
        if isinstance(abort, StepFailure):
            code = ExitCode.ITEMS_FAILED
        elif abort is not None:
            code = exit_code_for(abort)
        else:
            code = ExitCode.ITEMS_FAILED if any(r.outcome == "business_exception" for r in results) else ExitCode.OK
        counts = dict(Counter(r.outcome for r in results))
        emit("run", _run_outcome(code), message=message or None, data={"counts": counts, "exit_code": int(code)})
        trail.close()
        report_path = build_report(run_dir)
        seal_run_evidence(trail, bot.name, request.queue_path or Path(request.project) / settings.queue_path)
        progress(2, counts)
    if abort is not None and not isinstance(abort, (BackroomError, KeyboardInterrupt)):
        raise abort
    return RunResult(run_id, run_dir, report_path, results_path, results, code, message)


def _read_ledger(engine, bot, emit, trail) -> dict:
    """Run the ledger recipes; a busy screen is retried with back-off like any system exception."""
    attempts, delay = bot.retry.attempts, bot.retry.backoff_seconds
    item = WorkItem(LEDGER_ITEM, {}, bot.reconcile.ledger_name)
    for attempt in range(1, attempts + 1):
        emit("item", "started", item=LEDGER_ITEM, attempt=attempt, data={"source": bot.reconcile.ledger_name})
        try:
            outcome = engine.run_item(item, bot.reconcile.ledger.recipes, attempt)
        except StepFailure as failure:
            if failure.kind == "business" or attempt == attempts:
                raise
            emit("item", "retrying", item=LEDGER_ITEM, attempt=attempt, message=failure.message)
            trail.log.warning(f"reading the ledger failed (attempt {attempt}), retrying: {failure.message}")
            time.sleep(delay * (2 ** (attempt - 1)))
            continue
        rows = outcome.variables.get(bot.reconcile.ledger.rows)
        emit("item", "done", item=LEDGER_ITEM, attempt=attempt,
             message=f"{len(rows) if isinstance(rows, list) else 0} ledger lines read",
             data={"source": bot.reconcile.ledger_name})
        return outcome.variables
    raise AssertionError("unreachable")


def _rules_text(spec) -> str:
    m = spec.matching
    return (f"reference; amount within {m.date_window_days} days; tolerance {m.tolerance} {spec.currency}; "
            f"groups of up to {m.group_max_lines} lines from the {m.group_max_candidates} nearest candidates "
            f"({m.group_max_steps} combinations at most)" + ("; accounts must agree" if m.same_account else ""))


def _search_text(result: Reconciliation, spec) -> str:
    s = result.group_search
    return (f"{s.searched} searched, {s.found} found; candidates cut to the nearest {spec.matching.group_max_candidates}"
            f" {s.candidates_cut} times; combination bound reached {s.steps_exhausted} times ({s.steps} tried)")


def _headline(result: Reconciliation, figures: Figures) -> str:
    return (f"{len(result.matches)} matches; unmatched: {len(result.unmatched_ledger)} in ledger, "
            f"{len(result.unmatched_statement)} in statement; {len(result.duplicates)} suspected duplicates; "
            f"{len(figures.problems)} unreadable; unexplained difference {figures.unexplained}")
