"""Redis goes away mid-course: the server stays up, every page says so, writes are refused with a
clear message, and when Redis is back everything recovers by itself with nothing lost."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets

from tests.redis_server import redis_server
from tests.servers import ROOT, SECRET, cli, companion, director_cookie, free_port, post

pytestmark = pytest.mark.integration


async def next_containing(ws, needle, timeout=10.0):
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.recv()
            if needle in msg:
                return msg


def try_post(url, path, cookie, **form):
    try:
        return post(url, path, cookie, **form), ""
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def test_redis_outage_is_shown_refused_and_recovered(tmp_path):
    port = free_port()
    data = tmp_path / "redis"
    with redis_server(data, port) as redis_url:
        cli("roster", "import", str(ROOT / "scenarios/demo/roster.csv"), "--store", redis_url)
        # Redis keeps running until the block ends; the app outlives it below.
        stack = companion(
            "--store", redis_url, "--rehearsal-start", "2026-05-13T14:05:00Z", env=SECRET
        )
        url = stack.__enter__()
        cookie = director_cookie(url, redis_url)
        status, _ = try_post(url, "/director/announce", cookie, text="Before the outage")
        assert status == 200
        ws = await websockets.connect(url.replace("http", "ws") + "/live")
        await ws.recv(), await ws.recv()
    try:
        # Redis is down now.
        msg = await next_containing(ws, "store-down")
        assert "cannot be reached" in msg
        status, body = await asyncio.to_thread(
            try_post, url, "/director/announce", cookie, text="During the outage"
        )
        assert status == 503 and "Not saved" in body and "unreachable" in body
        health = json.loads(urllib.request.urlopen(url + "/healthz").read())
        assert health["status"].startswith("degraded")
        # Redis comes back with its append-only file: the page clears and writes work again.
        with redis_server(data, port):
            msg = await next_containing(ws, 'id="store-status"', timeout=15)
            while "store-down" in msg:
                msg = await next_containing(ws, 'id="store-status"', timeout=15)
            status, body = await asyncio.to_thread(
                try_post, url, "/director/announce", cookie, text="After the outage"
            )
            assert status == 200, body
            await next_containing(ws, "After the outage")
            page = urllib.request.urlopen(url + "/").read().decode()
            assert "Before the outage" in page and "After the outage" in page
            assert "During the outage" not in page
    finally:
        await ws.close()
        stack.__exit__(None, None, None)
