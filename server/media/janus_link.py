"""One connection to one Janus instance: its WebSocket API (`janus-protocol`), one session kept
alive, requests matched to their replies by transaction.

Janus answers a plugin request either at once (`success`, e.g. creating a room) or with an
`ack` and later an `event` with the same transaction (joining, publishing, subscribing); `call`
returns whichever carries the answer. Events without a transaction of ours (a publisher joined
the room, a PeerConnection came up or hung up) go to `on_event`. When the socket closes the link
is dead: every waiting request fails, `on_lost` is told, and the link tries to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

log = logging.getLogger("companion.media.janus")

PLUGIN = "janus.plugin.videoroom"
KEEPALIVE = 25.0  # seconds; Janus drops a session after 60 s of silence
TIMEOUT = 10.0  # seconds for one request
RECONNECT = 2.0  # seconds between attempts to reach a lost instance


class JanusError(RuntimeError):
    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class JanusLink:
    def __init__(
        self,
        url: str,
        secret: str,
        on_event: Callable[[JanusLink, dict[str, Any]], None],
        on_lost: Callable[[JanusLink], None],
    ) -> None:
        self.url = url
        self.name = url.removeprefix("ws://").removeprefix("janus://")
        self.secret = secret
        self.on_event = on_event
        self.on_lost = on_lost
        self.alive = False
        self.epoch = 0  # raised each time a new session starts: handles of older ones are gone
        self.session = 0
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ack_final: set[str] = set()
        self._admin = 0  # a handle of the session's own, for room requests
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._up = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self._run(), "janus-link")

    async def wait_up(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._up.wait()
        return self.alive

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self._session()
            except (OSError, websockets.WebSocketException, JanusError, TimeoutError) as e:
                if self.alive or self.epoch == 0:
                    log.warning("janus %s: %s", self.name, e)
            was = self.alive
            self._down()
            if was:
                self.on_lost(self)
            await asyncio.sleep(RECONNECT)

    async def _session(self) -> None:
        url = self.url if self.url.startswith("ws") else "ws://" + self.name
        async with websockets.connect(
            url, subprotocols=[websockets.Subprotocol("janus-protocol")], max_size=2**22
        ) as ws:
            self._ws = ws
            reader = asyncio.create_task(self._read(ws), name="janus-read")
            try:
                reply = await self._send({"janus": "create"})
                self.session = int(reply["data"]["id"])
                self._admin = await self.attach()
                self.epoch += 1
                self.alive = True
                self._up.set()
                log.info("janus %s: session %s", self.name, self.session)
                while True:
                    done, _ = await asyncio.wait([reader], timeout=KEEPALIVE)
                    if done:
                        return
                    await self._send({"janus": "keepalive", "session_id": self.session})
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    def _down(self) -> None:
        self.alive = False
        self._up.clear()
        self._ws = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(JanusError(f"lost the connection to Janus at {self.name}"))
        self._pending.clear()

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            kind = msg.get("janus")
            tx = str(msg.get("transaction", ""))
            fut = self._pending.get(tx)
            if fut is not None and (kind != "ack" or tx in self._ack_final):
                self._pending.pop(tx, None)
                if not fut.done():
                    fut.set_result(msg)
                continue
            if kind not in ("ack", "success"):
                with contextlib.suppress(Exception):
                    self.on_event(self, msg)

    async def _send(self, msg: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise JanusError(f"no connection to Janus at {self.name}")
        tx = f"t{next(self._ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[tx] = fut
        if msg.get("janus") == "keepalive":
            self._ack_final.add(tx)  # a keepalive is answered with an ack and nothing more
        try:
            await ws.send(json.dumps({**msg, "transaction": tx, "apisecret": self.secret}))
            async with asyncio.timeout(timeout):
                reply = await fut
        finally:
            self._pending.pop(tx, None)
            self._ack_final.discard(tx)
        if reply.get("janus") == "error":
            err = reply.get("error") or {}
            raise JanusError(str(err.get("reason", "Janus refused")), int(err.get("code", 0)))
        return reply

    # --- requests ----------------------------------------------------------------------------

    async def attach(self) -> int:
        reply = await self._send({"janus": "attach", "plugin": PLUGIN, "session_id": self.session})
        return int(reply["data"]["id"])

    async def detach(self, handle: int) -> None:
        if not self.alive:
            return
        with contextlib.suppress(JanusError, TimeoutError):
            await self._send(
                {"janus": "detach", "session_id": self.session, "handle_id": handle}, timeout=3
            )

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A VideoRoom request on `handle`: its reply data and any jsep. A plugin-level error
        (`error_code`) raises JanusError with its code."""
        msg: dict[str, Any] = {
            "janus": "message",
            "session_id": self.session,
            "handle_id": handle,
            "body": body,
        }
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self._send(msg)
        data = (reply.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusError(str(data.get("error", "VideoRoom refused")), int(data["error_code"]))
        return data, reply.get("jsep")

    async def room(self, body: dict[str, Any]) -> dict[str, Any]:
        """A room-level request (create, destroy, listparticipants…), answered at once."""
        data, _ = await self.message(self._admin, body)
        return data
