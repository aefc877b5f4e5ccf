"""Optional business logic of a bot: `bots/<name>/bot.py`.

Recipes say what to do on the screen; a bot's Python says what the business requires
around that. Supported functions (both optional):

    def check_item(item: WorkItem) -> None
        Called before the recipes run for an item. Raise runner.BusinessException("...") to
        send the item to a person with that message; return to let it be worked.

    def make_items(rows: list[WorkItem], context: GroupingContext) -> list[WorkItem | Refused]
        Turns the input rows into work items when one item covers several rows (an invoice
        per customer and month from completed jobs). Each item lists the input references
        it covers in `covers`. Rows already covered by queued work are not passed again, so
        nothing is worked twice; a Refused names the rows and cells a person must correct.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..errors import BotDefinitionError
from .work_item import WorkItem

ItemCheck = Callable[[WorkItem], None]
BOT_PY_HINT = "Fix the bot's bot.py at that line and run again; nothing was keyed."


@dataclass
class Refused:
    """Input a bot cannot turn into work; it goes to review with these problems."""

    reference: str
    problems: list[str]
    covers: list[str] = field(default_factory=list)   # the input references it stands for
    data: dict[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass
class GroupingContext:
    folder: Path                       # the bot's folder: its master data (customers.xlsx) lives there
    input_path: Path
    today: date
    taken: Callable[[str], bool]       # is this reference already used by other work?
    cell: Callable[[WorkItem, str], str] = lambda item, field_name: item.source  # [jobs.xlsx]Jobs!B7

    def reference_for(self, base: str) -> str:
        """`base`, or `base-2`, `base-3`... when an earlier item of other rows already has it."""
        candidate, number = base, 1
        while self.taken(candidate):
            number += 1
            candidate = f"{base}-{number}"
        return candidate


@dataclass
class BotLogic:
    check_item: ItemCheck | None = None
    make_items: Callable[[list[WorkItem], GroupingContext], list] | None = None


def _where(path: Path, exc: BaseException) -> str:
    frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == str(path)), None)
    return f"bots/{path.parent.name}/bot.py:{frame.lineno if frame else 1}"


def load_bot_logic(bot_folder: Path) -> BotLogic:
    path = Path(bot_folder) / "bot.py"
    if not path.exists():
        return BotLogic()
    spec = importlib.util.spec_from_file_location(f"backroom_bot_{path.parent.name.replace('-', '_')}", path)
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look a class's module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in a bot's code is the bot's, reported with its line
        sys.modules.pop(spec.name, None)
        raise BotDefinitionError(f"{_where(path, exc)}: {type(exc).__name__}: {exc}", BOT_PY_HINT) from None
    logic = BotLogic(getattr(module, "check_item", None), getattr(module, "make_items", None))
    for name in ("check_item", "make_items"):
        if getattr(logic, name) is not None and not callable(getattr(logic, name)):
            raise BotDefinitionError(f"bots/{path.parent.name}/bot.py: {name} must be a function")
    return logic


def run_make_items(logic: BotLogic, bot_folder: Path, rows: list[WorkItem], context: GroupingContext) -> list:
    """Call make_items; an error in it is the bot's, reported with its line, before anything is keyed."""
    path = Path(bot_folder) / "bot.py"
    try:
        produced = list(logic.make_items(rows, context))
    except BotDefinitionError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise BotDefinitionError(f"{_where(path, exc)}: make_items failed: {type(exc).__name__}: {exc}",
                                 BOT_PY_HINT) from None
    for thing in produced:
        if not isinstance(thing, (WorkItem, Refused)):
            raise BotDefinitionError(f"bots/{path.parent.name}/bot.py: make_items must return WorkItem or Refused "
                                     f"objects, got {type(thing).__name__}")
    return produced
