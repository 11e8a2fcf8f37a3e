"""The event log: a small interface (base.py) with an embedded SQLite adapter and a Redis
adapter, chosen by URL."""

from __future__ import annotations

from pathlib import Path

from server.store.base import EventStore, SeqConflict, StoreBusy, StoreError, StoreUnavailable

__all__ = [
    "EventStore",
    "SeqConflict",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]


def open_store(url: str) -> EventStore:
    """The store for a URL: `sqlite:///path/to/file.db` or `redis://host:port/db`."""
    if url.startswith("sqlite:///"):
        from server.store.sqlite import SQLiteStore

        return SQLiteStore(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("redis://", "rediss://", "unix://")):
        from server.store.redis import RedisStore

        return RedisStore(url)
    raise ValueError(f"unknown store URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
