"""Snapshots of the course state, so that a start need not replay the whole log.

A snapshot is the state the log's first `seq` events make (and the course time they reached),
kept in the store beside the log. It is only a shortcut: the log stays the truth, and a start
that finds no snapshot it can trust replays the log from the start, as it always could.

It is trusted only if all of these hold:

- it was made by this version of the rules: the version is a digest of the domain's sources
  (server/domain, what `apply` is) and of Python's, so any change to how events are applied
  makes older snapshots be ignored (and a new one is written);
- it carries a MAC made with a key derived from the server's secret: the state is stored as a
  pickle, and only the servers of this course, which hold the secret, can make one that is
  read back (anyone who can write the store, but not the secret, cannot make it run code);
- it is not ahead of the log (a log cleared or replaced under it).

An erasure deletes the snapshot in the same step that rewrites the log, and a snapshot taken
before an erasure is refused by the store (server/store), so no erased data outlives the log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from server.domain.agenda import Schedule
from server.domain.course_state import CourseState, replay
from server.domain.events import Event
from server.domain.rehearsal import course_time_reached
from server.store import EventStore

log = logging.getLogger("companion.course")

DOMAIN = Path(__file__).resolve().parent.parent / "domain"
MAGIC = b"companion-snapshot/1\n"
MAC_BYTES = 32


@cache
def rules_version() -> str:
    """A digest of what makes a state from the log: the domain's sources and Python's version."""
    return sources_digest(DOMAIN)


def sources_digest(folder: Path) -> str:
    h = hashlib.sha256(sys.version.encode())
    for path in sorted(folder.rglob("*.py")):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def snapshot_key(secret: str) -> bytes:
    """The key snapshots are signed with, derived from the server's secret (never the secret)."""
    return hmac.new(secret.encode(), b"companion: course state snapshots", "sha256").digest()


@dataclass(frozen=True)
class Snapshot:
    state: CourseState
    reached: datetime | None  # the last course time the log had reached at `state.seq`
    jumped: Event | None = None  # the last rehearsal clock move up to then (clocks follow it)

    @property
    def seq(self) -> int:
        return self.state.seq


def encode(snapshot: Snapshot, key: bytes, version: str | None = None) -> bytes:
    """The stored form: a header with the rules' version, the MAC, then the compressed pickle."""
    held = (snapshot.state, snapshot.reached, snapshot.jumped)
    body = zlib.compress(pickle.dumps(held, protocol=5), 1)
    head = MAGIC + (version or rules_version()).encode() + b"\n"
    mac = hmac.new(key, head + body, "sha256").digest()
    return head + mac + body


def after(events: Sequence[Event], base: Schedule) -> Snapshot:
    """The snapshot of a log's first events (`events`, from its first): what a server keeps."""
    jumped = next((e for e in reversed(events) if e.type == "clock.jumped"), None)
    return Snapshot(replay(list(events)), course_time_reached((e.at for e in events), base), jumped)


class Unusable(Exception):
    """Why a stored snapshot is not used (the log is replayed instead)."""


def decode(blob: bytes, key: bytes, seq: int) -> Snapshot:
    """The snapshot stored for `seq`, checked; raises Unusable saying why not."""
    if not blob.startswith(MAGIC):
        raise Unusable("not a snapshot this server writes")
    newline = blob.find(b"\n", len(MAGIC))
    if newline < 0:
        raise Unusable("its header is cut short")
    head, rest = blob[: newline + 1], blob[newline + 1 :]
    if head[len(MAGIC) : -1].decode(errors="replace") != rules_version():
        raise Unusable("it was made by another version of the rules")
    mac, body = rest[:MAC_BYTES], rest[MAC_BYTES:]
    if not hmac.compare_digest(mac, hmac.new(key, head + body, "sha256").digest()):
        raise Unusable("its signature does not match this server's secret")
    state, reached, jumped = pickle.loads(zlib.decompress(body))  # signed by the secret's holder
    if not isinstance(state, CourseState) or state.seq != seq:
        raise Unusable("it does not hold the state it is stored as")
    return Snapshot(state, reached, jumped)


async def trusted(store: EventStore, course: str, key: bytes | None) -> Snapshot | None:
    """The snapshot kept beside `course`'s log, if it can be trusted with `key` (None: the log
    is to be replayed from its start, as it always can be)."""
    if key is None:
        return None
    try:
        found = await store.load_snapshot(course)
        if found is None:
            return None
        snap = decode(found[1], key, found[0])
    except Exception as e:  # Unusable says why; anything else is a snapshot gone bad
        log.info("the snapshot kept beside the log is not used (%s): replaying the log", e)
        return None
    log.info("starting from the snapshot at event %d", snap.seq)
    return snap
