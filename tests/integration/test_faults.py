"""Faults: a server killed outright comes back with nothing acknowledged lost, and every page
resyncs by itself within seconds."""

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.chromium import ARGS, CHROMIUM
from tests.servers import (
    ROOT,
    SECRET,
    cli,
    director_cookie,
    free_port,
    person_ids,
    post,
    spawn,
    wait_healthy,
)

pytestmark = pytest.mark.integration


def start(store: str, port: int) -> subprocess.Popen[bytes]:
    proc = spawn(
        "--store", store, "--rehearsal-start", "2026-05-13T14:05:00Z", port=port, env=SECRET
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def test_sigkill_mid_session_loses_nothing_and_pages_resync_within_five_seconds(tmp_path, figure):
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
            time.sleep(2)  # the course clock moves on before the kill
            assert post(url, "/director/announce", cookie, text="just before") == 200
            acknowledged.append("just before")
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
        texts = [
            json.loads(d)["text"]
            for (d,) in db.execute(
                "SELECT data FROM events WHERE type='announcement.sent' ORDER BY seq"
            )
        ]
        assert texts == [*acknowledged, "after the crash"]
        # Started again with the same --rehearsal-start, the rehearsal clock went on from where
        # the log was, never back: course time in the log only moves forward.
        stamps = [
            at
            for (at,) in db.execute("SELECT at FROM events WHERE at LIKE '2026-05%' ORDER BY seq")
        ]
        assert stamps == sorted(stamps)
        db.close()
        figure("acknowledged writes before the kill", len(acknowledged))
        figure("lost", 0)
        figure("page live again after restart (s)", round(resynced_in, 2))
    finally:
        proc.kill()
        proc.wait()


def test_a_page_that_stops_answering_pings_is_counted_as_gone(tmp_path, figure):
    import base64
    import socket

    from server.access.links import Signer

    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROOT / "scenarios/demo/roster.csv"), "--store", store)
    port = free_port()
    proc = spawn("--store", store, port=port, env={**SECRET, "COMPANION_WS_PING": "0.5"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        cookie = Signer(SECRET["COMPANION_SECRET"]).session_value(
            person_ids(store, SECRET)["priya.raman@example.org"]
        )
        # A laptop lid closes: the socket stays open but nothing answers any more.
        s = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            (
                f"GET /live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nCookie: companion_session={cookie}\r\n\r\n"
            ).encode()
        )
        assert b"101" in s.recv(4096).split(b"\r\n")[0]

        def online() -> int:
            return int(json.loads(urllib.request.urlopen(url + "/healthz").read())["online"])

        deadline = time.monotonic() + 5
        while online() != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert online() == 1
        deadline = time.monotonic() + 10
        silent = time.monotonic()
        while online() != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert online() == 0  # the ping went unanswered: the leave is recorded
        figure(
            "silent page counted gone after (s, ping every 0.5 s)",
            round(time.monotonic() - silent, 1),
        )
        s.close()
    finally:
        proc.kill()
        proc.wait()


def test_sigkill_in_a_burst_of_submissions_loses_none_and_stores_each_once(tmp_path, figure):
    """Thirty learners send feedback and reflections as fast as they can; the server is killed
    mid-burst and restarted; every client resends what was not acknowledged (and, like a page
    whose reply was lost, some of what was). Every acknowledged and every resent submission is
    in the log exactly once."""
    import random
    import re
    import sqlite3
    import threading
    import urllib.error
    from concurrent.futures import ThreadPoolExecutor

    from server.access.links import Signer

    store = f"sqlite:///{tmp_path / 'log.db'}"
    roster = ROOT / "scenarios/demo/roster.csv"
    cli("roster", "import", str(roster), "--store", store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    practice = "2026-05-14T15:20:00Z"  # Day 2, role-play practice

    def serve():
        p = spawn("--store", store, "--rehearsal-start", practice, port=port, env=SECRET)
        wait_healthy(url, p)
        return p

    signer = Signer(SECRET["COMPANION_SECRET"])
    rows = [line.split(",") for line in roster.read_text().splitlines()[1:]]
    learners = [r[1] for r in rows if r[2] == "learner"]
    ids = person_ids(store, SECRET)
    cookie = {e: signer.session_value(ids[e]) for e in [r[1] for r in rows]}
    director = next(r[1] for r in rows if r[2] == "director")
    proc = serve()
    try:
        assert (
            post(
                url,
                "/director/groups/assign",
                cookie[director],
                seed="1",
                min_size="4",
                max_size="6",
                teams="together",
            )
            == 200
        )

        def group_of(email):
            req = urllib.request.Request(
                url + "/", headers={"Cookie": f"companion_session={cookie[email]}"}
            )
            found = re.search(
                r"Role-play · ([^<]+)</h2>", urllib.request.urlopen(req).read().decode()
            )
            return found.group(1).strip() if found else None

        groups = {e: group_of(e) for e in learners}
        group = groups[learners[0]]
        hot = learners[0]
        q = urllib.parse.quote(group)
        case = (
            "adult-news-anoxic-brain-injury"
            if group.startswith("Adult")
            else "peds-news-nicu-brain-hemorrhage"
        )
        assert post(url, f"/rp/{q}/start", cookie[director], scenario=case) == 200
        assert (
            post(
                url,
                f"/rp/{q}/begin",
                cookie[director],
                learner=ids[hot],
                goal="Stay with the silence",
            )
            == 200
        )

        lock = threading.Lock()
        acked: set[str] = set()
        unacked: list[tuple[str, str, dict]] = []

        def send(email, path, form):
            try:
                status = post(url, path, cookie[email], **form)
            except (urllib.error.URLError, ConnectionError, OSError):
                status = 0
            with lock:
                if status == 200:
                    acked.add(form["sid"])
                else:
                    unacked.append((email, path, form))
            return status

        def client(i, email):
            rng = random.Random(i)
            for k in range(12):
                sid = f"burst-{i:02d}-{k:02d}-{rng.randrange(10**6):06d}"
                if groups[email] == group and email != hot:
                    path = f"/fb/{q}/1"
                    form = {"sid": sid, "a.worked": f"{email} {k}", "a.try": "slow down"}
                else:
                    path = "/reflections"
                    form = {"sid": sid, "text": f"{email} thought {k}", "prompt": "p"}
                send(email, path, form)

        with ThreadPoolExecutor(max_workers=len(learners)) as pool:
            futures = [pool.submit(client, i, e) for i, e in enumerate(learners)]
            deadline = time.monotonic() + 30
            while len(acked) < 60 and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)  # mid-burst: no shutdown, no flush
            proc.wait()
            for f in futures:
                f.result()
        acked_before = set(acked)
        assert 60 <= len(acked_before) < 12 * len(learners), "the kill landed mid-burst"
        assert unacked, "some submissions were cut off by the kill"

        proc = serve()
        # Clients resend what was never acknowledged, and some of what was (lost replies).
        resend = list(unacked)
        unacked.clear()
        sample = sorted(acked_before)[::3]
        by_sid = {}
        # Rebuild the acknowledged forms to resend: same id, same words.
        for sid in sample:
            i, k = int(sid.split("-")[1]), int(sid.split("-")[2])
            email = learners[i]
            if groups[email] == group and email != hot:
                by_sid[sid] = (
                    email,
                    f"/fb/{q}/1",
                    {"sid": sid, "a.worked": f"{email} {k}", "a.try": "slow down"},
                )
            else:
                by_sid[sid] = (
                    email,
                    "/reflections",
                    {"sid": sid, "text": f"{email} thought {k}", "prompt": "p"},
                )
        resend += list(by_sid.values())
        db = sqlite3.connect(tmp_path / "log.db")
        landed = {
            json.loads(d)["sid"]
            for (d,) in db.execute("SELECT data FROM events")
            if "sid" in json.loads(d)
        }
        db.close()
        cut_but_stored = sum(1 for _, _, f in resend if f["sid"] in landed) - len(by_sid)
        for email, path, form in resend:
            assert send(email, path, form) == 200, (path, form["sid"])
        assert not unacked

        db = sqlite3.connect(tmp_path / "log.db")
        stored = [
            json.loads(d)["sid"]
            for (d,) in db.execute(
                "SELECT data FROM events WHERE type IN ('feedback.submitted', 'reflection.written')"
            )
        ]
        db.close()
        assert len(stored) == len(set(stored)), "a submission was stored twice"
        assert set(stored) >= acked_before | {f["sid"] for _, _, f in resend}
        assert set(stored) == acked  # and nothing that nobody sent
        figure("acknowledged before the kill", len(acked_before))
        figure("resent after restart", len(resend))
        figure("unacknowledged but already stored", cut_but_stored)
        figure("stored", len(stored))
        figure("duplicates", 0)
        print(
            f"\nburst: {len(acked_before)} acknowledged before the kill, {len(resend)} resent "
            f"({len(resend) - len(by_sid)} unacknowledged, {cut_but_stored} of them already "
            f"stored; {len(by_sid)} acknowledged), {len(stored)} stored, 0 duplicates"
        )
    finally:
        proc.kill()
        proc.wait()
