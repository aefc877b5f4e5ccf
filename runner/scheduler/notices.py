"""Telling people: a run that failed, passed its limit or left items for review is written to the
notices file and, when configured, sent by email and posted to a webhook (a chat channel). A notice
that cannot be sent is still written, with why it was not sent."""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from loguru import logger

from ..errors import BackroomError
from ..project.secrets import resolve_secrets
from ..project.settings import logs_folder
from .config import NotifySpec
from .runs import RunOutcome

SUBJECT = {"items_for_review": "items wait for review", "timed_out": "stopped at its time limit",
           "crashed": "crashed", "bad_input": "refused its input", "environment": "could not reach the application",
           "missed": "missed its planned time"}


def notice_text(outcome: RunOutcome, planned: datetime | None) -> tuple[str, str]:
    subject = f"Backroom: {outcome.job} ({outcome.bot}) {SUBJECT.get(outcome.outcome, outcome.outcome)}"
    lines = [f"Job: {outcome.job}", f"Bot: {outcome.bot}", f"Outcome: {outcome.outcome}: {outcome.message}"]
    if planned is not None:
        lines.append(f"Planned for: {planned:%Y-%m-%d %H:%M}")
    lines.append(f"Started: {datetime.fromtimestamp(outcome.started):%Y-%m-%d %H:%M:%S}, "
                 f"took {outcome.finished - outcome.started:.0f} s")
    if outcome.input:
        lines.append(f"Input: {outcome.input}")
    if outcome.run_dir:
        lines.append(f"Report: {Path(outcome.run_dir) / 'report.html'}")
    if outcome.outcome == "items_for_review":
        lines.append(f"See what needs a person: backroom queue list --state review --bot {outcome.bot}")
    return subject, "\n".join(lines)


def send_notice(spec: NotifySpec, project: Path, outcome: RunOutcome, planned: datetime | None) -> str:
    """Write the notice, mail it if email is configured; returns how it went, for the log."""
    subject, body = notice_text(outcome, planned)
    sent = "not mailed (no email in schedules.yaml)"
    if spec.email is not None:
        try:
            _mail(spec, subject, body)
            sent = f"mailed to {', '.join(spec.email.to)}"
        except (OSError, smtplib.SMTPException, socket.error) as exc:
            sent = f"NOT mailed: {type(exc).__name__}: {exc}"
            logger.warning(f"notice for {outcome.job} could not be mailed: {exc}")
    if spec.webhook is not None:
        sent += "; " + _post(spec.webhook.url_secret, subject, body, outcome)
    path = Path(project) / spec.notices_file if spec.notices_file else logs_folder(project) / "notices.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as notices:
        notices.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {subject} [{sent}]\n{body}\n")
    return sent


def _post(url_secret: str, subject: str, body: str, outcome: RunOutcome) -> str:
    """POST the notice as JSON: "text" (what a chat channel shows) and its parts for a program. How it went,
    for the notices file; the address itself is a secret and is never written."""
    payload = {"text": f"{subject}\n{body}", "job": outcome.job, "bot": outcome.bot, "outcome": outcome.outcome,
               "message": outcome.message, "exit_code": outcome.exit_code, "input": outcome.input,
               "report": str(Path(outcome.run_dir) / "report.html") if outcome.run_dir else None}
    try:
        url = resolve_secrets({url_secret})[url_secret]
    except BackroomError as exc:
        logger.warning(f"notice for {outcome.job} was not posted: {exc.message}")
        return f"NOT posted: {exc.message}"
    try:
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "Backroom"})
        with urllib.request.urlopen(request, timeout=20) as answer:   # noqa: S310 - an address the admin set
            return f"posted to the webhook (HTTP {answer.status})"
    except urllib.error.HTTPError as exc:
        said = f"the webhook answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        said = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}".replace(url, "(the webhook's address)")
    logger.warning(f"notice for {outcome.job} could not be posted: {said}")
    return f"NOT posted: {said}"


def _mail(spec: NotifySpec, subject: str, body: str) -> None:
    email = spec.email
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, email.sender, ", ".join(email.to)
    message.set_content(body)
    with smtplib.SMTP(email.host, email.port, timeout=20) as smtp:
        if email.starttls:
            smtp.starttls()
        if email.user:
            password = resolve_secrets({email.password_secret})[email.password_secret] if email.password_secret else ""
            smtp.login(email.user, password)
        smtp.send_message(message)
