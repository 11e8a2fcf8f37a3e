"""The embedded default: one SQLite file in WAL mode, written by one thread of this process.

Every append is a transaction committed with synchronous=FULL before it returns, so an
acknowledged event survives a crash of the process and of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from server.domain.events import Event, NewEvent
from server.store.base import SeqConflict, StoreUnavailable
from server.store.codec import decode, encode_at, encode_data

T = TypeVar("T")
log = logging.getLogger("companion.store")

EXTERNAL_POLL_SECONDS = 1.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    course TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    at     TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (course, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    course TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    state  BLOB NOT NULL
);
"""
ERASED = "person.erased"


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.exclusive = True
        self._db: sqlite3.Connection | None = None
        # One thread owns the connection: SQLite work never blocks the event loop.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._appended: dict[str, asyncio.Condition] = {}
        self._last: dict[str, int] = {}

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=5000")
            # Erasing a person rewrites events: the old bytes must not linger in free pages.
            db.execute("PRAGMA secure_delete=ON")
            db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise StoreUnavailable(f"cannot open the course log at {self.path}: {e}") from None
        self._db = db

    async def open(self) -> None:
        await self._run(self._connect)

    async def beat(self, course: str, worker: str, ttl: float, at: datetime) -> None:
        """One process owns this log: there is nobody to tell."""

    async def workers(self, course: str) -> dict[str, datetime | None]:
        return {}

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    def _last_seq(self, course: str) -> int:
        assert self._db is not None
        row = self._db.execute("SELECT MAX(seq) FROM events WHERE course=?", (course,)).fetchone()
        return int(row[0] or 0)

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction on the log's file, committed if the block ends well; a
        failure of SQLite's says that `what` could not be written."""
        db = self._db
        if db is None:
            raise StoreUnavailable("the course log is closed")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk): keep the first error.
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreUnavailable(f"{what} could not be written ({e})") from None

    def _append(self, course: str, events: Sequence[NewEvent], expected: int) -> list[Event]:
        return self._write(course, (), events, expected, erasure=False)

    def _write(
        self,
        course: str,
        changed: Sequence[Event],
        events: Sequence[NewEvent],
        expected: int,
        erasure: bool,
    ) -> list[Event]:
        """One transaction: if the log ends at `expected`, replace `changed` stored events (an
        `erasure`, which also deletes the snapshot kept beside the log) and append `events`."""
        with self._transaction("the course log") as db:
            actual = self._last_seq(course)
            if actual != expected:
                raise SeqConflict(expected, actual)
            if erasure:  # the state kept beside the log holds what is being erased
                db.execute("DELETE FROM snapshots WHERE course=?", (course,))
            if changed:
                db.executemany(
                    "UPDATE events SET type=?, actor=?, at=?, data=? WHERE course=? AND seq=?",
                    [
                        (e.type, e.actor, encode_at(e.at), encode_data(e), course, e.seq)
                        for e in changed
                    ],
                )
            rows = [
                (course, expected + n, e.type, e.actor, encode_at(e.at), encode_data(e))
                for n, e in enumerate(events, start=1)
            ]
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)", rows)
        return [decode(r[1], r[2], r[3], r[4], r[5]) for r in rows]

    async def append(
        self, course: str, events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]:
        if not events:
            return []
        stored: list[Event] = await self._run(self._append, course, list(events), expected_seq)
        await self._appended_to(course, stored)
        return stored

    async def _appended_to(self, course: str, stored: list[Event]) -> None:
        if not stored:
            return
        self._last[course] = stored[-1].seq
        cond = self._appended.setdefault(course, asyncio.Condition())
        async with cond:
            cond.notify_all()

    def _rewrite(
        self, course: str, changed: Sequence[Event], events: Sequence[NewEvent], expected: int
    ) -> list[Event]:
        stored = self._write(course, changed, events, expected, erasure=True)
        # The write-ahead log still holds the old pages: copy back and empty it.
        assert self._db is not None
        busy = 1
        try:
            for _ in range(50):
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    break
                time.sleep(0.1)
        except sqlite3.Error as e:
            log.warning("the write-ahead log could not be emptied after a rewrite: %s", e)
        if busy:
            log.warning(
                "another program holds the course log open: the write-ahead log keeps the "
                "pages from before the rewrite until it closes and the log is checkpointed"
            )
        return stored

    async def rewrite(
        self, course: str, changed: Sequence[Event], events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]:
        """Replace `changed` stored events (same seq) and append `events`, in one transaction,
        if the log still ends at `expected_seq`; leaves no copy of the old bytes in the files."""
        stored: list[Event] = await self._run(
            self._rewrite, course, list(changed), list(events), expected_seq
        )
        await self._appended_to(course, stored)
        return stored

    def _save_snapshot(self, course: str, seq: int, blob: bytes) -> bool:
        with self._transaction("the snapshot") as db:
            erased = db.execute(
                "SELECT 1 FROM events WHERE course=? AND seq>? AND type=? LIMIT 1",
                (course, seq, ERASED),
            ).fetchone()
            fits = not erased and self._last_seq(course) >= seq
            if fits:
                db.execute("INSERT OR REPLACE INTO snapshots VALUES (?,?,?)", (course, seq, blob))
        return fits

    async def save_snapshot(self, course: str, seq: int, blob: bytes) -> bool:
        """Keep `blob`, the state after event `seq`, unless an erasure came after it (then the
        state holds erased data) or the log does not reach `seq`: False then."""
        saved: bool = await self._run(self._save_snapshot, course, seq, blob)
        return saved

    def _load_snapshot(self, course: str) -> tuple[int, bytes] | None:
        if self._db is None:
            raise StoreUnavailable("the course log is closed")
        try:
            row = self._db.execute(
                "SELECT seq, state FROM snapshots WHERE course=?", (course,)
            ).fetchone()
        except sqlite3.Error as e:
            raise StoreUnavailable(f"the snapshot could not be read ({e})") from None
        return (int(row[0]), bytes(row[1])) if row else None

    async def load_snapshot(self, course: str) -> tuple[int, bytes] | None:
        found: tuple[int, bytes] | None = await self._run(self._load_snapshot, course)
        return found

    def _read(self, course: str, after: int) -> list[Event]:
        if self._db is None:
            raise StoreUnavailable("the course log is closed")
        try:
            rows = self._db.execute(
                "SELECT seq, type, actor, at, data FROM events WHERE course=? AND seq>? "
                "ORDER BY seq",
                (course, after),
            ).fetchall()
        except sqlite3.Error as e:
            raise StoreUnavailable(f"the course log could not be read ({e})") from None
        return [decode(*r) for r in rows]

    async def read(self, course: str, after_seq: int = 0) -> list[Event]:
        events: list[Event] = await self._run(self._read, course, after_seq)
        return events

    async def tail(self, course: str, after_seq: int) -> AsyncIterator[Event]:
        """Events appended to the course, as they come. Appends through this object arrive at
        once; appends by other processes on the same file within a second. (Several servers
        share a course through the Redis store.)"""
        cond = self._appended.setdefault(course, asyncio.Condition())
        seen = after_seq
        while True:
            for e in await self.read(course, seen):
                seen = e.seq
                yield e
            # Woken at once by appends through this object; every second, look for appends
            # by another process on the same file (the command line importing a roster).
            async with cond:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(EXTERNAL_POLL_SECONDS):
                        await cond.wait()
