"""The dashboard, the runs, their reports and files, and starting a bot."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..audit.manifest import read_manifest
from ..audit.report import REPORT_FILE
from ..audit.run_index import find_run, list_runs, summarize_run
from ..project.bot import list_bots, load_bot
from ..errors import BackroomError
from ..run.overview import bot_overviews, input_choices
from ..run import is_running, run_is_running
from ..project.selector_map import load_selector_map
from ..work_queue import open_queue
from .context import allowed, console, record
from .figures import WINDOW_DAYS, compute_figures
from .uploads import store_upload

runs = Blueprint("runs", __name__)


def _bots() -> dict:
    """The bots whose bot.yaml loads (a broken one is shown on the dashboard, not offered)."""
    found = {}
    for name in list_bots(console().project):
        try:
            found[name] = load_bot(console().project, name)
        except BackroomError:
            continue
    return found


@runs.route("/")
@allowed("view", "dashboard")
def dashboard():
    c = console()
    queue = open_queue(c.settings.queue_url, c.project)
    try:
        items = queue.items()
        changes = queue.changes_since(time.time() - WINDOW_DAYS * 86400)
    finally:
        queue.close()
    figures = compute_figures(items, changes, _bots())
    return render_template("console/dashboard.html", figures=figures, bots=bot_overviews(c.project),
                           recent=list_runs(c.logs, limit=8, running=run_is_running), window_days=WINDOW_DAYS)


@runs.route("/runs")
@allowed("view", "runs")
def run_list():
    bot = request.args.get("bot") or None
    elsewhere, problem = _runs_not_here(bot)
    return render_template("console/runs.html", runs=list_runs(console().logs, bot=bot, running=run_is_running,
                                                               limit=200), bot=bot, bots=sorted(_bots()),
                           elsewhere=elsewhere, registry_problem=problem)


def _runs_not_here(bot: str | None) -> tuple[list, str]:
    """Runs the queue's run registry lists whose folder is not in this logs folder: a runner on another
    machine writing its evidence to a disk of its own, or a run removed from the share."""
    c = console()
    try:
        queue = open_queue(c.settings.queue_url, c.project)
        try:
            registered = queue.runs(bot)
        finally:
            queue.close()
    except BackroomError as exc:
        return [], exc.message
    return [r for r in reversed(registered) if not (c.logs / r.bot / r.run_id).is_dir()][:200], ""


def _run_folder(bot: str, run_id: str):
    folder = find_run(console().logs, bot, run_id)
    if folder is None:
        abort(404)
    return folder


@runs.route("/runs/<bot>/<run_id>")
@allowed("view", "run")
def run_page(bot: str, run_id: str):
    launch = console().launcher.get(bot, run_id)
    folder = find_run(console().logs, bot, run_id)
    if folder is None and launch is None:
        abort(404)
    summary = summarize_run(folder, live=bool(launch and launch.running) or run_is_running(folder)) \
        if folder else None
    files = sorted(path for path in sealed_listing(folder) if Path(path).suffix.lower() in (".xlsx", ".docx", ".csv")) \
        if folder else []
    evidence = _evidence(folder) if summary is not None and summary.outcome != "running" else None
    return render_template("console/run.html", bot=bot, run_id=run_id, run=summary, launch=launch, files=files,
                           evidence=evidence)


def sealed_listing(folder: Path) -> list[str]:
    """The files the run's manifest lists (served only if they still match it)."""
    manifest, _ = read_manifest(folder)
    return [a.get("path", "") for a in (manifest or {}).get("artifacts", [])]


def _evidence(folder):
    """What verifying the run's seal says, for the run page (auditors and admins see the findings)."""
    from ..audit.signing import load_verifier
    from ..audit.verify import verify_run
    from ..errors import BackroomError

    try:
        return verify_run(folder, load_verifier(console().settings, console().project))
    except BackroomError as exc:
        return exc.message


@runs.route("/runs/<bot>/<run_id>/audit-pack.<fmt>")
@allowed("audit", "export_pack")
def audit_pack(bot: str, run_id: str, fmt: str):
    from ..audit.pack import export_docx, export_xlsx

    if fmt not in ("docx", "xlsx"):
        abort(404)
    folder = _run_folder(bot, run_id)
    verification = _evidence(folder)
    if isinstance(verification, str):
        flash(f"The run cannot be verified: {verification}", "problem")
        return redirect(url_for("runs.run_page", bot=bot, run_id=run_id))
    target = console().logs / "audit" / "packs" / f"audit-pack-{run_id}.{fmt}"
    (export_docx if fmt == "docx" else export_xlsx)(folder, verification, target)
    record("export_pack", "done", target=f"{bot}/{run_id}", detail=f"{fmt}, {'verified' if verification.ok else 'NOT verified'}")
    return send_file(target, as_attachment=True, download_name=target.name, max_age=0)


@runs.route("/runs/<bot>/<run_id>/status.json")
@allowed("view", "run_status")
def run_status(bot: str, run_id: str):
    launch = console().launcher.get(bot, run_id)
    if launch is None:
        folder = _run_folder(bot, run_id)
        summary = summarize_run(folder, live=run_is_running(folder))
        return jsonify(running=summary.outcome == "running", outcome=summary.outcome)
    progress = launch.progress
    return jsonify(running=launch.running, error=launch.error,
                   total=progress.total if progress else None, finished=progress.finished if progress else 0,
                   counts=progress.counts.as_data() if progress else {},
                   text=progress.counts.text() if progress else "",   # the words the summary and report use
                   current=progress.current if progress else None, stop_requested=launch.child.stop_requested)


@runs.route("/runs/<bot>/<run_id>/live.json")
@allowed("view", "run_live")
def run_live(bot: str, run_id: str):
    """What the run wrote since `from`: its steps, its items' moves, and its newest picture."""
    from ..audit.live import look

    folder = _run_folder(bot, run_id)
    try:
        offset = max(0, int(request.args.get("from", "0")))
    except ValueError:
        offset = 0
    seen = look(folder, offset)
    picture = url_for("runs.run_live_picture", bot=bot, run_id=run_id, name=seen.screenshot) if seen.screenshot else None
    return jsonify(offset=seen.offset, steps=seen.steps, items=seen.items, screenshot=picture)


@runs.route("/runs/<bot>/<run_id>/live/<path:name>")
@allowed("view", "run_live_picture")
def run_live_picture(bot: str, run_id: str, name: str):
    from ..audit.live import named_picture

    picture = named_picture(_run_folder(bot, run_id), name)
    if picture is None:
        record("run_live_picture", "refused", target=f"{bot}/{run_id}", detail=name[:200])
        abort(404)
    return send_file(picture, max_age=0)


@runs.route("/runs/<bot>/<run_id>/stop", methods=["POST"])
@allowed("operate", "stop_run")
def stop_run(bot: str, run_id: str):
    launch = console().launcher.get(bot, run_id)
    if launch is None or not launch.running:
        flash("That run is not running from this console.", "problem")
        return redirect(url_for("runs.run_page", bot=bot, run_id=run_id))
    now = request.form.get("when") == "now"
    if now:
        launch.child.stop_now(by=current_user.name)
    else:
        launch.child.stop_after_current_item(by=current_user.name)
    record("stop_run", "done", target=f"{bot}/{run_id}", detail="stop now" if now else "stop after the current item")
    flash("Stopping now: the current item goes back to the queue." if now else
          "The run stops after the current item.", "done")
    return redirect(url_for("runs.run_page", bot=bot, run_id=run_id))


@runs.route("/runs/<bot>/<run_id>/report.html")
@allowed("view", "report")
def report(bot: str, run_id: str):
    response = _send_sealed(bot, run_id, REPORT_FILE, "read_report")
    record("read_report", "done", target=f"{bot}/{run_id}")
    return response


@runs.route("/runs/<bot>/<run_id>/<path:name>")
@allowed("view", "run_file")
def run_file(bot: str, run_id: str, name: str):
    return _send_sealed(bot, run_id, name, "read_file")


def _send_sealed(bot: str, run_id: str, name: str, action: str):
    """Only what the run sealed, unchanged, at its own name inside the run folder (serving.py); the
    console-wide policy (no inline script) covers reports too: the report's script is its report.js."""
    from ..audit.serving import NotServable, sealed_file

    folder = _run_folder(bot, run_id)
    try:
        path = sealed_file(folder, name, _verifier())
    except NotServable as why:
        record(action, "refused", target=f"{bot}/{run_id}", detail=f"{name[:200]}: {why}")
        abort(404)
    inline = path.suffix.lower() in (".jpg", ".jpeg", ".png", ".html", ".js")
    return send_file(path, max_age=0, as_attachment=not inline, download_name=path.name,
                     mimetype="text/javascript" if path.suffix.lower() == ".js" else None)


def _verifier():
    from ..audit.signing import load_verifier

    try:
        return load_verifier(console().settings, console().project)
    except BackroomError:
        abort(404)


def _kinds(project, bot) -> set[str]:
    from ..project.recipe import load_recipe_book

    book = load_recipe_book(project / "recipes", bot.all_recipes,
                            lambda a: load_selector_map(project / "selectors" / f"{a}.yaml"))
    return {load_selector_map(project / "selectors" / f"{r.app}.yaml").kind for r in book.recipes.values()}


@runs.route("/start", methods=["GET", "POST"])
@allowed("operate", "start_run")
def start():
    c = console()
    bots = _bots()
    chosen = request.values.get("bot") or (sorted(bots)[0] if bots else None)
    if chosen not in bots:
        abort(404)
    bot = bots[chosen]
    if request.method == "GET":
        return render_template("console/start.html", bots=sorted(bots), bot=bot, choices=input_choices(bot),
                               project=c.project, running=is_running(c.project, chosen),
                               desktop="desktop" in _kinds(c.project, bot),
                               limit_mb=c.settings.console.upload_max_mb)
    try:
        upload = request.files.get("upload")
        if upload is not None and upload.filename:
            input_path = store_upload(upload, c.logs / "uploads" / bot.name, bot.input_suffixes,
                                      int(c.settings.console.upload_max_mb * 1024 * 1024))
            record("upload", "done", target=bot.name, detail=f"{upload.filename} stored as {input_path.name}")
        else:
            offered = {str(choice.path): choice.path for choice in input_choices(bot)}
            if request.form.get("existing") not in offered:
                raise BackroomError("choose an input file or upload one")
            input_path = offered[request.form["existing"]]
        if is_running(c.project, bot.name):
            raise BackroomError(f"{bot.name} is running now; wait for it to finish")
        desktop = "desktop" in _kinds(c.project, bot)
        virtual = desktop and (request.form.get("virtual_display") == "on" or not os.environ.get("DISPLAY"))
        launch = c.launcher.start(bot.name, input_path, current_user.name, virtual_display=virtual)
    except BackroomError as exc:
        record("start_run", "refused", target=chosen, detail=exc.message)
        flash(f"Not started: {exc.message}", "problem")
        return redirect(url_for("runs.start", bot=chosen))
    record("start_run", "done", target=f"{bot.name}/{launch.run_id}", detail=f"input {input_path.name}")
    return redirect(url_for("runs.run_page", bot=bot.name, run_id=launch.run_id))
