"""Rooms of eight on both media engines, side by side in one run: everyone publishes a camera
and a microphone and watches the other seven, at 1, 4 and 8 rooms, on the embedded engine
(aiortc, decode and encode once per publisher) and on Janus (forwarding).

The load generator is kept cheap so that it is not the limit: publishers send frames encoded
once at the start and looped (640×360 VP8 at 15 fps, Opus at 50 packets/s; aiortc packs them
without encoding), and viewers count and time frames from the RTP packets without decoding them
(aiortc's receiver is replaced, in this process only, by a counter). Each looped video frame
carries its send time in a trailer after the VP8 data, which a forwarding server passes on
untouched, so on Janus each frame's delay is measured; the embedded engine re-encodes every
picture, so there it is not (its delay is in the relay benchmark).

Everything runs inside a network namespace of the benchmark's own (Janus offers no loopback
candidates; tests/netns.py), so it needs root, like the media tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    rtcrtpreceiver,
)
from aiortc.codecs.vpx import vp8_depayload

from bench.fanout import (
    SECRET,
    assign_groups,
    free_port,
    import_roster,
    percentile,
    process,
    serve_cmd,
    wait_http,
)
from bench.media import clock_rtts, cpu_seconds
from server.access.links import Signer
from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.media.ice import configure
from server.media.settings import IceSettings

FPS = 15
ROOM = 8
MAGIC = b"CMPT"
TRAILER = struct.Struct("!4sQ")  # magic, send time in ns (time.monotonic_ns)
PRACTICE = next(i for i in build_schedule(load_course()).items if i.item.kind == "small_group")
JANUS_ENV = {
    "COMPANION_JANUS_SECRET": "bench-janus-secret",
    "COMPANION_JANUS_ADMIN_KEY": "bench-ak",
}


# --- frames encoded once -------------------------------------------------------------------


def encoded_video(frames: int = 30) -> list[bytes]:
    """A 640×360 picture with a block moving across it, VP8 at about 400 kbit/s, a keyframe
    first (the loop starts over at it)."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 360, "yuv420p"
    enc.time_base = Fraction(1, FPS)
    enc.bit_rate = 400_000
    enc.gop_size = frames
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for n in range(frames):
        frame = av.VideoFrame(640, 360, "yuv420p")
        y = bytearray([90]) * (640 * 360)
        x0 = (n * 20) % 560
        for row in range(140, 220):
            y[row * 640 + x0 : row * 640 + x0 + 80] = b"\xf0" * 80
        frame.planes[0].update(bytes(y))
        frame.planes[1].update(bytes([128]) * (320 * 180))
        frame.planes[2].update(bytes([128]) * (320 * 180))
        frame.pts = n
        frame.time_base = enc.time_base
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return out[:frames]


def encoded_audio(packets: int = 50) -> list[bytes]:
    """A 440 Hz tone as 20 ms Opus packets."""
    import math

    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.bit_rate = 32_000
    out: list[bytes] = []
    for n in range(packets + 5):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        samples = b"".join(
            struct.pack("<hh", v, v)
            for v in (
                int(3000 * math.sin(2 * math.pi * 440 * (n * 960 + i) / 48000)) for i in range(960)
            )
        )
        frame.planes[0].update(samples)
        frame.sample_rate, frame.pts = 48000, n * 960
        frame.time_base = Fraction(1, 48000)
        out += [bytes(p) for p in enc.encode(frame)]
    return out[:packets]


class LoopTrack(MediaStreamTrack):
    """Pre-encoded packets, looped and paced in real time; video frames carry a trailer with
    their send time."""

    def __init__(self, kind: str, packets: list[bytes], rate: int, step: int, clock: int) -> None:
        super().__init__()
        self.kind = kind
        self.packets, self.rate, self.step, self.clock = packets, rate, step, clock
        self._n = 0
        self._start = 0.0

    async def recv(self) -> av.Packet:
        if not self._start:
            self._start = time.monotonic()
        due = self._start + self._n / self.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        data = self.packets[self._n % len(self.packets)]
        if self.kind == "video":
            data += TRAILER.pack(MAGIC, time.monotonic_ns())
        packet = av.Packet(data)
        packet.pts = self._n * self.step
        packet.time_base = Fraction(1, self.clock)
        self._n += 1
        return packet


def video_track(frames: list[bytes]) -> LoopTrack:
    return LoopTrack("video", frames, FPS, 90000 // FPS, 90000)


def audio_track(packets: list[bytes]) -> LoopTrack:
    return LoopTrack("audio", packets, 50, 960, 48000)


# --- viewers that count without decoding ----------------------------------------------------


class Counts:
    def __init__(self) -> None:
        self.frames = 0
        self.audio = 0
        self.delays: list[float] = []
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.got: dict[int, int] = {}
        self.parts: dict[int, list[bytes]] = {}

    def reset(self) -> None:
        self.frames = self.audio = 0
        self.delays.clear()
        self.first.clear()
        self.last.clear()
        self.got.clear()

    def loss(self) -> tuple[int, int]:
        expected = sum(self.last[s] - self.first[s] + 1 for s in self.first)
        return expected, sum(self.got.values())


COUNTS = Counts()


async def _count(self: Any, packet: Any, arrival_time_ms: int) -> None:
    """In place of aiortc's receiver: count packets, sequence gaps and whole video frames (the
    marker bit ends one), and time frames by their trailer. Nothing is decoded."""
    codecs = self._RTCRtpReceiver__codecs
    codec = codecs.get(packet.payload_type)
    if codec is None or codec.name == "rtx":
        return
    c = COUNTS
    ssrc, seq = packet.ssrc, packet.sequence_number
    if ssrc not in c.first:
        c.first[ssrc] = c.last[ssrc] = seq
    elif (seq - c.last[ssrc]) % 65536 < 32768:
        c.last[ssrc] = c.last[ssrc] + (seq - c.last[ssrc]) % 65536
    c.got[ssrc] = c.got.get(ssrc, 0) + 1
    if codec.name == "opus":
        c.audio += 1
        return
    if codec.name != "VP8" or not packet.payload:
        return
    try:
        part = vp8_depayload(packet.payload)
    except ValueError:
        return
    parts = c.parts.setdefault(ssrc, [])
    parts.append(part)
    if packet.marker:
        tail = parts[-1][-TRAILER.size :] if len(parts[-1]) >= TRAILER.size else b""
        parts.clear()
        c.frames += 1
        if tail[:4] == MAGIC:
            sent = TRAILER.unpack(tail)[1]
            c.delays.append((time.monotonic_ns() - sent) / 1e6)


@contextlib.contextmanager
def counting() -> Any:
    """aiortc's receivers count instead of decoding, for the length of the block (the relay
    benchmark in the same process needs them decoding)."""
    cls = rtcrtpreceiver.RTCRtpReceiver
    original = cls._handle_rtp_packet
    cls._handle_rtp_packet = _count  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls._handle_rtp_packet = original  # type: ignore[method-assign]


# --- pages ----------------------------------------------------------------------------------


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class Page:
    """One person's page: the live socket, and their media on the engine it is given."""

    def __init__(self, url: str, cookie: str, engine: str, video: list[bytes], audio: list[bytes]):
        self.ws_url = url.replace("http", "ws", 1) + "/live"
        self.cookie = cookie
        self.engine = engine
        self.video, self.audio = video, audio
        self.pub = new_pc()
        self.sub: RTCPeerConnection | None = None
        self.ws: Any = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.errors: list[str] = []

    async def start(self) -> None:
        self.ws = await websockets.connect(
            self.ws_url, additional_headers={"cookie": self.cookie}, max_size=2**22
        )
        self.tasks.append(asyncio.create_task(self._listen()))
        self.pub.addTransceiver(video_track(self.video), direction="sendonly")
        self.pub.addTransceiver(audio_track(self.audio), direction="sendonly")
        if self.engine == "aiortc":
            for _ in range(ROOM):
                self.pub.addTransceiver("video", direction="recvonly")
            for _ in range(ROOM):
                self.pub.addTransceiver("audio", direction="recvonly")
        else:
            await self.ws.send(json.dumps({"type": "media.watch"}))
        await self.pub.setLocalDescription(await self.pub.createOffer())
        await self.ws.send(
            json.dumps({"type": "media.offer", "sdp": self.pub.localDescription.sdp})
        )

    async def _listen(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                if not text.startswith("{"):
                    continue
                msg = json.loads(text)
                kind = msg.get("type")
                try:
                    if kind == "media.answer":
                        await self.pub.setRemoteDescription(
                            RTCSessionDescription(msg["sdp"], "answer")
                        )
                    elif kind == "media.sub.offer":
                        if self.sub is None or msg.get("fresh"):
                            if self.sub is not None:
                                await self.sub.close()
                            self.sub = new_pc()
                        await self.sub.setRemoteDescription(
                            RTCSessionDescription(msg["sdp"], "offer")
                        )
                        await self.sub.setLocalDescription(await self.sub.createAnswer())
                        await self.ws.send(
                            json.dumps(
                                {"type": "media.sub.answer", "sdp": self.sub.localDescription.sdp}
                            )
                        )
                    elif kind == "media.error":
                        self.errors.append(msg["message"])
                except Exception as e:  # a benchmark page reports, it does not stop the run
                    self.errors.append(f"{kind}: {e}")

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self.ws is not None:
            await self.ws.close()
        for pc in (self.pub, self.sub):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()


def system_seconds(pid: int) -> float:
    """The kernel's part of a process's CPU time (stime): sending and, on loopback, receiving
    the packets."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


# --- one measured run -----------------------------------------------------------------------


def roster_of(rooms: int, folder: Path) -> Path:
    lines = ["name,email,role,discipline,track", "Director,director@bench.org,director,other,both"]
    for i in range(rooms * ROOM):
        lines.append(f"Learner {i},l{i}@bench.org,learner,{('nurse', 'physician')[i % 2]},adult")
    path = folder / "roster.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def one_run(
    engine: str,
    rooms: int,
    window: float,
    janus_pid: int | None,
    janus_urls: str,
    video: list[bytes],
    audio: list[bytes],
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{Path(tmp) / 'log.db'}"
        env = {"COMPANION_SECRET": SECRET, **JANUS_ENV}
        ids = import_roster(roster_of(rooms, Path(tmp)), store, env)
        signer = Signer(SECRET)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        start = (PRACTICE.start + timedelta(minutes=1)).astimezone().isoformat()
        media = (
            ["--media-addresses", "127.0.0.1"] if engine == "aiortc" else ["--media", janus_urls]
        )
        cmd = serve_cmd(port, store, start, *media)
        with process(cmd, env) as proc:
            wait_http(base)
            assign_groups(base, signer.session_value(ids["director@bench.org"]), ROOM, ROOM)
            cookies = [
                "companion_session=" + signer.session_value(ids[f"l{i}@bench.org"])
                for i in range(rooms * ROOM)
            ]
            pages = [Page(base, c, engine, video, audio) for c in cookies]
            gen0 = time.process_time()
            for p in pages:
                await p.start()
            streams = rooms * ROOM * (ROOM - 1)
            deadline = time.monotonic() + 60
            COUNTS.reset()
            while time.monotonic() < deadline:
                COUNTS.reset()
                await asyncio.sleep(2.0)
                if os.environ.get("BENCH_DEBUG"):
                    flowing = sum(1 for s in COUNTS.got if COUNTS.got[s] > 0)
                    print(
                        f"{engine} {rooms}: {COUNTS.frames / 2 / FPS:.0f} of {streams} "
                        f"video streams' worth, {flowing} ssrcs",
                        file=sys.stderr,
                    )
                if COUNTS.frames >= 0.8 * streams * FPS * 2:
                    break
            await asyncio.sleep(2.0)  # settle
            COUNTS.reset()
            server = janus_pid if engine == "janus" else proc.pid
            assert server is not None
            sys0 = system_seconds(server)
            cpu0, app0, gen0, t0 = (
                cpu_seconds(server),
                cpu_seconds(proc.pid),
                time.process_time(),
                time.monotonic(),
            )
            rtts = await clock_rtts(base.replace("http", "ws") + "/live", cookies[0], window)
            t1 = time.monotonic()
            cpu1, app1, gen1 = cpu_seconds(server), cpu_seconds(proc.pid), time.process_time()
            sys1 = system_seconds(server)
            frames, delays, expected_got = COUNTS.frames, list(COUNTS.delays), COUNTS.loss()
            errors = [e for p in pages for e in p.errors]
            for p in pages:
                await p.close()
    elapsed = t1 - t0
    cores = (cpu1 - cpu0) / elapsed
    fps = frames / elapsed / streams
    expected, got = expected_got
    return {
        "cores": cores,
        "kernel_share": 100.0 * (sys1 - sys0) / (cpu1 - cpu0) if cpu1 > cpu0 else 0.0,
        "app_cores": (app1 - app0) / elapsed,
        "gen_cores": (gen1 - gen0) / elapsed,
        "fps": fps,
        "per_core": streams * min(1.0, fps / FPS) / cores if cores else 0.0,
        "p50": percentile(delays, 50) if delays else float("nan"),
        "p95": percentile(delays, 95) if delays else float("nan"),
        "loss": 100.0 * max(0, expected - got) / expected if expected else float("nan"),
        "rtt": percentile(rtts, 95) if rtts else float("nan"),
        "errors": len(errors),
    }


# --- the benchmark --------------------------------------------------------------------------

# The seed course at a practice block (issue 28's measurement of the full roster): 19 groups
# holding 143 learners, 19 facilitators and the 6 SP actors, everyone viewing everyone else.
COURSE_GROUPS, COURSE_PEOPLE = 19, 143 + 19 + 6


def course_streams() -> float:
    n = COURSE_PEOPLE / COURSE_GROUPS
    return COURSE_GROUPS * n * (n - 1)


def _row(engine: str, rooms: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    janus = engine == "janus"
    return {
        "engine": "Janus (forwarding)" if janus else "embedded (aiortc relay)",
        "rooms × people": f"{rooms} × {ROOM}",
        "video streams": rooms * ROOM * (ROOM - 1),
        "engine CPU (cores)": f"{med('cores'):.2f}",
        "of it in the kernel": f"{med('kernel_share'):.0f}%",
        "companion CPU (cores)": f"{med('app_cores'):.2f}" if janus else "(same process)",
        "load generator CPU (cores)": f"{med('gen_cores'):.2f}",
        "fps per stream": f"{med('fps'):.1f}",
        "viewer streams per core": f"{med('per_core'):.0f}",
        "frame delay p50 / p95 (ms)": f"{med('p50'):.0f} / {med('p95'):.0f}" if janus else "—",
        "packet loss (%)": f"{med('loss'):.2f}",
        "live clock RTT p95 (ms)": f"{med('rtt'):.1f}",
        "page errors": max(r["errors"] for r in runs),
    }


def run(
    sizes: list[int], repeats: int, window: float = 8.0, baseline: bool = True
) -> dict[str, Any]:
    from bench import media as media_bench
    from tests.janus_server import ADMIN_KEY, API_SECRET, janus
    from tests.netns import namespace

    JANUS_ENV.update(COMPANION_JANUS_SECRET=API_SECRET, COMPANION_JANUS_ADMIN_KEY=ADMIN_KEY)
    video, audio = encoded_video(), encoded_audio()
    rows = []
    best: dict[str, float] = {}
    with namespace("bench") as ns, counting():
        for engine in ("janus", "aiortc"):
            for rooms in sizes:
                runs = []
                for _ in range(repeats):
                    if engine == "janus":
                        configure(IceSettings(addresses=(ns.address,)))
                        with janus(ns.interface) as j:
                            runs.append(
                                asyncio.run(
                                    one_run(engine, rooms, window, j.proc.pid, j.url, video, audio)
                                )
                            )
                    else:
                        configure(IceSettings(addresses=("127.0.0.1",)))
                        runs.append(
                            asyncio.run(one_run(engine, rooms, window, None, "", video, audio))
                        )
                row = _row(engine, rooms, runs)
                best[engine] = max(best.get(engine, 0.0), float(row["viewer streams per core"]))
                rows.append(row)
    # aiortc's MediaRelay in the same run: one publisher to seven viewers, by the relay
    # benchmark's own method (bench/media.py: decoding viewers), on loopback.
    configure(IceSettings(addresses=("127.0.0.1",)))
    base = [
        asyncio.run(media_bench.one_run("baseline", ROOM - 1, window))
        for _ in range(repeats if baseline else 0)
    ]
    relay = statistics.median(r["per_core"] for r in base) if base else 0.0
    if base:
        rows.append(
            {
                "engine": "aiortc MediaRelay (1 publisher → 7 viewers)",
                "rooms × people": "—",
                "video streams": ROOM - 1,
                "engine CPU (cores)": f"{statistics.median(r['cores'] for r in base):.2f}",
                "of it in the kernel": "—",
                "companion CPU (cores)": "—",
                "load generator CPU (cores)": "—",
                "fps per stream": f"{statistics.median(r['fps'] for r in base):.1f}",
                "viewer streams per core": f"{relay:.0f}",
                "frame delay p50 / p95 (ms)": "—",
                "packet loss (%)": "—",
                "live clock RTT p95 (ms)": "—",
                "page errors": 0,
            }
        )
    need = course_streams()
    notes = [
        f"{repeats} run(s) per row, {window:.0f} s measuring window once (at least 80% of) every "
        "stream is flowing, or after 60 s; medians. Every person publishes a 640×360 VP8 camera "
        "(one layer: aiortc cannot send simulcast) at 15 fps and Opus at 50 packets/s, and views "
        "the other seven. Viewer streams per core = video streams × (delivered fps / 15) / "
        "engine CPU cores, audio's cost included; the engine is Janus's process (all threads) or "
        "the companion's process for the embedded engine. The load generator runs in the "
        "benchmark process on the same two cores: where its CPU plus the engine's nears 2 cores, "
        "delivery and delay are the generator's limit, not the engine's.",
    ]
    if relay and best.get("aiortc") and best.get("janus"):
        notes.append(
            f"In this run Janus's best per-stream figure is {best['janus'] / relay:.1f}× "
            f"aiortc's MediaRelay and {best['janus'] / best['aiortc']:.1f}× the embedded relay."
        )
    notes.append(
        "The whole course at a practice block: 19 groups holding 143 learners, 19 facilitators "
        f"and 6 SP actors (the seed roster), each viewing everyone else in their room: about "
        f"{need:.0f} video streams and as many audio streams. By the best per-stream figure "
        "above that needs "
        + ", ".join(
            f"{need / best[e]:.1f} cores on {'Janus' if e == 'janus' else 'the embedded engine'}"
            for e in ("janus", "aiortc")
            if best.get(e)
        )
        + "."
    )
    return {
        "title": "Rooms of eight on both media engines",
        "goal": (
            "Janus at least 20× the viewer streams per core of aiortc's MediaRelay and 5× the "
            "embedded relay, the whole course's practice block within 1.5 cores, frame delay p95 "
            "under 150 ms on loopback; on both engines the live channel's round trip p95 under "
            "10 ms at the largest size"
        ),
        "columns": [
            "engine",
            "rooms × people",
            "video streams",
            "engine CPU (cores)",
            "of it in the kernel",
            "companion CPU (cores)",
            "load generator CPU (cores)",
            "fps per stream",
            "viewer streams per core",
            "frame delay p50 / p95 (ms)",
            "packet loss (%)",
            "live clock RTT p95 (ms)",
            "page errors",
        ],
        "rows": rows,
        "notes": notes,
    }
