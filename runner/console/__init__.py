"""The web console: one place for ops staff, auditors and admins (see app.py for its protections)."""

from .app import ALLOWED, create_app
from .server import RunningConsole, console_in_thread

__all__ = ["ALLOWED", "RunningConsole", "console_in_thread", "create_app"]
