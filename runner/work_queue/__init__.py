"""The durable work queue: no work item lost, none keyed twice. `open_queue(url)` picks the backend."""

from .backends import QueueBackend, describe_queue, open_queue, queue_exists, register_backend
from .base import (AGE_BUCKETS, EvidenceHead, FoundItems, IntakeReport, ItemQuery, ItemState, LeaseLost, QueueError,
                   QueuedItem, ReviewReport, RunnerRecord, RunRecord, StateChange, WorkQueue, age_bucket, age_text)
from . import sqlite_queue as _sqlite  # noqa: F401 - registers sqlite://
from . import postgres_queue as _postgres  # noqa: F401 - registers postgresql:// (psycopg loads when one is opened)

__all__ = ["AGE_BUCKETS", "EvidenceHead", "FoundItems", "IntakeReport", "ItemQuery", "ItemState", "LeaseLost",
           "QueueBackend", "QueueError", "QueuedItem", "ReviewReport", "RunnerRecord", "RunRecord", "StateChange",
           "WorkQueue", "age_bucket", "age_text", "describe_queue", "open_queue", "queue_exists", "register_backend"]
