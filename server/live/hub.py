"""Fan-out of rendered partials to WebSocket connections, grouped by audience.

A message is rendered once per audience and the same string is offered to every connection in
it. Each connection has its own bounded queue and writer task: a client that stops reading fills
only its own queue; when that overflows, the queue is dropped and the client gets a fresh
snapshot instead, so nobody else waits for it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

QUEUE_LIMIT = 32

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]
KICKED = 4003  # close code after a revoked link: the page must not reconnect
Snapshot = Callable[["Connection"], list[str]]


class _Resync:
    """Queue marker: send a full snapshot instead of the dropped messages."""


RESYNC = _Resync()
KICK = _Resync()  # marker: close the socket


class Connection:
    def __init__(
        self,
        send: Send,
        audiences: Iterable[str],
        snapshot: Snapshot,
        person: str | None = None,
        limit: int = QUEUE_LIMIT,
        close_socket: Close | None = None,
    ) -> None:
        self.audiences = frozenset(audiences)
        self.person = person
        self._send = send
        self._snapshot = snapshot
        self._close_socket = close_socket
        self._queue: asyncio.Queue[str | _Resync | None] = asyncio.Queue(maxsize=limit)
        self.resyncs = 0
        self.closed = False
        self.resync_disabled = False  # set once kicked: nothing more is queued

    def offer(self, message: str) -> None:
        """Queue a message without waiting; on overflow drop the backlog for a snapshot."""
        if self.closed or self.resync_disabled:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(RESYNC)
            self.resyncs += 1

    def resync(self) -> None:
        """Replace whatever is queued with a fresh snapshot."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(RESYNC)

    async def run(self) -> None:
        """Write queued messages until the socket fails or close() is called."""
        self._queue.put_nowait(RESYNC)  # the first thing a connection receives is a snapshot
        try:
            while not self.closed:
                item = await self._queue.get()
                if item is None:
                    break
                if item is KICK:
                    if self._close_socket is not None:
                        await self._close_socket(KICKED)
                    break
                if isinstance(item, _Resync):
                    for message in self._snapshot(self):
                        await self._send(message)
                    del message
                else:
                    await self._send(item)
                # Hold nothing while waiting: a page that stays open for hours must not keep
                # its last message alive (a snapshot is tens of KiB per page).
                del item
        finally:
            self.closed = True

    def kick(self, message: str) -> None:
        """Send `message`, then close the socket for good (the person's link was revoked)."""
        self.resync_disabled = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(message)
        self._queue.put_nowait(KICK)

    def close(self) -> None:
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        self._by_audience: dict[str, set[Connection]] = defaultdict(set)
        self.connections: set[Connection] = set()

    def join(self, conn: Connection) -> None:
        self.connections.add(conn)
        for a in conn.audiences:
            self._by_audience[a].add(conn)

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for a in conn.audiences:
            members = self._by_audience.get(a)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._by_audience[a]

    def audiences(self) -> list[str]:
        return list(self._by_audience)

    def publish(self, audience: str, message: str) -> int:
        """Offer `message` to every connection in `audience`; returns how many."""
        members = self._by_audience.get(audience, ())
        for conn in members:
            conn.offer(message)
        return len(members)

    def resync_all(self) -> None:
        for conn in self.connections:
            conn.resync()
