"""The load generator's pages: thousands of WebSocket clients that cost the generator little.

A page here is an `asyncio.Protocol` that does the RFC 6455 opening handshake itself, then reads
the server's frames as they arrive and notes the time at which a whole message containing a
given needle has arrived. Nothing else happens per message (no UTF-8 decoding, no coroutine
woken, no timer per read), so with thousands of pages on the same two cores as the server, the
delays measured are the server's and not the generator's. The same pages measure our server and
the baseline, so both are timed alike.

Server frames are unmasked (RFC 6455 §5.1); neither server fragments messages or compresses
them (no extension is offered), and a page that sees either reports it as an error.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Iterable

OPCODE_TEXT = 0x1
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9


class ProtocolError(Exception):
    pass


class Page(asyncio.Protocol):
    """One open page. `opened` resolves when the server accepted the socket; `arm(needle)`
    returns a future that resolves with the wall time (time.time()) at which a message
    containing `needle` was complete, and the bytes received since `arm` up to the end of the
    read that completed it (what the server wrote for that moment, frame headers included)."""

    def __init__(self, path: str, host: str, headers: dict[str, str] | None = None) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self._buffer = bytearray()
        self._handshaken = False
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.last = time.monotonic()  # when a message last arrived (pings do not count)
        self.messages = 0
        self._needle: bytes | None = None
        self._found: asyncio.Future[tuple[float, int]] | None = None
        self._since = 0  # bytes received since `arm`
        self._at: float | None = None  # when the needle's message was complete, in this read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        self._since += len(data)
        if not self._handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end]).split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self._fail(ProtocolError(f"handshake refused: {status.decode(errors='replace')}"))
                return
            self._handshaken = True
            del buf[: end + 4]
            self.opened.set_result(None)
        self._frames()
        if self._at is not None and self._found is not None and not self._found.done():
            self._found.set_result((self._at, self._since))

    def _frames(self) -> None:
        buf = self._buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length, start = b1 & 0x7F, 2
            if b1 & 0x80 or b0 & 0x70 or not b0 & 0x80:
                self._fail(
                    ProtocolError(
                        f"unexpected frame header {b0:#x} {b1:#x} (masked, "
                        "compressed or fragmented)"
                    )
                )
                return
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = int.from_bytes(buf[2:10], "big"), 10
            end = start + length
            if len(buf) < end:
                return
            opcode = b0 & 0x0F
            if opcode == OPCODE_TEXT:
                self.last = time.monotonic()
                self.messages += 1
                found = self._found
                needle = self._needle
                if (
                    found is not None
                    and not found.done()
                    and needle is not None
                    and self._at is None
                    and buf.find(needle, start, end) >= 0
                ):
                    self._at = time.time()
            elif opcode == OPCODE_CLOSE:
                self._fail(ProtocolError("the server closed the socket"))
                return
            elif opcode == OPCODE_PING and self.transport is not None:
                # A pong is masked (client to server); a zero mask leaves the bytes as they are.
                payload = bytes(buf[start:end])
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            del buf[:end]

    def arm(self, needle: str) -> asyncio.Future[tuple[float, int]]:
        self._needle = needle.encode()
        self._since, self._at = 0, None
        self._found = asyncio.get_running_loop().create_future()
        return self._found

    def _fail(self, e: Exception) -> None:
        for f in (self.opened, self._found):
            if f is not None and not f.done():
                f.set_exception(e)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ProtocolError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_pages(
    host: str, port: int, path: str, headers: Iterable[dict[str, str] | None], batch: int = 200
) -> list[Page]:
    """Open a page per entry of `headers`, `batch` at a time so the accept queue is not flooded."""
    loop = asyncio.get_running_loop()
    pages: list[Page] = []
    pending = list(headers)
    for i in range(0, len(pending), batch):
        made = [Page(path, f"{host}:{port}", h) for h in pending[i : i + batch]]
        await asyncio.gather(*(loop.create_connection(lambda p=p: p, host, port) for p in made))
        await asyncio.wait_for(asyncio.gather(*(p.opened for p in made)), 60)
        pages += made
    return pages


async def quiet(pages: list[Page], seconds: float, timeout: float = 120) -> None:
    """Wait until no page has received a message for `seconds`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = max((p.last for p in pages), default=0.0)
        idle = time.monotonic() - latest
        if idle >= seconds:
            return
        await asyncio.sleep(seconds - idle)
    raise TimeoutError(f"pages still receiving after {timeout} s")


async def close_pages(pages: list[Page]) -> None:
    for p in pages:
        p.close()
    await asyncio.wait([asyncio.ensure_future(p.closed) for p in pages], timeout=10)


async def heard(pages: list[Page], before: list[int], timeout: float = 60) -> None:
    """Wait until every page has received a message since it had received `before` of them."""
    deadline = time.monotonic() + timeout
    while any(p.messages <= b for p, b in zip(pages, before, strict=True)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"some pages heard nothing new in {timeout} s")
        await asyncio.sleep(0.05)
