"""Which requests a page sends write to the application: the browser, not a marking in a recipe, says when a
record was written.

Every request of an item's pages (all frames and pop-ups) passes through the web driver. One that can change
data (any method but GET, HEAD and OPTIONS, unless the app's `not_writes:` says otherwise; a GET only when the
app's `writes:` names it) is a write. The first write of an item that is neither the sign-on nor sent by a
step marked `commits: false` is the item's commit point: the queue records it before the request goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# a beacon or a policy report carries no record: never a write
NEVER_WRITES = frozenset({"ping", "cspviolationreport", "preflight"})


@dataclass(frozen=True)
class RequestRule:
    """One line of an app's `writes:` or `not_writes:`: method, address glob and body pattern, all optional."""

    method: str | None = None
    url: str | None = None
    body: str | None = None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "RequestRule":
        method = raw.get("method")
        return cls(method.upper() if isinstance(method, str) else None, raw.get("url"), raw.get("body"))

    def matches(self, method: str, url: str, body: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.url is not None and not fnmatchcase(url, self.url):
            return False
        return self.body is None or (body is not None and re.search(self.body, body) is not None)


@dataclass(frozen=True)
class WriteRules:
    """An app's rules: which requests besides the default ones write, and which never do."""

    writes: tuple[RequestRule, ...] = ()
    not_writes: tuple[RequestRule, ...] = ()

    @classmethod
    def of_app(cls, app: dict[str, Any]) -> "WriteRules":
        return cls(tuple(RequestRule.of(r) for r in app.get("writes") or ()),
                   tuple(RequestRule.of(r) for r in app.get("not_writes") or ()))

    @property
    def reads_body(self) -> bool:
        return any(r.body is not None for r in self.writes + self.not_writes)

    def is_write(self, method: str, url: str, resource_type: str, body: str | None = None) -> bool:
        method = method.upper()
        if resource_type in NEVER_WRITES:
            return False
        if any(rule.matches(method, url, body) for rule in self.not_writes):
            return False
        return method not in READ_METHODS or any(rule.matches(method, url, body) for rule in self.writes)


@dataclass(frozen=True)
class ActingStep:
    """The step whose action the page's next requests answer: the engine says so before each acting step."""

    where: str                 # recipes/<file>.yaml:<line>
    describe: str              # click issue.submit
    app: str
    signs_on: bool = False     # a step on a sign-on screen: its writes are the sign-on, not a record
    harmless: bool = False     # commits: false: its writes change nothing that matters (a search form)
    rules: WriteRules = field(default_factory=WriteRules)


@dataclass
class SeenWrite:
    """A request that can change data, as the browser sent it."""

    method: str
    url: str
    sent_by: str               # the step's place, or "" when no step had acted yet in this item
    step: str                  # what that step did
    app: str
    sign_on: bool = False
    harmless: bool = False
    commit: bool = False       # the item's commit point: the first write that is neither of the two above
    blocked: str = ""          # why the driver did not let it go out (its commit point could not be recorded)

    def describe(self) -> str:
        return f"{self.method} {self.url}"

    def as_data(self, scrub=lambda text: text) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "url": scrub(self.url), "sent_by": self.sent_by}
        for flag in ("sign_on", "harmless", "commit"):
            if getattr(self, flag):
                data[flag] = True
        if self.blocked:
            data["blocked"] = scrub(self.blocked)
        return data
