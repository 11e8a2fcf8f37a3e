"""A relay that encodes each publisher once and gives every viewer the same packets.

aiortc's own `MediaRelay` hands decoded frames to every viewer, so each viewer's sender runs its
own encoder: the CPU cost grows with viewers. Here the receiver decodes a publisher's track once
(aiortc does that), a `Publisher` encodes it once (VP8 for video, Opus for audio), and each viewer
gets a `SlotTrack` whose `recv()` returns those `av.Packet`s; aiortc's sender only packetizes
them (`Encoder.pack`). A picture-loss report from any viewer asks the publisher's encoder for a
keyframe. Encoding runs in a worker thread so the event loop, and the live channel on it, keeps
moving.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError

from server.patched import require

log = logging.getLogger("companion.media")

require(
    "aiortc",
    "1.16",
    "server/media/relay.py",
    {RTCRtpSender: ("_send_keyframe",), Vp8Encoder: ("pack",), OpusEncoder: ("pack",)},
    "hands its sender encoded packets (packed, not re-encoded) and wraps the sender's "
    "keyframe request",
)

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_RATE = 48000
VIDEO_BITRATE = 600_000  # 640x360 at 15 fps looks clean at this rate
AUDIO_BITRATE = 48_000

QUEUE_LIMIT = 60  # packets a slow viewer may fall behind before it is reset
KEYFRAME_GAP = 0.5  # seconds: many viewers asking at once cause one keyframe

if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet

PacketSink = Callable[[Any], None]  # takes an av.Packet


class VideoEncoder:
    """One VP8 encoder for one publisher. Returns packets carrying pts and time_base."""

    def __init__(self, bitrate: int = VIDEO_BITRATE) -> None:
        self.bitrate = bitrate
        self.codec: Any = None

    def encode(self, frame: av.VideoFrame, keyframe: bool) -> list[Packet]:
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if self.codec is not None and (
            frame.width != self.codec.width or frame.height != self.codec.height
        ):
            self.codec = None  # the camera changed size: start over (the next frame is a key)
        if self.codec is None:
            keyframe = True
            self.codec = av.CodecContext.create("libvpx", "w")
            self.codec.width, self.codec.height = frame.width, frame.height
            self.codec.bit_rate = self.bitrate
            self.codec.pix_fmt = "yuv420p"
            self.codec.time_base = frame.time_base or VIDEO_TIME_BASE
            self.codec.gop_size = 3000  # keyframes only when someone needs one
            self.codec.options = {
                "deadline": "realtime",
                "cpu-used": "-8",
                "lag-in-frames": "0",
                "static-thresh": "1",
                "undershoot-pct": "100",
                "overshoot-pct": "15",
                "bufsize": str(self.bitrate),
                "minrate": str(self.bitrate),
                "maxrate": str(self.bitrate),
            }
            self.codec.thread_count = 1
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets: list[Packet] = list(self.codec.encode(frame))
        for p in packets:
            p.time_base = self.codec.time_base
        return packets


class AudioEncoder:
    """One Opus encoder for one publisher (20 ms packets at 48 kHz)."""

    def __init__(self, bitrate: int = AUDIO_BITRATE) -> None:
        self.codec: Any = av.CodecContext.create("libopus", "w")
        self.codec.bit_rate = bitrate
        self.codec.sample_rate = AUDIO_RATE
        self.codec.format = "s16"
        self.codec.layout = "stereo"
        self.codec.time_base = fractions.Fraction(1, AUDIO_RATE)
        self.codec.options = {"application": "voip"}
        self.resampler = av.AudioResampler(
            format="s16", layout="stereo", rate=AUDIO_RATE, frame_size=960
        )

    def encode(self, frame: av.AudioFrame, keyframe: bool) -> list[Packet]:
        packets: list[Packet] = []
        for f in self.resampler.resample(frame):
            packets += self.codec.encode(f)
        for p in packets:
            p.time_base = self.codec.time_base
        return packets


class SlotTrack(MediaStreamTrack):
    """One receiving slot of one viewer (one transceiver): it shows whichever publisher is
    attached, and nothing while none is. Switching publishers needs no renegotiation; timestamps
    are carried on from the previous publisher so the browser sees one continuous stream."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: Publisher | None = None
        self._queue: asyncio.Queue[Packet] = asyncio.Queue()
        self._waiting_key = False
        self._rebase = False
        self._offset = 0
        self._next_pts: int | None = None
        self.dropped = 0
        self.sent = 0

    def attach(self, publisher: Publisher) -> None:
        if publisher is self.source:
            return
        self.detach()
        self.source = publisher
        self._waiting_key = self.kind == "video"
        self._rebase = True
        publisher.viewers.add(self)
        publisher.request_keyframe()

    def detach(self) -> None:
        if self.source is not None:
            self.source.viewers.discard(self)
            self.source = None
        while not self._queue.empty():
            self._queue.get_nowait()

    def request_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    def watch(self, sender: RTCRtpSender) -> None:
        """Keyframe requests (PLI/FIR) from this viewer's browser reach the attached encoder."""
        own = sender._send_keyframe

        def send_keyframe() -> None:
            own()
            self.request_keyframe()

        sender._send_keyframe = send_keyframe  # type: ignore[method-assign]

    def put(self, packet: Packet) -> None:
        if self._waiting_key:
            if not packet.is_keyframe:
                return  # a decoder cannot start mid-stream
            self._waiting_key = False
        if self._queue.qsize() >= QUEUE_LIMIT:
            # This viewer is not keeping up: drop its backlog and restart it at the next
            # keyframe rather than letting the backlog grow.
            self.dropped += self._queue.qsize()
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video":
                self._waiting_key = True
                self.request_keyframe()
                return
        if packet.pts is None:
            return
        if self._rebase:
            self._offset = 0 if self._next_pts is None else self._next_pts - packet.pts
            self._rebase = False
        out = packet
        if self._offset:
            out = av.Packet(bytes(packet))
            out.pts = packet.pts + self._offset
            out.time_base = packet.time_base
        step = packet.duration or (960 if self.kind == "audio" else 6000)
        self._next_pts = (out.pts or 0) + step
        self._queue.put_nowait(out)

    async def recv(self) -> Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        self.sent += 1
        return packet

    def stop(self) -> None:
        self.detach()
        super().stop()


class Publisher:
    """One person's audio or video as received by the server, encoded once for everyone."""

    def __init__(self, owner: str, track: MediaStreamTrack) -> None:
        self.owner = owner
        self.kind = track.kind
        self.track = track
        self.viewers: set[SlotTrack] = set()
        self.sinks: set[PacketSink] = set()  # recorders
        self.encoder: Any = VideoEncoder() if self.kind == "video" else AudioEncoder()
        self._keyframe = True
        self._last_key = 0.0
        self.paused = False  # the owner muted this track
        self.frames_in = 0
        self.encoded = 0
        self.encode_seconds = 0.0
        self._task = asyncio.create_task(self._run(), name=f"publish-{owner}-{self.kind}")

    def add_sink(self, sink: PacketSink) -> None:
        self.sinks.add(sink)
        self.request_keyframe()

    def remove_sink(self, sink: PacketSink) -> None:
        self.sinks.discard(sink)

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self._keyframe = True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self.track.recv()
                self.frames_in += 1
                if self.paused or (not self.viewers and not self.sinks):
                    continue  # muted, or nobody is watching: do not spend CPU encoding
                key = False
                if self._keyframe and time.monotonic() - self._last_key >= KEYFRAME_GAP:
                    key, self._keyframe, self._last_key = True, False, time.monotonic()
                t0 = time.perf_counter()
                packets = await loop.run_in_executor(None, self.encoder.encode, frame, key)
                self.encode_seconds += time.perf_counter() - t0
                self.encoded += 1
                for packet in packets:
                    for viewer in list(self.viewers):
                        viewer.put(packet)
                    for sink in list(self.sinks):
                        sink(packet)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("publisher %s %s failed", self.owner, self.kind)
        finally:
            for viewer in list(self.viewers):
                viewer.detach()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        for viewer in list(self.viewers):
            viewer.detach()
        self.sinks.clear()
