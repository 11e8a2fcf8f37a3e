"""Tried as an attacker would, through the app: cookies dressed to dodge the post limit, help
calls of other tracks, and whatever bytes a page's socket can be sent."""

import json

import pytest
from hypothesis import HealthCheck, given, settings

from tests.app.harness import make_client, pid, session
from tests.strategies import FRAMES


def reflection(sid: str, text: str = "t") -> dict[str, str]:
    return {"sid": sid, "item": "", "prompt": "", "text": text, "share": "0"}


def test_a_page_flooding_form_posts_is_slowed_and_others_are_not(tmp_path, figure):
    with make_client(tmp_path, seconds_before_first=-60) as c:
        director = session(c, "director@example.org")
        lee = session(c, "lee@example.org")
        codes = [
            c.post("/director/announce", data={"text": f"n{i}"}, headers=director)
            for i in range(120)
        ]
        slowed = [r for r in codes if r.status_code == 429]
        assert 40 <= len(slowed) <= 70, len(slowed)  # a burst of 60 passes, then about 10/s
        assert slowed[0].headers["retry-after"] == "1" and "wait a moment" in slowed[0].text
        assert len(c.app.state.service.state.announcements) == 120 - len(slowed)
        figure("posts sent at once", 120)
        figure("answered 429", len(slowed))
        # Someone else's posts are unaffected.
        r = c.post(
            "/reflections",
            data={"sid": "rate-other-1", "item": "", "prompt": "", "text": "t", "share": "0"},
            headers=lee,
        )
        assert r.status_code in (200, 303)


def test_extra_session_cookies_are_refused_and_store_nothing(tmp_path, figure):
    """The limit once keyed on the first session cookie and the session on the last: a junk
    cookie before a real one gave every post a fresh bucket."""
    with make_client(tmp_path, seconds_before_first=-60) as c:
        svc = c.app.state.service
        real = session(c, "lee@example.org")["cookie"].removeprefix("companion_session=")
        before = svc.state.seq
        codes = set()
        for i in range(200):
            cookie = f"companion_session=junk{i}; companion_session={real}"
            r = c.post(
                "/reflections", data=reflection(f"dup-{i:04d}", f"t{i}"), headers={"cookie": cookie}
            )
            codes.add(r.status_code)
        assert codes == {400} and svc.state.seq == before
        assert "two sessions" in r.text
        # Two Cookie headers are two cookies too.
        r = c.post(
            "/reflections",
            data=reflection("dup-two-headers"),
            headers=[("cookie", "companion_session=junk"), ("cookie", f"companion_session={real}")],
        )
        assert r.status_code == 400 and svc.state.seq == before
        # And a socket with two is closed before it opens.
        from starlette.websockets import WebSocketDisconnect

        with (
            pytest.raises(WebSocketDisconnect) as closed,
            c.websocket_connect(
                "/live", headers={"cookie": f"companion_session=junk; companion_session={real}"}
            ) as ws,
        ):
            ws.receive_text()
        assert closed.value.code == 1008
        figure("posts with a second session cookie accepted", 0)


def test_one_persons_posts_share_one_bucket_however_they_are_signed(tmp_path, figure):
    with make_client(tmp_path, seconds_before_first=-60) as c:
        svc = c.app.state.service
        signer = c.app.state.signer
        lee = pid(c, "lee@example.org")
        # Sessions of several link versions: all signed for Lee, one of them current.
        cookies = [f"companion_session={signer.session_value(lee, v)}" for v in range(5)]
        codes = [
            c.post(
                "/reflections",
                data=reflection(f"many-{i:04d}", f"t{i}"),
                headers={"cookie": cookies[i % 5]},
            ).status_code
            for i in range(150)
        ]
        slowed = codes.count(429)
        assert slowed >= 80, slowed  # a burst of 60 then about 10 a second, for all together
        # Junk cookies (signatures that fail) count against the address, not a fresh bucket each.
        junk = [
            c.post(
                "/reflections",
                data=reflection(f"junk-{i:04d}"),
                headers={"cookie": f"companion_session=junk{i}"},
            ).status_code
            for i in range(150)
        ]
        assert junk.count(429) >= 80
        figure("posts from one person at once", 150)
        figure("of them answered 429", slowed)
        assert svc.state.seq > 0


LIVE = {}


def live_client(tmp_path_factory):
    """One course for every example (opening a client per example would take minutes)."""
    if "c" not in LIVE:
        c = make_client(tmp_path_factory.mktemp("live"), seconds_before_first=-60)
        LIVE["c"] = c.__enter__()
        LIVE["exit"] = c
    return LIVE["c"]


@pytest.fixture(scope="module")
def course_for_frames(tmp_path_factory):
    c = live_client(tmp_path_factory)
    yield c
    LIVE.pop("exit").__exit__(None, None, None)
    LIVE.clear()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=FRAMES)
def test_a_live_socket_answers_any_frames_and_stays_open(course_for_frames, frames):
    """Binary frames, huge numbers, deep brackets, junk media messages: each gets an error
    reply (or its answer), and the page's socket still answers a clock ping afterwards."""
    c = course_for_frames
    with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
        ws.receive_text(), ws.receive_text()
        for kind, payload in frames:
            if kind == "bytes":
                ws.send_bytes(payload)
            else:
                ws.send_text(payload)
        ws.send_text('{"type": "clock", "t0": 42}')
        for _ in range(200):
            text = ws.receive_text()
            if not text.startswith("{"):
                continue  # a live partial pushed meanwhile
            msg = json.loads(text)
            if msg.get("type") == "clock" and msg.get("t0") == 42:
                break
            assert msg.get("type") in ("clock", "error", "media.error", "media.state"), msg
        else:
            raise AssertionError("the clock ping was never answered")
