"""The work queue, whole: every item of every bot, filtered by bot, state, age and text, with the
history and evidence of each one click away, and retry or skip for many items at once (one reason
for all of them, each decision still kept in its own item's history and the console's audit log)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..engine.commit_guard import person_must_check
from ..errors import BackroomError
from ..project.bot import list_bots, load_bot
from ..work_queue import ItemQuery, ItemState, age_text, open_queue
from ..work_queue.base import REVIEW_STATES
from .context import allowed, console, record

queue_page = Blueprint("queue_page", __name__)

SHOWN_AT_MOST = 500   # rows on one page; the count above the table says how many matched
STATES = {   # the filter's choices, in the words the run counts use
    "waiting": (ItemState.PENDING,), "in_progress": (ItemState.IN_PROGRESS,), "done": (ItemState.DONE,),
    "review": REVIEW_STATES, "skipped": (ItemState.SKIPPED,)}
STATE_WORDS = {ItemState.PENDING: "waiting", ItemState.IN_PROGRESS: "in progress", ItemState.DONE: "done",
               ItemState.BUSINESS_EXCEPTION: "for review (business)", ItemState.SYSTEM_EXCEPTION: "for review (system)",
               ItemState.SKIPPED: "skipped"}
AGES = {"1h": 3600, "1d": 86400, "7d": 7 * 86400}


@dataclass(frozen=True)
class QueueFilter:
    bot: str = ""
    state: str = ""
    older_than: str = ""
    text: str = ""

    @classmethod
    def from_args(cls, args) -> "QueueFilter":
        state, age = args.get("state", ""), args.get("older_than", "")
        return cls(args.get("bot", "").strip(), state if state in STATES else "", age if age in AGES else "",
                   args.get("text", "").strip())

    def query(self, now: float) -> ItemQuery:
        """The filter as the queue's database answers it (reference, message, source and data hold the text)."""
        return ItemQuery(bot=self.bot or None, states=STATES[self.state] if self.state else (),
                         created_before=now - AGES[self.older_than] if self.older_than else None, text=self.text,
                         limit=SHOWN_AT_MOST)


def _open():
    c = console()
    return open_queue(c.settings.queue_url, c.project)


@queue_page.route("/queue")
@allowed("view", "queue_list")
def queue_list():
    wanted = QueueFilter.from_args(request.args)
    now = time.time()
    queue = _open()
    try:
        found = queue.find_items(wanted.query(now))   # what needs a person first, then the newest change
    finally:
        queue.close()
    return render_template("console/queue.html", items=found.items, matched=found.matched, wanted=wanted,
                           bots=list_bots(console().project), states=STATES, state_words=STATE_WORDS,
                           ages=AGES, age=lambda i: age_text(now - i.created_at), query=request.query_string.decode())


def _chosen() -> list[tuple[str, str]]:
    """The ticked items, each `bot/reference` (a bot's name has no slash; a reference may)."""
    chosen = []
    for value in request.form.getlist("item"):
        bot, _, reference = value.partition("/")
        if bot and reference:
            chosen.append((bot, reference))
    return chosen


@queue_page.route("/queue/bulk", methods=["POST"])
@allowed("operate", "bulk")
def bulk():
    action, reason = request.form.get("action", ""), request.form.get("reason", "").strip()
    back = url_for("queue_page.queue_list") + (f"?{request.form['back']}" if request.form.get("back") else "")
    chosen = sorted(_chosen())
    if action not in ("retry", "skip") or not chosen:
        flash("Tick the items first, then retry or skip them.", "problem")
        return redirect(back)
    if action == "skip" and not reason:
        record("skip", "refused", target=f"{len(chosen)} item(s)", detail="no reason given")
        flash("Say why these items will not be done: the reason is kept with each of them. Nothing was skipped.",
              "problem")
        return redirect(back)
    actor, done, refused = f"user:{current_user.name}", [], []
    queue = _open()
    try:
        for bot, reference in chosen:
            why = _decide(queue, action, bot, reference, actor, reason)
            record(action, "refused" if why else "done", target=f"{bot}/{reference}",
                   detail=why or (reason if action == "skip" else "bulk retry"))
            (refused if why else done).append(reference if not why else f"{reference}: {why}")
    finally:
        queue.close()
    if done:
        flash(f"{len(done)} item(s) {'back in the queue' if action == 'retry' else 'skipped: ' + reason}: "
              f"{', '.join(done)}", "done")
    if refused:
        flash(f"Not {'sent back' if action == 'retry' else 'skipped'}: {'; '.join(refused)}", "problem")
    return redirect(back)


def _decide(queue, action: str, bot: str, reference: str, actor: str, reason: str) -> str:
    """One item's retry or skip; '' when it went through, else why not (said to the person)."""
    item = queue.get(bot, reference)
    if item is None:
        return "no such item"
    try:
        if action == "skip":
            queue.skip(bot, reference, actor, reason)
        elif person_must_check(item.commit_started, load_bot(console().project, bot).verify):
            return "it may already be in the application: open it, look it up there, and retry it on its own page"
        else:
            queue.retry(bot, reference, actor)
    except BackroomError as exc:
        return exc.message
    return ""
