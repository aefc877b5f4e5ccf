"""The work queue's records and interface. SQLite is the local default; a server database
implements the same Protocol and registers its URL scheme (backends.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from ..errors import DataError
from ..intake.work_item import WorkItem


class QueueError(DataError):
    """A change the queue refuses: an item not leased by this runner, a skip with no reason, ..."""

    hint = "Check the bot and the reference with: backroom queue list"


class LeaseLost(QueueError):
    """This runner's lease on an item ran out and another runner took the item back: it must not touch it
    again (least of all save it)."""

    hint = "The item is worked by the runner that took it back; see its history: backroom queue show"


class ItemState(str, Enum):
    PENDING = "pending"                        # waiting to be worked (maybe after a back-off)
    IN_PROGRESS = "in_progress"                # leased by a runner
    DONE = "done"
    BUSINESS_EXCEPTION = "business_exception"  # bad data: a person decides; never retried by itself
    SYSTEM_EXCEPTION = "system_exception"      # the screen kept failing: retries used up, a person decides
    SKIPPED = "skipped"                        # a person decided not to do it, with a reason


REVIEW_STATES = (ItemState.BUSINESS_EXCEPTION, ItemState.SYSTEM_EXCEPTION)
AGE_BUCKETS = ("1-6 days", "7-14 days", "14+ days")


def age_bucket(age_seconds: float) -> str:
    days = age_seconds / 86400
    if days < 7:
        return AGE_BUCKETS[0]
    if days <= 14:
        return AGE_BUCKETS[1]
    return AGE_BUCKETS[2]


def age_text(age_seconds: float) -> str:
    """How long ago, as a person says it: 'just now', '12 min', '5 h', '3 days'."""
    if age_seconds < 60:
        return "just now"
    if age_seconds < 3600:
        return f"{int(age_seconds // 60)} min"
    if age_seconds < 86400:
        return f"{int(age_seconds // 3600)} h"
    days = int(age_seconds // 86400)
    return f"{days} day" if days == 1 else f"{days} days"


@dataclass
class QueuedItem:
    id: int
    bot: str
    reference: str
    data: dict[str, Any]
    state: ItemState
    attempts: int
    source: str
    created_at: float
    updated_at: float
    run_id: str | None = None
    last_error: str | None = None
    result: dict[str, Any] | None = None
    commit_started: bool = False   # a step that changes the legacy system may have run
    recovered: bool = False        # this claim took the item back from a runner that died
    lease_owner: str | None = None  # who holds it while in progress: host:pid:run

    def as_work_item(self) -> WorkItem:
        return WorkItem(self.reference, self.data, self.source)


@dataclass(frozen=True)
class ItemQuery:
    """Items as the console's queue page asks for them: of one bot or all, in some states, created before a
    moment, holding a text (any case) in their reference, message, source or data; those that need a person
    first, then the newest change first, at most `limit` of them."""

    bot: str | None = None
    states: tuple[ItemState, ...] = ()
    created_before: float | None = None
    text: str = ""
    limit: int = 500


@dataclass
class FoundItems:
    matched: int              # how many items match, of which `items` are the first `limit`
    items: list[QueuedItem]


@dataclass
class StateChange:
    at: float
    reference: str
    from_state: str | None
    to_state: str
    actor: str          # intake:<file>, run:<run-id>, user:<name>
    message: str = ""
    run_id: str | None = None


@dataclass
class IntakeReport:
    added: list[str] = field(default_factory=list)
    already_queued: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    changed_after_done: list[str] = field(default_factory=list)   # reported, never re-keyed
    updated_pending: list[str] = field(default_factory=list)
    changed_in_review: list[str] = field(default_factory=list)     # in review, or corrected by a person: kept
    corrected: list[str] = field(default_factory=list)             # refused at intake before, now read again


@dataclass
class ReviewReport:
    added: list[str] = field(default_factory=list)
    existing: dict[str, QueuedItem] = field(default_factory=dict)  # already queued: left as they were


@dataclass(frozen=True)
class EvidenceHead:
    """The newest line of a bot's chain of sealed runs (logs/<bot>/chain.jsonl)."""

    bot: str
    run: str
    chain_length: int
    line_sha256: str


@dataclass
class RunnerRecord:
    """A runner service (backroom worker) as the queue knows it: who, where, what it works, when last seen."""

    name: str
    host: str
    pid: int
    bots: list[str]
    version: str
    heartbeat_s: float
    started_at: float = 0.0
    last_seen: float = 0.0
    state: str = "running"         # running, stopped (it said so when it stopped)
    bot: str | None = None         # what it is working on now
    reference: str | None = None
    run_id: str | None = None
    message: str = ""
    seen_ago: float = 0.0          # seconds since it was last seen, by the queue's clock

    LOST_AFTER_BEATS = 3           # heartbeats missed before a running runner is called lost

    @property
    def status(self) -> str:
        """alive, lost (stopped beating without saying it stopped: killed, its machine gone) or stopped."""
        if self.state != "running":
            return "stopped"
        return "lost" if self.seen_ago > self.LOST_AFTER_BEATS * self.heartbeat_s else "alive"


@dataclass
class RunRecord:
    """A run in the run registry: which runner made it, and where its evidence was written."""

    bot: str
    run_id: str
    runner: str
    host: str
    logs_dir: str                  # the runner's logs folder, as that machine names it
    outcome: str | None = None     # None while it runs (or when it was killed)
    started_at: float = 0.0
    ended_at: float | None = None


class WorkQueue(Protocol):
    """One contract for every backend (tests/test_queue_contract.py runs against each). Times are the
    backend's clock, so leases agree across machines; `new_owner` names a lease holder in a way the
    backend can check (is that holder still alive?)."""

    def new_owner(self, run_id: str) -> str: ...
    def intake(self, bot: str, items: list[WorkItem], actor: str) -> IntakeReport: ...
    def claim(self, bot: str, owner: str, lease_s: float, run_id: str) -> QueuedItem | None: ...
    # how long until a pending item of the bot may be claimed (0: now); None: nothing pending
    def seconds_until_due(self, bot: str) -> float | None: ...
    # whether a claim now would get an item: a due one, or one to take back from a runner that stopped
    def has_claimable(self, bot: str) -> bool: ...
    def add_for_review(self, bot: str, items: list[tuple[WorkItem, str]], actor: str) -> ReviewReport: ...
    # an item keyed outside a run (while its recipe was recorded): done, so no run keys it again (retry takes
    # it back). False when the queue has it already in another state than pending (it is then left as it is)
    # an item keyed outside a run (while recording), with what was read then (its variables and output columns)
    def record_done(self, bot: str, item: WorkItem, actor: str, message: str, variables: dict | None = None,
                    output: dict | None = None) -> bool: ...
    def refused_at_intake(self, bot: str) -> set[str]: ...
    def heartbeat(self, item_id: int, owner: str, lease_s: float) -> None: ...
    def mark_committing(self, item_id: int, owner: str) -> None: ...
    def complete(self, item_id: int, owner: str, result: dict, message: str = "") -> None: ...
    def business_exception(self, item_id: int, owner: str, message: str) -> None: ...
    # retry_in_s: the item is worked again after this back-off; None: it goes to a person
    def system_exception(self, item_id: int, owner: str, message: str, retry_in_s: float | None) -> None: ...
    def release(self, item_id: int, owner: str, message: str) -> None: ...
    # checked_not_in_app: a person looked the item up in the legacy system after an attempt that may have
    # saved it, and it is not there: the next attempt keys it without looking again.
    def retry(self, bot: str, reference: str, actor: str, changes: dict[str, Any] | None = None,
              checked_not_in_app: bool = False) -> QueuedItem: ...
    def skip(self, bot: str, reference: str, actor: str, reason: str) -> QueuedItem: ...
    def get(self, bot: str, reference: str) -> QueuedItem | None: ...
    # another item of this bot whose recorded result read `value` into `variable` (a key read must be unique)
    def holder_of(self, bot: str, variable: str, value: str, other_than: str) -> str | None: ...
    def items(self, bot: str | None = None, states: list[ItemState] | None = None) -> list[QueuedItem]: ...
    # filtered and sorted by the database, so a queue of a hundred thousand items is not read to show a page
    def find_items(self, query: ItemQuery) -> FoundItems: ...
    # the references of a bot's items still to be worked (pending or in progress), oldest first: no data read
    def waiting_references(self, bot: str) -> list[str]: ...
    # where each of these references of a bot stands (those not in the queue are left out)
    def states_of(self, bot: str, references: list[str]) -> dict[str, ItemState]: ...
    def history(self, bot: str, reference: str) -> list[StateChange]: ...
    def changes_since(self, since: float) -> list[tuple[str, StateChange]]: ...
    # the newest line of each bot's chain of sealed runs, kept outside the bots' folders: a deleted newest run
    # or bot folder is noticed
    def record_evidence_head(self, head: EvidenceHead) -> None: ...
    def evidence_heads(self) -> dict[str, EvidenceHead]: ...
    # held while a run of the bot is added to its chain of sealed runs: on a queue that several machines share,
    # the database serializes them where a shared folder's file lock may not (an SMB share without locks)
    def evidence_lock(self, bot: str) -> AbstractContextManager[None]: ...
    # the runner services working the queue (a name is one runner's while it is alive), and the runs made
    def register_runner(self, runner: RunnerRecord) -> RunnerRecord: ...
    def runner_seen(self, name: str, host: str, pid: int, bot: str | None = None, reference: str | None = None,
                    run_id: str | None = None, message: str = "") -> bool: ...
    def runner_stopped(self, name: str, host: str, pid: int, message: str) -> None: ...
    def runners(self) -> list[RunnerRecord]: ...
    def record_run(self, run: RunRecord) -> None: ...
    def runs(self, bot: str | None = None) -> list[RunRecord]: ...
    def close(self) -> None: ...
