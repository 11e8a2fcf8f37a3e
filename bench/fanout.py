"""Live fan-out: N signed-in learner pages, an agenda boundary crossed on the rehearsal clock.

For each size, the course has N learners and a facilitator for about every seven, formed into
small groups before the first item (as on a course morning: each page then follows its group's
views and its own feedback form as well as the agenda). The load generator (this process)
connects the N learners to one `companion serve` worker and measures, for each, the delay from
the boundary instant to receiving the partial that shows the new item. The same client code then
measures a minimal `websockets` broadcast server sending a message of the same size to the same
number of clients (bench/baseline_server.py). The pages are raw-socket WebSocket clients that
only look for the needle in each whole frame (bench/pages.py), on uvloop, so the generator's own
cost per message stays small; both servers run on uvloop too. The boundary instant comes from
the server's clock, read over the quickest of seven round trips. Server memory per connection is
the growth of the server's RSS while the N pages connect, divided by N, for both servers (the
baseline's pages are anonymous and get no snapshot; each companion page is a signed-in person
with a session, presence and its own views). Neither server compresses messages (per-message
deflate off on both, the companion's default). Clients and servers share this machine's two
cores. `written_ms` is the server's own account (its /healthz): from the boundary instant to
the last page's write handed to the kernel; the rest of a page's delay is the loopback and the
load generator reading thousands of sockets on the same two cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import uvloop
import websockets

from bench.pages import Page, close_pages, heard, open_pages, quiet
from server.access.links import Signer
from server.content.course import load_course
from server.domain.agenda import build_schedule, utc_z

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef-012345"
FIRST = build_schedule(load_course()).items[0]  # Day 1, 10:00 ET: the boundary we cross
T = TypeVar("T")
NEEDLE = "Welcome to the Core Principles"
DISCIPLINES = ["physician", "nurse", "social_worker", "chaplain", "pharmacist"]


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def post_form(base: str, path: str, cookie: str, **form: str) -> str:
    """A signed-in person's form post, as their browser would send it; the page it returns."""
    req = urllib.request.Request(
        base + urllib.parse.quote(path),
        data=urllib.parse.urlencode(form).encode(),
        headers={"Cookie": f"companion_session={cookie}"},
    )
    with urllib.request.urlopen(req) as r:
        return str(r.read().decode())


def assign_groups(base: str, director: str, min_size: int = 6, max_size: int = 8) -> None:
    """The director forms the small groups (seed 1, teams kept together), as from their page."""
    post_form(
        base,
        "/director/groups/assign",
        director,
        seed="1",
        min_size=str(min_size),
        max_size=str(max_size),
        teams="together",
    )


def person_ids(store: str) -> dict[str, str]:
    """Each registered person's id by email, as `companion links --json` prints them (ids are
    random, made at registration)."""
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "links", "--json", "--store", store],
        cwd=ROOT,
        env={**os.environ, "COMPANION_SECRET": SECRET},
        check=True,
        capture_output=True,
        text=True,
    )
    return {row["email"]: row["id"] for row in json.loads(out.stdout)}


def import_roster(path: Path, store: str, env: dict[str, str]) -> dict[str, str]:
    """`companion roster import PATH --store STORE` as its own process; everyone's id by email."""
    subprocess.run(
        [sys.executable, "-m", "server.cli", "roster", "import", str(path), "--store", store],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return person_ids(store)


def serve_cmd(port: int, store: str, start: str, *extra: str) -> list[str]:
    """The command line of `companion serve` on `port`, on a rehearsal clock from `start`."""
    return [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        "--store",
        store,
        "--rehearsal-start",
        start,
        *extra,
    ]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def roster(n: int, folder: Path) -> Path:
    """N learners (a third pediatric) and a facilitator for about every seven of them."""
    lines = ["name,email,role,discipline,track", "Director,director@bench.org,director,other,both"]
    for i in range(max(2, n // 7)):
        track = "adult" if i % 3 else "pediatric"
        lines.append(f"Facilitator {i},f{i}@bench.org,facilitator,physician,{track}")
    for i in range(n):
        track = "adult" if i % 3 else "pediatric"
        lines.append(f"Learner {i},l{i}@bench.org,learner,{DISCIPLINES[i % 5]},{track}")
    path = folder / "roster.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` for the length of the block. Its output goes to a file, not a pipe that nobody
    reads (a server that logs more than a pipe holds would stop); the file's last lines are
    shown if the block fails."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        except BaseException:
            log.seek(0)
            tail = log.read().decode(errors="replace").splitlines()[-20:]
            print(f"{' '.join(cmd[:4])} … said:", *tail, sep="\n  ", file=sys.stderr)
            raise
        finally:
            # Killed, not stopped: what it measured is in, and a graceful stop of thousands of
            # pages (each leave recorded) would only lengthen the run. The whole process group,
            # so that several workers are gone too before the next run starts.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        time.sleep(0.1)
    raise TimeoutError(url)


async def connect_all(url: str, headers: list[dict[str, str] | None]) -> list[Any]:
    """Open every page with the `websockets` client, in batches so the accept queue is not
    flooded (for the benchmarks that also send on their sockets)."""
    conns: list[Any] = []
    for i in range(0, len(headers), 200):
        batch = headers[i : i + 200]
        conns += await asyncio.gather(
            *(
                websockets.connect(
                    url, additional_headers=h, max_size=2**22, ping_interval=None, open_timeout=60
                )
                for h in batch
            )
        )
    return conns


async def drain(ws: Any, seconds: float) -> None:
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        while True:
            await asyncio.wait_for(ws.recv(), timeout=seconds)


SIZES: list[int] = []  # bytes a page received for the boundary


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the load generator on uvloop, the event loop `companion serve` runs on too."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def arrivals(
    pages: list[Page], needle: str, deadline: float
) -> tuple[list[float], list[int]]:
    """For each page, the wall time at which a message containing `needle` had arrived, and the
    bytes received until then; pages that got none by `deadline` are left out."""
    futures = [p.arm(needle) for p in pages]
    await asyncio.wait(futures, timeout=max(0.1, deadline - time.time()))
    got = [f.result() for f in futures if f.done() and not f.exception()]
    return [t for t, _ in got], [size for _, size in got]


async def run_companion(n: int, store_url: str | None = None, workers: int = 1) -> dict[str, float]:
    """One run: the server starts an hour before the boundary and, once every page is open, the
    director moves the clock to 4 s before it (a move is an event: every worker moves)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = store_url or f"sqlite:///{folder / 'log.db'}"
        if store_url:
            import redis

            redis.Redis.from_url(store_url).flushdb()
        env = {"COMPANION_SECRET": SECRET}
        ids = import_roster(roster(n, folder), store, env)
        port = free_port()
        # Far from the boundary while pages connect; then the clock is moved to just before it.
        start = utc_z(FIRST.start - timedelta_seconds(3600))
        cmd = serve_cmd(port, store, start, "--workers", str(workers))
        with process(cmd, env) as proc:
            base = f"http://127.0.0.1:{port}"
            wait_http(base)
            rss0 = rss_kib(proc.pid)
            signer = Signer(SECRET)
            director = signer.session_value(ids["director@bench.org"])
            # As on a course morning, the small groups are formed before the first item: each
            # page then follows its group's views and its own feedback form too.
            assign_groups(base, director)
            cookies = [signer.session_value(ids[f"l{i}@bench.org"]) for i in range(n)]
            headers = [{"Cookie": f"companion_session={c}"} for c in cookies]
            pages = await open_pages("127.0.0.1", port, "/live", headers)
            await quiet(pages, 1.0)
            rss1 = rss_kib(proc.pid)
            # Move the rehearsal clock to 4 s before the boundary (as the director would): time for
            # the jump's own burst to pass at 5000 pages.
            before = [p.messages for p in pages]
            post_form(base, "/director/clock/next", director, lead="4")
            # The jump itself pushes the clock and the present to every page: wait until
            # every page has heard of it, and then for that burst to pass.
            await heard(pages, before)
            await quiet(pages, 1.0)
            offset = clock_offset(base)
            boundary = FIRST.start.timestamp() - offset
            times, sizes = await arrivals(pages, NEEDLE, boundary + 30)
            SIZES.extend(sizes)
            noted = json.loads(urllib.request.urlopen(base + "/healthz").read())["boundary"]
            await close_pages(pages)
    result = summary([(t - boundary) * 1000 for t in times], n, (rss1 - rss0) / n)
    result["written"] = float(noted["written_ms"]) if noted else float("nan")
    return result


def clock_offset(base: str, samples: int = 7) -> float:
    """The server's course time minus this machine's wall time, in seconds: from the quickest of
    a few round trips to /healthz, whose midpoint is then off by at most half that round trip
    (a single request that met a busy server could be off by tens of milliseconds)."""
    best: tuple[float, float] = (float("inf"), 0.0)
    for _ in range(samples):
        t0 = time.time()
        health = json.loads(urllib.request.urlopen(base + "/healthz").read())
        t1 = time.time()
        best = min(best, (t1 - t0, health["now_epoch"] - (t0 + t1) / 2))
        time.sleep(0.02)
    return best[1]


def timedelta_seconds(s: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=s)


def summary(delays: list[float], n: int, kib_per_conn: float) -> dict[str, float]:
    if not delays:
        nan = float("nan")
        return {
            "received": 0,
            "first": nan,
            "p50": nan,
            "p99": nan,
            "max": nan,
            "kib": kib_per_conn,
        }
    return {
        "received": len(delays) / n,
        "first": min(delays),
        "p50": statistics.median(delays),
        "p99": percentile(delays, 99),
        "max": max(delays),
        "kib": kib_per_conn,
    }


async def run_baseline(n: int, size: int) -> dict[str, float]:
    port = free_port()
    with process([sys.executable, "-m", "bench.baseline_server", str(port)]) as proc:
        wait_port(port)
        rss0 = rss_kib(proc.pid)
        pages = await open_pages("127.0.0.1", port, "/", [None] * n)
        rss1 = rss_kib(proc.pid)
        at = time.time() + 2.0
        async with websockets.connect(f"ws://127.0.0.1:{port}/control") as control:
            await control.send(json.dumps({"at": at, "bytes": size}))
            times, _ = await arrivals(pages, "x", at + 30)
            await control.recv()
        await close_pages(pages)
    return summary([(t - at) * 1000 for t in times], n, (rss1 - rss0) / n)


def run_workers(n: int, repeats: int) -> dict[str, Any]:
    """The same boundary with one worker and with two, both on one Redis."""
    from tests.redis_server import redis_server

    raise_fd_limit()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        for workers in (1, 2):
            # The director moves the clock to just before the boundary once every page is open:
            # the move is an event, so every worker's clock moves with it.
            runs = [run_loop(run_companion(n, url, workers)) for _ in range(repeats)]
            rows.append(
                {
                    "workers": workers,
                    "pages": n,
                    "p50_ms": round(statistics.median(r["p50"] for r in runs), 1),
                    "p99_ms": round(statistics.median(r["p99"] for r in runs), 1),
                    "max_ms": round(statistics.median(r["max"] for r in runs), 1),
                    "received": f"{statistics.median(r['received'] for r in runs):.0%}",
                }
            )
    return {
        "title": "Scale-out: one worker versus two over Redis",
        "goal": "every page receives the boundary; delivery no slower with two workers",
        "columns": list(rows[0]),
        "rows": rows,
        "notes": [
            f"Same boundary, same load generator, Redis store for both; medians of {repeats} "
            "runs. On this 2-core machine the load generator shares the cores with both "
            "workers, so a second worker can only help as far as a core is free."
        ],
    }


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    raise_fd_limit()
    rows = []
    for n in sizes:
        SIZES.clear()
        ours: list[dict[str, float]] = []
        base: list[dict[str, float]] = []
        for _ in range(repeats):  # in turns: the machine's busy moments fall on both alike
            ours.append(run_loop(run_companion(n)))
            size = int(statistics.median(SIZES)) if SIZES else 1000  # the same bytes
            base.append(run_loop(run_baseline(n, size)))
        med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
        p99, bp99 = med(ours, "p99"), med(base, "p99")
        rows.append(
            {
                "pages": n,
                "bytes_per_page": size,
                "p50_ms": round(med(ours, "p50"), 1),
                "p99_ms": round(p99, 1),
                "max_ms": round(med(ours, "max"), 1),
                "written_ms": round(med(ours, "written"), 1),
                "received": f"{med(ours, 'received'):.0%}",
                "KiB_per_page": round(med(ours, "kib"), 1),
                "baseline_p50_ms": round(med(base, "p50"), 1),
                "baseline_p99_ms": round(bp99, 1),
                "p99_ratio": round(p99 / bp99, 2) if bp99 else float("nan"),
                "baseline_KiB_per_conn": round(med(base, "kib"), 1),
            }
        )
    return {
        "title": "Live fan-out at an agenda boundary",
        "goal": (
            "p99 within 1.5× of the websockets baseline at every size, under 100 ms at 5,000, "
            "under 20 KiB per connection"
        ),
        "columns": list(rows[0]),
        "rows": rows,
        "notes": [
            __doc__.split("\n\n", 1)[1].strip().replace("\n", " "),
            f"Medians of {repeats} runs per size.",
        ],
    }
