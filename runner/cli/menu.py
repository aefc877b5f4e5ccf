"""`backroom menu`: the runner menu for ops staff. Keyboard only, plain prompts, so it works
over SSH and in a plain Windows console.

Pick a bot, pick its input (newest in its inbox first), confirm, watch it work. Ctrl-C while
it works asks what to do; the run itself is in a child process that a Ctrl-C never reaches.
"""

from __future__ import annotations

import getpass
import os
import time
import webbrowser
from pathlib import Path

from rich.console import Console
from rich.prompt import Confirm, Prompt
from rich.table import Table
from rich.text import Text

from ..audit.run_index import RunSummary
from ..project.bot import load_bot
from ..errors import BackroomError
from ..run.overview import BotOverview, age_text, bot_overviews, input_choices, since
from ..run import ChildEnded, ChildRun, RunRequest, RunResult
from ..project.selector_map import load_selector_map
from .terminal import RunBar, print_summary


def _last_run_text(run: RunSummary | None, running: bool) -> Text:
    if running:
        return Text("running now", style="bold cyan")
    if run is None:
        return Text("never run", style="dim")
    style = {"success": "green", "finished_with_exceptions": "yellow"}.get(run.outcome, "red")
    return Text(run.outcome_text, style=style) + Text(f", {since(run.started)}" if run.started else "")


def bots_table(overviews: list[BotOverview], width: int = 120) -> Table:
    """One line per bot in a terminal `width` columns wide (an 80x24 one too): names whole, the description
    and the last run cut with an ellipsis where there is no room (a bot's own screen shows its description
    whole once it is picked), and the description left out when not even a few words fit."""
    numbers = len(str(len(overviews)))
    name = max((len(o.name) for o in overviews), default=3)
    last_run, counts = 26, 7 + 9
    described = width - (numbers + name + last_run + counts) - 3 * 6 - 1   # each column: 2 of padding, 1 of rule
    table = Table(title="Backroom bots", title_justify="left", expand=False)
    table.add_column("#", justify="right", no_wrap=True, width=numbers)
    table.add_column("bot", no_wrap=True, width=name)
    if described >= 12:
        table.add_column("what it does", no_wrap=True, overflow="ellipsis", max_width=described)
    table.add_column("last run", no_wrap=True, overflow="ellipsis", max_width=last_run)
    table.add_column("waiting", justify="right", no_wrap=True, width=7)
    table.add_column("in review", justify="right", no_wrap=True, width=9)
    for number, bot in enumerate(overviews, 1):
        description = Text(bot.problem, style="red") if bot.problem else Text(bot.description)
        cells = [str(number), Text(bot.name, style="bold"), description, _last_run_text(bot.last_run, bot.running),
                 str(bot.waiting + bot.in_progress), Text(str(bot.in_review), style="yellow" if bot.in_review else "")]
        if described < 12:
            del cells[2]
        table.add_row(*cells)
    return table


class Menu:
    def __init__(self, project: Path, console: Console | None = None):
        self.project = Path(project)
        self.console = console or Console(highlight=False)
        self.user = getpass.getuser()

    def loop(self) -> None:
        while True:
            overviews = bot_overviews(self.project)
            self.console.print()
            self.console.print(bots_table(overviews, self.console.width))
            if not overviews:
                self.console.print("No bots in this project (bots/<name>/bot.yaml).")
                return
            answer = Prompt.ask(f"Bot to run (1-{len(overviews)}), r to refresh, q to quit", console=self.console,
                                default="q" if len(overviews) > 1 else "1").strip().lower()
            if answer in ("q", "quit", "exit"):
                return
            if answer in ("r", ""):
                continue
            chosen = self._pick(answer, [o.name for o in overviews])
            if chosen is None:
                self.console.print(Text(f"'{answer}' is not on the list; type a number from 1 to {len(overviews)}.",
                                        style="yellow"))
                continue
            overview = overviews[chosen]
            if overview.problem:
                self.console.print(Text(f"{overview.name} cannot run: {overview.problem}", style="red"))
                continue
            if overview.running:
                self.console.print(Text(f"{overview.name} is running now (started elsewhere); wait for it to finish.",
                                        style="yellow"))
                continue
            try:
                request = self._ask_run(overview.name)
            except BackroomError as exc:
                self.console.print(Text(f"Cannot run {overview.name}: ", style="red") + Text(str(exc)))
                continue
            if request is not None:
                self.watch(ChildRun(request))

    @staticmethod
    def _pick(answer: str, names: list[str]) -> int | None:
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return int(answer) - 1
        return names.index(answer) if answer in names else None

    def _ask_run(self, name: str) -> RunRequest | None:
        bot = load_bot(self.project, name)
        self.console.print(Text(f"\n{bot.name}", style="bold") + Text(f": {bot.description}"))
        input_path = self._ask_input(bot)
        if input_path is None:
            return None
        kinds = {load_selector_map(self.project / "selectors" / f"{app}.yaml").kind for app in self._apps(bot)}
        headed = virtual = False
        if "web" in kinds:
            headed = Confirm.ask("Show the browser while it works?", default=False, console=self.console)
        if "desktop" in kinds:
            if not os.environ.get("DISPLAY") and os.name != "nt":
                self.console.print("No screen here (DISPLAY is not set): the desktop app will work on a virtual screen.")
                virtual = True
            else:
                virtual = Confirm.ask("Work on a virtual screen (nobody watches)?", default=False, console=self.console)
        shown = self._shown(input_path)
        if not Confirm.ask(f"Run {bot.name} on {shown}?", default=True, console=self.console):
            self.console.print("Not started.")
            return None
        return RunRequest(bot=bot.name, input_path=input_path, project=self.project, headed=headed,
                          virtual_display=virtual, started_by=f"menu:{self.user}")

    def _apps(self, bot) -> set[str]:
        from ..project.recipe import load_recipe_book

        book = load_recipe_book(self.project / "recipes", bot.all_recipes,
                                lambda a: load_selector_map(self.project / "selectors" / f"{a}.yaml"))
        return {recipe.app for recipe in book.recipes.values()}

    def _shown(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.project.resolve()))
        except ValueError:
            return str(path)

    def _ask_input(self, bot) -> Path | None:
        choices = input_choices(bot)
        table = Table(show_header=True, title="Input file", title_justify="left")
        for column in ("#", "from", "file", "changed"):
            table.add_column(column)
        for number, choice in enumerate(choices, 1):
            table.add_row(str(number), choice.where, Text(self._shown(choice.path)),
                          age_text(time.time() - choice.modified))
        table.add_row("t", "", "type a path", "")
        self.console.print(table)
        while True:
            answer = Prompt.ask("Input file (number, t to type a path, b to go back)", console=self.console,
                                default="1" if choices else "t").strip()
            if answer.lower() == "b":
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(choices):
                return choices[int(answer) - 1].path
            typed = answer if answer.lower() != "t" else Prompt.ask("Path", console=self.console).strip()
            path = Path(typed.strip('"').strip("'")).expanduser()
            path = path if path.is_absolute() else self.project / path
            if path.is_file() and path.suffix.lower() in bot.input_suffixes:
                return path
            self.console.print(Text(f"{typed}: ", style="yellow") + Text(
                "no such file" if not path.is_file() else f"{bot.name} reads {' or '.join(bot.input_suffixes)} files"))

    def watch(self, run: ChildRun) -> ChildEnded:
        """Show the run's progress until it ends; Ctrl-C asks whether to stop."""
        self.console.print(Text(f"Starting {run.request.bot}... (Ctrl-C to stop)"))
        with RunBar(self.console) as bar:
            while True:
                try:
                    message = run.next_message(timeout=0.25)
                    if isinstance(message, ChildEnded):
                        break
                    if message is not None:
                        bar.show(message)
                except KeyboardInterrupt:
                    bar.pause()
                    self._ask_stop(run)
                    bar.resume()
        self._finish(run.ended)
        return run.ended

    def _ask_stop(self, run: ChildRun) -> None:
        if run.stop_requested:
            question = "It stops after the current item. Stop now instead (the item goes back to the queue)?"
            if self._confirm(question, default=False):
                run.stop_now()
            return
        if self._confirm("Stop after the current item? Nothing is lost either way", default=True):
            run.stop_after_current_item()
            self.console.print("Stopping after the current item...")
        else:
            self.console.print("Carrying on.")

    def _confirm(self, question: str, default: bool) -> bool:
        try:
            return Confirm.ask(question, default=default, console=self.console)
        except KeyboardInterrupt:  # Ctrl-C at the question: take the safe answer, stop after the item
            self.console.print()
            return True

    def _finish(self, ended: ChildEnded) -> None:
        if ended.error is not None:
            self.console.print(Text("The run did not go ahead: ", style="bold red") + Text(ended.error.message))
            if ended.error.hint:
                self.console.print(Text(f"  -> {ended.error.hint}"))
            return
        result: RunResult = ended.result
        print_summary(self.console, result)
        if Confirm.ask("Open the audit report?", default=False, console=self.console):
            if not webbrowser.open(Path(result.report_path).resolve().as_uri()):
                self.console.print(Text(f"No browser here; the report is {result.report_path}"))
