"""The live socket as the product serves it (uvicorn with server/live/socket.py), over loopback."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from datetime import UTC, datetime

import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from server.config import Settings
from server.live import hub
from server.live.keys import AGENDA
from server.live.socket import Flag, Inbox, LeanWebSocketProtocol, text_frame
from server.service.clock import RehearsalClock
from server.web.app import create_app
from tests.media_peers import served

BIG = 256 * 1024  # one message; MESSAGES of them overflow every buffer between server and page
MESSAGES = 96


def app_in(tmp_path):
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'log.db'}",
        secret="test-secret",
        clock=RehearsalClock(datetime(2026, 5, 13, 13, 0, tzinfo=UTC), 1.0),
        media=False,
        recordings_dir=tmp_path / "recordings",
    )
    return create_app(settings)


async def receive_until(ws, needle: str, limit: float = 20) -> str:
    deadline = time.monotonic() + limit
    while True:
        msg = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        if needle in msg:
            return str(msg)


class StalledPage:
    """A page on a socket with a tiny receive buffer that reads only when told to: its network
    has stalled. WebSocket frames are parsed with the `websockets` library's sans-I/O client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = ClientProtocol(parse_uri(url), max_size=None)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        uri = parse_uri(self.url)
        await loop.sock_connect(self.sock, (uri.host, uri.port))
        self.client.send_request(self.client.connect())
        await self._flush()

    async def _flush(self) -> None:
        for data in self.client.data_to_send():
            if data:
                await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def read_until(self, needle: str, limit: float = 30) -> None:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + limit
        while True:
            data = await asyncio.wait_for(
                loop.sock_recv(self.sock, 1 << 16), max(0.1, deadline - time.monotonic())
            )
            assert data, "the server closed the stalled page"
            self.client.receive_data(data)
            await self._flush()  # answer pings
            for event in self.client.events_received():
                text = isinstance(event, Frame) and event.opcode is Opcode.TEXT
                if text and needle in event.data.decode():
                    return

    def close(self) -> None:
        self.sock.close()


def open_protocol() -> LeanWebSocketProtocol:
    """The server's one open socket (earlier tests' closed ones may still wait to be freed)."""
    gc.collect()
    (proto,) = [
        o
        for o in gc.get_objects()
        if type(o) is LeanWebSocketProtocol
        and getattr(o, "transport", None) is not None
        and not o.transport.is_closing()
    ]
    return proto


async def test_a_page_that_stops_reading_holds_back_only_itself_and_then_gets_a_snapshot(tmp_path):
    """A page whose network stalls fills the socket's buffers: the server stops writing to it
    (uvicorn pauses the transport), holds a bounded backlog for it, then replaces the backlog
    with a snapshot. The page next to it gets every message at once; the stalled page, when it
    reads again, ends with the present."""
    app = app_in(tmp_path)
    async with served(app) as url:
        ws_url = url.replace("http", "ws") + "/live"
        service = app.state.service
        fast = await websockets.connect(ws_url, max_size=2**22)
        await receive_until(fast, 'id="now"')  # the first snapshot
        slow = StalledPage(ws_url)
        await slow.open()
        await slow.read_until('id="now"')
        for i in range(MESSAGES):
            service.hub.publish(AGENDA, f"<p>m{i}</p>" + "x" * BIG)
            await asyncio.sleep(0)
        for i in range(MESSAGES):
            await receive_until(fast, f"<p>m{i}</p>")  # the page that reads gets all, in order
        stalled = [c for c in service.hub.connections if c.resyncs > 0]
        assert len(stalled) == 1, "exactly the page that stopped reading fell behind"
        assert stalled[0].waiting <= 32
        # The stalled page reads again: it ends with a snapshot of the present.
        service.hub.publish(AGENDA, "<p>after</p>")
        await slow.read_until('id="now"')
        await slow.read_until("<p>after</p>")
        slow.close()
        await fast.close()


async def test_an_open_socket_keeps_no_handshake_and_no_asyncio_queue(tmp_path):
    """What each open page costs the server: the opening request and response are let go after
    the handshake, and the inbox and write flag are the lean ones."""
    app = app_in(tmp_path)
    async with served(app) as url:
        async with websockets.connect(url.replace("http", "ws") + "/live") as ws:
            await receive_until(ws, 'id="now"')
            await ws.send('{"type": "clock", "t0": 1}')  # a message through the inbox
            await receive_until(ws, '"t0": 1')
            proto = open_protocol()
            assert proto.request is None and proto.response is None
            # No copy of the opening request's headers is left on the server's side (the
            # test's own client keeps its request and the server's response).
            assert proto.scope["headers"] == []
            client = (ws.request.headers, ws.response.headers)
            kept = [
                o
                for o in gc.get_objects()
                if isinstance(o, Headers) and len(o) and not any(o is c for c in client)
            ]
            assert kept == []
            assert isinstance(proto.queue, Inbox) and isinstance(proto.writable, Flag)
            assert not any(
                isinstance(v, asyncio.Queue | asyncio.Event) for v in vars(proto).values()
            )


async def test_inbox_gives_items_in_order_and_survives_a_cancelled_reader():
    box = Inbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    box.put_nowait(1)
    box.put_nowait(2)
    assert box.qsize() == 2 and not box.empty()
    assert [await box.get(), await box.get()] == [1, 2]
    later = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    box.put_nowait(3)
    assert await asyncio.wait_for(later, 1) == 3 and box.empty()


async def test_flag_wakes_every_waiter_and_forgets_cancelled_ones():
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    gone = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    assert flag._waiters is not None and len(flag._waiters) == 3
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True] * 3
    assert flag.is_set() and flag._waiters is None
    flag.clear()
    assert not flag.is_set()
    again = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not again.done()
    flag.set()
    assert await asyncio.wait_for(again, 1) is True


async def test_a_message_for_many_pages_is_encoded_once_and_written_whole(tmp_path, monkeypatch):
    """A message published to an audience becomes one WebSocket frame, encoded once; every page
    without compression gets those bytes in one write, and a page that asked for compression
    gets the same message through the ordinary path (its frames are compressed per socket)."""
    encoded: list[str] = []

    def counting_frame(text: str) -> bytes:
        encoded.append(text)
        return text_frame(text)

    writes: list[tuple[bool, list[bytes]]] = []
    original = LeanWebSocketProtocol.write_frames

    def recording_write(self, frames):
        done = original(self, frames)
        writes.append((done, list(frames)))
        return done

    monkeypatch.setattr(hub, "text_frame", counting_frame)
    monkeypatch.setattr(LeanWebSocketProtocol, "write_frames", recording_write)
    app = app_in(tmp_path)
    async with served(app, ws_per_message_deflate=True) as url:
        ws_url = url.replace("http", "ws") + "/live"
        plain = [await websockets.connect(ws_url, compression=None) for _ in range(3)]
        deflate = await websockets.connect(ws_url)  # offers permessage-deflate
        for ws in [*plain, deflate]:
            await receive_until(ws, 'id="now"')
        writes.clear()
        encoded.clear()
        message = "<p>everyone at once: caf\u00e9 \u2014 " + "x" * 70_000 + "</p>"
        app.state.service.hub.publish(AGENDA, message)
        for ws in [*plain, deflate]:
            assert await receive_until(ws, "everyone at once") == message
        assert encoded == [message]
        # Three writes of the same bytes; the compressed page took the ordinary path.
        assert writes == [(True, [text_frame(message)])] * 3
        for ws in [*plain, deflate]:
            await ws.close()


@pytest.mark.parametrize(
    "text",
    ["", "a" * 125, "a" * 126, "a" * 65_535, "a" * 65_536, "é" * 100_000, "caf\u00e9 \u2014"],
)
def test_text_frame_is_what_a_websocket_client_reads(text):
    """Each length encoding of RFC 6455 (7-bit, 16-bit, 64-bit), at its edges, and non-ASCII."""
    from websockets.streams import StreamReader

    reader = StreamReader()
    reader.feed_data(text_frame(text))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("the frame was not complete")
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data.decode() == text
    assert not reader.buffer  # nothing left over


def unopened_sockets(loop: asyncio.AbstractEventLoop, n: int) -> list[LeanWebSocketProtocol]:
    """`n` of the server's socket protocols on `loop` (not running), pinging every 10 s."""
    import uvicorn
    from uvicorn.server import ServerState

    async def app(scope, receive, send):  # never called
        raise AssertionError

    config = uvicorn.Config(app, ws_ping_interval=10.0)
    config.load()
    return [LeanWebSocketProtocol(config, ServerState(), {}, _loop=loop) for _ in range(n)]


def test_keepalive_pings_are_spread_over_the_interval():
    """Pages that connect together are not pinged together: the first ping falls anywhere in
    the interval, and each later one up to a quarter of it early or late; all of them wait on
    one timer, and none once the pages are gone."""
    from server.live.socket import PING_TICK, Pings

    loop = asyncio.new_event_loop()
    try:
        pages = unopened_sockets(loop, 200)

        def delays() -> list[float]:
            pings = Pings.of(loop)
            return [t * PING_TICK - loop.time() for t, due in pings.due.items() for _ in due]

        for p in pages:
            p.start_keepalive()
        first = delays()
        assert len(first) == 200
        assert all(0.4 <= d <= 10.1 for d in first) and max(first) - min(first) > 5
        for p in pages:
            p.schedule_ping()  # (as after a pong) replaces the ping that was due
        later = delays()
        assert len(later) == 200
        assert all(7.4 <= d <= 12.6 for d in later) and max(later) - min(later) > 2.5
        assert len([h for h in loop._scheduled if not h.cancelled()]) == 1  # one timer
        for p in pages:
            p.stop_keepalive()
        assert Pings.of(loop).due == {}
        assert not [h for h in loop._scheduled if not h.cancelled()]
    finally:
        loop.close()


def test_a_ping_that_fails_closes_its_socket_and_the_others_are_still_pinged():
    import time

    from server.live.socket import Pings

    loop = asyncio.new_event_loop()
    try:
        pinged: list[int] = []
        closed: list[int] = []
        pages = unopened_sockets(loop, 5)
        for i, p in enumerate(pages):

            def ping(i: int = i) -> None:
                if i == 2:
                    raise RuntimeError("the socket is closing")
                pinged.append(i)

            p.send_keepalive_ping = ping  # type: ignore[method-assign]
            p.transport = type("T", (), {"close": lambda self, i=i: closed.append(i)})()
            p._ping_in(0.0)
        time.sleep(0.25)
        Pings.of(loop)._fire()
        assert sorted(pinged) == [0, 1, 3, 4] and closed == [2]
        assert Pings.of(loop).due == {}
    finally:
        loop.close()


async def test_a_socket_is_pinged_when_its_tick_comes_and_again_after_its_pong(tmp_path):
    """The keepalive still works end to end: the server pings an idle page, the page's pong
    (sent by the client library) schedules the next ping."""
    app = app_in(tmp_path)
    async with served(app, ws_ping_interval=0.3, ws_ping_timeout=2.0) as url:
        async with websockets.connect(url.replace("http", "ws") + "/live") as ws:
            await receive_until(ws, 'id="now"')
            proto = open_protocol()
            rtts = set()
            deadline = asyncio.get_running_loop().time() + 5
            while len(rtts) < 2 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
                if proto.last_ping_rtt:
                    rtts.add(proto.last_ping_rtt)
            assert len(rtts) >= 2, "the page was not pinged twice in 5 s"
            assert proto.ping_timer is None  # no timer of its own


async def test_opening_a_page_leaves_nothing_for_the_cyclic_collector(tmp_path):
    """Pages connect by the thousand at the start of a day; what the server made to open them
    and no longer needs is freed at once (reference counts), not left for a collection pass."""
    app = app_in(tmp_path)
    async with served(app, ws_per_message_deflate=False) as url:
        ws_url = url.replace("http", "ws") + "/live"
        first = await websockets.connect(ws_url, compression=None)
        await receive_until(first, 'id="now"')
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            pages = [await websockets.connect(ws_url, compression=None) for _ in range(10)]
            for ws in pages:
                await receive_until(ws, 'id="now"')
            gc.collect()
            ours = [
                type(o).__module__ + "." + type(o).__qualname__
                for o in gc.garbage
                if type(o).__module__.startswith(("uvicorn", "httptools", "server", "starlette"))
            ]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert ours == []
        for ws in [first, *pages]:
            await ws.close()
