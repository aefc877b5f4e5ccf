"""Whether a driver's optional packages are installed, asked before anything starts."""

from __future__ import annotations

from ..project.extras import needs_extra


def require_desktop(desktop_apps: list[str], bot: str) -> None:
    """A bot that drives desktop apps needs the desktop extra: said before anything starts."""
    if desktop_apps:
        with needs_extra("desktop", f"bot '{bot}' (desktop app {', '.join(sorted(desktop_apps))})"):
            from . import desktop  # noqa: F401
