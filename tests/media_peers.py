"""Real WebRTC client peers (aiortc) that join the course's rooms the way a page does: over the
live WebSocket, with synthetic camera and microphone tracks. Used by the media tests and the
relay benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import math
import os
import struct
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import av
import uvicorn
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from server.config import http_protocol, ws_protocol
from tests.servers import free_port

VIDEO_CLOCK = 90000


BITS = 12  # frame number bits drawn on each picture
SQUARE = 32


class SyntheticVideo(MediaStreamTrack):
    """A flat picture of one brightness (so a receiver can tell whose it is), the frame number
    drawn as black and white squares along the top (so a receiver can tell how late it is), and
    a moving block so the encoder has something to encode. Paced in real time."""

    kind = "video"

    def __init__(self, luma: int, width: int = 640, height: int = 360, fps: int = 15) -> None:
        super().__init__()
        self.luma, self.width, self.height, self.fps = luma, width, height, fps
        self._start: float | None = None
        self._n = 0
        self.sent_at: dict[int, float] = {}  # frame number -> time the frame was made
        self._grain = bytes(max(0, min(255, luma - 6 + i % 13)) for i in range(256))

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        # Grain like a camera's, a little around the chosen brightness, new in every frame.
        y = bytearray(os.urandom(self.width * self.height).translate(self._grain))
        x0 = (self._n * 8) % (self.width - 32)
        for row in range(self.height - 48, self.height - 16):
            y[row * self.width + x0 : row * self.width + x0 + 32] = b"\xff" * 32
        number = self._n % (1 << BITS)
        for bit in range(BITS):
            value = b"\xeb" if number >> bit & 1 else b"\x10"
            for row in range(SQUARE):
                start = row * self.width + bit * SQUARE
                y[start : start + SQUARE] = value * SQUARE
        frame.planes[0].update(bytes(y))
        chroma = b"\x80" * (self.width * self.height // 4)
        frame.planes[1].update(chroma)
        frame.planes[2].update(chroma)
        frame.pts = int(self._n * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.sent_at[number] = time.monotonic()
        self._n += 1
        return frame


class SyntheticAudio(MediaStreamTrack):
    """A steady tone, 20 ms per frame, 48 kHz mono."""

    kind = "audio"

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        samples = [int(8000 * math.sin(2 * math.pi * hz * i / 48000)) for i in range(960)]
        self._pcm = struct.pack("<960h", *samples)
        self._start: float | None = None
        self._n = 0

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - time.monotonic()))
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(self._pcm)
        frame.sample_rate = 48000
        frame.pts = self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


def mean_luma(frame: av.VideoFrame) -> float:
    """Mean brightness of the middle band (below the frame number, above the moving block)."""
    plane = frame.planes[0]
    data = bytes(plane)
    rows = range(frame.height // 4, frame.height * 3 // 4, 7)
    values = [data[r * plane.line_size + c] for r in rows for c in range(0, frame.width, 13)]
    return sum(values) / len(values)


def frame_number(frame: av.VideoFrame) -> int | None:
    """The number SyntheticVideo drew on this picture (None if it is not one of ours)."""
    plane = frame.planes[0]
    data = bytes(plane)
    row = SQUARE // 2 * plane.line_size
    n = 0
    for bit in range(BITS):
        v = data[row + bit * SQUARE + SQUARE // 2]
        if 60 < v < 190:
            return None
        n |= (v >= 190) << bit
    return n


def loudness(frame: av.AudioFrame) -> float:
    data = bytes(frame.planes[0])
    n = len(data) // 2
    values = struct.unpack(f"<{n}h", data[: n * 2])
    return math.sqrt(sum(v * v for v in values[::4]) / max(1, len(values[::4])))


class ClientPeer:
    """One page's media: publishes a synthetic camera and microphone, receives its room."""

    def __init__(
        self,
        base_url: str,
        cookie: str,
        luma: int = 128,
        slots: int = 2,
        publish: bool = True,
        keep_frames: bool = True,
        audio: bool = True,
        timing: dict[int, float] | None = None,
    ) -> None:
        self.ws_url = base_url.replace("http", "ws", 1) + "/live"
        self.cookie = cookie
        # aiortc bundles correctly only with max-bundle (a browser bundles by itself).
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.video = SyntheticVideo(luma) if publish else None
        self.audio = SyntheticAudio() if publish and audio else None
        self.timing = timing  # a publisher's frame number -> sent time, to measure delay
        self.delays: list[float] = []
        self.initial_slots = slots
        self.keep_frames = keep_frames
        self.state: dict[str, Any] = {}
        self.states = 0
        self.errors: list[str] = []
        self.frames: dict[str, list[float]] = defaultdict(list)  # mid -> luma or loudness
        self.received_at: dict[str, list[float]] = defaultdict(list)
        self.frame_count = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._ws: Any = None
        self._answered = asyncio.Event()
        self.answer = ""

    async def start(self) -> None:
        for own in (self.video, self.audio):
            if own is not None:
                self.pc.addTransceiver(own, direction="sendonly")
        self._add_slots(self.initial_slots, self.initial_slots)

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self._tasks.append(asyncio.create_task(self._read(mid, track)))

        self._ws = await websockets.connect(
            self.ws_url, additional_headers={"cookie": self.cookie}, max_size=2**22
        )
        self._tasks.append(asyncio.create_task(self._listen()))
        await self._negotiate()

    def _add_slots(self, video: int, audio: int) -> None:
        for _ in range(video):
            self.pc.addTransceiver("video", direction="recvonly")
        for _ in range(audio):
            self.pc.addTransceiver("audio", direction="recvonly")

    def slots(self, kind: str) -> int:
        return sum(
            1 for t in self.pc.getTransceivers() if t.kind == kind and t.direction == "recvonly"
        )

    async def _negotiate(self) -> None:
        self._answered.clear()
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        await self._ws.send(
            json.dumps({"type": "media.offer", "sdp": self.pc.localDescription.sdp})
        )

    async def _more_slots(self, msg: dict[str, Any]) -> None:
        await self._answered.wait()
        self._add_slots(
            max(0, msg["video"] - self.slots("video")), max(0, msg["audio"] - self.slots("audio"))
        )
        await self._negotiate()

    async def send(self, msg: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(msg))

    async def _listen(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self._ws:
                if not text.startswith("{"):
                    continue  # an htmx partial
                msg = json.loads(text)
                kind = msg.get("type")
                if kind == "media.answer":
                    self.answer = msg["sdp"]
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(sdp=msg["sdp"], type="answer")
                    )
                    self._answered.set()
                elif kind == "media.need":
                    self._tasks.append(asyncio.create_task(self._more_slots(msg)))
                elif kind == "media.state":
                    self.state = msg
                    self.states += 1
                elif kind in ("media.error", "error"):
                    self.errors.append(msg["message"])

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                self.frame_count += 1
                now = time.monotonic()
                if self.timing is not None and track.kind == "video":
                    n = frame_number(frame)
                    if n is not None and n in self.timing:
                        self.delays.append(now - self.timing[n])
                if not self.keep_frames:
                    continue
                value = mean_luma(frame) if track.kind == "video" else loudness(frame)
                self.frames[mid].append(value)
                self.received_at[mid].append(now)

    def person_in(self, mid: str) -> str | None:
        for tile in self.state.get("tiles", []):
            if tile["mid"] == mid:
                return str(tile["person"])
        return None

    def mids_of(self, person: str, kind: str) -> list[str]:
        return [
            t["mid"]
            for t in self.state.get("tiles", [])
            if t["person"] == person and t["kind"] == kind
        ]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._ws is not None:
            await self._ws.close()
        await self.pc.close()


@contextlib.asynccontextmanager
async def served(app: Any, **config: Any) -> AsyncIterator[str]:
    """Run `app` with uvicorn in this event loop on a free loopback port (`config`: more of
    uvicorn's settings)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws=ws_protocol(),  # the socket the product serves pages with
            http=http_protocol(),
            **config,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
