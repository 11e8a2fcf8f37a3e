"""Audio and video through Janus, as people see it: two Janus instances and the companion,
started by the test inside a network namespace of its own (Janus offers no loopback
candidates; tests/netns.py), and Chromium pages with fake camera, microphone and screen.

Two learners of one group see and hear each other through Janus; the group's facilitator
shares a screen the learners see large, and stopping it from the browser is noticed; an outsider
from another group gets none of the group's feeds, and Janus itself refuses a subscriber without
the room's pin; killing the instance the room lives on moves the room to the other instance and
the pages reconnect by themselves; an agenda move takes everyone into the next room."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from playwright.sync_api import sync_playwright

from tests.chromium import ARGS, CHROMIUM, FAKE_MEDIA, SCREEN, STOP_SHARING, Watched, wait_true
from tests.janus_server import API_SECRET, ENV, janus
from tests.netns import namespace
from tests.servers import DEMO_ROSTER as ROSTER
from tests.servers import cli, companion

pytestmark = pytest.mark.browser

DAY2_PRACTICE = "2026-05-14T15:20:00Z"  # Day 2, 11:20 ET: small-group practice
SECRET = {"COMPANION_SECRET": "janus-browser-secret-0123456789abcdef"}

# A remote picture that plays: decoded frames and a clock that moves.
PLAYING = """() => [...document.querySelectorAll(
  '#media-stage .vtile:not(.vtile-self) video, #media-gallery .vtile:not(.vtile-self) video')]
  .some(v => v.videoWidth > 0 && v.currentTime > 0.5 && !v.paused)"""
SOUND = """() => [...document.querySelectorAll('#media-audio audio')]
  .some(a => a.srcObject && a.srcObject.getAudioTracks().some(t => t.readyState === 'live')
          && a.currentTime > 0.5)"""


FRAMES = """() => [...document.querySelectorAll('.vtile:not(.vtile-self) video')]
  .filter(v => !v.closest('#media-screen-self'))
  .reduce((n, v) => n + v.getVideoPlaybackQuality().totalVideoFrames, 0)"""


def wait_frames(page, timeout: float) -> None:
    """Remote pictures decode new frames (a frozen picture of a dead connection does not)."""
    deadline = time.monotonic() + timeout
    while True:
        before = page.evaluate(FRAMES)
        page.wait_for_timeout(1000)
        if page.evaluate(FRAMES) > before + 5 and page.evaluate(PLAYING):
            return
        assert time.monotonic() < deadline, "no new frames"


def janus_room_of(room: str) -> str:
    """The name the companion gives `room` in Janus, as its own code computes it."""
    from server.media.janus import janus_room, room_key

    return janus_room(room_key(SECRET["COMPANION_SECRET"]), room)


def hosts(db: str) -> dict[str, str]:
    """Which Janus instance each room lives on, read from the log itself (room.hosted)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT data FROM events WHERE type = 'room.hosted' ORDER BY seq")
        out: dict[str, str] = {}
        for (data,) in rows:
            d = json.loads(data)
            out[d["room"]] = d["instance"]
        return out
    finally:
        con.close()


def refused_without_pin(url: str, room: str) -> str:
    """An outsider who somehow reached Janus (with its API secret, even) and knows a room's
    name still cannot subscribe: the room has a pin only the companion knows."""
    from websockets.sync.client import connect

    with connect(url, subprotocols=["janus-protocol"]) as ws:

        def call(msg):
            ws.send(json.dumps({**msg, "apisecret": API_SECRET}))
            while True:
                r = json.loads(ws.recv(10))
                if r.get("janus") != "ack":
                    return r

        s = (call({"janus": "create", "transaction": "a"}))["data"]["id"]
        h = (
            call(
                {
                    "janus": "attach",
                    "plugin": "janus.plugin.videoroom",
                    "session_id": s,
                    "transaction": "b",
                }
            )
        )["data"]["id"]
        listed = call(
            {
                "janus": "message",
                "session_id": s,
                "handle_id": h,
                "transaction": "c",
                "body": {"request": "list"},
            }
        )
        rooms = listed["plugindata"]["data"]["list"]
        assert rooms == [], f"rooms are private, yet Janus lists {rooms}"
        r = call(
            {
                "janus": "message",
                "session_id": s,
                "handle_id": h,
                "transaction": "d",
                "body": {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": room,
                    "streams": [{"feed": "x"}],
                },
            }
        )
        return json.dumps(r["plugindata"]["data"])


@pytest.fixture(scope="module")
def netns():
    with namespace("janus") as ns:
        yield ns


def test_rooms_through_janus(netns, tmp_path):
    db = tmp_path / "log.db"
    store = f"sqlite:///{db}"
    env = {**SECRET, **ENV}
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    with janus(netns.interface) as j1, janus(netns.interface) as j2:
        args = (
            "--store",
            store,
            "--rehearsal-start",
            DAY2_PRACTICE,
            "--media",
            f"{j1.url},{j2.url}",
        )
        with companion(*args, env=env) as url:
            links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
            director = next(x for x in links if x["role"] == "director")
            with sync_playwright() as p:
                browsers = [
                    Watched(p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *FAKE_MEDIA]))
                    for _ in range(2)
                ]
                try:
                    run_course_day(browsers, url, links, director, str(db), j1, j2)
                finally:
                    for b in browsers:
                        b.close()


def run_course_day(browsers, url, links, director, db, j1, j2):
    d = browsers[0].new_context()
    d.request.get(director["link"])
    r = d.request.post(
        url + "/director/groups/assign",
        form={"seed": "3", "min_size": "2", "max_size": "3", "teams": "together"},
    )
    assert r.ok, r.text()

    def open_page(person, i):
        ctx = browsers[i % 2].new_context(permissions=["camera", "microphone"])
        ctx.request.get(person["link"])
        page = ctx.new_page()
        page.goto(url + "/")
        wait_true(page, "document.getElementById('media-room').textContent !== ''", 15)
        return page, page.text_content("#media-room")

    # A group's facilitator, two learners of that group, and a learner of another group.
    facilitators = {}
    for i, person in enumerate(x for x in links if x["role"] == "facilitator"):
        page, room_label = open_page(person, i)
        if "Small group" in room_label and room_label not in facilitators:
            facilitators[room_label] = page
        else:
            page.context.close()
    pages: dict[str, list] = {}
    outsider = None
    for i, person in enumerate(x for x in links if x["role"] == "learner"):
        page, room_label = open_page(person, i)
        if room_label in facilitators and len(pages.get(room_label, [])) < 2:
            pages.setdefault(room_label, []).append((page, person))
        elif outsider is None and "Small group" in room_label:
            outsider = page
            continue
        else:
            page.context.close()
            continue
        if outsider is not None and any(len(v) == 2 for v in pages.values()):
            break
    label, pair = next((k, v) for k, v in pages.items() if len(v) == 2)
    (a, pa), (b, pb) = pair
    assert outsider is not None
    fac = facilitators.pop(label)
    for page in facilitators.values():
        page.context.close()
    for k, v in pages.items():
        if k != label:
            for page, _ in v:
                page.context.close()
    group = {"members": [pa["id"], pb["id"]], "name": label.removeprefix("— Small group ")}
    for page in (a, b, fac, outsider):
        assert page.get_attribute("#media", "data-engine") == "janus"
    for page in (a, b, outsider):
        page.click("#media-join")
    for page in (a, b):
        wait_true(page, PLAYING, 40)
        wait_true(page, SOUND, 20)
    names = {
        a.text_content(".vtile:not(.vtile-self) figcaption"),
        b.text_content(".vtile:not(.vtile-self) figcaption"),
    }
    assert all(names), names
    # Simulcast: each tile names the layer it gets.
    wait_true(
        a, "[...document.querySelectorAll('.vtile-q')].some(q => /\\d+p/.test(q.textContent))", 15
    )

    # The outsider, in another group's room, never gets this group's feeds.
    outsider.wait_for_timeout(1500)
    seen = outsider.evaluate(
        "[...document.querySelectorAll('.vtile:not(.vtile-self)')].map(t => t.dataset.person)"
    )
    assert not set(seen) & set(group["members"]), seen
    room = f"group:{group['name']}"
    placed = hosts(db)
    assert room in placed, placed
    first = j1 if placed[room] == j1.name else j2
    spare = j2 if first is j1 else j1
    verdict = refused_without_pin(f"ws://{first.name}", janus_room_of(room))
    assert "error_code" in verdict, verdict

    # A page whose link is poor steps down (the rule is tests/unit/test_quality_rule.py; here the
    # page says what it decided): at "audio" the server stops sending it pictures, and they come
    # back at "high".
    a.evaluate("window.companionSend({type: 'media.quality', level: 'audio'})")
    wait_true(
        a,
        "[...document.querySelectorAll('.vtile[data-person]:not(.vtile-self):not(.is-screen)')]"
        ".every(t => t.classList.contains('cam-off') && !t.dataset.mid"
        " && t.querySelector('.vtile-q').textContent === 'audio only')",
        15,
    )
    wait_true(a, SOUND, 10)
    a.evaluate("window.companionSend({type: 'media.quality', level: 'high'})")
    wait_frames(a, 30)

    # The facilitator shares a screen; both learners see it large.
    fac.click("#media-join")
    wait_true(fac, "!document.getElementById('media-screen').hidden", 20)
    fac.click("#media-screen")
    for page in (a, b):
        wait_true(page, SCREEN, 30)
    if os.environ.get("COMPANION_SHOTS"):
        a.set_viewport_size({"width": 1366, "height": 768})
        a.wait_for_timeout(1500)
        a.screenshot(path=os.path.join(os.environ["COMPANION_SHOTS"], "janus-screen.png"))
    # Stopping it with the browser's own control (the track ends) is noticed.
    fac.evaluate(STOP_SHARING)
    wait_true(
        fac, "/Share your screen/.test(document.getElementById('media-screen').textContent)", 10
    )
    for page in (a, b):
        wait_true(page, "!document.querySelector('#media-stage .vtile.is-screen')", 20)

    # The instance the room lives on dies: the room moves and the pages reconnect by themselves.
    first.kill()
    deadline = time.monotonic() + 30
    while hosts(db).get(room) != spare.name:
        assert time.monotonic() < deadline, f"{room} was not placed again: {hosts(db)}"
        time.sleep(0.2)
    for page in (a, b):
        wait_frames(page, 45)

    # An agenda move: the next item takes everyone to its room, and they see each other there.
    before = a.text_content("#media-room")
    for _ in range(4):
        r = d.request.post(url + "/director/clock/next")
        assert r.ok, r.text()
        a.wait_for_timeout(800)
        now = a.text_content("#media-room")
        if now != before and "Small group" not in now and now:
            break
    now = a.text_content("#media-room")
    assert now != before and "Small group" not in now, (before, now)
    assert b.text_content("#media-room") == now
    for page in (a, b):
        wait_frames(page, 45)
    for page in (a, b, fac, outsider):
        page.context.close()


def test_pages_on_two_servers_meet_in_one_janus_room(netns, tmp_path):
    """Two companion servers on one Redis log (as two hosts, or workers, would be) and one Janus:
    a learner on each server, both in one group, see each other; the room is placed once."""
    from tests.redis_server import redis_server

    env = {**SECRET, **ENV}
    with redis_server(tmp_path / "redis") as store, janus(netns.interface) as j:
        cli("roster", "import", str(ROSTER), "--store", store, env=env)
        args = ("--store", store, "--rehearsal-start", DAY2_PRACTICE, "--media", j.url)
        with companion(*args, env=env) as one, companion(*args, env=env) as two:
            links = json.loads(cli("links", "--json", "--store", store, "--base-url", one, env=env))
            director = next(x for x in links if x["role"] == "director")
            with sync_playwright() as p:
                browser = Watched(
                    p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *FAKE_MEDIA])
                )
                try:
                    d = browser.new_context()
                    d.request.get(director["link"])
                    r = d.request.post(
                        one + "/director/groups/assign",
                        form={"seed": "3", "min_size": "2", "max_size": "3", "teams": "together"},
                    )
                    assert r.ok, r.text()
                    seen: dict[str, object] = {}
                    pair = []
                    for person in (x for x in links if x["role"] == "learner"):
                        base = (one, two)[len(pair) % 2]
                        ctx = browser.new_context(permissions=["camera", "microphone"])
                        ctx.request.get(person["link"].replace(one, base))
                        page = ctx.new_page()
                        page.goto(base + "/")
                        wait_true(
                            page,
                            "document.getElementById('media-room')"
                            ".textContent.includes('Small group')",
                            15,
                        )
                        label = page.text_content("#media-room")
                        if not pair:
                            pair.append(page)
                            seen["label"] = label
                        elif label == seen["label"]:
                            pair.append(page)
                            break
                        else:
                            ctx.close()
                    assert len(pair) == 2
                    assert pair[0].url.startswith(one) and pair[1].url.startswith(two)
                    for page in pair:
                        page.click("#media-join")
                    for page in pair:
                        wait_frames(page, 45)
                finally:
                    browser.close()


RECORDING_ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Fran Facilitator,fran@example.org,facilitator,nurse,adult
Sam Actor,sam@example.org,sp,other,adult
Lee Learner,lee@example.org,learner,nurse,adult
Kim Learner,kim@example.org,learner,physician,pediatric
"""


def saved(db: str) -> list[dict]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT type, data FROM events WHERE type LIKE 'recording.%' ORDER BY seq"
        )
        live: dict[str, dict] = {}
        for kind, data in rows:
            d = json.loads(data)
            if kind == "recording.saved":
                live[d["id"]] = d
            elif kind == "recording.deleted":
                live.pop(d["id"], None)
        return list(live.values())
    finally:
        con.close()


def test_a_turn_recorded_on_janus_is_split_at_time_outs_and_replays(netns, tmp_path):
    """Recording on, everyone on the stage consenting: Janus records each stage member's camera
    and microphone per part of the turn (split at the time-out); each part is converted to a
    WebM the group replays at once; the director deletes one and its file goes."""
    import urllib.parse

    import av

    from server.content.cases import load_library

    db = tmp_path / "log.db"
    store = f"sqlite:///{db}"
    env = {**SECRET, **ENV}
    roster = tmp_path / "roster.csv"
    roster.write_text(RECORDING_ROSTER)
    cli("roster", "import", str(roster), "--store", store, env=env)
    recordings = tmp_path / "recordings"
    with janus(netns.interface) as j:
        args = (
            "--store",
            store,
            "--rehearsal-start",
            DAY2_PRACTICE,
            "--media",
            j.url,
            "--recordings",
            str(recordings),
        )
        with companion(*args, env=env) as url:
            links = {
                x["email"].split("@")[0]: x
                for x in json.loads(
                    cli("links", "--json", "--store", store, "--base-url", url, env=env)
                )
            }
            with sync_playwright() as p:
                browser = Watched(
                    p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *FAKE_MEDIA])
                )
                try:
                    d = browser.new_context()
                    d.request.get(links["director"]["link"])
                    r = d.request.post(
                        url + "/director/groups/assign",
                        form={"seed": "1", "min_size": "1", "max_size": "3", "teams": "together"},
                    )
                    assert r.ok, r.text()
                    pages = {}
                    for who in ("fran", "sam", "lee"):
                        ctx = browser.new_context(permissions=["camera", "microphone"])
                        ctx.request.get(links[who]["link"])
                        page = ctx.new_page()
                        page.goto(url + "/")
                        wait_true(
                            page,
                            "document.getElementById('media-room')"
                            ".textContent.includes('Small group')",
                            15,
                        )
                        page.click("#media-join")
                        pages[who] = page
                    for page in pages.values():
                        wait_frames(page, 45)
                    label = pages["lee"].text_content("#media-room")
                    group = label.removeprefix("— Small group ").strip()
                    rp = f"{url}/rp/{urllib.parse.quote(group)}"

                    def post(who, action, **form):
                        r = pages[who].context.request.post(f"{rp}/{action}", form=form)
                        assert r.ok, (action, r.status, r.text()[:300])

                    post("fran", "recording", on="1")
                    case = next(c.id for c in load_library().values() if c.track == "adult")
                    post("fran", "start", scenario=case)
                    lee_id = links["lee"]["id"]
                    post("fran", "begin", learner=lee_id, goal="Pause")
                    for who in ("fran", "sam", "lee"):
                        post(who, "consent", given="1")
                    wait_true(
                        pages["sam"],
                        "/Recording turn 1, part 1/.test("
                        "document.getElementById('media-recording')?.textContent || '')",
                        15,
                    )
                    pages["sam"].wait_for_timeout(4000)
                    post("sam", "timeout")
                    pages["sam"].wait_for_timeout(1500)
                    post("fran", "timein")
                    pages["sam"].wait_for_timeout(4000)
                    post("fran", "end-turn")
                    deadline = time.monotonic() + 30
                    while len(saved(str(db))) < 6:
                        assert time.monotonic() < deadline, saved(str(db))
                        time.sleep(0.3)
                    recs = saved(str(db))
                    assert {(r["segment"], r["person"]) for r in recs} == {
                        (s, links[w]["id"]) for s in (1, 2) for w in ("fran", "sam", "lee")
                    }
                    for rec in recs:
                        with av.open(str(recordings / rec["file"])) as c:
                            kinds = {s.type for s in c.streams}
                            frames = sum(1 for _ in c.decode(video=0))
                        assert kinds == {"video", "audio"}, (rec["file"], kinds)
                        # Janus writes video from the camera's first whole picture on: up to
                        # about two seconds into a part (README), so a 4 s part has 10 or more.
                        assert frames >= 10, (rec["file"], frames)
                    assert not list((recordings / ".janus").glob("*.mjr"))  # converted, gone
                    # The group replays them at once.
                    body = pages["lee"].context.request.get(f"{rp}/recordings").text()
                    assert body.count("<video") == 6
                    rec = recs[0]
                    r = d.request.post(url + "/director/recordings/delete", form={"id": rec["id"]})
                    assert r.ok
                    deadline = time.monotonic() + 10
                    while (recordings / rec["file"]).exists():
                        assert time.monotonic() < deadline, "the deleted recording's file"
                        time.sleep(0.2)
                finally:
                    browser.close()
