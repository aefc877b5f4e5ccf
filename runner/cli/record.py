"""`backroom record web|desktop`: write a recipe and its selectors by doing the work once."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from ..errors import ConfigurationError, SelectorMapError
from ..project.settings import load_settings

record_app = typer.Typer(help="Record a recipe by using the legacy screen once.", no_args_is_help=True)
out = Console(highlight=False)
ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with recipes/, selectors/ and backroom.yaml.",
                             envvar="BACKROOM_PROJECT")
AppOption = typer.Option(..., "--app", help="The app's name: its selector map is selectors/<app>.yaml.")
OutOption = typer.Option(..., "--out", help="The recipe to write, e.g. recipes/enter-order.yaml.")
SampleOption = typer.Option(None, "--sample", help="A workbook (or .csv) whose first item you are keying: "
                            "values equal to its fields are written as {{ item.<field> }}.")
BotOption = typer.Option(None, "--bot", help="Read --sample through this bot's input definition (its field names).")
ForceOption = typer.Option(False, "--force", help="Overwrite an existing recipe file.")


def _say(text: str) -> None:
    out.print(Text(text))


def _ask_which_secret(element: str, names: list[str]) -> str | None:
    """Several secrets have the value typed into `element`: the builder says which it is (never shown)."""
    _say(f"  the value typed into {element} is the value of secrets {', '.join(names)}")
    answer = typer.prompt(f"  which is it ({'/'.join(names)}; Enter for a secret of its own)", default="",
                          show_default=False)
    return answer.strip() or None


def _prepare(project: Path, app: str, recipe: Path, force: bool, sample: Optional[Path], bot: Optional[str]):
    from ..recorder.values import ValueMatcher, configured_secrets, read_sample
    from ..project.selector_map import load_selector_map

    if not re.fullmatch(r"[A-Za-z0-9_-]+", app):
        raise ConfigurationError(f"--app {app!r}: an app name is letters, digits, '-' and '_'")
    settings = load_settings(project)
    recipe_path = recipe if recipe.is_absolute() else project / recipe
    if recipe_path.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigurationError(f"--out {recipe}: a recipe is a .yaml file, e.g. recipes/enter-order.yaml")
    if recipe_path.exists() and not force:
        raise ConfigurationError(f"--out {recipe}: the recipe already exists",
                                 "Choose another name, or add --force to record over it.")
    map_path = project / "selectors" / f"{app}.yaml"
    selector_map = None
    if map_path.exists():
        selector_map = load_selector_map(map_path)
    read = read_sample(sample if sample.is_absolute() else Path.cwd() / sample, project, bot) if sample else None
    others = (set(settings.apps) | {p.stem for p in (project / "selectors").glob("*.yaml")}) - {app}
    matcher = ValueMatcher(app, item=read.data if read else {}, secrets=configured_secrets(project),
                           app_user=settings.apps[app].user if app in settings.apps else "",
                           other_apps=frozenset(others), ask=_ask_which_secret if sys.stdin.isatty() else None)
    keyed = (bot, read.item) if bot and read and read.item else None
    return settings, recipe_path, map_path, selector_map, matcher, keyed


def _note_keyed_sample(session, project: Path, settings, keyed) -> None:
    """The sample's item was keyed into the application while recording: it goes into the bot's queue as
    done, with what the recording read (the record's number), so the bot's first run does not key it a second
    time, writes its output columns, and refuses a later item that reads the same number."""
    from ..project.bot import load_bot
    from ..run.outcomes import output_values
    from ..work_queue import open_queue

    if keyed is None or not any("{{ item." in str(step.args) for step in session.recording.steps):
        return
    bot, item = keyed
    recipe = session.recipe_path.relative_to(project) if session.recipe_path.is_relative_to(project) \
        else session.recipe_path
    variables = session.recording.read_values()
    output = output_values(load_bot(project, bot), item, variables)   # the result workbook's columns for it
    queue = open_queue(settings.queue_url, project)
    try:
        noted = queue.record_done(bot, item, f"record:{recipe}", f"keyed while recording {recipe}", variables, output)
    finally:
        queue.close()
    if noted:
        _say(f"  {item.reference} is in the queue of bot {bot} as done (keyed while recording); if it was not "
             f"saved in the application: backroom queue retry {item.reference} --bot {bot}")
    else:
        _say(f"  {item.reference} was in the queue of bot {bot} already: left as it was")


def _print_risks(session, project: Path, settings, bot: Optional[str]) -> None:
    """The recorded recipe's risks, as `backroom check` lists them, for the bot it was recorded for."""
    from ..project.bot import load_bot
    from ..project.recipe import load_recipe_book
    from ..project.selector_map import load_selector_map
    from ..project.trust_check import recipe_risks

    maps: dict = {}

    def map_for_app(app: str):
        if app not in maps:
            maps[app] = load_selector_map(project / "selectors" / f"{app}.yaml")
        return maps[app]

    recipes_dir = session.recipe_path.parent
    name = session.recipe_path.stem
    verify = load_bot(project, bot).verify if bot else None
    book = load_recipe_book(recipes_dir, [name] + ([verify] if verify else []), map_for_app)
    risks = recipe_risks([name], verify, f"bots/{bot}/bot.yaml" if bot else "the bot", book, maps, settings)
    if risks:
        _say(f"Risks ({len(risks)}): where a green run would prove less than usual (backroom check lists them too)")
    for risk in risks:
        _say(f"  warning {risk}")


def _finish(session, why: str, project: Path, settings=None, bot: Optional[str] = None) -> None:
    from ..errors import BackroomError, RecipeError

    recording = session.recording
    written = [session.recipe_path]
    if recording.new_elements():
        written.append(session.map_path)
    _say(f"Recording ended ({why}): {len(recording.steps)} steps, "
         f"{len(recording.new_elements())} new elements, "
         f"{len(session.reused)} from the selector map.")
    for path in written:
        _say(f"  wrote {path.relative_to(project) if path.is_relative_to(project) else path}")
    if session.map_path.exists():
        try:
            session.check()
        except (RecipeError, SelectorMapError) as exc:
            _say(f"Check: {exc}")
            raise typer.Exit(2) from None
        if settings is not None:
            try:
                _print_risks(session, project, settings, bot)
            except BackroomError as exc:   # the bot itself does not load: the recording stands, say why
                _say(f"Risks not listed: {exc.message}")
    _say("Review the recipe (notes on the right of its lines), then run it from a bot.")


@record_app.command("web")
def record_web(url: str = typer.Option(..., "--url", help="Where to start: the application's first screen."),
               app: str = AppOption, recipe: Path = OutOption, sample: Optional[Path] = SampleOption,
               bot: Optional[str] = BotOption, description: str = typer.Option("", help="The recipe's description."),
               force: bool = ForceOption, project: Path = ProjectOption,
               remote_debugging_port: Optional[int] = typer.Option(
                   None, help="Also open Chromium's debugging port on 127.0.0.1, so another program "
                   "(a test, an accessibility tool) can drive the recording browser.")) -> None:
    """Open a visible browser at --url and record what you do there as recipe steps."""
    from ..recorder.model import Recording
    from ..recorder.session import RecordingSession
    from ..recorder.web import WebRecorder, WebRecordOptions, candidate_dict, check_app

    project = project.resolve()
    settings, recipe_path, map_path, selector_map, matcher, keyed = _prepare(project, app, recipe, force, sample, bot)
    check_app(selector_map, app, "web")
    recording = Recording(app, "web", url)
    session = RecordingSession.open(recording, recipe_path, map_path, recipe_path.stem,
                                    description or f"Recorded on {app} from {url}", selector_map, candidate_dict)
    app_url = settings.apps[app].url if app in settings.apps else None
    recorder = WebRecorder(settings, session, matcher, WebRecordOptions(url, app_url, remote_debugging_port),
                           selector_map, say=_say)
    why = recorder.run()
    _note_keyed_sample(session, project, settings, keyed)
    _finish(session, why, project, settings, bot)


@record_app.command("desktop")
def record_desktop(app: str = AppOption, recipe: Path = OutOption, sample: Optional[Path] = SampleOption,
                   bot: Optional[str] = BotOption, description: str = typer.Option("", help="The recipe's description."),
                   launch: bool = typer.Option(True, "--launch/--no-launch",
                                               help="Start the app (apps.<app>.command) and record a launch step, "
                                               "or record on the app already open."),
                   force: bool = ForceOption, project: Path = ProjectOption) -> None:
    """Record clicks and typing on a desktop application as recipe steps, with pictures of its controls."""
    from ..drivers.display import check_display
    from ..project.extras import needs_extra

    with needs_extra("desktop", "recording a desktop app"):
        from ..drivers.desktop import DesktopDriver
    with needs_extra("recorder", "recording a desktop app"):
        from ..recorder.desktop import DesktopRecorder, candidate_dict
    from ..recorder.model import Recording
    from ..recorder.session import RecordingSession
    from ..recorder.web import check_app

    project = project.resolve()
    check_display()
    settings, recipe_path, map_path, selector_map, matcher, keyed = _prepare(project, app, recipe, force, sample, bot)
    check_app(selector_map, app, "desktop")
    config = settings.apps.get(app)
    window = (config.window if config else None) or (selector_map.window if selector_map else None)
    if not window:
        raise ConfigurationError(f"app '{app}' has no window title to wait for",
                                 f"Set apps.{app}.window in backroom.yaml (the start of its main window's title).")
    if launch and not (config and config.command):
        raise ConfigurationError(f"app '{app}' has no command to start it",
                                 f"Set apps.{app}.command in backroom.yaml, or open it yourself and use --no-launch.")
    driver = DesktopDriver(settings, settings.apps, project)

    def start_app() -> None:
        driver.start()
        _say(f"{app}: {driver.launch(app, window, int(config.start_timeout_s * 1000))}")

    command = config.command if config and isinstance(config.command, str) else " ".join(config.command or []) if config else ""
    recording = Recording(app, "desktop", command if launch else window)
    session = RecordingSession.open(recording, recipe_path, map_path, recipe_path.stem,
                                    description or f"Recorded on {app}", selector_map, candidate_dict, window=window)
    recorder = DesktopRecorder(settings, session, matcher, app, selector_map, start_app if launch else None,
                               window, say=_say)
    try:
        why = recorder.run()
    finally:
        driver.stop()  # closes the app the recorder started
    _note_keyed_sample(session, project, settings, keyed)
    _finish(session, why, project, settings, bot)
