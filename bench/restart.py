"""Restart with the course's whole log: how long a cold start takes as the log grows.

The log is the course's real mix: the quick rehearsal (bench/rehearsal.py, Day 2's morning for 40
learners, through real sockets) writes one, and its course events are repeated, each copy later
in time and with its own submission and connection ids, until the log holds N events. For each
size the log is written to a fresh store of each deployment (one process on SQLite; two workers
on one Redis) and `companion serve` is started on it as a user would start it: the time until
/healthz answers, then until a set of learners' pages opened at once all have their snapshot.
The same start on a log of the registrations alone is the baseline in the same run; the replay of
the log through the course's own `apply`, in this process, is its share of the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import websockets

from bench.fanout import SECRET, free_port, serve_cmd, wait_http
from bench.rehearsal import COURSE, QUICK_UNTIL, OneProcess, rehearse
from server.access.links import Signer
from server.domain.agenda import build_schedule
from server.domain.course_state import CourseState, apply
from server.domain.events import Event, NewEvent
from server.service.snapshots import after, encode, snapshot_key
from server.store import open_store
from tests.redis_server import RedisServer

ONCE = {"person.registered", "person.updated", "groups.assigned"}  # not repeated
DEPLOYMENTS = {"sqlite": "one process, SQLite", "redis": "two workers, Redis"}
PAGES = 20  # learners' pages opened at once after the start


def course_log(seed: int = 7) -> list[Event]:
    """The log the quick rehearsal wrote, on one process with SQLite."""
    result = asyncio.run(rehearse(OneProcess, 40, [2], 240.0, seed, QUICK_UNTIL))
    return list(result["log"])


def grown(log: Sequence[Event], n: int) -> list[NewEvent]:
    """`log`'s events repeated until there are `n`: registrations once, each later copy a day
    on, with ids of its own so that no submission or page is counted twice."""
    base = [NewEvent(e.type, e.actor, e.at, e.data) for e in log if e.type in ONCE]
    body = [e for e in log if e.type not in ONCE]
    out = list(base)
    copy = 0
    while len(out) < n:
        for e in body:
            if len(out) >= n:
                break
            data = dict(e.data)
            for key in ("sid", "conn"):
                if key in data:
                    data[key] = f"{data[key]}~{copy}"
            if "connections" in data:
                data["connections"] = [f"{c}~{copy}" for c in data["connections"]]
            out.append(NewEvent(e.type, e.actor, e.at + timedelta(days=copy), data))
        copy += 1
    return out


async def write(url: str, events: Sequence[NewEvent], snapshot: bytes | None = None) -> None:
    store = open_store(url)
    await store.open()
    try:
        for i in range(0, len(events), 500):
            await store.append(COURSE.id, events[i : i + 500], i)
        if snapshot is not None:
            assert await store.save_snapshot(COURSE.id, len(events), snapshot)
    finally:
        await store.close()


def replayed_in(events: Sequence[NewEvent]) -> float:
    stored = [Event(i + 1, e.type, e.actor, e.at, e.data) for i, e in enumerate(events)]
    t0 = time.perf_counter()
    state = CourseState()
    for e in stored:
        state = apply(state, e)
    return time.perf_counter() - t0


async def first_snapshot(port: int, cookie: str) -> None:
    url = f"ws://127.0.0.1:{port}/live"
    headers = {"Cookie": f"companion_session={cookie}"}
    async with websockets.connect(url, additional_headers=headers, max_size=2**23) as ws:
        while not (await ws.recv()).startswith("<"):
            pass


async def snapshots(port: int, cookies: Sequence[str]) -> None:
    """Every one of these pages has its snapshot (on two workers they land on both)."""
    await asyncio.gather(*(first_snapshot(port, c) for c in cookies))


@contextlib.contextmanager
def deployed(kind: str, folder: Path) -> Iterator[tuple[str, list[str]]]:
    """A fresh log for `kind` ("sqlite": one process; "redis": two workers on one Redis):
    its URL and the options `serve` takes for it."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'course.db'}", []
        return
    server = RedisServer(folder / "redis")
    server.start()
    try:
        yield server.url, ["--workers", "2"]
    finally:
        server.stop()


def snapshot_of(events: Sequence[NewEvent]) -> bytes:
    """The snapshot a server keeps of the state after `events` (server/service/snapshots.py)."""
    stored = [Event(i + 1, e.type, e.actor, e.at, e.data) for i, e in enumerate(events)]
    return encode(after(stored, build_schedule(COURSE)), snapshot_key(SECRET))


def start_once(
    kind: str, events: Sequence[NewEvent], pages: Sequence[str], snapshot: bytes | None = None
) -> tuple[float, float]:
    """(seconds to /healthz, seconds until every page of `pages` has its snapshot) for a cold
    start of deployment `kind` on `events` (and the state's `snapshot` kept beside them)."""
    with tempfile.TemporaryDirectory() as tmp, deployed(kind, Path(tmp)) as (url, options):
        asyncio.run(write(url, events, snapshot))
        port = free_port()
        last = max(e.at for e in events)
        cmd = serve_cmd(port, url, last.isoformat(), "--no-media", *options)
        signer = Signer(SECRET)
        cookies = [signer.session_value(p) for p in pages]
        t0 = time.monotonic()
        env = {**os.environ, "COMPANION_SECRET": SECRET}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}", 120)
            healthy = time.monotonic() - t0
            asyncio.run(snapshots(port, cookies))
            return healthy, time.monotonic() - t0
        finally:
            proc.terminate()
            proc.wait(30)


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    log = course_log()
    learners = [
        str(e.data["id"])
        for e in log
        if e.type == "person.registered" and e.data.get("role") == "learner"
    ][:PAGES]
    source = len(log)
    rows = []
    for kind in DEPLOYMENTS:
        for n in [0, *sizes]:
            events = grown(log, n)
            starts = [start_once(kind, events, learners) for _ in range(repeats)]
            row: dict[str, Any] = {
                "deployment": DEPLOYMENTS[kind],
                "events": len(events),
                "replay_s": round(replayed_in(events), 2) if n else "",
                "healthz_s": round(statistics.median(s[0] for s in starts), 2),
                "pages_s": round(statistics.median(s[1] for s in starts), 2),
            }
            row |= {"snapshot_mib": "", "snapshot_healthz_s": "", "snapshot_pages_s": ""}
            if n:
                snapshot = snapshot_of(events)
                kept = [start_once(kind, events, learners, snapshot) for _ in range(repeats)]
                row |= {
                    "snapshot_mib": round(len(snapshot) / 2**20, 1),
                    "snapshot_healthz_s": round(statistics.median(s[0] for s in kept), 2),
                    "snapshot_pages_s": round(statistics.median(s[1] for s in kept), 2),
                }
            rows.append(row)
    for row in rows:
        base = next(r for r in rows if r["deployment"] == row["deployment"])
        row["over_baseline_s"] = round(float(row["pages_s"]) - float(base["pages_s"]), 2)
    return {
        "title": "Restart with the course's whole log",
        "goal": "a cold start serves every page within 2 s; replay linear in events of every type",
        "columns": [
            "deployment",
            "events",
            "replay_s",
            "healthz_s",
            "pages_s",
            "over_baseline_s",
            "snapshot_mib",
            "snapshot_healthz_s",
            "snapshot_pages_s",
        ],
        "rows": rows,
        "notes": [
            " ".join(__doc__.split("\n\n")[1].split()),
            f"The rehearsal's log had {source} events. The first row of each deployment is the "
            f"registrations alone (its baseline); medians of {repeats} starts per size. "
            f"`healthz_s` is until /healthz answers; `pages_s` until {PAGES} learners' pages, "
            "opened at once, all have their snapshot (on two workers the kernel spreads them "
            "over both). Both include starting Python and importing the server; "
            "`over_baseline_s` is what the log adds to the start, of which `replay_s` is the "
            "replay itself in one process (the rest is reading and decoding the log and the "
            "start's work on the state). The `snapshot_` columns are the same start with the "
            "snapshot a server keeps of the state after the last event beside the log "
            "(server/service/snapshots.py; its size compressed), so that nothing is replayed.",
        ],
    }


if __name__ == "__main__":
    print(run([int(a) for a in sys.argv[1:]] or [10_000], 1))
