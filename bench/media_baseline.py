"""The baseline for the media benchmark: the usual aiortc recipe, `MediaRelay`, behind the same
signaling as the course (media.offer / media.answer over a WebSocket at /live). The first page
that sends video is the publisher; every other page receives it through `relay.subscribe`, so
each viewer's sender runs its own encoder.

    python -m bench.media_baseline PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiosdp
from aiortc.contrib.media import MediaRelay
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.media.ice import configure
from server.media.settings import IceSettings

ICE = IceSettings(addresses=("127.0.0.1",))
configure(ICE)
relay = MediaRelay()
published: dict[str, Any] = {}
ready = asyncio.Event()


async def live(ws: WebSocket) -> None:
    await ws.accept()
    pc = RTCPeerConnection(ICE.configuration())

    @pc.on("track")
    def on_track(track: Any) -> None:
        if track.kind == "video" and "video" not in published:
            published["video"] = track
            ready.set()

    try:
        while True:
            msg = json.loads(await ws.receive_text())
            if msg.get("type") != "media.offer":
                continue
            offer = aiosdp.SessionDescription.parse(msg["sdp"])
            receiving = [m for m in offer.media if m.direction == "recvonly" and m.kind == "video"]
            if receiving:
                await ready.wait()
            for m in offer.media:
                if m.direction == "recvonly" and m.kind == "video":
                    pc.addTransceiver(relay.subscribe(published["video"]), direction="sendonly")
                elif m.direction == "recvonly":
                    pc.addTransceiver(m.kind, direction="inactive")
                else:
                    pc.addTransceiver(m.kind, direction="recvonly")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await ws.send_text(json.dumps({"type": "media.answer", "sdp": pc.localDescription.sdp}))
    except WebSocketDisconnect:
        pass
    finally:
        await pc.close()


async def healthz(request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[WebSocketRoute("/live", live), Route("/healthz", healthz)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
