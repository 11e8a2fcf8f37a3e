"""Feedback path: N connected learner pages in small groups with a turn running in every group;
observers submit feedback at a steady rate, and we measure the delay from starting the HTTP post
(the durable write to the log included) to the group's facilitator page receiving the tally that
shows it. The load generator (this process) posts over keep-alive connections, like browsers.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bench.fanout import (
    DISCIPLINES,
    SECRET,
    assign_groups,
    connect_all,
    drain,
    free_port,
    import_roster,
    percentile,
    post_form,
    process,
    raise_fd_limit,
    serve_cmd,
    wait_http,
)
from server.access.links import Signer

PRACTICE = "2026-05-14T15:20:00Z"  # Day 2, 11:20 ET: role-play practice


def roster(n: int, folder: Path) -> Path:
    lines = ["name,email,role,discipline,track", "Director,director@bench.org,director,other,both"]
    for i in range(max(1, n // 7)):
        lines.append(f"Facilitator {i},f{i}@bench.org,facilitator,physician,adult")
    for i in range(n):
        lines.append(f"Learner {i},l{i}@bench.org,learner,{DISCIPLINES[i % 5]},adult")
    path = folder / "roster.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


class Poster:
    """One browser's keep-alive HTTP/1.1 connection, posting forms."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.cookie = cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, form: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = urllib.parse.urlencode(form).encode()
        head = (
            f"POST {urllib.parse.quote(path)} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Cookie: companion_session={self.cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def groups_in(store_url: str) -> dict[str, tuple[str, list[str]]]:
    """Each group that has a facilitator: their id and the members' ids, from the course log
    the server wrote (replayed with the product's own rules)."""
    from server.content.course import load_course
    from server.domain.course_state import replay
    from server.store import open_store

    store = open_store(store_url)
    await store.open()
    try:
        state = replay(await store.read(load_course().id))
    finally:
        await store.close()
    return {
        name: (g.facilitator, list(g.members))
        for name, g in state.rooms.groups.items()
        if g.facilitator is not None and g.members
    }


async def run_once(n: int, rate: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = f"sqlite:///{folder / 'log.db'}"
        env = {"COMPANION_SECRET": SECRET}
        ids = import_roster(roster(n, folder), store, env)
        port = free_port()
        cmd = serve_cmd(port, store, PRACTICE)
        with process(cmd, env):
            base = f"http://127.0.0.1:{port}"
            wait_http(base)
            signer = Signer(SECRET)
            director = signer.session_value(ids["director@bench.org"])
            assign_groups(base, director)
            # Who is in which group and who facilitates it: the log the server wrote, replayed.
            groups = await groups_in(store)
            case = "adult-news-anoxic-brain-injury"
            for g, (f, members) in groups.items():
                fc = signer.session_value(f)
                post_form(base, f"/rp/{g}/start", fc, scenario=case)
                post_form(
                    base, f"/rp/{g}/begin", fc, learner=members[0], goal="Stay with the silence"
                )
            # Every page open: learners and facilitators.
            learners = [ids[f"l{i}@bench.org"] for i in range(n)]
            headers = [
                {"Cookie": f"companion_session={signer.session_value(pid)}"}
                for pid in [*learners, *(f for f, _ in groups.values())]
            ]
            conns = await connect_all(f"ws://127.0.0.1:{port}/live", headers)
            await asyncio.gather(*(drain(c, 1.0) for c in conns))
            fac_ws = dict(zip([g for g in groups], conns[n:], strict=True))
            # The facilitators' pages listen for their group's tallies.
            arrived: dict[str, float] = {}

            async def listen(ws: Any) -> None:
                try:
                    while True:
                        msg = await ws.recv()
                        now = time.perf_counter()
                        for marker in [m for m in pending if m in msg]:
                            arrived.setdefault(marker, now)
                except Exception:
                    return

            pending: set[str] = set()
            listeners = [asyncio.create_task(listen(ws)) for ws in fac_ws.values()]
            observers = [(g, m) for g, (_, ms) in groups.items() for m in ms[1:]]
            posters = {m: Poster(port, signer.session_value(m)) for _, m in observers}
            sent: dict[str, float] = {}
            acked: list[float] = []
            statuses: list[int] = []

            async def submit(k: int, group: str, who: str) -> None:
                marker = f"bench-{k:06d}-mark"
                pending.add(marker)
                t0 = time.perf_counter()
                sent[marker] = t0
                status = await posters[who].post(
                    f"/fb/{group}/1", {"sid": f"bench-sid-{k:08d}", "a.worked": marker}
                )
                acked.append((time.perf_counter() - t0) * 1000)
                statuses.append(status)

            tasks = []
            total = int(rate * seconds)
            start = time.perf_counter()
            for k in range(total):
                await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
                group, who = observers[k % len(observers)]
                tasks.append(asyncio.create_task(submit(k, group, who)))
            await asyncio.gather(*tasks)
            await asyncio.sleep(2.0)
            for t in listeners:
                t.cancel()
            for p in posters.values():
                p.close()
            await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    delays = [(arrived[m] - sent[m]) * 1000 for m in sent if m in arrived]
    return {
        "submitted": total,
        "ok": sum(1 for s in statuses if s == 200) / max(1, total),
        "seen": len(delays) / max(1, total),
        "p50": statistics.median(delays) if delays else float("nan"),
        "p99": percentile(delays, 99) if delays else float("nan"),
        "ack_p50": statistics.median(acked) if acked else float("nan"),
        "ack_p99": percentile(acked, 99) if acked else float("nan"),
        "groups": len(groups),
    }


def run(pages: int, rate: float, seconds: float, repeats: int) -> dict[str, Any]:
    raise_fd_limit()
    runs = [asyncio.run(run_once(pages, rate, seconds)) for _ in range(repeats)]
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    row = {
        "pages": pages,
        "groups": int(med("groups")),
        "submissions_per_s": rate,
        "submitted": int(med("submitted")),
        "stored": f"{med('ok'):.0%}",
        "seen_by_facilitator": f"{med('seen'):.0%}",
        "p50_ms": round(med("p50"), 1),
        "p99_ms": round(med("p99"), 1),
        "post_ack_p50_ms": round(med("ack_p50"), 1),
        "post_ack_p99_ms": round(med("ack_p99"), 1),
    }
    return {
        "title": "Feedback path: submit to the facilitator's tally",
        "goal": "p99 under 50 ms, durable write included",
        "columns": list(row),
        "rows": [row],
        "notes": [
            __doc__.replace("\n", " ").strip(),
            f"Medians of {repeats} runs of {seconds:.0f} s each; every learner and facilitator "
            "page connected over the live socket throughout.",
        ],
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100, 20, 5, 1), indent=2))
