"""`prepare_run`: everything a run could trip over, checked before any screen is touched: the bot,
its recipes and selector maps, the input workbook or statement, the secrets, the app addresses and
the extras a desktop bot needs."""

from __future__ import annotations

import sys
from pathlib import Path

from ..project.bot import MAX_WORKERS, load_bot
from ..intake.bot_logic import load_bot_logic
from .documents import check_template
from ..errors import BotDefinitionError, ConfigurationError
from ..drivers.installed import require_desktop
from ..intake.workbook import read_workbook
from ..reconcile.sources import read_statement
from ..project.recipe import load_recipe_book
from ..project.secrets import resolve_secrets
from ..project.selector_map import SelectorMap, load_selector_map
from ..project.settings import AppSettings, load_settings
from .records import PreparedRun, RunRequest


def prepare_run(request: RunRequest) -> PreparedRun:
    """Validate everything before anything is keyed; raises DataError/ConfigurationError."""
    prepared = prepare_bot(Path(request.project), request.bot, request.app_urls, request.app_commands,
                           headed=request.headed)
    bot = prepared.bot
    if request.workers is not None:
        check_workers(bot, prepared.maps, request.workers, "--workers")
    check_screens(bot, prepared.maps, request)
    if request.input_path is None:
        if bot.kind == "reconcile":
            raise ConfigurationError(f"bot '{bot.name}' reconciles a statement: it needs its input",
                                     "Give the statement with --input; a runner service works keying bots.")
    elif bot.kind == "reconcile":
        assert bot.reconcile is not None   # a reconcile bot's definition requires its section
        prepared.statement = read_statement(Path(request.input_path), bot.reconcile)
    else:
        prepared.intake = read_workbook(Path(request.input_path), bot.input)
    return prepared


def prepare_bot(project: Path, bot_name: str, app_urls: dict[str, str] | None = None,
                app_commands: dict[str, str | list[str]] | None = None, headed: bool = False) -> PreparedRun:
    """Everything of a bot a run depends on, checked (the input aside): `backroom check` calls this too,
    so it refuses whatever a run would refuse."""
    app_urls, app_commands = app_urls or {}, app_commands or {}
    settings = load_settings(project)
    if headed:
        settings.browser.headless = False
    bot = load_bot(project, bot_name)
    maps: dict[str, SelectorMap] = {}

    def map_for_app(app: str) -> SelectorMap:
        if app not in maps:
            maps[app] = load_selector_map(project / "selectors" / f"{app}.yaml")
        return maps[app]

    book = load_recipe_book(project / "recipes", bot.all_recipes, map_for_app)
    logic = load_bot_logic(bot.path)
    # Grouped items carry fields the bot's Python makes (an invoice's lines), not only input columns.
    known = set(bot.input.fields) if bot.input else set()
    for recipe in book.recipes.values():
        unknown = sorted(recipe.item_fields - known)
        if unknown and logic.make_items is None:
            raise BotDefinitionError(
                f"{recipe.field_places[unknown[0]]}: item.{unknown[0]} is not a field of bots/{bot.name}/bot.yaml"
                + (f" (nor {', '.join(unknown[1:])})" if len(unknown) > 1 else ""),
                f"Fields: {', '.join(sorted(known))}. Add the field to the bot's input, or correct the recipe."
                if bot.input else "A reconciliation's ledger recipes have no item: remove the item fields.")
    for document in bot.documents:
        check_template(bot.path / document.template, f"bots/{bot.name}/bot.yaml")
    require_desktop([app for app, m in maps.items() if m.kind == "desktop"], bot.name)
    apps = {}
    for app, selector_map in maps.items():
        configured = settings.apps.get(app) or AppSettings()
        if app in app_urls:
            settings.apps[app] = configured.model_copy(update={"url": app_urls[app]})
        if app in app_commands:
            settings.apps[app] = configured.model_copy(update={"command": app_commands[app]})
        apps[app] = settings.app(app, selector_map.kind).model_dump()
    for option, named in (("--app-url", app_urls), ("--app-command", app_commands)):
        for app in named:
            if app not in maps:
                raise ConfigurationError(f"{option} names app '{app}', which no recipe of bot '{bot.name}' uses")
    check_workers(bot, maps, bot.workers, f"bots/{bot.name}/bot.yaml: workers")
    secret_values = resolve_secrets(book.secrets)
    return PreparedRun(bot, settings, book, maps, None, secret_values, apps, logic)


def check_workers(bot, maps: dict[str, SelectorMap], workers: int, where: str) -> None:
    """Between 1 and MAX_WORKERS; a reconciliation is one piece of work and runs with one."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigurationError(f"{where} {workers}: choose 1 to {MAX_WORKERS}",
                                 "More items at once belong on another machine sharing the queue.")
    if workers > 1 and bot.kind == "reconcile":
        raise ConfigurationError(f"{where} {workers}: a reconciliation is one piece of work; it runs with one worker")


def check_screens(bot, maps: dict[str, SelectorMap], request: RunRequest) -> None:
    """Desktop workers need a screen each (pyautogui drives one display per process): virtual ones, which the
    run starts, one per worker."""
    workers = request.workers or bot.workers
    desktop = sorted(app for app, m in maps.items() if m.kind == "desktop")
    if workers == 1 or not desktop:
        return
    where = "--workers" if request.workers else f"bots/{bot.name}/bot.yaml: workers"
    if sys.platform != "linux":
        raise ConfigurationError(f"{where} {workers}: bot '{bot.name}' drives desktop program(s) {', '.join(desktop)}, "
                                 "and this machine has one screen and keyboard",
                                 "Run it with one worker here; more items at once need another machine sharing the queue.")
    if not request.virtual_display:
        raise ConfigurationError(f"{where} {workers}: bot '{bot.name}' drives desktop program(s) {', '.join(desktop)}, "
                                 "so each worker needs a screen of its own",
                                 "Add --virtual-display: the run starts a virtual screen for each worker.")
