"""Run settings: `backroom.yaml` at the project root, then environment, then command-line options.

Browser choice, timeouts, screenshot policy and where each app lives are configuration,
never code. Every setting has a default that works on a fresh Debian machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConfigurationError
from .yaml_source import load_yaml, validate

# Debian's Chromium runs as root only without its sandbox; the rest keeps it from
# calling home on a closed network (each refused connection costs time).
DEFAULT_BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ScreenshotPolicy = Literal["changed", "every", "key", "failures"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrowserSettings(_Strict):
    # "auto": Debian's Chromium when installed, else Playwright's own browser.
    executable_path: str | None = "auto"
    channel: str | None = None  # e.g. msedge or chrome on Windows
    headless: bool = True
    args: list[str] = Field(default_factory=lambda: list(DEFAULT_BROWSER_ARGS))
    viewport_width: int = 1024   # the screen size legacy screens were built for
    viewport_height: int = 768

    def launch_options(self) -> dict:
        options: dict = {"headless": self.headless, "args": list(self.args)}
        if self.channel:
            options["channel"] = self.channel
        elif self.executable_path == "auto":
            found = next((p for p in SYSTEM_CHROMIUM if Path(p).exists()), None) or shutil.which("chromium")
            if found:
                options["executable_path"] = found
        elif self.executable_path:
            options["executable_path"] = self.executable_path
        return options


class RequestRuleSettings(_Strict):
    """Requests of a web app named by method, address and body (each optional; all given must match)."""

    method: str | None = Field(default=None, pattern=r"^[A-Za-z]+$")   # GET, POST, ...
    url: str | None = None     # a glob over the whole address: '*/tickets/*/delete'
    body: str | None = None    # a regular expression the request's body must contain

    @model_validator(mode="after")
    def _names_something(self):
        if self.method is None and self.url is None and self.body is None:
            raise ValueError("a request rule names a method, a url or a body")
        if self.body is not None:
            try:
                re.compile(self.body)
            except re.error as exc:
                raise ValueError(f"body {self.body!r} is not a valid regular expression: {exc}") from None
        return self


class AppSettings(_Strict):
    url: str | None = None                 # web apps: where the app is served
    user: str = ""
    command: str | list[str] | None = None  # desktop apps: how to start it; {python} is this Python
    window: str | None = None              # desktop apps: the start of its main window's title
    start_timeout_s: float = Field(default=30.0, gt=0)
    # desktop apps: how long the app may take to quit once its window is closed, before it is killed
    close_timeout_s: float = Field(default=10.0, gt=0)
    verify: bool = True                    # read back every value typed into this app (false: never)
    # web apps: which requests write. Any request but GET, HEAD and OPTIONS does, and so do these (an app
    # that deletes or saves through a link); not_writes never do (a search form sent by POST, a keep-alive)
    writes: list[RequestRuleSettings] = Field(default_factory=list)
    not_writes: list[RequestRuleSettings] = Field(default_factory=list)

    def command_line(self) -> list[str]:
        words = shlex.split(self.command) if isinstance(self.command, str) else list(self.command or [])
        return [w.replace("{python}", sys.executable) for w in words]


class DesktopSettings(_Strict):
    display_size: tuple[int, int] = (1024, 768)  # the virtual display's size (--virtual-display)
    pause_s: float = Field(default=0.02, ge=0)    # pyautogui's pause after each mouse or key action
    failsafe: Literal["auto", "on", "off"] = "auto"  # auto: on when a person can see the screen
    settle_ms: int = Field(default=1000, ge=0)    # longest wait for the screen to stop changing after an action


class ConsoleSettings(_Strict):
    host: str = "127.0.0.1"                       # another address shares the console on the network
    port: int = Field(default=8780, ge=0, le=65535)
    session_idle_minutes: float = Field(default=30, gt=0)
    session_max_hours: float = Field(default=12, gt=0)
    upload_max_mb: float = Field(default=20, gt=0)


class AuditSettings(_Strict):
    # ed25519: signed with a private key, verified by anyone with the public key (give that to auditors);
    # hmac: signed and verified with one shared secret (audit_hmac_key: BACKROOM_SECRET_AUDIT_HMAC_KEY or keyring).
    signing: Literal["ed25519", "hmac"] = "ed25519"
    private_key: str = "logs/audit/signing-key.pem"   # created (mode 600) on first use when missing
    public_key: str = "logs/audit/signing-key.pub"
    # The trust anchor, kept where the evidence is not: the public key's SHA-256 (backroom audit keygen
    # prints it). Verification refuses a public key with another fingerprint: a key swapped under logs/.
    public_key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    screenshots_keep_days: int | None = Field(default=None, ge=1)  # None: screenshots are kept for ever


class EmailSettings(_Strict):
    host: str = "localhost"
    port: int = 25
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    user: str | None = None
    password_secret: str | None = None   # the secret's name (BACKROOM_SECRET_<NAME> or the keyring)


class WebhookSettings(_Strict):
    # the secret holding the webhook's address (BACKROOM_SECRET_<NAME> or the keyring): chat tools put their
    # token in it, so it is never written in a file
    url_secret: str


class NotifySettings(_Strict):
    """Where notices of runs nobody watches go: a run that failed, passed its limit or left items for review."""

    notices_file: str | None = None         # default: notices.log in the project's logs_dir
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None   # a JSON POST with "text", which chat tools' incoming webhooks accept


class Settings(_Strict):
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    action_timeout_s: float = Field(default=10.0, gt=0)
    navigation_timeout_s: float = Field(default=30.0, gt=0)
    screenshots: ScreenshotPolicy = "changed"
    screenshot_format: Literal["jpeg", "png"] = "jpeg"
    screenshot_quality: int = Field(default=70, ge=10, le=100)
    logs_dir: str = "logs"
    # the work queue, by URL; unset: sqlite:///<logs_dir>/queue.sqlite3, a file relative to the project
    queue: str | None = None
    lease_s: float = Field(default=300.0, gt=0)  # a runner that stops heart-beating loses its item after this
    desktop: DesktopSettings = Field(default_factory=DesktopSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    apps: dict[str, AppSettings] = Field(default_factory=dict)
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @model_validator(mode="before")
    @classmethod
    def _queue_path_names_a_sqlite_file(cls, data):
        """queue_path (a SQLite file, the setting before URLs) still works, as sqlite:///<path>."""
        if isinstance(data, dict) and "queue_path" in data:
            if data.get("queue") is not None:
                raise ValueError("queue and queue_path both set: keep queue (a URL) only")
            data = {**data, "queue": f"sqlite:///{data['queue_path']}"}
            del data["queue_path"]
        return data

    @property
    def queue_url(self) -> str:
        """BACKROOM_QUEUE_URL (one machine's or one command's choice) wins over `queue:` in backroom.yaml."""
        return os.environ.get("BACKROOM_QUEUE_URL") or self.queue or f"sqlite:///{self.logs_dir}/queue.sqlite3"

    def app(self, name: str, kind: str = "web") -> AppSettings:
        """Where a web app lives, or how a desktop app starts; a clear error when it is not configured."""
        env_name = name.upper().replace("-", "_")
        field, missing, example, option = (
            ("command", f"no command for desktop app '{name}'", "{command: ..., window: ...}", "--app-command")
            if kind == "desktop" else ("url", f"no address for app '{name}'", "{url: ...}", "--app-url"))
        configured = self.apps.get(name)
        from_env = os.environ.get(f"BACKROOM_APP_{env_name}_{field.upper()}")
        if from_env:
            return (configured or AppSettings()).model_copy(update={field: from_env})
        if configured is None or not getattr(configured, field):
            raise ConfigurationError(missing, f"Add apps: {{{name}: {example}}} to backroom.yaml, set "
                                              f"BACKROOM_APP_{env_name}_{field.upper()}, or pass {option} {name}=...")
        return configured


def logs_folder(project: Path) -> Path:
    """The project's logs folder (logs_dir in backroom.yaml): runs, queue, locks, scheduler state."""
    return Path(project) / load_settings(project).logs_dir


def load_settings(project: Path) -> Settings:
    path = Path(project) / "backroom.yaml"
    if not path.exists():
        return Settings()
    data = load_yaml(path, ConfigurationError, "backroom.yaml")
    return validate(Settings, data, "backroom.yaml", ConfigurationError)
