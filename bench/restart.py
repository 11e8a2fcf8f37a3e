"""Restart with the course's whole log: how long a cold start takes as the log grows.

The log is the course's real mix: the quick rehearsal (bench/rehearsal.py, Day 2's morning for 40
learners, through real sockets) writes one, and its course events are repeated, each copy later
in time and with its own submission and connection ids, until the log holds N events. For each
size the log is written to a fresh SQLite file and `companion serve` is started on it as a user
would start it: the time until /healthz answers, then until a learner's page has its snapshot.
The same start on a log of the registrations alone is the baseline in the same run; the replay of
the log through the course's own `apply`, in this process, is its share of the start.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import websockets

from bench.fanout import SECRET, free_port, serve_cmd, wait_http
from bench.rehearsal import COURSE, QUICK_UNTIL, OneProcess, rehearse
from server.access.links import Signer
from server.domain.course_state import CourseState, apply
from server.domain.events import Event, NewEvent
from server.store import open_store

ONCE = {"person.registered", "person.updated", "groups.assigned"}  # not repeated


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


async def write(url: str, events: Sequence[NewEvent]) -> None:
    store = open_store(url)
    await store.open()
    try:
        for i in range(0, len(events), 500):
            await store.append(COURSE.id, events[i : i + 500], i)
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


def start_once(events: Sequence[NewEvent], learner: str) -> tuple[float, float]:
    """(seconds to /healthz, seconds to a learner's snapshot) for a cold start on `events`."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'course.db'}"
        asyncio.run(write(url, events))
        port = free_port()
        last = max(e.at for e in events)
        cmd = serve_cmd(port, url, last.isoformat(), "--no-media")
        t0 = time.monotonic()
        env = {**os.environ, "COMPANION_SECRET": SECRET}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}", 120)
            healthy = time.monotonic() - t0
            asyncio.run(first_snapshot(port, Signer(SECRET).session_value(learner)))
            return healthy, time.monotonic() - t0
        finally:
            proc.terminate()
            proc.wait(30)


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    log = course_log()
    learner = next(
        str(e.data["id"])
        for e in log
        if e.type == "person.registered" and e.data.get("role") == "learner"
    )
    source = len(log)
    rows = []
    for n in [0, *sizes]:
        events = grown(log, n)
        starts = [start_once(events, learner) for _ in range(repeats)]
        rows.append(
            {
                "events": len(events),
                "replay_s": round(replayed_in(events), 2),
                "healthz_s": round(statistics.median(s[0] for s in starts), 2),
                "page_s": round(statistics.median(s[1] for s in starts), 2),
            }
        )
    base = rows[0]["page_s"]
    for row in rows:
        row["over_baseline_s"] = round(row["page_s"] - base, 2)
    return {
        "title": "Restart with the course's whole log",
        "goal": "a cold start serves a page within 2 s; replay linear in events of the real mix",
        "columns": ["events", "replay_s", "healthz_s", "page_s", "over_baseline_s"],
        "rows": rows,
        "notes": [
            " ".join(__doc__.split("\n\n")[1].split()),
            f"The rehearsal's log had {source} events. The first row is the registrations "
            f"alone (the baseline); medians of {repeats} starts per size. `healthz_s` and "
            "`page_s` include starting Python and importing the server; `over_baseline_s` is "
            "what the log adds to the start, of which `replay_s` is the replay itself (the rest "
            "is reading and decoding the log and the start's work on the state). No snapshot "
            "of the state is kept yet.",
        ],
    }


if __name__ == "__main__":
    print(run([int(a) for a in sys.argv[1:]] or [10_000], 1))
