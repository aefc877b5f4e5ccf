"""Backroom: robotic process automation for legacy back-office systems.

The public surface. Everything that starts a run (CLI, menu, scheduler, console)
goes through `start_run`.
"""

from .audit.events import AuditEvent, read_events
from .audit.report import build_report
from .bot import Bot, list_bots, load_bot
from .bot_logic import GroupingContext, Refused
from .work_item import WorkItem
from .display import check_display, virtual_display
from .errors import (AppUnreachableError, BackroomError, BusinessException, DataError, DisplayError, ExitCode,
                     InputFileError, RecipeError, SelectorMapError, SystemException, exit_code_for)
from .recipe import Recipe, load_recipe_book, parse_recipe
from .run import ItemResult, Progress, RunRequest, RunResult, prepare_run, start_run
from .selector_map import SelectorMap, load_selector_map
from .settings import Settings, load_settings

__all__ = [
    "AppUnreachableError", "AuditEvent", "BackroomError", "Bot", "BusinessException", "GroupingContext", "Refused", "DataError", "DisplayError",
    "ExitCode",
    "InputFileError", "ItemResult", "Progress", "Recipe", "RecipeError", "RunRequest", "RunResult",
    "SelectorMap", "SelectorMapError", "Settings", "SystemException", "WorkItem", "build_report",
    "exit_code_for", "list_bots", "load_bot", "load_recipe_book", "load_selector_map", "load_settings",
    "check_display", "parse_recipe", "prepare_run", "read_events", "start_run", "virtual_display",
]
