"""What ops staff see first, in the menu and on the console: each bot, its last run, its backlog."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..audit.run_index import RunSummary, list_runs
from ..project.bot import Bot, list_bots, load_bot
from ..errors import BackroomError
from .lock import is_running, run_is_running
from ..project.settings import load_settings
from ..work_queue import ItemState, open_queue
from ..work_queue.base import REVIEW_STATES


@dataclass
class BotOverview:
    name: str
    description: str
    kind: str
    running: bool
    last_run: RunSummary | None
    waiting: int = 0
    in_progress: int = 0
    in_review: int = 0
    problem: str = ""            # a bot.yaml that does not load is shown, not hidden


@dataclass
class InputChoice:
    path: Path
    where: str                   # inbox or sample
    modified: float = field(default=0.0)


def logs_folder(project: Path) -> Path:
    return Path(project) / load_settings(project).logs_dir


def bot_overviews(project: Path) -> list[BotOverview]:
    project = Path(project)
    settings = load_settings(project)
    queue = open_queue(settings.queue_url, project)
    try:
        counts: dict[str, dict[ItemState, int]] = {}
        for item in queue.items():
            per_state = counts.setdefault(item.bot, {})
            per_state[item.state] = per_state.get(item.state, 0) + 1
    finally:
        queue.close()
    overviews = []
    for name in list_bots(project):
        running = is_running(project, name)
        runs = list_runs(project / settings.logs_dir, bot=name, running=run_is_running, limit=1)
        states = counts.get(name, {})
        try:
            bot = load_bot(project, name)
            description, kind, problem = bot.description, bot.kind, ""
        except BackroomError as exc:
            description, kind, problem = "", "", exc.message
        overviews.append(BotOverview(
            name, description, kind, running, runs[0] if runs else None, waiting=states.get(ItemState.PENDING, 0),
            in_progress=states.get(ItemState.IN_PROGRESS, 0), in_review=sum(states.get(s, 0) for s in REVIEW_STATES),
            problem=problem))
    return overviews


def input_choices(bot: Bot) -> list[InputChoice]:
    """Files this bot can read: its inbox newest first, then its samples."""
    choices = []
    if bot.inbox and bot.inbox.is_dir():
        files = [p for p in bot.inbox.iterdir() if p.is_file() and p.suffix.lower() in bot.input_suffixes
                 and not p.name.startswith(("~$", "."))]  # Excel's lock files and hidden files are not inputs
        choices += [InputChoice(p, "inbox", p.stat().st_mtime)
                    for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]
    sample_folder = bot.path / "sample"
    if sample_folder.is_dir():
        choices += [InputChoice(p, "sample", p.stat().st_mtime) for p in sorted(sample_folder.iterdir())
                    if p.is_file() and p.suffix.lower() in bot.input_suffixes]
    return choices


def age_text(seconds: float) -> str:
    """'3 min ago', '5 h ago', '2 days ago': how long since, for people."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def since(moment) -> str:
    return age_text(time.time() - moment.timestamp()) if moment else ""
