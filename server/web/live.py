"""The live socket: one per page. Thin: it checks Origin, joins the viewer's audiences,
answers clock pings, and leaves everything else to the course service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.access.sessions import AmbiguousSession, session_actor, session_cookie
from server.domain.people_rules import Connect, Disconnect
from server.domain.roles import Actor
from server.live.audiences import audiences_for
from server.live.hub import Connection
from server.live.socket import FRAMES
from server.service.course import CourseService
from server.web.rate import RateLimit

log = logging.getLogger("companion.live")

LIVE_PATH = "/live"
MAX_MESSAGE = 64 * 1024  # an SDP offer with many slots fits
# Pages one person may have open at once (in this process): tabs, a phone and a laptop fit.
MAX_PAGES = int(os.environ.get("COMPANION_MAX_PAGES_PER_PERSON", "12"))
TOO_MANY_PAGES = 4008  # a close code htmx does not reconnect on


def same_origin(origin: str | None, host: str | None) -> bool:
    """Browsers always send Origin on a WebSocket; a page from another site may not connect."""
    if origin is None:
        return True  # not a browser (a test client or a load generator)
    return urlsplit(origin).netloc == (host or "")


def error(message: str) -> str:
    return json.dumps({"type": "error", "message": message})


async def live(ws: WebSocket) -> None:
    service: CourseService = ws.app.state.service
    if not same_origin(ws.headers.get("origin"), ws.headers.get("host")):
        await ws.close(code=1008, reason="cross-origin connection refused")
        return
    try:
        cookie = session_cookie(ws.scope["headers"])
    except AmbiguousSession:
        await ws.close(code=1008, reason="more than one session cookie")
        return
    actor = session_actor(service.state.people, ws.app.state.signer, cookie)
    await ws.accept()
    if actor is not None and service.hub.pages.get(actor.id, 0) >= MAX_PAGES:
        notice = f"You have {MAX_PAGES} pages of this course open; close some, then reload."
        await ws.send_text(json.dumps({"type": "closed", "message": notice}))
        await ws.close(code=TOO_MANY_PAGES, reason="too many pages open")
        return

    async def close_socket(code: int) -> None:
        with contextlib.suppress(Exception):
            await ws.close(code=code)

    frames = ws.scope.get("extensions", {}).get(FRAMES)  # whole frames, where the server can
    conn = Connection(
        ws.send_text,
        audiences_for(service.state, actor),
        service.snapshot,
        person=actor.id if actor else None,
        close_socket=close_socket,
        write_frames=frames["write"] if frames else None,
    )
    conn_id = service.connection_id()
    service.hub.join(conn)
    conn.start()
    media = getattr(ws.app.state, "media", None)
    joining: asyncio.Task[None] | None = None
    if actor is not None:
        # Recorded beside the page, not before it: while the log is away the page still works.
        opened = Connect(conn_id, at=service.clock.now())
        joining = asyncio.create_task(service.open_page(opened, actor))
        await asyncio.wait([joining], timeout=1.0)
        if media is not None:
            media.join(conn_id, actor.id, actor.role, conn.offer)
    limit = RateLimit()
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if not limit.allow():
                if limit.dropped == 1 or limit.dropped % 100 == 0:
                    conn.offer(error("Too many messages from this page; some were ignored."))
                continue
            text = message.get("text")
            msg = parse(text) if isinstance(text, str) else error(BINARY)
            if isinstance(msg, str):
                conn.offer(msg)
            elif str(msg.get("type", "")).startswith("media."):
                if media is None or actor is None:
                    conn.offer(error("Audio and video are not available on this page."))
                else:
                    await media.handle(conn_id, msg)
            else:
                try:
                    reply = handle(service, msg)
                except Exception:  # a page's message must never take its socket down
                    log.exception("live message from %s failed", actor.id if actor else "-")
                    reply = error("That message could not be handled.")
                if reply:
                    conn.offer(reply)
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.leave(conn)
        # One shielded task for all of it: a server shutting the socket's task down while the
        # page's media is being hung up must still record that the person left.
        await asyncio.shield(_leave(service, conn, conn_id, actor, media, joining))


async def _leave(
    service: CourseService,
    conn: Connection,
    conn_id: str,
    actor: Actor | None,
    media: Any,
    joining: asyncio.Task[None] | None,
) -> None:
    closed = Disconnect(conn_id, at=service.clock.now())
    if media is not None:
        await media.leave(conn_id)
    await conn.stop()
    if actor is not None:
        if joining is not None:
            await joining  # the join is recorded (or given up) before the leave
        await service.close_page(closed, actor)


BINARY = "Binary messages are not accepted; a page sends JSON text."
T0_LIMIT = 1e15  # a clock ping's t0 is the page's own clock in milliseconds: far below this


def parse(text: str) -> dict[str, Any] | str:
    """A client message as a JSON object, or the error to send back. Never a crash: too long,
    too deep, not JSON, numbers beyond what Python reads, not an object — each is an error."""
    if len(text) > MAX_MESSAGE:
        return error(f"Message too large ({len(text)} characters; the limit is {MAX_MESSAGE}).")
    try:
        msg = json.loads(text)
    except ValueError:  # JSONDecodeError, and integers of more than 4300 digits
        return error("Message is not valid JSON.")
    except RecursionError:
        return error("Message nests too deeply.")
    if not isinstance(msg, dict):
        return error("Message must be a JSON object.")
    return msg


def handle(service: CourseService, msg: dict[str, Any]) -> str | None:
    """The reply to one (non-media) client message, if any."""
    kind = msg.get("type")
    if kind == "clock":
        t0 = msg.get("t0")
        if (
            not isinstance(t0, int | float)
            or isinstance(t0, bool)
            or not -T0_LIMIT < t0 < T0_LIMIT  # also refuses NaN (never between)
        ):
            return error("A clock ping needs t0, the page's clock in milliseconds.")
        return service.clock_message(float(t0))
    return error(f"Unknown message type {kind!r}.")
