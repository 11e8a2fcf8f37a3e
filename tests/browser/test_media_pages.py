"""Two people in one small group, each in their own Chromium with fake camera and microphone,
join the room's audio and video and see each other's picture play; the director drops in on the
group and joins its audio and video as a visitor the group sees by name."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import sync_playwright

from tests.chromium import ARGS, CHROMIUM, FAKE_MEDIA, SCREEN, STOP_SHARING, Watched, wait_true
from tests.servers import DEMO_ROSTER as ROSTER
from tests.servers import cli, companion, free_port

pytestmark = pytest.mark.browser

DAY2_PRACTICE = "2026-05-14T15:20:00Z"  # Day 2, 11:20 ET: small-group practice

PLAYING = """() => [...document.querySelectorAll('#media-stage video, #media-gallery .vtile:not(.vtile-self) video')]
  .some(v => v.videoWidth > 0 && v.currentTime > 0.5 && !v.paused)"""


def test_two_browsers_see_each_other(tmp_path):
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    lo = free_port() // 100 * 100
    args = (
        "--store",
        store,
        "--rehearsal-start",
        DAY2_PRACTICE,
        "--media-addresses",
        "127.0.0.1",
        "--udp-ports",
        f"{lo}-{lo + 49}",
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
                d = browsers[0].new_context()
                d.request.get(director["link"])
                r = d.request.post(
                    url + "/director/groups/assign",
                    form={"seed": "3", "min_size": "2", "max_size": "3", "teams": "together"},
                )
                assert r.ok, r.text()
                # Two learners of one group: the first learner's room, and the next learner
                # whose page shows the same room.
                learners = [x for x in links if x["role"] == "learner"]
                pages, errors = [], []
                rooms = {}
                for person in learners:
                    ctx = browsers[len(pages) % 2].new_context(permissions=["camera", "microphone"])
                    ctx.request.get(person["link"])
                    page = ctx.new_page()
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    page.goto(url + "/")
                    wait_true(page, "document.getElementById('media-room').textContent !== ''", 15)
                    room = page.text_content("#media-room")
                    if rooms and room not in rooms:
                        ctx.close()
                        continue
                    rooms[room] = rooms.get(room, 0) + 1
                    pages.append(page)
                    if len(pages) == 2:
                        break
                assert len(pages) == 2, "two learners of one group"
                for page in pages:
                    page.click("#media-join")
                for page in pages:
                    wait_true(page, PLAYING, 30)
                    assert page.is_visible("#media-leave")
                    assert page.is_visible("#media-mic")
                names = [page.text_content(".vtile:not(.vtile-self) figcaption") for page in pages]
                assert all(names), names
                # Mute on one page shows on the other.
                pages[0].click("#media-mic")
                wait_true(
                    pages[1],
                    "[...document.querySelectorAll('figcaption')]"
                    ".some(c => c.textContent.includes('muted'))",
                    10,
                )
                pages[0].screenshot(path=str(tmp_path / "media.png"))
                # The director drops in on their group: the director's page joins its audio and
                # video, and the group sees them there by name.
                group = next(iter(rooms)).removeprefix("— ").removeprefix("Small group ")
                r = d.request.post(url + "/visit", form={"room": f"group:{group}"})
                assert r.ok, r.text()
                visitor = d.new_page()
                visitor.on("pageerror", lambda e: errors.append(str(e)))
                visitor.goto(url + "/")
                wait_true(
                    visitor,
                    "document.getElementById('media-room').textContent.includes("
                    + json.dumps(group)
                    + ")",
                    15,
                )
                visitor.click("#media-join")
                wait_true(visitor, PLAYING, 30)
                wait_true(
                    pages[0],
                    "[...document.querySelectorAll('figcaption')].some(c => c.textContent"
                    f".includes({json.dumps(director['name'])}))",
                    30,
                )
                # The director shares a screen into the group (the embedded engine encodes it
                # once, like a camera); both learners see it large, and its end in the
                # browser is noticed.
                wait_true(visitor, "!document.getElementById('media-screen').hidden", 15)
                visitor.click("#media-screen")
                for page in pages:
                    wait_true(page, SCREEN, 30)
                visitor.evaluate(STOP_SHARING)
                wait_true(
                    visitor,
                    "document.getElementById('media-screen').textContent"
                    ".includes('Share your screen')",
                    10,
                )
                for page in pages:
                    wait_true(page, "!document.querySelector('#media-stage .vtile.is-screen')", 20)
                # A learner is not offered the button, and the server refuses one anyway.
                assert pages[0].is_hidden("#media-screen")
                assert errors == [], errors
                assert [e for b in browsers for e in b.errors] == []
            finally:
                for b in browsers:
                    b.close()


def test_no_camera_gets_a_clear_message_and_watching_still_works(browser, tmp_path):
    """A browser without camera or microphone (and without permission to ask) is told what is
    wrong and how to fix it; it can still join to watch and listen."""
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    args = ("--store", store, "--rehearsal-start", DAY2_PRACTICE, "--media-addresses", "127.0.0.1")
    with companion(*args, env=env) as url:
        links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        learner = next(x for x in links if x["role"] == "learner")
        ctx = browser.new_context()  # no fake devices, no permission
        ctx.request.get(learner["link"])
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        wait_true(page, "document.getElementById('media-room').textContent !== ''", 15)
        page.click("#media-join")
        wait_true(
            page,
            "/blocked|No camera|in use/.test(document.getElementById('media-status').textContent)",
            15,
        )
        text = page.text_content("#media-status")
        assert "watch and listen only" in text or "Join again" in text, text
        assert page.is_visible("#media-watch")
        page.click("#media-watch")
        wait_true(page, "document.getElementById('media-leave').offsetParent !== null", 10)
        wait_true(
            page,
            "/Watching and listening|No room/.test("
            "document.getElementById('media-status').textContent)",
            20,
        )
        assert not page.is_visible("#media-mic")  # nothing to mute
        ctx.close()
        assert errors == [], errors
