"""`backroom console`: the web console's application, its sign-in, roles and protections.

- Every page needs a signed-in person; sessions are kept in logs/console/users.sqlite3 and
  end when idle too long, too old, signed out, or when the user is disabled.
- Every form carries a CSRF token (Flask-WTF); a request without one is refused and logged.
- What a role may do is decided in one table, ALLOWED; a refusal is an audit event.
- Pages are sent with a strict Content-Security-Policy and are never cached.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, g, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..project.settings import Settings, load_settings
from .actions import ActionLog, PersonAction
from .admin_views import admin
from .auth_views import auth
from .context import ALLOWED, Console, can, record
from .launcher import Launch, Launcher
from .queue_views import queue_page
from .review_views import review
from .run_views import runs
from .runner_views import runners
from .status_strip import status, strip_now
from .users import UserStore

__all__ = ["ALLOWED", "create_app"]

def _secret_key(folder: Path) -> bytes:
    """Signs session cookies; made once per installation, readable by its owner only."""
    path = folder / "console-secret.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(secrets.token_bytes(32))
    return path.read_bytes()


def create_app(project: Path, settings: Settings | None = None) -> Flask:
    project = Path(project).resolve()
    settings = settings or load_settings(project)
    folder = project / settings.logs_dir / "console"
    app = Flask("runner.console", template_folder=str(Path(__file__).parent.parent / "templates"),
                static_folder=str(Path(__file__).parent / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=_secret_key(folder),
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="backroom_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.console.session_max_hours),
        MAX_CONTENT_LENGTH=int(settings.console.upload_max_mb * 1024 * 1024) + 64 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires by itself
    )
    users = UserStore(folder / "users.sqlite3", idle_s=settings.console.session_idle_minutes * 60,
                      max_s=settings.console.session_max_hours * 3600)
    actions = ActionLog(folder / "actions.jsonl")

    def run_ended(launch: Launch) -> None:
        outcome = "failed" if launch.error else "done"
        actions.record(PersonAction(person=launch.person, action="run_ended", outcome=outcome,
                                    target=f"{launch.bot}/{launch.run_id}", detail=launch.error or "run finished"))

    app.extensions["backroom"] = Console(project, settings, users, actions, Launcher(project, on_end=run_ended))
    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "auth.sign_in"
    login.login_message = "Sign in to continue."
    login.session_protection = None  # sessions are checked against the store on every request instead
    login.user_loader(users.session_user)

    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        record("form_without_valid_token", "refused", target=request.path, detail=error.description)
        return render_template("console/error.html", code=400, title="Form refused",
                               message="The form was not sent from this console's page, or the page was too old. "
                                       "Reload the page and try again. This was recorded."), 400

    @app.errorhandler(404)
    def not_found(error):
        return render_template("console/error.html", code=404, title="Not found",
                               message="There is nothing at this address."), 404

    @app.errorhandler(413)
    def too_large(error):
        record("upload", "refused", target=request.path, detail="file too large")
        return render_template("console/error.html", code=413, title="File too large",
                               message=f"Input files may be up to {settings.console.upload_max_mb:g} MB."), 413

    @app.after_request
    def protect(response):
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
                                    "form-action 'self'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.filters["timestamp"] = lambda ts: datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")

    @app.context_processor
    def helpers():
        # the status strip on every signed-in page (base.html calls it only for someone signed in)
        return {"can": can, "project_name": project.name, "status_strip": strip_now}

    @app.before_request
    def remember_console():
        g.console = app.extensions["backroom"]


    for blueprint in (auth, runs, review, queue_page, runners, admin, status):
        app.register_blueprint(blueprint)
    return app

