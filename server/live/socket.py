"""The server side of a page's WebSocket, as lean as an all-day connection should be.

Every page keeps one socket open for the whole course day, so what the server holds per socket
is multiplied by everyone on the course. uvicorn's sans-I/O protocol (on the `websockets`
library) is used as it is, with three things it holds for the socket's lifetime made smaller
(measured with tracemalloc at 500 pages, about 5 KiB of each page's 25):

- its inbox of received messages was an `asyncio.Queue` (four deques of ~380 bytes each, though
  a page sends a message a minute at most): now a list and one waiter;
- its "the socket can be written" flag was an `asyncio.Event` (another deque): now a flag with a
  list of waiters made only while someone waits;
- the opening request and the 101 response, with their headers, were kept after the handshake
  although nothing reads them again: they are let go once the socket is accepted.

The app sees the same ASGI messages. `COMPANION_WS_IMPL=websockets-sansio` runs uvicorn's
protocol unchanged, for comparison.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class Inbox:
    """What `asyncio.Queue` does for one reader: `put_nowait`, `get`, `empty`."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """What `asyncio.Event` does: `set`, `clear`, `is_set`, `wait`; waiters only while waiting."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for w in waiters or ():
            if not w.done():
                w.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol holding less per open socket (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Any = Inbox()
        writable = Flag()
        writable.set()
        self.writable: Any = writable

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]
