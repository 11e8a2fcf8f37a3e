"""Faults: a server killed outright comes back with nothing acknowledged lost, and every page
resyncs by itself within seconds."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import ARGS, CHROMIUM
from tests.integration.test_two_workers import SECRET, cli, director_cookie, post
from tests.servers import ROOT, free_port, wait_healthy

pytestmark = pytest.mark.integration


def start(store: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--store", store,
           "--rehearsal-start", "2026-05-13T14:05:00Z"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **SECRET},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def test_sigkill_mid_session_loses_nothing_and_pages_resync_within_five_seconds(tmp_path):
    from playwright.sync_api import sync_playwright

    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROOT / "scenarios/demo/roster.csv"), "--store", store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(store, port)
    try:
        cookie = director_cookie(url, store)
        acknowledged = []
        for n in range(20):  # a burst of acknowledged writes
            assert post(url, "/director/announce", cookie, text=f"note {n}") == 200
            acknowledged.append(f"note {n}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#conn-status.conn-live")
            proc.send_signal(signal.SIGKILL)  # no shutdown, no flush
            proc.wait()
            page.wait_for_selector("#conn-status.conn-lost", timeout=5000)
            proc = start(store, port)
            t0 = time.monotonic()
            page.wait_for_selector("#conn-status.conn-live", timeout=5000)
            resynced_in = time.monotonic() - t0
            assert resynced_in < 5.0
            assert post(url, "/director/announce", cookie, text="after the crash") == 200
            page.wait_for_selector("#announcements :text('after the crash')", timeout=5000)
            browser.close()
        health = json.loads(urllib.request.urlopen(url + "/healthz").read())
        assert health["status"] == "ok"
        exported = urllib.request.urlopen(url + "/").read().decode()
        assert "after the crash" in exported
        state = cli("export", "credits", "--format", "json", "--store", store)
        assert json.loads(state)  # the log replays cleanly after the kill
        # Every acknowledged announcement is in the log exactly once.
        import sqlite3

        db = sqlite3.connect(tmp_path / "log.db")
        texts = [json.loads(d)["text"] for (d,) in db.execute(
            "SELECT data FROM events WHERE type='announcement.sent' ORDER BY seq")]
        db.close()
        assert texts == [*acknowledged, "after the crash"]
    finally:
        proc.kill()
        proc.wait()


def test_a_page_that_stops_answering_pings_is_counted_as_gone(tmp_path):
    import base64
    import socket

    from server.auth import Signer
    from server.domain.people import person_id

    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROOT / "scenarios/demo/roster.csv"), "--store", store)
    port = free_port()
    env = {**os.environ, **SECRET, "COMPANION_WS_PING": "0.5"}
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--store", store]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        cookie = Signer(SECRET["COMPANION_SECRET"]).session_value(
            person_id("priya.raman@example.org"))
        # A laptop lid closes: the socket stays open but nothing answers any more.
        s = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nCookie: companion_session={cookie}\r\n\r\n")
                  .encode())
        assert b"101" in s.recv(4096).split(b"\r\n")[0]

        def online() -> int:
            return int(json.loads(urllib.request.urlopen(url + "/healthz").read())["online"])

        deadline = time.monotonic() + 5
        while online() != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert online() == 1
        deadline = time.monotonic() + 10
        while online() != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert online() == 0  # the ping went unanswered: the leave is recorded
        s.close()
    finally:
        proc.kill()
        proc.wait()
