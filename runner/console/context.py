"""What every console view receives: the Console (project, settings, users, actions, launcher) held by
the app, the person's rights (ALLOWED, one table) and the record of what people did. Views import
this, never app.py, which builds the app and registers them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from pathlib import Path

from flask import current_app, render_template, request
from flask_login import current_user

from ..project.settings import Settings
from .actions import ActionLog, PersonAction
from .launcher import Launcher
from .users import UserStore

ALLOWED = {
    "view": ("operator", "auditor", "admin"),   # dashboard, runs, reports, review list, schedules
    # start and stop bots, retry and skip items: the admin too, the first user a new console has
    "operate": ("operator", "admin"),
    "audit": ("auditor", "admin"),              # the log of people's actions, exports
    "admin": ("admin",),                        # users, pausing schedules
}
WHAT = {"view": "see the console", "operate": "start bots or decide on items in review",
        "audit": "read the audit log or export", "admin": "manage users and schedules"}


@dataclass
class Console:
    project: Path
    settings: Settings
    users: UserStore
    actions: ActionLog
    launcher: Launcher

    @property
    def logs(self) -> Path:
        return self.project / self.settings.logs_dir


def console() -> Console:
    return current_app.extensions["backroom"]


def client_address() -> str:
    return request.remote_addr or ""


def record(action: str, outcome: str, target: str = "", detail: str = "", person: str | None = None) -> None:
    user = current_user if current_user and current_user.is_authenticated else None
    console().actions.record(PersonAction(
        person=person or (user.name if user else "(not signed in)"), action=action, outcome=outcome,
        target=target, detail=detail, roles=",".join(user.roles) if user else "", address=client_address()))


def can(permission: str) -> bool:
    return current_user.is_authenticated and any(current_user.has(r) for r in ALLOWED[permission])


def allowed(permission: str, action: str):
    """Sign-in required; then the role must allow `permission`, else a logged refusal (403)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not can(permission):
                record(action, "refused", target=request.path,
                       detail=f"role {','.join(current_user.roles)} may not {WHAT[permission]}")
                return render_template("console/error.html", code=403, title="Not allowed",
                                       message=f"Your role ({', '.join(current_user.roles)}) may not "
                                               f"{WHAT[permission]}. This attempt was recorded."), 403
            return view(*args, **kwargs)
        return wrapper
    return decorate
