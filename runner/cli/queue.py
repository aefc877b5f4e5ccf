"""`backroom queue`: what is waiting, what needs a person, and a person's decisions (retry, skip)."""

from __future__ import annotations

import getpass
import time
from datetime import datetime
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..project.bot import load_bot
from ..engine.commit_guard import person_must_check
from ..errors import DataError
from ..intake.workbook import FieldProblem, convert
from ..project.settings import load_settings
from ..work_queue import AGE_BUCKETS, ItemState, age_bucket, age_text, describe_queue, open_queue
from ..work_queue.migrate import migrate_queue

queue_app = typer.Typer(help="The work queue: backlog, items in review, retry and skip.", no_args_is_help=False,
                        invoke_without_command=True)
out = Console()
ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with bots/ and backroom.yaml.",
                             envvar="BACKROOM_PROJECT")
STATE_LABEL = {"pending": "waiting", "in_progress": "in progress", "done": "done",
               "business_exception": "review: business", "system_exception": "review: system", "skipped": "skipped"}


def _queue(project: Path):
    return open_queue(load_settings(project).queue_url, Path(project))


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@queue_app.callback()
def summary(ctx: typer.Context, project: Path = ProjectOption) -> None:
    """Without a sub-command: counts per bot and state, with items in review by age."""
    if ctx.invoked_subcommand is not None:
        return
    queue = _queue(project)
    now = time.time()
    table = Table(title="Work queue")
    for column in ("bot", "waiting", "in progress", "done", "skipped", *(f"review {b}" for b in AGE_BUCKETS)):
        table.add_column(column, justify="right" if column != "bot" else "left")
    rows: dict[str, dict[str, int]] = {}
    for item in queue.items():
        counts = rows.setdefault(item.bot, {})
        key = STATE_LABEL[item.state.value]
        if item.state in (ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION):
            key = f"review {age_bucket(now - item.created_at)}"
        counts[key] = counts.get(key, 0) + 1
    for bot, counts in sorted(rows.items()):
        table.add_row(bot, *(str(counts.get(c.header, 0)) for c in table.columns[1:]))
    out.print(table if rows else "The queue is empty.")
    queue.close()


@queue_app.command("list")
def list_items(
    bot: Optional[str] = typer.Option(None, "--bot", "-b", help="Only this bot."),
    state: List[str] = typer.Option([], "--state", "-s", help="pending, in_progress, done, business_exception, "
                                    "system_exception, skipped, or review (both exceptions)."),
    project: Path = ProjectOption,
) -> None:
    """List work items with their state, age, attempts and last error."""
    states: list[ItemState] = []
    for s in state:
        if s == "review":
            states += [ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION]
        else:
            try:
                states.append(ItemState(s))
            except ValueError:
                raise DataError(f"--state {s!r}: choose from {', '.join(x.value for x in ItemState)} or review") from None
    queue = _queue(project)
    now = time.time()
    table = Table()
    for column in ("bot", "reference", "state", "age", "attempts", "last error / note"):
        table.add_column(column)
    for item in queue.items(bot, states or None):
        table.add_row(Text(item.bot), Text(item.reference), STATE_LABEL[item.state.value],
                      age_text(now - item.created_at), str(item.attempts), Text((item.last_error or "")[:90]))
    out.print(table)
    queue.close()


@queue_app.command()
def show(reference: str, bot: str = typer.Option(..., "--bot", "-b"), project: Path = ProjectOption) -> None:
    """One item: its data and every change of state, with who or what made it."""
    queue = _queue(project)
    item = queue.get(bot, reference)
    if item is None:
        raise DataError(f"no work item '{reference}' for bot '{bot}'", "See: backroom queue list")
    out.print(Text(f"{bot} {reference}", style="bold") + Text(f": {STATE_LABEL[item.state.value]}, "
              f"{item.attempts} attempt(s), from {item.source}"), highlight=False)
    for key, value in item.data.items():
        out.print(f"  {key}: {value}", highlight=False, markup=False)
    table = Table(title="History")
    for column in ("when", "from", "to", "by", "note"):
        table.add_column(column)
    for change in queue.history(bot, reference):
        table.add_row(_when(change.at), change.from_state or "", change.to_state, Text(change.actor), Text(change.message))
    out.print(table)
    queue.close()


def _typed_changes(project: Path, bot: str, assignments: list[str]) -> dict:
    spec = load_bot(project, bot).input
    if spec is None and assignments:
        raise DataError(f"{bot}'s items have no fields to --set",
                        "A reconciliation line is explained by a person (queue skip --reason) or by correcting "
                        "the ledger or the statement and running the reconciliation again.")
    changes = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or name not in spec.fields:
            raise DataError(f"--set {assignment!r}: expected FIELD=VALUE with a field of {bot} "
                            f"({', '.join(spec.fields)})")
        try:
            changes[name] = convert(name, spec.fields[name], raw)
        except FieldProblem as exc:
            raise DataError(f"--set {assignment!r}: {exc}") from None
    return changes


@queue_app.command()
def retry(
    reference: str,
    bot: str = typer.Option(..., "--bot", "-b"),
    set_: List[str] = typer.Option([], "--set", help="FIELD=VALUE: correct the item's data first (repeatable)."),
    by: str = typer.Option(getpass.getuser(), "--by", help="Who decides (recorded)."),
    checked: bool = typer.Option(False, "--checked",
                                 help="You looked the item up in the application after an attempt that may have "
                                      "saved it, and it is not there (recorded)."),
    project: Path = ProjectOption,
) -> None:
    """Send an item in review (or skipped) back to work, after correcting its data."""
    changes = _typed_changes(project, bot, set_)
    definition = load_bot(project, bot)
    queue = _queue(project)
    try:
        existing = queue.get(bot, reference)
        if existing is not None and person_must_check(existing.commit_started, definition.verify) and not checked:
            raise DataError(f"{reference} may already be in the application: an attempt got past a step that saves, "
                            f"and {bot} has no verify recipe to look it up",
                            "Look it up in the application. If it is not there, run this again with --checked; if it "
                            "is, skip it with the application's number as the reason.")
        item = queue.retry(bot, reference, f"user:{by}", changes, checked_not_in_app=checked)
    finally:
        queue.close()
    out.print(f"{reference}: back in the queue (attempts reset); the next run of {bot} works it.", highlight=False)
    if item.commit_started:
        out.print("It may already have been submitted once: the bot will look it up before keying it.")


@queue_app.command()
def skip(
    reference: str,
    bot: str = typer.Option(..., "--bot", "-b"),
    reason: str = typer.Option(..., "--reason", "-r", help="Why it will not be done (recorded)."),
    by: str = typer.Option(getpass.getuser(), "--by", help="Who decides (recorded)."),
    project: Path = ProjectOption,
) -> None:
    """Decide not to do an item, with a reason."""
    queue = _queue(project)
    queue.skip(bot, reference, f"user:{by}", reason)
    out.print(Text(f"{reference}: skipped ({reason})."), highlight=False)
    queue.close()


@queue_app.command()
def add(
    bot: str = typer.Argument(..., help="The bot whose queue takes the input."),
    input: Path = typer.Option(..., "--input", "-i", help="The input workbook (.xlsx)."),
    project: Path = ProjectOption,
) -> None:
    """Put an input's rows in the queue without working them: the runners (backroom worker) take them."""
    from ..run import RunRequest
    from ..run.intake_only import add_input

    added = add_input(RunRequest(bot=bot, input_path=input, project=project, started_by="cli"))
    intake, review = added.queued.intake, added.queued.review
    parts = [f"{len(intake.added)} new item(s)", f"{len(intake.already_queued)} already queued",
             f"{len(intake.already_done)} already done"]
    if review.added:
        parts.append(f"{len(review.added)} to review")
    if intake.changed_after_done:
        parts.append(f"{len(intake.changed_after_done)} changed after done (not keyed again; check by hand)")
    out.print(Text(f"{added.input_name}: {added.rows} row(s) for {bot}: {', '.join(parts)}."), highlight=False)


@queue_app.command()
def upgrade(project: Path = ProjectOption) -> None:
    """Bring the queue's tables up to this Backroom's version. Once, after every runner was upgraded."""
    settings = load_settings(project)
    queue = open_queue(settings.queue_url, Path(project), upgrade=True)
    found, now = queue.upgraded   # type: ignore[attr-defined] - every SQL queue says what it found
    queue.close()
    where = describe_queue(settings.queue_url, Path(project))
    if found == now:
        out.print(Text(f"queue {where}: its tables are at version {now} already; nothing to do."), highlight=False)
    else:
        out.print(Text(f"queue {where}: tables upgraded from version {found or 'none'} to {now}."), highlight=False)


@queue_app.command()
def migrate(
    from_: str = typer.Option(..., "--from", help="The queue now, e.g. sqlite:///logs/queue.sqlite3."),
    to: str = typer.Option(..., "--to", help="The empty queue to move it to, e.g. postgresql://backroom@db/backroom."),
    project: Path = ProjectOption,
) -> None:
    """Move the queue to another backend: every item with its whole history. Once, with the runners stopped."""
    moved = migrate_queue(from_, to, project)
    out.print(f"Moved {moved.items} item(s) with {moved.changes} change(s) of state and {moved.heads} bot chain "
              f"head(s) from {moved.source} to {moved.target}.")
    out.print("Set queue: in backroom.yaml (or BACKROOM_QUEUE_URL) to the new queue on every machine; the old one "
              "now refuses to be worked.")
