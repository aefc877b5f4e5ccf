"""The review queue: items a person must decide on. An operator corrects an item's data and sends
it back to work, or skips it with a reason; each decision is recorded in the item's own history
(with the person's name) and in the console's audit log."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..project.bot import load_bot
from ..engine.commit_guard import person_must_check
from ..errors import BackroomError
from ..intake.workbook import FieldProblem, convert
from ..work_queue import ItemState, age_text, open_queue
from ..work_queue.base import REVIEW_STATES
from .context import allowed, console, record

review = Blueprint("review", __name__)


def _queue():
    c = console()
    return open_queue(c.settings.queue_url, c.project)


def shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def editable_fields(bot, item) -> dict:
    """The fields a person may correct: a keyed row's own fields. Items a bot made from several rows
    (an invoice from jobs) are corrected in the input file instead."""
    if bot.input is None or "covers" in item.data:
        return {}
    return {name: spec for name, spec in bot.input.fields.items() if name in item.data}


def _refused(action: str, bot: str, reference: str, why: str, headline: str):
    """A decision that did not go through: recorded, said on the item's page."""
    record(action, "refused", target=f"{bot}/{reference}", detail=why)
    flash(headline if why == "no reason given" else f"{headline}: {why}", "problem")
    return redirect(url_for("review.item_page", bot=bot, reference=reference))


@review.route("/review")
@allowed("view", "review_list")
def review_list():
    queue = _queue()
    try:
        items = queue.items(request.args.get("bot") or None, list(REVIEW_STATES))
    finally:
        queue.close()
    now = time.time()
    return render_template("console/review.html", items=items, age=lambda i: age_text(now - i.created_at))


@review.route("/items")
@allowed("view", "find_item")
def find_item():
    """Any item's history by its reference: what auditors trace."""
    bot, reference = request.args.get("bot", ""), request.args.get("reference", "").strip()
    queue = _queue()
    try:
        found = [i for i in queue.items(bot or None) if i.reference == reference]
    finally:
        queue.close()
    if len(found) == 1:
        return redirect(url_for("review.item_page", bot=found[0].bot, reference=reference))
    flash(f"No work item '{reference}'" if not found else f"'{reference}' is an item of several bots: choose one",
          "problem")
    return redirect(url_for("review.review_list"))


@review.route("/items/<bot>/<path:reference>")
@allowed("view", "item")
def item_page(bot: str, reference: str, problems: dict | None = None, status: int = 200):
    queue = _queue()
    try:
        item = queue.get(bot, reference)
        if item is None:
            abort(404)
        history = queue.history(bot, reference)
    finally:
        queue.close()
    definition = load_bot(console().project, bot)
    fields = editable_fields(definition, item)
    values = {name: request.form.get(f"field:{name}", shown(item.data.get(name))) if problems else
              shown(item.data.get(name)) for name in fields}
    return render_template("console/item.html", item=item, history=history, fields=fields, values=values,
                           other={k: v for k, v in item.data.items() if k not in fields}, shown=shown,
                           in_review=item.state in REVIEW_STATES or item.state == ItemState.SKIPPED,
                           problems=problems or {}, keying=definition.kind == "keying",
                           must_check=person_must_check(item.commit_started, definition.verify)), status


@review.route("/items/<bot>/<path:reference>/retry", methods=["POST"])
@allowed("operate", "retry")
def retry(bot: str, reference: str):
    definition = load_bot(console().project, bot)
    queue = _queue()
    try:
        item = queue.get(bot, reference)
        if item is None:
            abort(404)
        changes, problems = {}, {}
        for name, spec in editable_fields(definition, item).items():
            raw = request.form.get(f"field:{name}")
            if raw is None or raw.strip() == shown(item.data.get(name)):
                continue
            try:
                changes[name] = convert(name, spec, raw)
            except FieldProblem as exc:
                problems[name] = str(exc)
        if problems:
            record("retry", "refused", target=f"{bot}/{reference}", detail="; ".join(problems.values()))
            return item_page(bot, reference, problems=problems, status=400)
        checked = request.form.get("checked_not_in_app") == "yes"
        if person_must_check(item.commit_started, definition.verify) and not checked:
            return _refused("retry", bot, reference, f"{reference} may already be in the application: tick "
                            "'I looked it up and it is not there' after checking", "Not sent back")
        try:
            queue.retry(bot, reference, f"user:{current_user.name}", changes, checked_not_in_app=checked)
        except BackroomError as exc:
            return _refused("retry", bot, reference, exc.message, "Not sent back")
    finally:
        queue.close()
    corrected = ", ".join(f"{k} = {shown(v)}" for k, v in changes.items())
    record("retry", "done", target=f"{bot}/{reference}", detail=f"corrected {corrected}" if changes else "no change")
    flash(f"{reference} is back in the queue" + (f" with {corrected}" if changes else "") +
          f"; the next run of {bot} works it.", "done")
    return redirect(url_for("review.review_list"))


@review.route("/items/<bot>/<path:reference>/skip", methods=["POST"])
@allowed("operate", "skip")
def skip(bot: str, reference: str):
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _refused("skip", bot, reference, "no reason given",
                        "Say why the item will not be done: the reason is kept with it")
    queue = _queue()
    try:
        queue.skip(bot, reference, f"user:{current_user.name}", reason)
    except BackroomError as exc:
        return _refused("skip", bot, reference, exc.message, "Not skipped")
    finally:
        queue.close()
    record("skip", "done", target=f"{bot}/{reference}", detail=reason)
    flash(f"{reference} skipped: {reason}", "done")
    return redirect(url_for("review.review_list"))
