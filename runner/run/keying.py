"""A keying run: the input's rows go into the queue, then each claimed work item is keyed on a clean
screen (its own browser context; a desktop app restarted after a failed item). A system failure is
tried again after a back-off (RetryPolicy), a business failure goes to a person, and an attempt
that may have saved is never repeated blindly (commit_guard)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..audit.events import sha256_file
from ..audit.report import REPORT_FILE
from ..project.bot import Bot
from ..engine.commit_guard import may_be_in_app, person_must_check
from ..engine.attempt import ItemHooks
from ..engine.core import Engine
from ..errors import StepFailure, SystemException
from ..intake.work_item import WorkItem
from ..work_queue import LeaseLost, QueuedItem, WorkQueue
from ..work_queue.counts import count_items
from .outcomes import (input_outcomes, keying_exit_code, output_values, queue_outcome, write_documents,
                       write_results_workbook)
from .plan import WorkPlan, plan_work, queue_plan
from .lanes import RunTally, work_in_lanes
from .worker_process import shared_stop_flag
from .records import ItemResult, PreparedRun, Progress, RunRequest, RunResult
from .retry import RetryPolicy
from .session import RunSession, new_run_id, open_run_queue

# an item claimed before its run was opened, with the lease owner that holds it
FirstClaim = tuple[QueuedItem, str]


def run_keying(request: RunRequest, prepared: PreparedRun, on_progress: Callable[[Progress], None] | None,
               should_stop: Callable[[], bool] | None) -> RunResult | None:
    """A run of an input file; without one (`input_path` None), a run of the bot's items already queued,
    which is None when there is nothing to claim."""
    queue = open_run_queue(request, prepared.settings)
    try:
        if request.input_path is None:
            return _run_queued(request, prepared, queue, on_progress, should_stop)
        plan = plan_work(prepared, Path(request.input_path), queue)   # refused here: no run folder is made
        with RunSession(request, prepared) as session:
            return _key_items(session, queue, plan, Path(request.input_path).name, on_progress, should_stop)
    finally:
        queue.close()


def _run_queued(request: RunRequest, prepared: PreparedRun, queue: WorkQueue,
                on_progress: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None) -> RunResult | None:
    """The bot's queued items (put there by another run, `backroom queue add`, the console): the run is opened
    only once it holds an item, so a runner looking for work leaves no empty runs behind."""
    run_id = request.run_id or new_run_id()
    owner = queue.new_owner(run_id)
    claimed = queue.claim(prepared.bot.name, owner, prepared.settings.lease_s, run_id)
    if claimed is None:
        return None
    with ExitStack() as stack:
        try:
            session = stack.enter_context(RunSession(replace(request, run_id=run_id), prepared))
        except BaseException as exc:
            queue.release(claimed.id, owner, f"run could not start: {str(exc).splitlines()[0] if str(exc) else exc!r}")
            raise
        return _key_items(session, queue, None, "", on_progress, should_stop, first=(claimed, owner))
    raise AssertionError("unreachable")   # the block returns or raises


def _key_items(session: RunSession, queue: WorkQueue, plan: WorkPlan | None, input_name: str,
               on_progress: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None,
               first: FirstClaim | None = None) -> RunResult:
    request, prepared, bot = session.request, session.prepared, session.bot
    rejected: list[ItemResult] = []
    input_items: dict[str, str | None] = {}   # this input's work items, with the outcome each has before any work
    rows = 0
    if plan is None:
        _announce_queued_run(session, queue)
    else:
        assert prepared.intake is not None
        rejected = [ItemResult(r.reference, "rejected", "; ".join(r.problems), 0, r.row) for r in prepared.intake.rejected]
        _queue_input(session, queue, plan, input_name, len(rejected))
        input_items = _input_items_as_queued(queue, bot, plan, prepared.intake.items, rejected)
        rows = len(prepared.intake.items) + len(rejected)
    # the run answers for its input's items and for every item of the bot waiting in the queue, which it works too
    waiting = dict.fromkeys(queue.waiting_references(bot.name))
    in_processes = session.workers > 1 and "desktop" in session.drivers   # a screen per desktop worker
    tally = RunTally({**input_items, **waiting}, rejected, on_progress, bot.unit, rows,
                     shared_stop_flag() if in_processes else None)
    tally.report()
    retry = RetryPolicy.of(bot)

    def work(engine: Engine, lane_queue: WorkQueue, owner: str, start_drivers: Callable[[], None]) -> None:
        held = first if first is not None and first[1] == owner else None   # the first lane works the first claim
        _work_lane(session, engine, lane_queue, owner, start_drivers, retry, tally, should_stop, held)

    try:
        if session.workers == 1:
            work(session.engine, queue, queue.new_owner(session.run_id), session.start_drivers)
        else:
            work_in_lanes(session, queue, session.workers, work, tally, work_lane if in_processes else None)
    except (KeyboardInterrupt, Exception) as exc:
        session.stopped_by(exc)
    worked = tally.worked
    session.stop_drivers()
    # the items this run worked that are not of its input (all of them for a run from the queue), where each stands now
    others = [queued.as_work_item() for ref in worked if ref not in input_items
              and (queued := queue.get(bot.name, ref)) is not None]
    results = input_outcomes(queue, bot, others, {}, worked, session.run_id)
    if plan is not None:
        assert prepared.intake is not None
        results = rejected + input_outcomes(queue, bot, prepared.intake.items, plan.owners, worked,
                                            session.run_id) + results
    for work_item in dict.fromkeys(r.work_item for r in results if r.outcome == "not_started"):
        if work_item not in worked:
            session.emit("item", "not_started", item=work_item, message=session.message or "not worked in this run")
    if session.stop_requested and session.abort is None:   # what a person who stopped it needs to know next
        left = len(queue.waiting_references(bot.name))
        session.message += f"; {left} item(s) left in the queue" if left else "; nothing was left to do"
    exit_code = keying_exit_code(results, session.abort, session.stop_requested)
    # where each item stands now (an item in the queue may have moved while the run worked), counted once
    outcomes = {**tally.outcomes, **{r.work_item or r.reference: r.outcome for r in results}}
    counts = count_items(outcomes, bot.unit, rows).ended()
    session.end(exit_code, data={"counts": counts.as_data(), "read_back": dict(session.engine.tally)})
    if on_progress is not None:
        on_progress(Progress(counts))   # the bar ends on the numbers the summary gives
    results_path = None if request.input_path is None else \
        write_results_workbook(prepared, Path(request.input_path), session.run_dir, results)
    return RunResult(session.run_id, session.run_dir, session.run_dir / REPORT_FILE, results_path, results,
                     exit_code, session.message, dict(session.engine.tally), counts)


def _input_items_as_queued(queue: WorkQueue, bot: Bot, plan: WorkPlan, rows: list[WorkItem],
                           rejected: list[ItemResult]) -> dict[str, str | None]:
    """The input's work items and where each stands before the run works any: done earlier, in review,
    skipped, or None (to be worked)."""
    references = {plan.owners.get(row.reference, row.reference) for row in rows}
    states = queue.states_of(bot.name, sorted(references))
    items: dict[str, str | None] = {reference: queue_outcome(states[reference]) if reference in states else None
                                    for reference in references}
    items.update({r.reference: r.outcome for r in rejected})
    return items


def work_lane(session: Any, engine: Engine, queue: WorkQueue, owner: str, start_drivers: Callable[[], None],
              tally: Any) -> None:
    """A worker process's lane (worker_process.py hands it the process's own session and tally)."""
    _work_lane(session, engine, queue, owner, start_drivers, RetryPolicy.of(session.bot), tally, None)


def _work_lane(session: RunSession, engine: Engine, queue: WorkQueue, owner: str, start_drivers: Callable[[], None],
               retry: RetryPolicy, tally: RunTally, should_stop: Callable[[], bool] | None,
               first: FirstClaim | None = None) -> None:
    """Claim and work items until none is left (or the run is asked to stop); one lane of the run. `first`:
    an item claimed for this lane before the run opened, worked before anything else."""
    bot = session.bot
    while not tally.stopping.is_set():
        if first is None and should_stop and should_stop():
            session.message = f"stopped by {session.who_asked_to_stop()} after the current item"
            session.stop_requested = True
            tally.stopping.set()
            break
        claimed: QueuedItem | None
        if first is not None:
            claimed, first = first[0], None
        else:
            claimed = queue.claim(bot.name, owner, session.settings.lease_s, session.run_id)
        if claimed is None:
            wait = queue.seconds_until_due(bot.name)
            if wait is None:
                break  # nothing pending: the queue is drained for this bot
            tally.stopping.wait(min(max(wait, 0.05), 5.0))  # a retry is waiting for its back-off
            continue
        tally.started(owner, claimed.reference)   # what this lane works on, from the claim (a browser may start)
        try:
            start_drivers()
        except BaseException as exc:
            # claimed before anything could start: given back, not left in progress
            queue.release(claimed.id, owner, f"run stopped while starting: {session.why_stopped(exc)}")
            raise
        try:
            result = _work_claimed(session, engine, queue, claimed, owner, retry)
        except LeaseLost as lost:
            # Its lease ran out (a step that hung, the queue's server out of reach) and another runner took it back:
            # that runner looks it up and finishes it; this one leaves it alone (before any save) and goes on.
            session.emit("item", "lease_lost", item=claimed.reference, attempt=claimed.attempts, message=lost.message)
            session.log.bind(item=claimed.reference).warning(f"left to the runner that took it back: {lost.message}")
            result = ItemResult(claimed.reference, "lease_lost", lost.message, claimed.attempts)
        tally.finished(owner, result)
    if first is not None:   # the run stopped before this lane began: its first claim is given back
        queue.release(first[0].id, owner, f"run stopped before it was worked: {session.message or 'stopped'}")


def _queue_input(session: RunSession, queue: WorkQueue, plan: WorkPlan, input_name: str, rejected: int) -> None:
    """The plan goes into the queue; what that did is the run's first events."""
    request, prepared, bot = session.request, session.prepared, session.bot
    assert prepared.intake is not None
    queued = queue_plan(queue, bot, plan, input_name)
    intake, review, superseded = queued.intake, queued.review, queued.superseded
    waiting = len(queue.waiting_references(bot.name))
    session.emit("run", "started", data={
        "bot": bot.name, "input": str(request.input_path), "items": len(plan.items),
        "rows": len(prepared.intake.items), "rejected": rejected, "policy": session.policy,
        "started_by": request.started_by, "apps": prepared.apps,
        "intake": {"added": len(intake.added), "already_queued": len(intake.already_queued),
                   "already_done": len(intake.already_done), "changed_after_done": intake.changed_after_done,
                   "updated_pending": intake.updated_pending, "changed_in_review": intake.changed_in_review,
                   "corrected": intake.corrected, "to_review": review.added, "superseded": superseded},
        "queue_waiting": waiting})
    session.log.info(f"run {session.run_id} of {bot.name} started by {request.started_by}: {len(intake.added)} new "
                     f"item(s), {waiting} waiting in the queue, {len(intake.already_done)} already done")
    for ref in intake.changed_after_done:
        session.emit("intake", "changed_after_done", item=ref, message=f"{input_name} has different data for this "
                     "item, which is already done; it was not keyed again. Check it by hand.")
    for ref in intake.changed_in_review:
        session.emit("intake", "kept_queued_data", item=ref, message=f"{input_name} has different data for this item, "
                     "which is in review or was corrected by a person; the queued data is kept "
                     "(backroom queue retry --set changes it).")
    for ref in intake.corrected:
        session.emit("intake", "corrected", item=ref,
                     message=f"refused earlier; {input_name} corrects it and it will be worked")
    for item, reason in plan.refused:
        where = "in review" if item.reference in review.added else \
            f"already {review.existing[item.reference].state.value}" if item.reference in review.existing else ""
        session.emit("intake", "to_review" if item.reference in review.added else "refused", item=item.reference,
                     message=reason, data={"source": item.source, "queue": where})


def _announce_queued_run(session: RunSession, queue: WorkQueue) -> None:
    """The first event of a run with no input: it works what the queue holds for the bot."""
    request, bot = session.request, session.bot
    waiting = len(queue.waiting_references(bot.name))
    session.emit("run", "started", data={
        "bot": bot.name, "input": "", "from_queue": True, "items": 0, "rows": 0, "rejected": 0,
        "policy": session.policy, "started_by": request.started_by, "apps": session.prepared.apps,
        "queue_waiting": waiting})
    session.log.info(f"run {session.run_id} of {bot.name} started by {request.started_by}: {waiting} item(s) "
                     "waiting in the queue")


class _QueueHooks(ItemHooks):
    """Keeps the lease alive while an item is worked and records when it is about to commit."""

    def __init__(self, queue: WorkQueue, claimed: QueuedItem, owner: str, lease_s: float):
        self.queue, self.item_id, self.owner, self.lease_s = queue, claimed.id, owner, lease_s
        self.bot, self.reference = claimed.bot, claimed.reference
        self.last_beat = time.monotonic()
        # (app, step, request) of this attempt's commit point: the first step marked as saving, or the first write
        self.committed: tuple[str, str, str] | None = None

    def heartbeat(self) -> None:
        if time.monotonic() - self.last_beat > self.lease_s / 10:
            self.queue.heartbeat(self.item_id, self.owner, self.lease_s)
            self.last_beat = time.monotonic()

    def key_taken(self, variable: str, value: str) -> str | None:
        return self.queue.holder_of(self.bot, variable, value, other_than=self.reference)

    def before_commit(self, where: str, app: str, write: str = "") -> None:
        self.queue.mark_committing(self.item_id, self.owner)
        if self.committed is None:
            self.committed = (app, where, write)
        elif write and not self.committed[2]:   # the request the marked step sent
            self.committed = (self.committed[0], self.committed[1], write)


def _work_claimed(session: RunSession, engine: Engine, queue: WorkQueue, claimed: QueuedItem, owner: str,
                  retry: RetryPolicy) -> ItemResult:
    """One attempt at one claimed item; the queue decides what happens next."""
    bot, emit = session.bot, session.emit
    item = claimed.as_work_item()
    attempt = claimed.attempts
    started = time.perf_counter()
    verify = bot.verify if claimed.commit_started or bot.verify_when == "always" else None
    emit("item", "started", item=item.reference, attempt=attempt,
         data={"source": item.source, "recovered": claimed.recovered, "verify_first": verify is not None,
               "lease": owner})
    if claimed.recovered:
        session.log.bind(item=item.reference).warning("recovered from a runner that stopped without finishing")
    elapsed = lambda: round((time.perf_counter() - started) * 1000, 1)  # noqa: E731
    hooks = _QueueHooks(queue, claimed, owner, session.settings.lease_s)

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
        if session.prepared.logic.check_item is not None:
            _run_item_check(session.prepared.logic.check_item, item, bot)
        outcome = engine.run_item(item, bot.recipes, attempt, verify, hooks)
        for path in write_documents(bot, item, outcome.variables, session.run_dir):
            emit("document", "written", item=item.reference, attempt=attempt, value=path.name,
                 data={"file": str(path.relative_to(session.run_dir)), "sha256": sha256_file(path)})
    except StepFailure as failure:
        if failure.kind == "business":
            return to_review(failure.message, failure)
        if hooks.committed is not None and bot.verify is None:
            app, where, write = hooks.committed
            return to_review(f"{may_be_in_app(app, where, write)}. It stopped with: {failure.message}", failure)
        delay = retry.delay_after(attempt)
        if hooks.committed is not None:   # past its commit point: the history says what was sent, and why a look-up
            app, where, write = hooks.committed
            sent = f": the browser sent {write}" if write else ""
            failure.message += f" (after {where or 'a write'}, which saves{sent}; the next attempt looks it up in {app} first)"
        if delay is not None:
            queue.system_exception(claimed.id, owner, failure.message, retry_in_s=delay)
            emit("item", "retrying", item=item.reference, attempt=attempt, message=failure.message,
                 duration_ms=elapsed(), data={"retry_in_s": delay})
            session.log.bind(item=item.reference).warning(
                f"attempt {attempt} failed, retrying in {delay:g}s: {failure.message}")
            return ItemResult(item.reference, "pending", failure.message, attempt)
        queue.system_exception(claimed.id, owner, failure.message, retry_in_s=None)
        emit("item", "system_exception", item=item.reference, attempt=attempt, message=failure.message,
             duration_ms=elapsed(), data={"source": item.source})
        return ItemResult(item.reference, "system_exception", failure.message, attempt)
    except BaseException as exc:
        if isinstance(exc, LeaseLost):
            raise   # not this runner's to give back (_work_lane)
        # The run is stopping (the app went away, Ctrl-C): give the item back for the next run.
        queue.release(claimed.id, owner, f"run stopped: {session.why_stopped(exc)}")
        raise
    output = output_values(bot, item, outcome.variables)
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
