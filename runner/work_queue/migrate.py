"""`backroom queue migrate --from URL --to URL`: a queue moved to another backend (one machine's SQLite file
to the PostgreSQL server several machines share), every item with its whole history and each bot's newest
sealed run, in one transaction on the target.

It runs once: a target that holds anything is refused, and the source is marked moved, so a runner still
pointed at it refuses to work from it (its items would be keyed a second time) and says where they went.
Items being worked stop it: the runners are stopped first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from .backends import describe_queue, open_queue
from .base import QueueError
from .sql_queue import SQLWorkQueue


@dataclass
class Migration:
    source: str
    target: str
    items: int
    changes: int
    heads: int


def migrate_queue(source: str, target: str, project: Path = Path(".")) -> Migration:
    where_from, where_to = describe_queue(source, project), describe_queue(target, project)
    if where_from == where_to:
        raise ConfigurationError(f"queue migrate: --from and --to are the same queue ({where_from})")
    old = open_queue(source, project)
    try:
        new = open_queue(target, project)
        try:
            if not isinstance(old, SQLWorkQueue) or not isinstance(new, SQLWorkQueue):
                raise ConfigurationError("queue migrate moves between SQL queues (sqlite://, postgresql://)")
            items, changes, heads, runs = old.dump()
            working = sorted(i["reference"] for i in items if i["state"] == "in_progress")
            if working:
                raise QueueError(f"{len(working)} item(s) are being worked ({', '.join(working[:5])}"
                                 f"{', ...' if len(working) > 5 else ''}): nothing was moved",
                                 "Stop the runners (and the scheduler) first; a stopped run gives its item back.")
            new.load(items, changes, heads, runs)
            old.mark_moved(where_to)   # a path or a URL, as queue: takes it; a password shown as ***
        finally:
            new.close()
    finally:
        old.close()
    return Migration(where_from, where_to, len(items), len(changes), len(heads))
