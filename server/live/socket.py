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
  although nothing reads them again: they are let go once the socket is accepted, and the
  request's headers (kept by the `websockets` parser) and the scope's are emptied (about
  2.5 KiB a page, measured with tracemalloc at 1,000 pages).

The HTTP protocol that reads a page's opening request and hands the connection to the socket
(uvicorn's httptools one, `LeanHttpProtocol` here) is let go at once: its request parser and it
refer to each other, so it used to wait, with its buffers, for the next cyclic collection.

Keepalive pings are spread out: each page's first ping comes at a random point of the interval
and later ones a random quarter of it early or late. Pages that connect together (the start of
a day, everyone reconnecting after a restart) would otherwise be pinged together at every
interval for the rest of the day, a burst of thousands of writes that may fall on a boundary.
The pings wait on one timer per event loop (`Pings`), not one per page.

The app sees the same ASGI messages, and one more thing in the scope: the ASGI extension
`companion.websocket.frames`, whose `write` takes whole text frames that were encoded once for
every page (`text_frame`) and writes them in one go, when the socket is open and not pushing
back; otherwise it declines and the page sends through ASGI as usual. A socket that negotiated
compression is not given it (its frames are compressed one socket at a time). A boundary that
moves 5,000 pages then costs one system call per page, not a UTF-8 encoding, a frame and a join
per message per page. `COMPANION_WS_IMPL=websockets-sansio` runs
uvicorn's protocol unchanged, for comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from server.patched import require

require(
    "uvicorn",
    "0.54",
    "server/live/socket.py",
    {
        HttpToolsProtocol: (
            "connection_made",
            "connection_lost",
            "on_message_begin",
            "on_headers_complete",
            "handle_websocket_upgrade",
            "data_received",
        ),
        WebSocketsSansIOProtocol: (
            "start_keepalive",
            "schedule_ping",
            "stop_keepalive",
            "send_keepalive_ping",
            "handle_connect",
            "send",
            "connection_lost",
        ),
    },
    "subclasses its httptools and sans-I/O WebSocket protocols (header timeouts, per-address "
    "limits, lean sockets, whole frames)",
)

log = logging.getLogger("companion.live")
FRAMES = "companion.websocket.frames"  # the ASGI extension: {"write": write_frames}


def text_frame(text: str) -> bytes:
    """`text` as one whole, unmasked WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = b"\x81\x7e" + n.to_bytes(2, "big")
    else:
        head = b"\x81\x7f" + n.to_bytes(8, "big")
    return head + payload


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


PING_TICK = 0.1  # seconds: pings due within the same tenth of a second are sent together


class Pings:
    """The next keepalive ping of every open socket of an event loop, on one timer. A timer of
    its own (uvloop's handle and its libuv timer) held about 480 bytes for each open page all
    day (tracemalloc, 1,000 pages); here a page is an entry in the set of the tick it is due
    at. Pages stay spread over the interval (their due times are random), a tick's few pages
    are pinged in one callback, and a loop with no sockets waiting for a ping has no timer."""

    _loops: ClassVar[dict[int, Pings]] = {}  # by id(loop): one per running loop

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[int, set[LeanWebSocketProtocol]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed: int | None = None  # the tick the timer is set for

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Pings:
        pings = cls._loops.get(id(loop))
        if pings is None or pings.loop is not loop:
            pings = cls._loops[id(loop)] = cls(loop)
        return pings

    def add(self, proto: LeanWebSocketProtocol, delay: float) -> int:
        """Ping `proto` in `delay` seconds (rounded up to a tick); returns that tick."""
        tick = math.ceil((self.loop.time() + delay) / PING_TICK)
        self.due.setdefault(tick, set()).add(proto)
        if self._armed is None or tick < self._armed:
            self._arm(tick)
        return tick

    def forget(self, proto: LeanWebSocketProtocol, tick: int) -> None:
        bucket = self.due.get(tick)
        if bucket is not None:
            bucket.discard(proto)
            if not bucket:
                del self.due[tick]
        if not self.due:
            self._idle()

    def _arm(self, tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = tick
        self._timer = self.loop.call_at(tick * PING_TICK, self._fire)

    def _idle(self) -> None:
        """No socket waits for a ping: no timer, and the loop's entry goes."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed = None
        if Pings._loops.get(id(self.loop)) is self:
            del Pings._loops[id(self.loop)]

    def _fire(self) -> None:
        self._timer = self._armed = None
        now = (self.loop.time() + 0.001) / PING_TICK  # a timer may fire a moment early
        for tick in sorted(t for t in self.due if t <= now):
            for proto in self.due.pop(tick):
                try:
                    proto.ping_now()
                except Exception:  # one socket's failure must not cost the others their pings
                    log.exception("keepalive ping failed; closing that socket")
                    with contextlib.suppress(Exception):
                        proto.transport.close()
        if not self.due:
            self._idle()
        elif self._armed is None or min(self.due) < self._armed:
            self._arm(min(self.due))


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol holding less per open socket (see above)."""

    # The tick of its next keepalive ping (`Pings`), if any; the address it counts against.
    __slots__ = ("_ping_due", "address")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ping_due: int | None = None
        self.address: str | None = None
        super().__init__(*args, **kwargs)
        self.queue: Any = Inbox()
        writable = Flag()
        writable.set()
        self.writable: Any = writable

    def start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self._ping_in(self.ping_interval * random.uniform(0.05, 1.0))

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        self._ping_in(
            max(0.0, self.ping_interval * random.uniform(0.75, 1.25) - self.last_ping_rtt)
        )

    def _ping_in(self, delay: float) -> None:
        pings = Pings.of(self.loop)
        if self._ping_due is not None:
            pings.forget(self, self._ping_due)
        self._ping_due = pings.add(self, delay)

    def stop_keepalive(self) -> None:
        if self._ping_due is not None:
            Pings.of(self.loop).forget(self, self._ping_due)
            self._ping_due = None
        super().stop_keepalive()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.address is not None:
            LIMITS.release(self.address)
            self.address = None
        super().connection_lost(exc)

    def ping_now(self) -> None:
        """Its tick came (`Pings`): send the ping, whose pong schedules the next one."""
        self._ping_due = None
        self.send_keepalive_ping()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None and not self.conn.extensions:  # a compressed socket: frames differ
            scope["extensions"][FRAMES] = {"write": self.write_frames}

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The app has read what it needs of the opening request (its cookie, its origin)
            # before accepting. Its headers are emptied, not only dropped: the websockets parser
            # keeps the request for the socket's lifetime (a local of its running generator),
            # and the scope's copy of them lives as long as the app's call.
            if self.request is not None:
                self.request.headers.clear()
            headers = self.scope["headers"]
            if isinstance(headers, list):
                headers.clear()
            self.request = self.response = None  # type: ignore[assignment]

    def write_frames(self, frames: list[bytes]) -> bool:
        """Write `frames` (whole text frames from `text_frame`) now, in one go, and say so; or
        say no, writing nothing, if the socket is not open or is pushing back."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        # One buffer: uvloop writes a single one with its quickest path (a plain send).
        self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        return True


class Limits:
    """What one client may hold of the server: a request's headers (a page's socket handshake
    included) must arrive within `header_timeout` seconds of its first byte, or of the
    connection, and one address holds at most `per_address` connections at once (people behind
    one hospital's address share it: keep it well above their pages). Counted per process."""

    def __init__(self, header_timeout: float, per_address: int) -> None:
        self.header_timeout = header_timeout
        self.per_address = per_address
        self.open: dict[str, int] = {}

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            float(os.environ.get("COMPANION_HEADER_TIMEOUT", "10")),
            int(os.environ.get("COMPANION_MAX_CONNECTIONS_PER_ADDRESS", "1000")),
        )

    def admit(self, address: str) -> bool:
        n = self.open.get(address, 0)
        if n >= self.per_address:
            return False
        self.open[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.open.get(address, 0) - 1
        if n > 0:
            self.open[address] = n
        else:
            self.open.pop(address, None)


LIMITS = Limits.from_env()


def _plain(status: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close"
    return f"{head}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


REFUSED = _plain("503 Service Unavailable", "Too many connections from your address.\n")
LATE = _plain("408 Request Timeout", "The request's headers came too slowly.\n")


class LeanHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP protocol, freed as soon as it hands a page to its WebSocket, and
    holding slow or greedy clients to `LIMITS`: a request whose headers trickle in (or never
    come) is answered 408 and closed, and an address over its share of connections gets 503."""

    _address: str | None = None  # counted against LIMITS while this connection is open
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        if not LIMITS.admit(address):
            transport.write(REFUSED)
            transport.close()
            return
        self._address = address
        self._await_headers()

    def _await_headers(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(LIMITS.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(LATE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()  # each request of a kept-alive connection gets its own time

    def on_headers_complete(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._address is not None:
            LIMITS.release(self._address)
            self._address = None
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().handle_websocket_upgrade()
        socket = self.transport.get_protocol()
        if isinstance(socket, LeanWebSocketProtocol):  # the count goes with the connection
            socket.address, self._address = self._address, None
        self.parser = None  # type: ignore[assignment]  # breaks the parser <-> protocol cycle
