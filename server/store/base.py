"""The event log's interface: what every store does, and the errors it raises.

append(course, events, expected_seq) -> stored events    (optimistic concurrency)
read(course, after_seq=0)            -> events after a sequence number
rewrite(course, changed, events, expected_seq) -> erasure: replace stored events, then append
tail(course, after_seq)              -> async iterator of events as they are appended
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from server.domain.events import Event, NewEvent


class StoreError(Exception):
    """The log could not be read or written. The message is fit to show to a user."""


class StoreUnavailable(StoreError):
    pass


class StoreBusy(StoreError):
    """Others kept appending first, however often we tried: worth trying again in a moment."""


class SeqConflict(StoreError):
    """Someone else appended first: the caller's view of the log is stale."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected the log to end at {expected}, it ends at {actual}")
        self.expected = expected
        self.actual = actual


class EventStore(Protocol):
    url: str
    exclusive: bool  # True when one process owns the log (SQLite); False when shared (Redis)

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def append(
        self, course: str, events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]: ...
    async def read(self, course: str, after_seq: int = 0) -> list[Event]: ...
    # Erasure only: replace stored events (same seq) and append, atomically, leaving no copy
    # of the old bytes in the store's files.
    async def rewrite(
        self, course: str, changed: Sequence[Event], events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]: ...
    def tail(self, course: str, after_seq: int) -> AsyncIterator[Event]: ...
    # The state after event `seq`, kept beside the log (server/service/snapshots.py); refused
    # (False) if the log does not reach `seq` or an erasure came after it. An erasure's
    # rewrite deletes it in the same step.
    async def save_snapshot(self, course: str, seq: int, blob: bytes) -> bool: ...
    async def load_snapshot(self, course: str) -> tuple[int, bytes] | None: ...
    # Worker liveness, for a shared log: each worker beats with its course time, lasting `ttl`
    # seconds; `workers` gives those beating and when each last beat. A worker whose beat lapsed
    # is gone, and its pages' presence is closed by the others.
    async def beat(self, course: str, worker: str, ttl: float, at: datetime) -> None: ...
    async def workers(self, course: str) -> dict[str, datetime | None]: ...
