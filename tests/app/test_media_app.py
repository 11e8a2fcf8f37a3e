"""Room media over the live socket, without peers: every page is told its room, and a room
with an external meeting link shows that link instead of the built-in video."""

import json

from tests.app.harness import make_client, read_until, session

LINK = "https://meet.example.org/j/123456"


def media_state(ws, needle: str = '"media.state"') -> dict:
    return json.loads(read_until(ws, needle, limit=60))


def test_a_room_link_replaces_the_built_in_media_and_can_be_removed(tmp_path):
    with make_client(tmp_path, seconds_before_first=-60) as c:  # the opening plenary
        director = session(c, "director@example.org")
        with (
            c.websocket_connect("/live", headers=director) as dws,
            c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws,
        ):
            assert media_state(dws)["you"]["stage"] is True  # staff lead the plenary
            st = media_state(ws, '"muted_on_join": true')
            assert st["room"] == "plenary" and st["link"] is None  # learners join muted
            r = c.post(
                "/director/rooms/link", data={"room": "plenary", "url": LINK}, headers=director
            )
            assert r.status_code == 200 and "saved" in r.text
            st = media_state(ws, LINK)
            assert st["link"] == LINK and st["tiles"] == []
            assert LINK in c.get("/", headers=director).text  # the director's list of links
            r = c.post(
                "/director/rooms/link", data={"room": "plenary", "url": ""}, headers=director
            )
            assert r.status_code == 200 and "built-in" in r.text
            st = media_state(ws, '"link": null')
            assert st["link"] is None


def test_bad_links_and_media_messages_are_refused_with_reasons(tmp_path):
    with make_client(tmp_path, seconds_before_first=-60) as c:
        director = session(c, "director@example.org")
        before = c.app.state.service.state.seq
        for form, status, reason in [
            ({"room": "plenary", "url": "http://meet.example.org"}, 422, "https://"),
            ({"room": "plenary", "url": "javascript:alert(1)"}, 422, "https://"),
            ({"room": "group:Nope", "url": LINK}, 422, "no group"),
            ({"room": "lobby", "url": LINK}, 422, "not a room"),
        ]:
            r = c.post("/director/rooms/link", data=form, headers=director)
            assert r.status_code == status and reason in r.text, r.text
        r = c.post(
            "/director/rooms/link",
            data={"room": "plenary", "url": LINK},
            headers=session(c, "fran@example.org"),
        )
        assert r.status_code == 403
        assert c.app.state.service.state.seq == before
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            ws.send_text(json.dumps({"type": "media.mute", "audio": 1}))
            assert "true or false" in read_until(ws, "media.error", limit=60)
            ws.send_text(json.dumps({"type": "media.offer", "sdp": 5}))
            assert "SDP offer" in read_until(ws, "media.error", limit=60)
        with c.websocket_connect("/live") as ws:  # nobody signed in: no media
            ws.send_text(json.dumps({"type": "media.offer", "sdp": "v=0"}))
            assert "not available" in read_until(ws, "not available", limit=20)


def test_every_page_is_told_its_new_room_right_after_a_boundary(tmp_path):
    """The media rooms follow the agenda at its boundaries, not at the next periodic check."""
    import time

    with make_client(tmp_path, seconds_before_first=2) as c:  # just before the opening plenary
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            assert media_state(ws)["room"] is None  # nothing scheduled yet
            t0 = time.monotonic()
            st = media_state(ws, '"room": "plenary"')
            assert st["room"] == "plenary"
            # The boundary was under 2 s away; a periodic check alone would take up to 10 s.
            assert time.monotonic() - t0 < 4


def test_pages_moved_together_share_one_encoded_state(tmp_path):
    """At a boundary the pages that have not joined a call are told their new room with one
    message per distinct state, encoded once, not one per page."""
    with make_client(tmp_path, seconds_before_first=3600) as c:
        media = c.app.state.media
        with (
            c.websocket_connect("/live", headers=session(c, "lee@example.org")) as lee,
            c.websocket_connect("/live", headers=session(c, "kim@example.org")) as kim,
        ):
            media_state(lee)
            media_state(kim)
            sent: dict[str, list[object]] = {}
            for peer in media.peers.values():
                offer = peer.send
                peer.send = lambda m, pid=peer.pid, offer=offer: (
                    sent.setdefault(pid, []).append(m),
                    offer(m),
                )
            svc = c.app.state.service
            c.portal.call(svc.jump_clock, svc.schedule.items[0].start)
            c.portal.call(media.reconcile)
            assert media_state(lee, '"room": "plenary"') == media_state(kim, '"room": "plenary"')
            mine, theirs = (sent[p][-1] for p in sorted(sent))
            assert mine is theirs
