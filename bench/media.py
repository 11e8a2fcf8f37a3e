"""Media relay: one publisher's 640x360, 15 fps camera to N viewers over real WebRTC (aiortc
peers on loopback), through this server's relay and through aiortc's `MediaRelay` (the baseline,
bench/media_baseline.py), in the same run.

Measured over a fixed window after every viewer is receiving: the server process's CPU time
(user + system, all threads, from /proc), frames each viewer decoded, and each frame's delay from
the publisher making it to a viewer decoding it (the frame number is drawn on the picture). For
this server the live channel's clock round trip is measured too, with and without media load.
Viewers and the publisher run in this process, so the server's CPU is what is compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import websockets

from bench.fanout import (
    FIRST,
    SECRET,
    free_port,
    import_roster,
    percentile,
    process,
    roster,
    serve_cmd,
    wait_http,
)
from server.access.links import Signer
from server.media.ice import configure
from server.media.settings import IceSettings
from tests.media_peers import ClientPeer

configure(IceSettings(addresses=("127.0.0.1",)))  # the peers here, like the servers, on loopback

FPS = 15
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def utc_z(t: Any) -> str:
    return t.astimezone().isoformat()


async def clock_rtts(url: str, cookie: str, seconds: float) -> list[float]:
    """Round trips of clock pings on the live channel, every 100 ms for `seconds`."""
    out: list[float] = []
    async with websockets.connect(url, additional_headers={"cookie": cookie}) as ws:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.monotonic()
            await ws.send(json.dumps({"type": "clock", "t0": t0}))
            while True:
                msg = await ws.recv()
                if msg.startswith('{"type": "clock"') and str(t0) in msg:
                    break
            out.append((time.monotonic() - t0) * 1000)
            await asyncio.sleep(0.1)
    return out


async def one_run(kind: str, viewers: int, window: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {"COMPANION_SECRET": SECRET}
        cookies: list[str] = []
        director = ""
        if kind == "companion":
            store = f"sqlite:///{Path(tmp) / 'log.db'}"
            ids = import_roster(roster(viewers, Path(tmp)), store, env)
            start = utc_z(FIRST.start + timedelta(minutes=1))  # the opening plenary
            cmd = serve_cmd(port, store, start, "--media-addresses", "127.0.0.1")
            signer = Signer(SECRET)
            director = "companion_session=" + signer.session_value(ids["director@bench.org"])
            cookies = [
                "companion_session=" + signer.session_value(ids[f"l{i}@bench.org"])
                for i in range(viewers)
            ]
        else:
            cmd = [sys.executable, "-m", "bench.media_baseline", str(port)]
            director = ""
            cookies = [""] * viewers
        with process(cmd, env) as proc:
            wait_http(base)
            ws_url = base.replace("http", "ws") + "/live"
            idle_rtt = await clock_rtts(ws_url, cookies[0], 2) if kind == "companion" else []
            pub = ClientPeer(base, director, luma=128, slots=0, audio=False, keep_frames=False)
            await pub.start()
            await asyncio.sleep(1.0)
            assert pub.video is not None
            peers = [
                ClientPeer(
                    base, c, publish=False, slots=1, keep_frames=False, timing=pub.video.sent_at
                )
                for c in cookies
            ]
            for p in peers:
                await p.start()
            deadline = time.monotonic() + 60
            while any(p.frame_count == 0 for p in peers) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(3.0)  # settle: keyframes, congestion control
            for p in peers:
                p.delays.clear()
            frames0 = [p.frame_count for p in peers]
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            if kind == "companion":
                busy_rtt = await clock_rtts(ws_url, cookies[0], window)
            else:
                busy_rtt = []
                await asyncio.sleep(window)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            frames = [p.frame_count - f for p, f in zip(peers, frames0, strict=True)]
            delays = [d * 1000 for p in peers for d in p.delays]
            for p in [pub, *peers]:
                with contextlib.suppress(Exception):
                    await p.close()
    elapsed = t1 - t0
    cores = (cpu1 - cpu0) / elapsed
    fps = statistics.mean(frames) / elapsed if frames else 0.0
    receiving = sum(1 for f in frames if f > 0)
    return {
        "cores": cores,
        "fps": fps,
        "receiving": receiving,
        "per_core": viewers * min(1.0, fps / FPS) / cores if cores else 0.0,
        "p50": percentile(delays, 50) if delays else float("nan"),
        "p95": percentile(delays, 95) if delays else float("nan"),
        "idle_rtt": percentile(idle_rtt, 95) if idle_rtt else None,
        "busy_rtt": percentile(busy_rtt, 95) if busy_rtt else None,
    }


def run(sizes: list[int], repeats: int, window: float = 8.0) -> dict[str, Any]:
    rows = []
    for n in sizes:
        for kind, label in (("companion", "this relay"), ("baseline", "aiortc MediaRelay")):
            runs = [asyncio.run(one_run(kind, n, window)) for _ in range(repeats)]

            def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
                return statistics.median(r[key] for r in runs)

            rtt = ""
            if kind == "companion":
                rtt = f"{med('idle_rtt'):.1f} → {med('busy_rtt'):.1f}"
            rows.append(
                {
                    "relay": label,
                    "viewers": n,
                    "receiving": f"{min(r['receiving'] for r in runs)}/{n}",
                    "server CPU (cores)": f"{med('cores'):.2f}",
                    "fps per viewer": f"{med('fps'):.1f}",
                    "viewer streams per core": f"{med('per_core'):.0f}",
                    "frame delay p50 / p95 (ms)": f"{med('p50'):.0f} / {med('p95'):.0f}",
                    "live clock RTT p95, idle → busy (ms)": rtt,
                }
            )
    return {
        "title": "Room media relay (640x360, 15 fps, one publisher)",
        "goal": (
            "more viewer streams per core than MediaRelay, growing with viewers (each "
            "publisher is encoded once), frame delay p95 under 200 ms, and the live channel's "
            "round trip unaffected by media"
        ),
        "columns": [
            "relay",
            "viewers",
            "receiving",
            "server CPU (cores)",
            "fps per viewer",
            "viewer streams per core",
            "frame delay p50 / p95 (ms)",
            "live clock RTT p95, idle → busy (ms)",
        ],
        "rows": rows,
        "notes": [
            f"{repeats} run(s) per row, {window:.0f} s measuring window after every viewer is "
            "receiving; medians. Viewer streams per core = viewers x (delivered fps / 15) / "
            "server CPU cores. Publisher and viewers are aiortc peers in the benchmark process "
            "on loopback; their decoding competes with the server for this machine's cores, "
            "so delays include that contention for both relays alike. The delay has two aiortc "
            "receivers in it (the server's and the viewer's), each of which hands a frame on "
            "when the next one starts, about one frame interval (67 ms) per hop; a browser "
            "viewer has its own playout buffer instead.",
        ],
    }
