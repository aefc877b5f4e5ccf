"""What an input file becomes in the queue: work items (grouped by the bot's Python when it groups
rows), input refused for a person, and which work item covers which row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..project.bot import Bot
from ..intake.bot_logic import GroupingContext, Refused, run_make_items
from ..intake.work_item import WorkItem
from ..work_queue import IntakeReport, ReviewReport, WorkQueue
from .records import PreparedRun


@dataclass
class WorkPlan:
    """What this input becomes in the queue: items to work, input refused, and which item covers which row."""

    items: list[WorkItem]
    refused: list[tuple[WorkItem, str]]
    owners: dict[str, str]              # input reference -> the work item that covers it


def plan_work(prepared: PreparedRun, input_path: Path, queue: WorkQueue) -> WorkPlan:
    """Rows become work items (grouped by the bot's make_items when it has one); refused input goes to review."""
    bot, intake = prepared.bot, prepared.intake
    assert intake is not None   # a keying bot's input was read by prepare_run
    name = Path(input_path).name
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
    context = GroupingContext(bot.path, Path(input_path), date.today(),
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


@dataclass
class QueuedInput:
    """What putting one input's plan into the queue did."""

    intake: IntakeReport
    review: ReviewReport
    superseded: list[str]


def queue_plan(queue: WorkQueue, bot: Bot, plan: WorkPlan, input_name: str) -> QueuedInput:
    """The plan's items into the queue, input refused to a person, items a corrected file replaces closed."""
    actor = f"intake:{input_name}"
    intake = queue.intake(bot.name, plan.items, actor=actor)
    review = queue.add_for_review(bot.name, plan.refused, actor=actor)
    return QueuedInput(intake, review, close_corrected(queue, bot, plan, actor, input_name))


def close_corrected(queue: WorkQueue, bot: Bot, plan: WorkPlan, actor: str, input_name: str) -> list[str]:
    """Input refused earlier whose rows a corrected file now puts on other work items: close it with the reason."""
    closed = []
    for reference in queue.refused_at_intake(bot.name):
        queued = queue.get(bot.name, reference)
        covers = [str(c) for c in (queued.data.get("covers") or [])] if queued is not None else []
        now_on = {plan.owners.get(c) for c in covers}
        if covers and None not in now_on and reference not in now_on:
            on = ", ".join(sorted(o for o in now_on if o is not None))
            queue.skip(bot.name, reference, actor, f"corrected in {input_name}: now on {on}")
            closed.append(reference)
    return closed
