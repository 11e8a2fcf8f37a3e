"""The live channel through Starlette's TestClient: snapshot, boundary push, director commands."""

import json
import time

from server.service.clock import RehearsalClock
from tests.app.harness import make_client, read_until, sign_in_director


def test_first_message_is_the_clock_then_a_full_snapshot(client):
    with client.websocket_connect("/live") as ws:
        clock = json.loads(ws.receive_text())
        assert clock["type"] == "clock" and clock["speed"] == 1.0
        snap = ws.receive_text()
        for root in ('id="now"', 'id="next"', 'id="day-1"', 'id="day-3"', 'id="announcements"'):
            assert root in snap
        assert 'hx-swap-oob="true"' in snap
        assert "The course has not started yet" in snap


def test_every_page_moves_on_at_the_boundary(tmp_path):
    # The rehearsal clock starts 3 s before Day 1 10:00 ET (starting the app takes some of it).
    with make_client(tmp_path, seconds_before_first=3.0) as c:
        with c.websocket_connect("/live") as a, c.websocket_connect("/live") as b:
            for ws in (a, b):
                ws.receive_text()
                assert "not started yet" in ws.receive_text()
            t0 = time.monotonic()
            pushed = [read_until(ws, 'id="now"') for ws in (a, b)]
            waited = time.monotonic() - t0
        assert all("Welcome to the Core Principles of Palliative Care" in m for m in pushed)
        assert pushed[0] == pushed[1]  # rendered once, the same bytes to both
        assert 0.5 < waited < 4.5
        assert c.app.state.service.boundaries_pushed >= 1


def test_a_boundary_sends_only_the_agenda_items_that_changed(tmp_path):
    from server.domain.agenda import build_schedule
    from tests.app.harness import COURSE

    schedule = build_schedule(COURSE)
    day1, day2 = schedule.day_items(1), schedule.day_items(2)
    with make_client(tmp_path, seconds_before_first=2.0) as c:
        with c.websocket_connect("/live") as ws:
            ws.receive_text()
            assert "not started yet" in ws.receive_text()  # the boundary is still ahead
            pushed = read_until(ws, 'id="now"')
            # The opening item became current; the day's frame and the other items did not change.
            assert f'id="item-{day1[0].id}"' in pushed and "aria-current" in pushed
            assert 'id="day-1"' not in pushed
            assert not any(f'id="item-{s.id}"' in pushed for s in day1[1:] + day2)
            # A new day opens its frame: it is sent again, followed by every item inside it.
            c.portal.call(c.app.state.service.jump_clock, day2[0].start)
            moved = read_until(ws, 'id="day-2"')
            at = [moved.find(f'id="item-{s.id}"') for s in day2]
            assert moved.find('id="day-2"') < at[0] and at == sorted(at)


def test_a_frame_is_sent_whole_and_never_with_a_partial_inside_it():
    from server.live.frames import INSIDE, Frame, changed, whole

    d1, d2 = f"live/d.html{INSIDE}1", f"live/d.html{INSIDE}2"  # a template path holds slashes
    old = {"a": "<A>", "live/d.html": Frame("<D open>", "<D open><1><2>"), d1: "<1>", d2: "<2>"}
    assert changed(old, old) == ""
    assert changed(old, {**old, d2: "<2!>"}) == "<2!>"  # the frame is as it was
    new = {**old, "live/d.html": Frame("<D>", "<D><1!><2>"), d1: "<1!>"}
    assert changed(old, new) == "<D><1!><2>"  # the frame, whole; not its parts again
    assert whole(old) == "<A><D open><1><2>"


class EarlyTimerClock(RehearsalClock):
    """A clock whose timers fire 5 ms early, as loop timers may."""

    def real_seconds_until(self, instant):
        return max(0.0, super().real_seconds_until(instant) - 0.005)


def test_a_timer_that_fires_early_still_moves_pages_at_the_boundary(tmp_path):
    c = make_client(tmp_path, seconds_before_first=2.0, clock_class=EarlyTimerClock)
    with c, c.websocket_connect("/live") as ws:
        ws.receive_text()
        assert "not started yet" in ws.receive_text()  # the boundary is still ahead
        assert "phase-running" in read_until(ws, 'id="now"')


def test_clock_ping_is_answered_with_course_time(client):
    with client.websocket_connect("/live") as ws:
        ws.receive_text(), ws.receive_text()
        ws.send_text(json.dumps({"type": "clock", "t0": 1234.5}))
        reply = json.loads(read_until(ws, '"t0"'))
        assert reply["t0"] == 1234.5 and reply["server"] > 0


def test_bad_messages_get_clear_errors_and_the_socket_stays_open(client, figure):
    with client.websocket_connect("/live") as ws:
        ws.receive_text(), ws.receive_text()
        cases = [
            ("not json", "not valid JSON"),
            ("[1,2]", "JSON object"),
            ('{"type": "launch"}', "Unknown message type"),
            ('{"type": "clock", "t0": "soon"}', "needs t0"),
            ("x" * 70000, "too large"),
            # Each of these once crashed the page's socket:
            ('{"type": "clock", "t0": 1' + "0" * 4000 + "}", "needs t0"),  # OverflowError
            ('{"type": "clock", "t0": 1' + "0" * 5000 + "}", "not valid JSON"),  # over 4300 digits
            ("[" * 30000 + "]" * 30000, "nests too deeply"),  # RecursionError
            ('{"type": "clock", "t0": NaN}', "needs t0"),
            ('{"type": "clock", "t0": -Infinity}', "needs t0"),
            ('{"type": "clock", "t0": 1e308, "extra": {"a": [1]}}', "needs t0"),
        ]
        for bad, expect in cases:
            ws.send_text(bad)
            msg = json.loads(ws.receive_text())
            assert msg["type"] == "error" and expect in msg["message"], (bad[:40], msg)
        ws.send_bytes(b'{"type": "clock", "t0": 1}')  # once a KeyError: 'text'
        msg = json.loads(ws.receive_text())
        assert msg["type"] == "error" and "Binary" in msg["message"]
        ws.send_text('{"type": "clock", "t0": 5, "unknown": true}')  # still answered
        assert json.loads(ws.receive_text())["t0"] == 5
        figure("bad socket messages answered with an error, socket kept", len(cases) + 1)


def test_cross_origin_socket_is_refused(client):
    import pytest
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect("/live", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_text()
    assert e.value.code == 1008


def test_director_delay_reaches_every_page(tmp_path):
    with make_client(tmp_path, seconds_before_first=-60) as c:  # one minute into the Welcome
        sign_in_director(c)
        with c.websocket_connect("/live") as ws:
            ws.receive_text(), ws.receive_text()
            r = c.post("/director/delay", data={"minutes": "10"})
            assert r.status_code == 200 and "Delayed the running item by 10 minutes" in r.text
            msg = read_until(ws, 'id="item-d1-02"')
            assert "10 min late" in msg  # The Frame of Palliative Care now starts 10:40
            assert "10:40 AM" in msg


def test_director_announcement_reaches_every_page_escaped(client):
    sign_in_director(client)
    with client.websocket_connect("/live") as ws:
        ws.receive_text(), ws.receive_text()
        r = client.post("/director/announce", data={"text": "<script>alert(1)</script> Back soon"})
        assert r.status_code == 200
        msg = read_until(ws, 'id="announcements"')
        assert "&lt;script&gt;" in msg and "<script>" not in msg


def test_commands_survive_a_restart(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        sign_in_director(c)
        assert c.post("/director/announce", data={"text": "Kept"}).status_code == 200
    with make_client(tmp_path, seconds_before_first=3600) as c:
        assert [a.text for a in c.app.state.service.state.announcements] == ["Kept"]
        assert "Kept" in c.get("/").text


def test_bad_director_input_is_refused_with_a_reason(tmp_path):
    with make_client(tmp_path, seconds_before_first=-60) as c:
        sign_in_director(c)
        before = c.app.state.service.state.seq
        for minutes, reason in [("abc", "whole number"), ("0", "1 to 120"), ("500", "1 to 120")]:
            r = c.post("/director/delay", data={"minutes": minutes})
            assert r.status_code == 422 and reason in r.text
        r = c.post("/director/announce", data={"text": "  "})
        assert r.status_code == 422 and "needs some text" in r.text
        assert c.app.state.service.state.seq == before


def test_director_page_and_commands_need_the_director_link(client):
    before = client.app.state.service.state.seq
    assert client.get("/director").status_code == 403
    r = client.post("/director/announce", data={"text": "hi"})
    assert r.status_code == 403
    assert client.app.state.service.state.seq == before


def test_a_forged_link_gets_a_clear_page(client):
    r = client.get("/join/WyJkaXJlY3RvciIsMF0.forged")
    assert r.status_code == 403
    assert "This link does not work" in r.text and "Traceback" not in r.text


def test_cross_site_form_posts_are_refused(client):
    sign_in_director(client)
    seq = client.app.state.service.state.seq
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "null"},  # an opaque origin without the browser's own word
        {"sec-fetch-site": "cross-site", "origin": "null"},
        {"sec-fetch-site": "cross-site"},
    ):
        r = client.post("/director/announce", data={"text": "x"}, headers=headers)
        assert r.status_code == 403, headers
    assert client.app.state.service.state.seq == seq
    # A plain form from our own page under `Referrer-Policy: no-referrer`: Chromium says
    # `Origin: null` and `Sec-Fetch-Site: same-origin`; that is ours.
    same = {"sec-fetch-site": "same-origin", "origin": "null"}
    assert client.post("/director/announce", data={"text": "x"}, headers=same).status_code == 200


def test_rehearsal_clock_jumps_to_the_next_item(client):
    sign_in_director(client)
    with client.websocket_connect("/live") as ws:
        ws.receive_text(), ws.receive_text()
        r = client.post("/director/clock/next")
        assert "Welcome to the Core Principles" in r.text
        assert "Welcome to the Core Principles" in read_until(ws, 'id="now"')


def test_health_and_agenda_endpoints(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["store"] == "sqlite"
    a = client.get("/agenda.json").json()
    assert set(a) == {"now", "timezone", "current", "next"}
    assert a["next"]["start"] == "2026-05-13T14:00:00Z"
    ics = client.get("/agenda.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "TZID=America/New_York" in ics.text and "BEGIN:VTIMEZONE" in ics.text


def test_pages_carry_security_headers_and_a_strict_csp(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline scripts anywhere


def test_a_page_that_floods_the_socket_is_slowed_and_stays_connected(client):
    with client.websocket_connect("/live") as ws:
        ws.receive_text(), ws.receive_text()
        for n in range(120):
            ws.send_text(json.dumps({"type": "clock", "t0": n}))
        replies = [json.loads(ws.receive_text()) for _ in range(41)]
        answered = [r for r in replies if r["type"] == "clock"]
        errors = [r for r in replies if r["type"] == "error"]
        assert 35 <= len(answered) <= 41  # the burst allowance, then the rest is dropped
        assert errors and "Too many messages" in errors[0]["message"]
        time.sleep(1.0)  # the bucket refills
        ws.send_text(json.dumps({"type": "clock", "t0": 999}))
        assert json.loads(read_until(ws, '"t0": 999'))["t0"] == 999


def test_pages_that_follow_the_same_views_share_one_snapshot_until_a_view_changes(client):
    """A snapshot is joined and encoded once per set of audiences, not once per page (thousands
    of pages connecting at once would otherwise each hold their own copy)."""
    from server.domain.announcements import Announce
    from server.domain.roles import CLI_ACTOR
    from server.live.audiences import audiences_for
    from server.live.hub import Connection

    svc = client.app.state.service

    async def send(message: str) -> None:
        pass

    views = audiences_for(svc.state, None)
    a, b = (Connection(send, views, svc.snapshot) for _ in range(2))
    first_a, first_b = svc.snapshot(a)[1], svc.snapshot(b)[1]
    assert first_a is first_b and 'id="now"' in first_a.text
    assert first_a.frame is first_b.frame and first_a.frame.endswith(first_a.text.encode())
    with client.websocket_connect("/live") as ws:  # a page following the same views
        ws.receive_text(), ws.receive_text()
        client.portal.call(svc.execute, Announce("Back in five minutes"), CLI_ACTOR)
        read_until(ws, "Back in five minutes")
    after = svc.snapshot(a)[1]
    assert after is not first_a and "Back in five minutes" in after.text
    assert svc.snapshot(b)[1] is after
