"""Backroom: robotic process automation for legacy back-office systems.

The public surface. Everything that starts a run (CLI, menu, scheduler, console)
goes through `start_run`; the menu and the console call it in a child process (`ChildRun`)
that holds the bot's lock (`bot_lock`), so they never run one bot twice at once. A runner
service (`RunnerService`, backroom worker) starts runs of the items already queued
(`start_queued_run`) as they arrive, beside them. A bot's own
bot.py imports what it needs from here too (Refused, WorkItem, cell_ref, parse_amount, ...).
"""

from .audit.events import AuditEvent, read_events
from .audit.report import build_report
from .project.bot import Bot, list_bots, load_bot
from .intake.bot_logic import GroupingContext, Refused
from .intake.work_item import WorkItem
from .drivers.display import check_display, virtual_display
from .errors import (AppUnreachableError, BackroomError, BusinessException, DataError, DisplayError, ExitCode,
                     InputFileError, RecipeError, SelectorMapError, SystemException, exit_code_for)
from .intake.workbook import cell_ref
from .project.money import ValueProblem, parse_amount, round_money
from .project.recipe import Recipe, load_recipe_book, parse_recipe
from .run import (BotBusyError, ChildEnded, ChildRun, ItemResult, Progress, RunRequest, RunResult, RunSession,
                  bot_lock, prepare_run, start_queued_run, start_run)
from .run.overview import BotOverview, bot_overviews
from .project.selector_map import SelectorMap, load_selector_map
from .project.settings import Settings, load_settings
from .worker import RunnerService, WorkerOptions
from .work_queue.counts import ItemCounts, count_items

__all__ = [
    "AppUnreachableError", "AuditEvent", "BackroomError", "Bot", "BotBusyError", "BotOverview", "BusinessException",
    "ChildEnded", "ChildRun", "GroupingContext", "RunSession", "Refused", "DataError", "DisplayError",
    "ExitCode",
    "InputFileError", "ItemResult", "Progress", "Recipe", "RecipeError", "RunRequest", "RunResult",
    "SelectorMap", "SelectorMapError", "Settings", "SystemException", "WorkItem", "build_report", "bot_lock", "bot_overviews",
    "exit_code_for", "list_bots", "load_bot", "load_recipe_book", "load_selector_map", "load_settings",
    "ValueProblem", "cell_ref", "parse_amount", "round_money",
    "check_display", "parse_recipe", "prepare_run", "read_events", "start_run", "virtual_display",
    "RunnerService", "WorkerOptions", "start_queued_run", "ItemCounts", "count_items",
]
