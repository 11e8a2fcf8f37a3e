"""The scale-out adapter: one Redis Stream per course, shared by every worker.

Each event is a stream entry whose ID is `<seq>-0`, so reading after a sequence number is a plain
XRANGE and tailing is XREAD from the last ID seen. Appends run as one Lua script that checks the
expected sequence number first: two workers can never both append after the same event.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.domain.events import Event, NewEvent
from server.store.base import SeqConflict, StoreUnavailable
from server.store.codec import decode, encode_at, encode_data

APPEND = """
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur ~= tonumber(ARGV[1]) then return {-1, cur} end
local n = (#ARGV - 1) / 4
for i = 0, n - 1 do
  redis.call('XADD', KEYS[1], (cur + i + 1) .. '-0',
             'type', ARGV[2 + i * 4], 'actor', ARGV[3 + i * 4],
             'at', ARGV[4 + i * 4], 'data', ARGV[5 + i * 4])
end
redis.call('SET', KEYS[2], cur + n)
return {0, cur + n}
"""

# Erasure: the stream is copied entry by entry (IDs kept) with the changed entries replaced and
# the new events added, then renamed over the old one; atomic, and refused if anyone appended.
REWRITE = """
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur ~= tonumber(ARGV[1]) then return {-1, cur} end
local m = tonumber(ARGV[2])
local changed = {}
for i = 0, m - 1 do
  changed[ARGV[3 + i * 5] .. '-0'] = 3 + i * 5
end
redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[4])  -- the state kept beside the log holds what is being erased
local copied = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local b = changed[entry[1]]
  if b then
    redis.call('XADD', KEYS[3], entry[1], 'type', ARGV[b + 1], 'actor', ARGV[b + 2],
               'at', ARGV[b + 3], 'data', ARGV[b + 4])
  else
    redis.call('XADD', KEYS[3], entry[1], unpack(entry[2]))
  end
  copied = copied + 1
end
local first = 3 + m * 5
local n = (#ARGV - first + 1) / 4
for i = 0, n - 1 do
  local b = first + i * 4
  redis.call('XADD', KEYS[3], (cur + i + 1) .. '-0', 'type', ARGV[b], 'actor', ARGV[b + 1],
             'at', ARGV[b + 2], 'data', ARGV[b + 3])
end
if copied + n > 0 then redis.call('RENAME', KEYS[3], KEYS[1]) end
redis.call('SET', KEYS[2], cur + n)
return {0, cur + n}
"""

# A snapshot of the state after event ARGV[1], kept unless the log does not reach it or an
# erasure came after it (the state would hold what was erased).
SAVE_SNAPSHOT = """
local seq = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') < seq then return 0 end
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. seq .. '-0', '+')) do
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'type' and f[i + 1] == 'person.erased' then return 0 end
  end
end
redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'state', ARGV[2])
return 1
"""

TAIL_BLOCK_MS = 5000
READ_PAGE = 5000  # events per reply when a log is read (see RedisStore.read)
log = logging.getLogger("companion.store")


def _fields(events: Sequence[NewEvent | Event]) -> list[str]:
    """Each event's stream fields, in the order the scripts read them."""
    return [f for e in events for f in (e.type, e.actor, encode_at(e.at), encode_data(e))]


def _stored(events: Sequence[NewEvent], after: int) -> list[Event]:
    """`events` as stored after sequence number `after`."""
    return [
        decode(after + n, e.type, e.actor, encode_at(e.at), encode_data(e))
        for n, e in enumerate(events, start=1)
    ]


def _beat_time(value: str | bytes) -> datetime | None:
    """A beat's course time (a worker of an earlier version beat with no time)."""
    try:
        return datetime.fromisoformat(value if isinstance(value, str) else value.decode())
    except ValueError:
        return None


def _unavailable(e: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"the course log (Redis) is unreachable ({e.__class__.__name__}: {e})")


class RedisStore:
    def __init__(self, url: str, prefix: str = "companion") -> None:
        self.url = url
        self.exclusive = False
        self.prefix = prefix
        self._redis: aioredis.Redis | None = None
        self._append: Any = None
        self._rewrite: Any = None

    def _keys(self, course: str) -> tuple[str, str]:
        return f"{self.prefix}:{course}:events", f"{self.prefix}:{course}:seq"

    async def open(self) -> None:
        self._redis = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_connect_timeout=2, health_check_interval=10
        )
        self._append = self._redis.register_script(APPEND)
        self._rewrite = self._redis.register_script(REWRITE)
        self._save_snapshot = self._redis.register_script(SAVE_SNAPSHOT)
        try:
            await self._redis.ping()
        except (RedisError, OSError) as e:
            raise _unavailable(e) from None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def beat(self, course: str, worker: str, ttl: float, at: datetime) -> None:
        key = f"{self.prefix}:{course}:worker:{worker}"
        try:
            await self.redis.set(key, at.isoformat(), px=int(ttl * 1000))
        except (RedisError, OSError) as e:
            await self._drop_connections()
            raise _unavailable(e) from None

    async def workers(self, course: str) -> dict[str, datetime | None]:
        pattern = f"{self.prefix}:{course}:worker:*"
        try:
            keys = [k async for k in self.redis.scan_iter(match=pattern, count=100)]
            beats = await self.redis.mget(keys) if keys else []
        except (RedisError, OSError) as e:
            await self._drop_connections()
            raise _unavailable(e) from None
        return {k.rsplit(":", 1)[1]: _beat_time(v) for k, v in zip(keys, beats, strict=True) if v}

    async def _drop_connections(self) -> None:
        """After a failure, pooled connections may all be dead (Redis restarted): drop them so
        the next command opens a fresh one. (Commands are not retried blindly: an append whose
        reply was lost must be re-decided on fresh state, never sent twice.)"""
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.connection_pool.disconnect()

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreUnavailable("the course log is closed")
        return self._redis

    async def append(
        self, course: str, events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]:
        if not events:
            return []
        args: list[Any] = [expected_seq, *_fields(events)]
        await self._run(self._append, list(self._keys(course)), args, expected_seq)
        return _stored(events, expected_seq)

    async def rewrite(
        self, course: str, changed: Sequence[Event], events: Sequence[NewEvent], expected_seq: int
    ) -> list[Event]:
        """Replace `changed` stored events (same seq) and append `events`, atomically, if the
        log still ends at `expected_seq`; then has Redis rewrite its files without the old."""
        stream, seq = self._keys(course)
        args: list[Any] = [expected_seq, len(changed)]
        for c in changed:
            args += [c.seq, *_fields([c])]
        args += _fields(events)
        keys = [stream, seq, f"{stream}:rewrite", self._snapshot_key(course)]
        await self._run(self._rewrite, keys, args, expected_seq)
        await self._forget_old_bytes()
        return _stored(events, expected_seq)

    async def _run(self, script: Any, keys: list[str], args: list[Any], expected: int) -> None:
        """Run an appending script; SeqConflict if the log no longer ends at `expected`."""
        try:
            status, last = await script(keys=keys, args=args)
        except (RedisError, OSError) as e:
            await self._drop_connections()
            raise _unavailable(e) from None
        if int(status) != 0:
            raise SeqConflict(expected, int(last))

    async def _forget_old_bytes(self) -> None:
        """The append-only file and the snapshot still hold the old entries: rewrite both now
        (in the background, by Redis). A managed Redis that refuses is logged, not fatal."""
        try:
            if (await self.redis.config_get("appendonly")).get("appendonly") == "yes":
                await self.redis.bgrewriteaof()
            if (await self.redis.config_get("save")).get("save"):
                with contextlib.suppress(RedisError):  # a save already running is fine
                    await self.redis.bgsave(schedule=True)
        except (RedisError, OSError) as e:
            log.warning("Redis could not be asked to rewrite its files after an erasure: %s", e)

    def _snapshot_key(self, course: str) -> str:
        return f"{self.prefix}:{course}:snapshot"

    async def save_snapshot(self, course: str, seq: int, blob: bytes) -> bool:
        """Keep `blob`, the state after event `seq`, unless an erasure came after it (then the
        state holds erased data) or the log does not reach `seq`: False then."""
        stream, last = self._keys(course)
        keys = [stream, last, self._snapshot_key(course)]
        try:  # (the connection speaks text: the state goes as base64)
            saved = await self._save_snapshot(keys=keys, args=[seq, base64.b64encode(blob)])
        except (RedisError, OSError) as e:
            await self._drop_connections()
            raise _unavailable(e) from None
        return bool(saved)

    async def load_snapshot(self, course: str) -> tuple[int, bytes] | None:
        try:
            found: Any = await self.redis.hgetall(self._snapshot_key(course))
        except (RedisError, OSError) as e:
            await self._drop_connections()
            raise _unavailable(e) from None
        if not found or "seq" not in found or "state" not in found:
            return None
        try:
            return int(found["seq"]), base64.b64decode(found["state"], validate=True)
        except ValueError:
            return None  # not one this server wrote: the log is replayed

    @staticmethod
    def _decode(entry_id: str, fields: dict[str, str]) -> Event:
        seq = int(entry_id.split("-", 1)[0])
        return decode(seq, fields["type"], fields["actor"], fields["at"], fields["data"])

    async def read(self, course: str, after_seq: int = 0) -> list[Event]:
        """The events after `after_seq`, read a page at a time: one reply of a whole course's
        log (200,000 events) takes longer to arrive than a read may wait (the client's
        socket timeout), and a page keeps each reply, and the server's work on it, small."""
        stream, _ = self._keys(course)
        out: list[Event] = []
        start = f"({after_seq}-0" if after_seq else "-"
        while True:
            try:
                rows: Any = await self.redis.xrange(stream, min=start, count=READ_PAGE)
            except (RedisError, OSError) as e:
                await self._drop_connections()
                raise _unavailable(e) from None
            out += [self._decode(i, f) for i, f in rows]
            if len(rows) < READ_PAGE:
                return out
            start = f"({rows[-1][0]}"

    async def tail(self, course: str, after_seq: int) -> AsyncIterator[Event]:
        """Every event after `after_seq`, whichever worker appended it, as it arrives."""
        stream, _ = self._keys(course)
        last = f"{after_seq}-0"
        while True:
            try:
                reply: Any = await self.redis.xread({stream: last}, block=TAIL_BLOCK_MS, count=500)
            except (RedisError, OSError) as e:
                await self._drop_connections()
                raise _unavailable(e) from None
            for _name, rows in reply or []:
                for entry_id, fields in rows:
                    last = entry_id
                    yield self._decode(entry_id, fields)
            await asyncio.sleep(0)
