"""The durable work queue: no work item lost, none keyed twice."""

from .base import AGE_BUCKETS, EvidenceHead, IntakeReport, ItemState, QueuedItem, ReviewReport, StateChange, WorkQueue, age_bucket
from .sqlite_queue import SQLiteWorkQueue, open_queue

__all__ = ["AGE_BUCKETS", "EvidenceHead", "IntakeReport", "ItemState", "QueuedItem", "ReviewReport", "SQLiteWorkQueue", "StateChange", "WorkQueue",
           "age_bucket", "open_queue"]
