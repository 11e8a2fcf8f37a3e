"""The WebSocket endpoint: one per page. Thin: it checks Origin, joins the viewer's audiences,
answers clock pings, and leaves everything else to the course service."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.course import AGENDA, CourseService
from server.live.hub import Connection

MAX_MESSAGE = 16 * 1024


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
    await ws.accept()
    conn = Connection(ws.send_text, [AGENDA], service.snapshot)
    service.hub.join(conn)
    writer = asyncio.create_task(conn.run())
    try:
        while True:
            text = await ws.receive_text()
            reply = handle(service, text)
            if reply:
                conn.offer(reply)
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.leave(conn)
        conn.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def handle(service: CourseService, text: str) -> str | None:
    """The reply to one client message, if any. Bad messages get a clear error, never a crash."""
    if len(text) > MAX_MESSAGE:
        return error(f"Message too large ({len(text)} characters; the limit is {MAX_MESSAGE}).")
    try:
        msg = json.loads(text)
    except json.JSONDecodeError:
        return error("Message is not valid JSON.")
    if not isinstance(msg, dict):
        return error("Message must be a JSON object.")
    kind = msg.get("type")
    if kind == "clock":
        t0 = msg.get("t0")
        if not isinstance(t0, int | float) or isinstance(t0, bool):
            return error("A clock ping needs a number t0.")
        return service.clock_message(float(t0))
    return error(f"Unknown message type {kind!r}.")
