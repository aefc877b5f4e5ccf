"""What a run is asked to do and what it gives back: plain records the CLI, menu, console and
scheduler read, apart from the code that does the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..project.bot import Bot
from ..intake.bot_logic import BotLogic
from ..errors import ExitCode
from ..intake.workbook import IntakeResult
from ..reconcile.sources import SideRead
from ..project.recipe import RecipeBook
from ..project.selector_map import SelectorMap
from ..project.settings import Settings


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
    total: int
    finished: int
    counts: dict[str, int]
    current: str | None = None
    retrying: int = 0       # items that failed for a system reason and wait for another attempt


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

    @property
    def counts(self) -> dict[str, int]:
        return count_outcomes(self.items)


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


def count_outcomes(results: list[ItemResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts
