"""Optional business logic of a bot: `bots/<name>/bot.py`.

Recipes say what to do on the screen; a bot's Python says what the business requires
before that: for example refusing an order over a credit limit. Supported functions:

    def check_item(item: WorkItem) -> None
        Called before the recipes run for an item. Raise runner.BusinessException("...") to
        send the item to a person with that message; return to let it be worked.
"""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path
from types import ModuleType
from typing import Callable

from .errors import BotDefinitionError
from .work_item import WorkItem

ItemCheck = Callable[[WorkItem], None]


def load_item_check(bot_folder: Path) -> ItemCheck | None:
    path = Path(bot_folder) / "bot.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"backroom_bot_{path.parent.name.replace('-', '_')}", path)
    module: ModuleType = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in a bot's code is the bot's, reported with its line
        frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == str(path)), None)
        where = f"bots/{path.parent.name}/bot.py:{frame.lineno if frame else 1}"
        raise BotDefinitionError(f"{where}: {type(exc).__name__}: {exc}") from None
    check = getattr(module, "check_item", None)
    if check is not None and not callable(check):
        raise BotDefinitionError(f"bots/{path.parent.name}/bot.py: check_item must be a function")
    return check
