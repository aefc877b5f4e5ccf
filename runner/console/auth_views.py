"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .context import console, record

auth = Blueprint("auth", __name__)


def _local(target: str | None) -> str | None:
    """Only a path on this console: a sign-in link must not send a person elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@auth.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    problem = ""
    if request.method == "POST":
        name = request.form.get("name", "").strip().lower()
        password = request.form.get("password", "")
        store = console().users
        user = store.verify(name, password) if name and password else None
        if user is None:
            locked = bool(name) and store.locked_out(name)
            problem = ("Too many wrong passwords: this name is locked for 15 minutes." if locked
                       else "Wrong name or password.")
            record("sign_in", "refused", target=name[:64], detail="locked out" if locked else "wrong name or password",
                   person=name[:64] or "(no name)")
            return render_template("console/sign_in.html", problem=problem, name=name), 401
        session.clear()  # a new session id for the signed-in person: no fixation
        session.permanent = True
        login_user(store.start_session(user))
        record("sign_in", "done")
        return redirect(_local(request.args.get("next")) or url_for("runs.dashboard"))
    return render_template("console/sign_in.html", problem=problem, name="")


@auth.route("/sign-out", methods=["POST"])
def sign_out():
    if current_user.is_authenticated:
        record("sign_out", "done")
        console().users.end_session(current_user.session_token)
        logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in"))
