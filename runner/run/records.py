"""What a run is asked to do and what it gives back: plain records the CLI, menu, console and
scheduler read, apart from the code that does the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..project.bot import Bot
from ..intake.bot_logic import BotLogic
from ..errors import ExitCode
from ..intake.workbook import IntakeResult
from ..reconcile.sources import SideRead
from ..project.recipe import RecipeBook
from ..project.selector_map import SelectorMap
from ..project.settings import Settings
from ..work_queue.counts import ItemCounts


@dataclass
class RunRequest:
    bot: str
    input_path: Path | None          # None: work the bot's items already in the queue (a runner service)
    project: Path = Path(".")
    headed: bool = False
    app_urls: dict[str, str] = field(default_factory=dict)
    screenshots: str | None = None
    started_by: str = "cli"
    queue: str | Path | None = None  # a queue URL or a SQLite file; default: the project's queue setting
    virtual_display: bool = False    # start an Xvfb screen for this run (unattended desktop runs)
    app_commands: dict[str, str | list[str]] = field(default_factory=dict)  # desktop apps: how to start them
    run_id: str | None = None        # chosen by a launcher that must know the run folder before it exists
    workers: int | None = None       # items worked at once; default: the bot's `workers` (1)
    runner: str | None = None        # the runner service working it (backroom worker); None: this host's name
    stopped_by: str = "the operator"  # who a stop asked for through should_stop comes from, for the run's message
    # who asked the run to stop ("" while nobody has): set where the run works (child.py), read when it stops
    stop_asker: Callable[[], str] | None = None


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
    counts: ItemCounts      # the run's items so far, counted as its end will count them
    current: str | None = None

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def finished(self) -> int:
        return self.counts.finished

    @property
    def retrying(self) -> int:
        """Items that failed for a system reason and wait for another attempt."""
        return self.counts.retrying


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
    counts: ItemCounts = field(default_factory=ItemCounts)  # the run's work items, as every surface shows them


@dataclass
class PreparedRun:
    """Everything checked before a screen is touched (prepare.py)."""

    bot: Bot
    settings: Settings
    book: RecipeBook
    maps: dict[str, SelectorMap]
    intake: IntakeResult | None
    secrets: dict[str, str]
    apps: dict[str, dict]
    logic: BotLogic = field(default_factory=BotLogic)
    statement: SideRead | None = None   # reconcile bots: the statement, read and checked
