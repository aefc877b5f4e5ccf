"""Schedules (everyone sees them; admins pause and resume jobs), users (admins), and the audit
log of people's actions with an export for filing (auditors and admins)."""

from __future__ import annotations

import io
import time
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from openpyxl import Workbook

from ..audit.run_index import list_runs
from ..errors import BackroomError
from ..scheduler.config import load_schedules
from ..scheduler.service import STATE_FILE, Scheduler
from ..scheduler.state import SchedulerState
from ..intake.sheet_style import append_row, write_header
from ..work_queue import open_queue
from .context import allowed, console, record
from .users import ROLES

admin = Blueprint("admin", __name__)


# -- schedules -------------------------------------------------------------------
@admin.route("/schedules")
@allowed("view", "schedules")
def schedules():
    c = console()
    state = SchedulerState(c.project / STATE_FILE)
    try:
        try:
            loaded = load_schedules(c.project, None)
        except BackroomError as exc:
            return render_template("console/schedules.html", problem=exc.message, jobs=[], problems=[])
        upcoming = Scheduler(c.project, loaded, state=state).next_runs()
        paused = state.paused()
        jobs = [{"job": job, "next": upcoming.get(job.name), "last": state.last(job.name, counting_locked=False),
                 "paused": paused.get(job.name)} for job in loaded.jobs]
        return render_template("console/schedules.html", jobs=jobs, problems=loaded.problems, problem="",
                               time_zone=loaded.time_zone)
    finally:
        state.close()


@admin.route("/schedules/<job>/<action>", methods=["POST"])
@allowed("admin", "change_schedule")
def change_schedule(job: str, action: str):
    c = console()
    loaded = load_schedules(c.project, None)
    if action not in ("pause", "resume") or job not in {j.name for j in loaded.jobs}:
        flash(f"No job '{job}' to {action}.", "problem")
        return redirect(url_for("admin.schedules"))
    reason = request.form.get("reason", "").strip()
    if action == "pause" and not reason:
        flash("Say why the job is paused: the scheduler records it with every run it skips.", "problem")
        return redirect(url_for("admin.schedules"))
    state = SchedulerState(c.project / STATE_FILE)
    try:
        if action == "pause":
            state.pause(job, current_user.name, time.time(), reason)
        else:
            state.resume(job)
    finally:
        state.close()
    record(f"{action}_schedule", "done", target=job, detail=reason)
    flash(f"{job}: {'paused' if action == 'pause' else 'resumed'}.", "done")
    return redirect(url_for("admin.schedules"))


# -- users -----------------------------------------------------------------------
@admin.route("/users")
@allowed("admin", "users")
def users():
    return render_template("console/users.html", users=console().users.all(), roles=ROLES)


@admin.route("/users", methods=["POST"])
@allowed("admin", "add_user")
def add_user():
    name = request.form.get("name", "").strip().lower()
    roles = request.form.getlist("roles")
    try:
        console().users.add(name, roles, request.form.get("password", ""))
    except BackroomError as exc:
        record("add_user", "refused", target=name[:64], detail=exc.message)
        flash(f"Not added: {exc.message}", "problem")
        return redirect(url_for("admin.users"))
    record("add_user", "done", target=name, detail=f"roles {', '.join(roles)}")
    flash(f"{name} added ({', '.join(roles)}).", "done")
    return redirect(url_for("admin.users"))


@admin.route("/users/<name>", methods=["POST"])
@allowed("admin", "change_user")
def change_user(name: str):
    store = console().users
    action = request.form.get("action", "")
    try:
        if action == "roles":
            roles = request.form.getlist("roles")
            if name == current_user.name and "admin" not in roles:
                raise BackroomError("you cannot take the admin role from yourself; another admin can")
            store.set_roles(name, roles)
            detail = f"roles {', '.join(roles)}"
        elif action in ("disable", "enable"):
            if name == current_user.name:
                raise BackroomError("you cannot disable yourself")
            store.set_disabled(name, action == "disable")
            detail = action + ("d; their sessions ended" if action == "disable" else "d")
        elif action == "password":
            store.set_password(name, request.form.get("password", ""))
            detail = "password reset; their sessions ended"
        else:
            raise BackroomError(f"unknown change {action!r}")
    except BackroomError as exc:
        record("change_user", "refused", target=name, detail=exc.message)
        flash(f"Not changed: {exc.message}", "problem")
        return redirect(url_for("admin.users"))
    record("change_user", "done", target=name, detail=detail)
    flash(f"{name}: {detail}.", "done")
    return redirect(url_for("admin.users"))


# -- the audit log ---------------------------------------------------------------
@admin.route("/audit")
@allowed("audit", "audit_log")
def audit_log():
    person = request.args.get("person") or None
    return render_template("console/audit.html", actions=console().actions.read(person=person, limit=500),
                           person=person)


@admin.route("/audit/export.xlsx")
@allowed("audit", "export")
def export():
    """Runs, items in the queue with their last change, and people's actions, as a workbook to file."""
    c = console()
    book = Workbook()
    sheet = book.active
    sheet.title = "Runs"
    write_header(sheet, ["Bot", "Run", "Started", "Finished", "Outcome", "Started by", "Input", "Counts", "Message"])
    for run in list_runs(c.logs):
        append_row(sheet, [run.bot, run.run_id, run.started.replace(tzinfo=None) if run.started else None,
                      run.finished.replace(tzinfo=None) if run.finished else None, run.outcome, run.started_by,
                      run.input, run.counts_text, run.message])
    sheet = book.create_sheet("Items")
    write_header(sheet, ["Bot", "Reference", "State", "Attempts", "Source", "Last error or reason", "Updated"])
    queue = open_queue(c.settings.queue_url, c.project)
    try:
        for item in queue.items():
            append_row(sheet, [item.bot, item.reference, item.state.value, item.attempts, item.source,
                          item.last_error or "", datetime.fromtimestamp(item.updated_at)])
    finally:
        queue.close()
    sheet = book.create_sheet("Actions")
    write_header(sheet, ["When (UTC)", "Person", "Roles", "Action", "Outcome", "Target", "Detail", "Address"])
    for action in reversed(c.actions.read()):
        append_row(sheet, [action.at, action.person, action.roles, action.action, action.outcome, action.target,
                      action.detail, action.address])
    record("export", "done", detail="runs, items and actions as xlsx")
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return send_file(data, as_attachment=True, download_name=f"backroom-audit-{datetime.now():%Y%m%d-%H%M}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
