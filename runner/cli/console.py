"""`backroom console`: serve the web console; `backroom console users ...`: who may sign in."""

from __future__ import annotations

import ipaddress
import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ConfigurationError
from ..project.settings import load_settings

console_app = typer.Typer(help="The web console: dashboard, runs and reports, review queue, schedules.",
                          invoke_without_command=True)
users_app = typer.Typer(help="Who may sign in to the console, with which roles (operator, auditor, admin).",
                        no_args_is_help=True)
console_app.add_typer(users_app, name="users")
out = Console(highlight=False)
ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with bots/ and backroom.yaml.",
                             envvar="BACKROOM_PROJECT")


def _store(project: Path):
    from ..console.users import UserStore

    settings = load_settings(project)
    return UserStore(Path(project) / settings.logs_dir / "console" / "users.sqlite3")


@console_app.callback()
def serve(ctx: typer.Context, project: Path = ProjectOption,
          host: Optional[str] = typer.Option(None, help="Address to listen on (default: console.host, 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, help="Port (default: console.port, 8780).")) -> None:
    """Serve the console until Ctrl-C or SIGTERM; runs started from it are asked to stop after their item."""
    if ctx.invoked_subcommand is not None:
        return
    from ..console.server import RunningConsole

    settings = load_settings(project)
    host = host or settings.console.host
    port = settings.console.port if port is None else port
    store = _store(project)
    try:
        if not store.all():
            raise ConfigurationError("nobody can sign in yet: the console has no users",
                                     "Add the first one: backroom console users add NAME --role admin")
    finally:
        store.close()
    running = RunningConsole(project, host, port, settings)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    out.print(f"Backroom console at {running.url}  (Ctrl-C stops it)")
    if not loopback:
        out.print("[yellow]Listening beyond this machine: put it behind HTTPS (a reverse proxy) so passwords "
                  "and sessions are encrypted on the network.[/yellow]")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        running.serve()
    except KeyboardInterrupt:
        out.print("stopping: runs started here stop after their current item")
    finally:
        running.close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM from a service manager stops the console as Ctrl-C does


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add_user(name: str, role: List[str] = typer.Option(..., "--role", "-r", help="operator, auditor or admin "
                                                                           "(repeatable)."),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
             project: Path = ProjectOption) -> None:
    """Add a user; the password is asked twice (never given on the command line)."""
    store = _store(project)
    try:
        store.add(name, role, _password(password_stdin))
    finally:
        store.close()
    out.print(f"{name} added ({', '.join(role)})")


@users_app.command("list")
def list_users(project: Path = ProjectOption) -> None:
    """The users, their roles and whether they may sign in."""
    store = _store(project)
    table = Table()
    for column in ("name", "roles", "status"):
        table.add_column(column)
    for user in store.all():
        table.add_row(user.name, ", ".join(user.roles), "disabled" if user.disabled else "active")
    store.close()
    out.print(table)


@users_app.command("set-password")
def set_password(name: str, password_stdin: bool = typer.Option(False, "--password-stdin"),
                 project: Path = ProjectOption) -> None:
    """Set a new password; the user's sessions end."""
    store = _store(project)
    try:
        store.set_password(name, _password(password_stdin))
    finally:
        store.close()
    out.print(f"{name}: password set; their sessions ended")


@users_app.command("disable")
def disable(name: str, project: Path = ProjectOption) -> None:
    """Stop a user from signing in; their sessions end at once."""
    _set_disabled(project, name, True)


@users_app.command("enable")
def enable(name: str, project: Path = ProjectOption) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(project, name, False)


def _set_disabled(project: Path, name: str, disabled: bool) -> None:
    store = _store(project)
    try:
        store.set_disabled(name, disabled)
    finally:
        store.close()
    out.print(f"{name}: {'disabled' if disabled else 'enabled'}")
