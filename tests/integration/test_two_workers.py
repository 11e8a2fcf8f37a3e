"""Two server processes on one Redis: a page on one sees at once what is done through the other."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import websockets

from server.content.course import load_course
from server.domain.events import Event
from server.domain.people_rules import happened
from server.store import open_store
from tests.servers import (
    ROOT,
    SECRET,
    cli,
    companion,
    director_cookie,
    free_port,
    post,
    spawn,
    wait_healthy,
)

pytestmark = pytest.mark.integration

START = "2026-05-13T14:05:00Z"  # five minutes into the Welcome


def fresh_course(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    cli("roster", "import", str(ROOT / "scenarios/demo/roster.csv"), "--store", redis_url)


async def course_log(redis_url: str) -> list[Event]:
    """The course's whole log as stored."""
    store = open_store(redis_url)
    await store.open()
    try:
        return await store.read(load_course().id)
    finally:
        await store.close()


def course_now(url: str) -> datetime:
    """The course clock of the server at `url`, now."""
    health = json.loads(urllib.request.urlopen(url + "/healthz").read())
    return datetime.fromtimestamp(health["now_epoch"], UTC)


def online(url: str) -> int:
    """How many people the server at `url` counts online."""
    return int(json.loads(urllib.request.urlopen(url + "/healthz").read())["online"])


async def until_online(url: str, n: int, timeout: float) -> None:
    """Wait until the server at `url` counts `n` people online."""
    async with asyncio.timeout(timeout):
        while await asyncio.to_thread(online, url) != n:
            await asyncio.sleep(0.2)


async def director_online(a: str, b: str, store: str) -> websockets.ClientConnection:
    """The director's page open on server `a`, once server `b` counts them online."""
    cookie = director_cookie(a, store)
    ws = await websockets.connect(
        a.replace("http", "ws") + "/live",
        additional_headers={"Cookie": f"companion_session={cookie}"},
    )
    await ws.recv()
    async with asyncio.timeout(10):
        while await asyncio.to_thread(online, b) != 1:
            await asyncio.sleep(0.1)
    return ws


async def next_containing(ws, needle: str, timeout: float = 5) -> str:
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.recv()
            if needle in msg:
                return msg


async def test_an_announcement_through_one_worker_reaches_a_page_on_the_other(redis_url, tmp_path):
    fresh_course(redis_url)
    env = SECRET
    args = ("--store", redis_url, "--rehearsal-start", START)
    with companion(*args, env=env) as a, companion(*args, env=env) as b:
        async with websockets.connect(b.replace("http", "ws") + "/live") as ws:
            await ws.recv()  # clock
            await ws.recv()  # snapshot
            cookie = director_cookie(a, redis_url)
            status = await asyncio.to_thread(
                post, a, "/director/announce", cookie, text="Cameras on, please"
            )
            assert status == 200
            msg = await next_containing(ws, "Cameras on, please", timeout=3)
            assert 'id="announcements"' in msg
            # And a delay made on A moves B's schedule.
            await asyncio.to_thread(post, a, "/director/delay", cookie, minutes="7")
            assert "7 min late" in await next_containing(ws, "7 min late", timeout=3)
    with companion(*args, env=env) as c:
        health = json.loads(urllib.request.urlopen(c + "/healthz").read())
        assert health["store"] == "redis" and health["people"] == 40


async def test_serve_with_two_workers_on_one_port_shares_the_course(redis_url):
    fresh_course(redis_url)
    env = SECRET
    args = ("--store", redis_url, "--rehearsal-start", START, "--workers", "2")
    with companion(*args, env=env) as url:
        pages = [await websockets.connect(url.replace("http", "ws") + "/live") for _ in range(6)]
        try:
            for ws in pages:
                await ws.recv(), await ws.recv()
            cookie = director_cookie(url, redis_url)
            for n in range(4):  # posts land on either worker
                assert (
                    await asyncio.to_thread(
                        post, url, "/director/announce", cookie, text=f"note {n}"
                    )
                    == 200
                )
            for ws in pages:
                for n in range(4):
                    await next_containing(ws, f"note {n}", timeout=3)
        finally:
            for ws in pages:
                await ws.close()


def test_several_workers_on_sqlite_are_refused(capsys):
    from server.cli import main

    assert main(["serve", "--workers", "2", "--store", "sqlite:///x.db"]) == 2
    assert "needs a shared store" in capsys.readouterr().err


async def test_a_restarted_worker_resyncs_its_pages_with_nothing_lost(redis_url):
    fresh_course(redis_url)
    args = ("--store", redis_url, "--rehearsal-start", START)
    port_b = free_port()
    with companion(*args, env=SECRET) as a:
        cookie = director_cookie(a, redis_url)
        with companion(*args, env=SECRET, port=port_b) as b:
            ws = await websockets.connect(b.replace("http", "ws") + "/live")
            await ws.recv(), await ws.recv()
            await asyncio.to_thread(post, a, "/director/announce", cookie, text="First")
            await next_containing(ws, "First")
        # Worker B is gone: its page loses the socket. Meanwhile, work goes on through A.
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
        await asyncio.to_thread(post, a, "/director/announce", cookie, text="While B was down")
        with companion(*args, env=SECRET, port=port_b) as b:
            ws = await websockets.connect(b.replace("http", "ws") + "/live")  # the page reconnects
            await ws.recv()
            snapshot = await ws.recv()
            assert "First" in snapshot and "While B was down" in snapshot
            await ws.close()


async def test_a_rehearsal_clock_moved_through_one_worker_moves_the_other(redis_url):
    fresh_course(redis_url)
    args = ("--store", redis_url, "--rehearsal-start", START)
    with companion(*args, env=SECRET) as a, companion(*args, env=SECRET) as b:
        async with websockets.connect(b.replace("http", "ws") + "/live") as ws:
            await ws.recv(), await ws.recv()
            cookie = director_cookie(a, redis_url)
            nxt = json.loads(urllib.request.urlopen(a + "/agenda.json").read())["next"]
            status = await asyncio.to_thread(post, a, "/director/clock/next", cookie, lead="10")
            assert status == 200
            msg = json.loads(await next_containing(ws, '"type": "clock"', timeout=5))
            target = datetime.fromisoformat(nxt["start"].replace("Z", "+00:00")).timestamp()
            assert abs(msg["server"] / 1000 - (target - 10)) < 3, (msg, nxt)
            health = json.loads(urllib.request.urlopen(b + "/healthz").read())
            assert abs(health["now_epoch"] - (target - 10)) < 5


@contextlib.contextmanager
def beating_pair(redis_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """Two servers on one fresh course in Redis, beating every 0.5 s: the first's process (to
    kill or stop), its address, and the second's address."""
    fresh_course(redis_url)
    port = free_port()
    beats = {**SECRET, "COMPANION_HEARTBEAT": "0.5"}
    first = spawn("--store", redis_url, "--rehearsal-start", START, port=port, env=beats)
    a = f"http://127.0.0.1:{port}"
    try:
        with companion("--store", redis_url, "--rehearsal-start", START, env=beats) as b:
            wait_healthy(a, first)
            yield first, a, b
    finally:
        if first.poll() is None:
            first.kill()  # (SIGKILL ends a stopped process too)
            first.wait()


async def test_pages_of_a_crashed_worker_go_offline_on_the_others(redis_url, figure):
    """A worker killed outright cannot record its pages leaving; the others notice its
    heartbeat stop and close them, so nobody stays "online" forever."""
    with beating_pair(redis_url) as (doomed, a, b):
        page = await director_online(a, b, redis_url)
        died = course_now(a)  # on its own clock (each rehearsal clock began as its worker did)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(5)
        killed = time.monotonic()
        await until_online(b, 0, 15)  # its beat lapsed and stayed missing, then a check
        figure(
            "offline on the other worker after (s, beat 0.5 s)",
            round(time.monotonic() - killed, 1),
        )
        await page.close()
        # Its pages count until it was last seen beating, not until it was judged gone.
        log = await course_log(redis_url)
        (reset,) = [e for e in log if e.type == "presence.reset" and e.data.get("connections")]
        closed = happened(reset)
        assert died - timedelta(seconds=1.5) <= closed <= died  # within three beats before
        assert reset.at - closed > timedelta(seconds=1)  # judged gone well after


async def test_a_worker_judged_gone_while_alive_records_its_pages_open_again(redis_url):
    """A worker whose loop stood still for longer than its beats last (stopped here) has its
    pages closed by the others; running again, it records those still open as open again, and
    their leave when they close."""
    with beating_pair(redis_url) as (frozen, a, b):
        page = await director_online(a, b, redis_url)
        frozen.send_signal(signal.SIGSTOP)
        await until_online(b, 0, 15)  # judged gone: its page closed in the log
        frozen.send_signal(signal.SIGCONT)
        await until_online(b, 1, 10)  # and open again, the page never having closed
        await page.close()
        await until_online(b, 0, 10)
        # Open again from the moment it was closed (or opened, if that was after the worker's
        # last beat seen): no gap in the director's attendance.
        log = await course_log(redis_url)
        (reset,) = [e for e in log if e.type == "presence.reset" and e.data.get("connections")]
        (first, again) = [e for e in log if e.type == "presence.joined"]
        assert first.seq < reset.seq < again.seq
        assert happened(again) == max(happened(reset), happened(first))


def test_workers_stop_when_their_supervisor_is_killed(redis_url, figure):
    """Killed outright, the process that started the workers cannot stop them: they notice
    it is gone and stop by themselves, leaving nothing that serves, unsupervised, on the port."""
    fresh_course(redis_url)
    port = free_port()
    proc = spawn(
        "--store", redis_url, "--rehearsal-start", START, "--workers", "2", port=port, env=SECRET
    )
    children: list[str] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [int(c) for c in children if "multiprocessing-fork" in cmdline(int(c))]
        assert len(workers) == 2, [cmdline(int(c)) for c in children]
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        killed = time.monotonic()
        deadline = killed + 15
        left = [int(c) for c in children]  # the workers and multiprocessing's resource tracker
        while any(alive(c) for c in left) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(c) for c in left), [cmdline(c) for c in left if alive(c)]
        figure(
            "workers gone after their supervisor was killed (s)",
            round(time.monotonic() - killed, 1),
        )
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in children:
            if alive(int(c)):
                os.kill(int(c), signal.SIGKILL)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running, and not a zombie left for a parent to reap (an orphan's is reaped by init)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_redis_outage_longer_than_a_beat_closes_nobody_still_there(tmp_path):
    """While Redis is away no worker can beat, so when it is back each must give the others
    time to beat again before judging them gone: the pages still open stay online."""
    from tests.redis_server import RedisServer

    redis = RedisServer(tmp_path / "redis")
    redis.start()
    beats = {**SECRET, "COMPANION_HEARTBEAT": "0.3"}  # a beat lives 0.9 s: the outage is longer
    args = ("--store", redis.url, "--rehearsal-start", START)
    try:
        fresh_course(redis.url)
        with companion(*args, env=beats) as a, companion(*args, env=beats) as b:
            ws = await director_online(a, b, redis.url)
            redis.stop()
            await asyncio.sleep(3)
            redis.start()
            await asyncio.sleep(4)  # well past three beats after it is back
            assert await asyncio.to_thread(online, b) == 1
            await ws.close()
    finally:
        redis.stop()
