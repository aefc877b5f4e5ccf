"""The `backroom` command. One top-level handler turns errors into messages and exit codes."""

from __future__ import annotations


import sys
from pathlib import Path
from typing import List, Optional

import typer
from loguru import logger
from rich.console import Console
from rich.text import Text

from ..console_log import configure_console_log
from .options import ProjectOption, parse_app_commands, parse_app_urls
from .terminal import RunBar, print_summary
from .worker import worker
from .console import console_app
from .queue import queue_app
from .record import record_app
from .audit import audit_app
from .scheduler import scheduler_app
from ..errors import BackroomError, ConfigurationError, ExitCode, exit_code_for

app = typer.Typer(help="Backroom: robotic process automation for legacy back-office systems.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
demo_app = typer.Typer(help="The bundled demo estate: legacy apps to drive and the demo job.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(queue_app, name="queue")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(console_app, name="console")
app.add_typer(record_app, name="record")
app.add_typer(audit_app, name="audit")
err = Console(stderr=True)
out = Console()



@app.callback()
def every_command(queue_url: Optional[str] = typer.Option(
        None, "--queue-url", help="The work queue for this command, e.g. postgresql://backroom@db/backroom "
        "(default: BACKROOM_QUEUE_URL, else queue: in backroom.yaml).")) -> None:
    """Backroom: robotic process automation for legacy back-office systems."""
    if queue_url:
        import os

        os.environ["BACKROOM_QUEUE_URL"] = queue_url   # read through Settings.queue_url, here and in child runs


app.command()(worker)

def _print_summary(result) -> None:
    print_summary(out, result)


def _run_with_progress(start):
    """Call `start(on_progress)` showing a live bar; returns its result."""
    with RunBar(err) as bar:
        return start(bar.show)


@app.command()
def run(
    bot: str = typer.Argument(..., help="The bot's folder name under bots/."),
    input: Path = typer.Option(..., "--input", "-i", help="The input workbook (.xlsx)."),
    headed: bool = typer.Option(False, "--headed", help="Show the browser while the bot works."),
    app_url: List[str] = typer.Option([], "--app-url", help="APP=URL: where an app runs (repeatable)."),
    app_command: List[str] = typer.Option([], "--app-command",
                                          help="APP=COMMAND: how a desktop app starts (repeatable)."),
    virtual_display: bool = typer.Option(False, "--virtual-display",
                                         help="Work on a virtual screen (Xvfb) started for this run: unattended runs."),
    screenshots: Optional[str] = typer.Option(None, "--screenshots", help="changed | every | key | failures"),
    workers: Optional[int] = typer.Option(None, "--workers", help="Items worked at once, each on its own browser "
                                          "(default: the bot's workers, 1)."),
    project: Path = ProjectOption,
) -> None:
    """Run a bot on an input workbook and write its audit report."""
    from ..run import RunRequest, start_run
    from ..run.interrupts import interrupts_reach_the_run

    interrupts_reach_the_run()   # a run started from a background job still stops on SIGINT
    if screenshots not in (None, "changed", "every", "key", "failures"):
        raise ConfigurationError(f"--screenshots {screenshots!r}: choose changed, every, key or failures")
    request = RunRequest(bot=bot, input_path=input, project=project, headed=headed,
                         app_urls=parse_app_urls(app_url), app_commands=parse_app_commands(app_command),
                         screenshots=screenshots, virtual_display=virtual_display, workers=workers,
                         started_by="cli")
    result = _run_with_progress(lambda on_progress: start_run(request, on_progress=on_progress))
    _print_summary(result)
    raise typer.Exit(int(result.exit_code))


@app.command()
def init(folder: Path = typer.Argument(..., help="The project folder to create (or an empty one).")) -> None:
    """Create a project of your own: backroom.yaml, bots/, recipes/, selectors/, logs/ (kept out of git)
    and a sample bot for the bundled BILLSYS with a sample orders workbook."""
    from ..project.init import SAMPLE_BOT, SAMPLE_INPUT, init_project

    init_project(folder)
    out.print(f"Created a Backroom project in {folder}: backroom.yaml, bots/{SAMPLE_BOT}/, recipes/, selectors/, "
              f"{SAMPLE_INPUT.as_posix()}, logs/ (ignored by git).", soft_wrap=True)
    out.print("Try it, with BILLSYS running (backroom demo serve, in another terminal):")
    out.print(f"  cd {folder}")
    out.print(f"  BACKROOM_SECRET_BILLING_PASSWORD=clerk backroom run {SAMPLE_BOT} --input {SAMPLE_INPUT.as_posix()}",
              highlight=False, soft_wrap=True)


@app.command()
def menu(project: Path = ProjectOption) -> None:
    """The runner menu: pick a bot and its input, watch it work (also `backroom` alone in a terminal)."""
    from .menu import Menu

    Menu(project).loop()


@app.command()
def check(
    bot: str = typer.Argument(..., help="The bot to check."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Also check this input workbook."),
    strict: bool = typer.Option(False, "--strict", help="Refuse the bot (exit 2) if any risk is listed."),
    project: Path = ProjectOption,
) -> None:
    """Check a bot, its recipes and selector maps (and an input file) without running anything."""
    from ..intake.workbook import read_workbook
    from ..project.trust_check import bot_risks
    from ..reconcile.sources import read_statement
    from ..run.prepare import prepare_bot

    prepared = prepare_bot(project, bot)   # what a run checks before it starts, the input aside
    definition, book = prepared.bot, prepared.book
    out.print(f"[green]OK[/green] bot {bot}: {len(book.recipes)} recipe(s), "
              f"{sum(len(r.steps) for r in book.recipes.values())} steps, secrets: {', '.join(sorted(book.secrets)) or 'none'}")
    risks = bot_risks(definition, book, prepared.maps, prepared.settings)
    if risks:
        out.print(f"[yellow]Risks[/yellow] ({len(risks)}): where a green run of {bot} would prove less than usual")
    for risk in risks:
        out.print(Text("  warning ", style="yellow") + Text(str(risk)), highlight=False)
    if input is not None and definition.reconcile is not None:
        statement = read_statement(input, definition.reconcile)
        out.print(f"[green]OK[/green] {input.name}: {len(statement.lines)} statement line(s)")
        for problem in statement.problems:
            out.print(Text("  unreadable ", style="yellow") + Text(problem.message), highlight=False)
        if statement.problems:
            raise typer.Exit(int(ExitCode.BAD_INPUT))
    elif input is not None:
        intake = read_workbook(input, definition.input)
        out.print(f"[green]OK[/green] {input.name}: {len(intake.items)} work item(s)")
        for rejected in intake.rejected:
            for problem in rejected.problems:
                out.print(Text("  rejected ", style="yellow") + Text(problem), highlight=False)
        if intake.rejected:
            raise typer.Exit(int(ExitCode.BAD_INPUT))
    if strict and risks:
        out.print(f"[red]Refused[/red] (--strict): {len(risks)} risk(s) listed above")
        raise typer.Exit(int(ExitCode.BAD_INPUT))


@app.command()
def bots(project: Path = ProjectOption) -> None:
    """List the bots of this project."""
    from ..project.bot import list_bots, load_bot

    for name in list_bots(project):
        out.print(f"[bold]{name}[/bold]  {load_bot(project, name).description}")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="A run folder: logs/<bot>/<run-id>.")) -> None:
    """Rebuild the report.html of a run that was never sealed (killed) from its events.jsonl."""
    from ..audit.manifest import MANIFEST_FILE
    from ..audit.report import build_report

    if not (run_dir / "events.jsonl").exists():
        raise ConfigurationError(f"{run_dir}: not a run folder (no events.jsonl)")
    if (run_dir / MANIFEST_FILE).exists():
        raise ConfigurationError(f"{run_dir}: the run is sealed and its report is part of its evidence",
                                 "Open its report.html; nothing needs rebuilding.")
    out.print(f"Audit report: {build_report(run_dir)}")


def _check_share(option: str, rate: float) -> None:
    if not 0 <= rate <= 1:
        raise ConfigurationError(f"{option} {rate:g}: a share from 0 to 1")


@demo_app.command("serve")
def demo_serve(
    port: int = typer.Option(8700, help="Port on 127.0.0.1 (0 picks a free one)."),
    db: Path = typer.Option(Path("logs/demo/billsys-served.db"), help="SQLite database of the app."),
    password: str = typer.Option("clerk", help="Password of the user 'clerk'.", envvar="BACKROOM_SECRET_BILLING_PASSWORD"),
    supervisor_code: str = typer.Option("0000", envvar="BACKROOM_SECRET_SUPERVISOR_CODE", help="Code for Rush orders."),
    delay_ms: int = typer.Option(0, help="Delay before every page, as slow legacy screens have."),
    busy_rate: float = typer.Option(0.0, help="Share of pages that answer 'System busy' (0 to 1)."),
    session_timeout: float = typer.Option(900, help="Idle seconds before the session expires."),
    ui_version: int = typer.Option(1, help="2 renames some controls, as an upgrade would."),
    drop_keys: float = typer.Option(0.0, help="Share of fast typing bursts that lose a character (0 to 1)."),
    autocomplete: bool = typer.Option(False, help="A suggestion list covers the fields below the customer code."),
    repeat_ids: float = typer.Option(0.0, help="Share of saves that show the number shown before (0 to 1)."),
    shuffle_lists: bool = typer.Option(False, help="Searches match the first 8 characters, rows in no fixed order."),
) -> None:
    """Serve BILLSYS 4.2, the bundled legacy billing web app, until Ctrl-C."""
    import time

    from runner.demo.billing_web import BillingSettings
    from runner.demo.billing_web.faults import BillingFaults
    from runner.demo.server import start_billing_app

    for name, rate in (("--drop-keys", drop_keys), ("--repeat-ids", repeat_ids), ("--busy-rate", busy_rate)):
        _check_share(name, rate)
    db.parent.mkdir(parents=True, exist_ok=True)
    faults = BillingFaults(drop_keys=drop_keys, autocomplete=autocomplete, repeat_ids=repeat_ids,
                           shuffle_lists=shuffle_lists)
    settings = BillingSettings(db_path=db, password=password, supervisor_code=supervisor_code, delay_ms=delay_ms,
                               busy_rate=busy_rate, session_timeout_s=session_timeout, ui_version=ui_version,
                               faults=faults)
    with start_billing_app(settings, port=port) as running:
        out.print(f"BILLSYS 4.2 at {running.url}  (user clerk, database {db}); Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopped")


@demo_app.command("ledger")
def demo_ledger(
    db: Path = typer.Option(Path("logs/demo/ledger.db"), help="SQLite database (created with demo data if missing)."),
    x: int = typer.Option(40, help="Window position on the screen."),
    y: int = typer.Option(40),
    theme: str = typer.Option("classic", help="classic or slate."),
    lock_once: str = typer.Option("", help="Accounts whose first posting finds the record locked (comma-separated)."),
    drop_keys: float = typer.Option(0.0, help="Share of keys typed in a fast burst that are lost (0 to 1)."),
    autocomplete: bool = typer.Option(False, help="Typing an account number opens a list over the fields below."),
    slow_dialog_ms: int = typer.Option(0, help="Message boxes stay in front this long after OK."),
) -> None:
    """Start LEDGER/AR 3.1, the bundled legacy desktop app, on this screen (user clerk, password ar-1995)."""
    from runner.demo.ledger_desktop.__main__ import main as ledger_main

    from ..drivers.display import check_display

    _check_share("--drop-keys", drop_keys)
    check_display()
    ledger_main(["--db", str(db), "--x", str(x), "--y", str(y), "--theme", theme, "--lock-once", lock_once,
                 "--drop-keys", str(drop_keys), "--slow-dialog-ms", str(slow_dialog_ms)]
                + (["--autocomplete"] if autocomplete else []))


@demo_app.command("run")
def demo_run(
    bot: str = typer.Option("rekey-orders", "--bot", "-b",
                            help="rekey-orders, issue-invoices or reconcile-accounts."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Input file (default: the bot's sample)."),
    headed: bool = typer.Option(False, "--headed", help="Show the browser."),
    delay_ms: int = typer.Option(0, help="Make BILLSYS slow, as legacy screens are."),
    busy_rate: float = typer.Option(0.0, help="Make BILLSYS say 'System busy' now and then (0 to 1)."),
    project: Path = ProjectOption,
) -> None:
    """Start BILLSYS with a fresh database and run a bot on its sample (default: re-key the sample orders)."""
    from runner.demo.quickstart import DEMO_BOTS, run_demo

    if bot not in DEMO_BOTS:
        raise ConfigurationError(f"--bot {bot}: the demo runs {', '.join(DEMO_BOTS)}")
    outcome = _run_with_progress(lambda on_progress: run_demo(project, input, headed, delay_ms, busy_rate,
                                                              on_progress=on_progress, bot=bot))
    _print_summary(outcome.result)
    out.print(f"BILLSYS database: {outcome.db_path} ({outcome.in_app})")
    raise typer.Exit(int(outcome.result.exit_code))


def main(argv: list[str] | None = None) -> int:
    """Entry point: the single place where errors become messages and exit codes."""
    configure_console_log()
    if argv is None and len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
        argv = ["menu"]  # a person at a terminal typed just `backroom`
    try:
        returned = app(args=argv, standalone_mode=False)  # typer.Exit(code) comes back as the code
        return returned if isinstance(returned, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("Stopped.")
        return int(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:   # a mistyped command or option: typer's own usage message
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(Text(f"Error: {exc.format_message()}"), highlight=False)
        return int(ExitCode.BAD_INPUT)
    except BackroomError as exc:
        err.print(Text("Error: ", style="bold red") + Text(exc.message), highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(Text(f"  -> {exc.hint}"), highlight=False)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print("Stopped by the operator.")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a defect: say so plainly, keep the traceback for the log
        logger.opt(exception=exc).error("internal error")
        err.print(f"[bold red]Internal error:[/bold red] {exc!r}. This is a defect in Backroom; "
                  "the traceback is above.")
        return int(exit_code_for(exc))


if __name__ == "__main__":
    sys.exit(main())
