"""Telling people about runs nobody watches (the scheduler's, a runner service's, the console's): a run
that failed, passed its limit or left items for review is written to the notices file and, when
`notify:` in backroom.yaml says so, mailed and posted to a webhook (a chat channel). A notice that
cannot be sent is still written, with why it was not sent."""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from loguru import logger

from ..errors import BackroomError, ExitCode
from ..project.secrets import resolve_secrets
from ..project.settings import NotifySettings, load_settings, logs_folder
from .child import ChildEnded

OUTCOME_FOR_EXIT = {ExitCode.OK: "success", ExitCode.ITEMS_FAILED: "items_for_review",
                    ExitCode.BAD_INPUT: "bad_input", ExitCode.ENVIRONMENT: "environment",
                    ExitCode.INTERRUPTED: "stopped"}
FAILED_OUTCOMES = {"bad_input", "environment", "timed_out", "crashed", "missed"}
NOTICED_OUTCOMES = FAILED_OUTCOMES | {"items_for_review"}
SUBJECT = {"items_for_review": "items wait for review", "timed_out": "stopped at its time limit",
           "crashed": "crashed", "bad_input": "refused its input", "environment": "could not reach the application",
           "missed": "missed its planned time"}
_MESSAGES = {"success": "every item done", "items_for_review": "finished; some items wait for a person",
             "bad_input": "refused its input or definition (exit 2)",
             "environment": "could not reach the application or the screen (exit 3)",
             "stopped": "stopped (exit 130)"}


@dataclass(frozen=True)
class RunNotice:
    source: str             # who it is about, in the subject: a job's name, "runner night-1", "console run by olga"
    started_by: str         # as the run's evidence says: scheduler:<job>, runner:<name>, console:<person>
    bot: str
    outcome: str            # one of NOTICED_OUTCOMES
    message: str
    started: float
    finished: float
    exit_code: int | None = None
    input: str | None = None
    run_dir: str | None = None
    planned: datetime | None = None   # a scheduled run: the time it stood for

    @property
    def subject(self) -> str:
        return f"Backroom: {self.source} ({self.bot}) {SUBJECT.get(self.outcome, self.outcome)}"

    def body(self) -> str:
        lines = [f"Bot: {self.bot}", f"Started by: {self.started_by}", f"Outcome: {self.outcome}: {self.message}"]
        if self.planned is not None:
            lines.append(f"Planned for: {self.planned:%Y-%m-%d %H:%M}")
        lines.append(f"Started: {datetime.fromtimestamp(self.started):%Y-%m-%d %H:%M:%S}, "
                     f"took {self.finished - self.started:.0f} s")
        if self.input:
            lines.append(f"Input: {self.input}")
        if self.run_dir:
            lines.append(f"Report: {Path(self.run_dir) / 'report.html'}")
        if self.outcome == "items_for_review":
            lines.append(f"See what needs a person: backroom queue list --state review --bot {self.bot}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        """The webhook's body: "text" is what a chat channel shows, the rest is for a program."""
        return {"text": f"{self.subject}\n{self.body()}", "job": self.source, "started_by": self.started_by,
                "bot": self.bot, "outcome": self.outcome, "message": self.message, "exit_code": self.exit_code,
                "input": self.input, "report": str(Path(self.run_dir) / "report.html") if self.run_dir else None}


def judge_ended(ended: ChildEnded) -> tuple[str, str, int | None]:
    """A finished child run's (outcome, message, exit code), in the words of OUTCOME_FOR_EXIT, or crashed."""
    result, error = ended.result, ended.error
    code = int(result.exit_code) if result is not None else \
        ended.exit_status if ended.exit_status is not None else int(error.exit_code) if error else None
    if error is not None and (error.kind in ("died", "") or error.exit_code == ExitCode.INTERNAL):
        return "crashed", f"the run ended abnormally: {error.message}", code
    try:
        kind = OUTCOME_FOR_EXIT[ExitCode(code if code is not None else -1)]
    except (ValueError, KeyError):
        return "crashed", f"the run ended abnormally (exit code {code})", code
    message = result.message if result is not None and result.message else \
        error.message if error is not None else _MESSAGES[kind]
    return kind, message, code


def tell(project: Path, notice: RunNotice) -> str:
    """Send a notice as backroom.yaml's notify: says now (read at each notice: a change needs no restart), for a
    service that must go on whatever happens: how it went, never an exception."""
    try:
        return send_notice(load_settings(project).notify, project, notice)
    except (BackroomError, OSError) as exc:
        return f"NOT written: {exc}"


def send_notice(spec: NotifySettings, project: Path, notice: RunNotice) -> str:
    """Write the notice, mail and post it where configured; returns how it went, for the log."""
    subject, body = notice.subject, notice.body()
    sent = "not mailed (no email under notify: in backroom.yaml)"
    if spec.email is not None:
        try:
            _mail(spec, subject, body)
            sent = f"mailed to {', '.join(spec.email.to)}"
        except (OSError, smtplib.SMTPException, socket.error) as exc:
            sent = f"NOT mailed: {type(exc).__name__}: {exc}"
            logger.warning(f"notice for {notice.source} could not be mailed: {exc}")
    if spec.webhook is not None:
        sent += "; " + _post(spec.webhook.url_secret, notice)
    path = Path(project) / spec.notices_file if spec.notices_file else logs_folder(project) / "notices.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as notices:
        notices.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {subject} [{sent}]\n{body}\n")
    return sent


def _post(url_secret: str, notice: RunNotice) -> str:
    """POST the notice as JSON. How it went, for the notices file; the address itself is a secret (it holds the
    chat tool's token) and is never written."""
    try:
        url = resolve_secrets({url_secret})[url_secret]
    except BackroomError as exc:
        logger.warning(f"notice for {notice.source} was not posted: {exc.message}")
        return f"NOT posted: {exc.message}"
    try:
        request = urllib.request.Request(url, data=json.dumps(notice.as_json()).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "Backroom"})
        with urllib.request.urlopen(request, timeout=20) as answer:   # noqa: S310 - an address the admin set
            return f"posted to the webhook (HTTP {answer.status})"
    except urllib.error.HTTPError as exc:
        said = f"the webhook answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        said = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}".replace(url, "(the webhook's address)")
    logger.warning(f"notice for {notice.source} could not be posted: {said}")
    return f"NOT posted: {said}"


def _mail(spec: NotifySettings, subject: str, body: str) -> None:
    email = spec.email
    assert email is not None
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
