"""Fan-out of rendered partials to WebSocket connections, grouped by audience.

A message is rendered once per audience and published to it as one `Message`, whose WebSocket
frame is encoded once, on first use. What a step of the event loop publishes is delivered on the
next turn, together: pages that follow the same audiences get the same messages, so their frames
are joined once per set of audiences (a `Batch`) and each such page gets those bytes in one
write, where its socket takes whole frames (`server/live/socket.py`). A page that is still
writing, or whose socket does not take frames, queues the messages behind what it has, and
writes through ASGI a message at a time. Messages offered to one page (a reply, a snapshot) are
written on the next turn too. Writes usually complete without waiting, so no task is kept per
page. While a write waits on a slow socket, further messages collect in that connection's own
bounded backlog; when that overflows it is dropped and the client gets a fresh snapshot
instead, so nobody else waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from typing import Any

from server.live.socket import text_frame

QUEUE_LIMIT = 32


class Message:
    """A message sent to many pages: its text, and its WebSocket frame made on first use."""

    __slots__ = ("__weakref__", "_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text)
        return self._frame


Outgoing = str | Message


class Batch:
    """What one step published to a set of audiences, in order, and its frames joined once."""

    __slots__ = ("_frame", "messages")

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = b"".join(m.frame for m in self.messages)
        return self._frame


Send = Callable[[str], Awaitable[None]]
WriteFrames = Callable[[list[bytes]], bool]  # True if written now; False leaves it to `Send`
Close = Callable[[int], Awaitable[None]]
KICKED = 4003  # close code after a revoked link: the page must not reconnect
Snapshot = Callable[["Connection"], list[Outgoing]]

log = logging.getLogger("companion.live")


def follows(audiences: Iterable[str]) -> tuple[str, ...]:
    """A page's audiences as the hub keeps them: each once, sorted (so that the audiences two
    pages share come in the same order for both), in a tuple (a page holds it all day: a
    frozenset of five keys is 472 bytes, this tuple 80)."""
    return tuple(sorted(set(audiences)))


class _Marker:
    """A backlog entry that is not a message."""


RESYNC = _Marker()  # send a full snapshot instead of the dropped messages
KICK = _Marker()  # close the socket
_DUE = _Marker()  # a write is due on the next turn of the event loop
_BUSY = _Marker()  # a write is being driven right now, outside any task

Item = Outgoing | _Marker


def _text(message: Outgoing) -> str:
    return message.text if isinstance(message, Message) else message


def _frame(message: Outgoing) -> bytes:
    return message.frame if isinstance(message, Message) else text_frame(message)


class _Rest:
    """Await the rest of a coroutine that was started by hand and is now suspended on
    `pending`: a task can carry on a write that could not finish at once."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coro, self._pending = coro, pending

    def __await__(self) -> Generator[Any, Any, None]:
        pending, self._pending = self._pending, None
        while True:
            try:
                value = yield pending
            except BaseException as e:  # cancelled while waiting: let the coroutine see it
                try:
                    pending = self._coro.throw(e)
                except StopIteration:
                    return
            else:
                try:
                    pending = self._coro.send(value)
                except StopIteration:
                    return


async def _finish(rest: _Rest) -> None:
    await rest


class Connection:
    """One page's socket in the hub. `start()` sends the first snapshot; `stop()` ends it."""

    __slots__ = (
        "_backlog",
        "_close_socket",
        "_limit",
        "_send",
        "_snapshot",
        "_write_frames",
        "_writer",
        "audiences",
        "closed",
        "delivered",
        "person",
        "resync_disabled",
        "resyncs",
    )

    def __init__(
        self,
        send: Send,
        audiences: Iterable[str],
        snapshot: Snapshot,
        person: str | None = None,
        limit: int = QUEUE_LIMIT,
        close_socket: Close | None = None,
        write_frames: WriteFrames | None = None,
    ) -> None:
        self.audiences = follows(audiences)
        self.person = person
        self._send = send
        self._write_frames = write_frames
        self._snapshot = snapshot
        self._close_socket = close_socket
        self._limit = limit
        self._backlog: list[Item] | None = None  # only while messages wait to be written
        self._writer: asyncio.Task[None] | _Marker | None = None
        self.resyncs = 0
        self.closed = False
        self.resync_disabled = False  # set once kicked: nothing more is queued
        self.delivered: object = None  # the last step delivered to this page (`Hub._deliver`)

    @property
    def waiting(self) -> int:
        """Messages offered and not yet written."""
        return len(self._backlog) if self._backlog else 0

    def start(self) -> None:
        """The first thing a connection receives is a snapshot."""
        self.resync()

    def offer(self, message: Outgoing) -> None:
        """Queue `message` without waiting; on overflow drop the backlog for a snapshot."""
        if self.closed or self.resync_disabled:
            return
        self._push(message)

    def deliver(self, batch: Batch) -> None:
        """What a step published to this page's audiences: written now in one go if the page is
        not writing and its socket takes frames; otherwise queued and written as usual."""
        if self.closed or self.resync_disabled:
            return
        frames = self._write_frames
        if self._writer is None and not self._backlog and frames and frames([batch.frame]):
            return
        for m in batch.messages:
            self._push(m, soon=False)
        if self._writer is None:
            self._write()  # this is already the turn after the step that published

    def resync(self) -> None:
        """Replace whatever is waiting with a fresh snapshot (taken when it is written, so it
        shows the present then)."""
        if self.closed or self.resync_disabled:
            return
        if self._backlog:
            self._backlog.clear()
        self._push(RESYNC)

    def kick(self, message: Outgoing) -> None:
        """Send `message`, then close the socket for good (the person's link was revoked)."""
        if self.closed:
            return
        self.resync_disabled = True
        if self._backlog:
            self._backlog.clear()
        self._push(message)
        self._push(KICK)

    def close(self) -> None:
        """Send nothing more."""
        self.closed = True
        self._backlog = None

    async def stop(self) -> None:
        """Close, and end a write still waiting on the socket."""
        self.close()
        writer = self._writer
        if isinstance(writer, asyncio.Task):
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    def _push(self, item: Item, soon: bool = True) -> None:
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = []
        if len(backlog) >= self._limit:
            backlog.clear()
            backlog.append(RESYNC)
            self.resyncs += 1
        else:
            backlog.append(item)
        if soon and self._writer is None:
            # Written on the next turn of the event loop: whatever else this step renders and
            # offers first (a page gets its messages in one go, and a snapshot shows it all).
            self._writer = _DUE
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        """Write everything waiting as frames in one go if the socket takes them now; else
        drive the write through ASGI by hand: it usually completes without waiting, so no task
        is made. If the socket makes it wait, a task carries on from where it stopped."""
        self._writer = _BUSY
        if self._write_frames is not None and self._write_now(self._write_frames):
            self._writer = None
            return
        coro = self._drain()
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        self._writer = asyncio.get_running_loop().create_task(_finish(_Rest(coro, pending)))

    def _write_now(self, write_frames: WriteFrames) -> bool:
        """True if everything waiting was written (or nothing needs to be); False leaves the
        backlog as it was, for `_drain` (a close to send, or a socket pushing back)."""
        backlog = self._backlog
        if self.closed or not backlog:
            self._backlog = None
            return True
        if KICK in backlog:
            return False
        frames: list[bytes] = []
        for i, item in enumerate(backlog):
            if item is RESYNC:
                if RESYNC not in backlog[i + 1 :]:  # only the last snapshot is sent
                    frames += [_frame(m) for m in self._snapshot(self)]
            elif isinstance(item, str | Message):
                frames.append(_frame(item))
        if not write_frames(frames):
            return False
        self._backlog = None
        return True

    async def _drain(self) -> None:
        """Write what is waiting, including whatever is offered meanwhile. Holds nothing once
        done: a page that stays open for hours must not keep its last message alive."""
        try:
            while self._backlog and not self.closed:
                item = self._backlog.pop(0)
                if item is KICK:
                    if self._close_socket is not None:
                        await self._close_socket(KICKED)
                    self.close()
                elif item is RESYNC:
                    if RESYNC in self._backlog:
                        continue  # another snapshot follows: send only that one
                    for message in self._snapshot(self):
                        if self.closed:
                            break
                        await self._send(_text(message))
                        del message
                elif isinstance(item, str | Message):
                    await self._send(_text(item))
                del item
        except Exception as e:  # the socket is gone: its reader sees that and leaves
            log.debug("write to %s failed: %r", self.person or "a page", e)
            self.close()
        finally:
            self._writer = None
            if not self._backlog:
                self._backlog = None


class Hub:
    def __init__(self, vacated: Callable[[str], None] | None = None) -> None:
        """`vacated(audience)` is called when the last connection following it leaves."""
        self._vacated = vacated
        self._by_audience: dict[str, set[Connection]] = defaultdict(set)
        self.connections: set[Connection] = set()
        self.pages: dict[str, int] = {}  # open pages per person
        self._step: list[tuple[str, Message]] = []  # published this step, delivered on the next

    def join(self, conn: Connection) -> None:
        self.connections.add(conn)
        if conn.person is not None:
            self.pages[conn.person] = self.pages.get(conn.person, 0) + 1
        for a in conn.audiences:
            self._by_audience[a].add(conn)

    def leave(self, conn: Connection) -> None:
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        if conn.person is not None:
            left = self.pages.get(conn.person, 1) - 1
            if left > 0:
                self.pages[conn.person] = left
            else:
                self.pages.pop(conn.person, None)
        for a in conn.audiences:
            members = self._by_audience.get(a)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._by_audience[a]
                    if self._vacated is not None:
                        self._vacated(a)

    def audiences(self) -> list[str]:
        return list(self._by_audience)

    def publish(self, audience: str, message: Outgoing) -> int:
        """Send `message` to every connection in `audience`, on the next turn of the event loop
        with whatever else this step publishes; returns how many connections that is."""
        members = self._by_audience.get(audience)
        if not members:
            return 0
        if not self._step:
            asyncio.get_running_loop().call_soon(self._deliver)
        self._step.append((audience, Message(message) if isinstance(message, str) else message))
        return len(members)

    def _deliver(self) -> None:
        """Give each connection in the audiences of the last step what was published to them,
        in order: one `Batch` per set of those audiences, shared by every page that gets it (a
        page's own audiences, such as its feedback form, make most pages' sets of audiences
        differ, but not the part of them a step publishes to)."""
        step, self._step = self._step, []
        at: dict[str, list[int]] = {}  # audience -> its messages' places in the step
        for i, (audience, _) in enumerate(step):
            at.setdefault(audience, []).append(i)
        batches: dict[tuple[str, ...], Batch] = {}
        token = object()  # marks the pages this step has reached (most are in several audiences)
        for audience in at:
            for conn in list(self._by_audience.get(audience, ())):
                if conn.delivered is token:
                    continue
                conn.delivered = token
                key = tuple([a for a in conn.audiences if a in at])  # in order: `follows`
                batch = batches.get(key)
                if batch is None:
                    places = sorted([i for a in key for i in at[a]])
                    batch = batches[key] = Batch([step[i][1] for i in places])
                conn.deliver(batch)

    def broadcast(self, message: Outgoing) -> None:
        """Offer `message` to every connection."""
        shared = Message(message) if isinstance(message, str) else message
        for conn in self.connections:
            conn.offer(shared)

    def resync_all(self) -> None:
        for conn in self.connections:
            conn.resync()
