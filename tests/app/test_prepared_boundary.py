"""Pages' views for the next agenda boundary are rendered just before it, so at the boundary
only the writing is left; anything recorded meanwhile is rendered afresh."""

from __future__ import annotations

import time
from datetime import timedelta

from server.domain.agenda import utc_z
from server.domain.announcements import Announce
from server.domain.roles import CLI_ACTOR, Actor
from server.live.boundary import PREPARE_AHEAD
from server.live.keys import AGENDA, TIMED
from tests.app.harness import FIRST, make_client, pid, read_until, session


def test_the_boundary_push_was_rendered_before_the_boundary(tmp_path):
    with make_client(tmp_path, seconds_before_first=2) as c:
        svc = c.app.state.service
        renders: list[tuple[float, str]] = []
        render = svc.views.render_audience

        def recorded(audience):
            renders.append((svc.clock.real_seconds_until(FIRST.start), audience))
            return render(audience)

        svc.views.render_audience = recorded
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            read_until(ws, "Welcome to the Core Principles")  # the opening item, now on
        agenda = [left for left, a in renders if a == AGENDA]
        # Rendered about PREPARE_AHEAD before the boundary, and not again at it.
        assert agenda and all(left > PREPARE_AHEAD / 2 for left in agenda), agenda
        # The server says how it went: when its timer fired, when every page's write was out.
        deadline = time.monotonic() + 5
        while (b := c.get("/healthz").json()["boundary"]) is None:  # noted just after writing
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert b["at"] == utc_z(FIRST.start) and b["pages"] >= 0
        assert 0 <= b["late_ms"] <= b["written_ms"] < 1000
        assert svc.seconds_since_push() is not None  # the collector waits for it to settle


def test_what_is_recorded_after_preparing_is_rendered_afresh(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        lee = pid(c, "lee@example.org")
        group = svc.state.rooms.group_of(lee)
        place = f"place:group:{group.name}"
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            read_until(ws, 'id="now"')
            wait_online(svc, lee)  # Lee's own arrival is recorded (it touches their group's views)
            c.portal.call(svc.views.prepare, FIRST.start)
            prepared = svc.views.prepared.renders()
            news = [a for a in svc.hub.audiences() if a.startswith("news:")]
            own = [a for a in svc.hub.audiences() if a.startswith(("me:", "fb:"))]
            # Only what changes with time is prepared (announcements expire); their own views
            # do not.
            assert AGENDA in prepared and place in prepared and news and own
            assert all(a in prepared for a in news) and not any(a in prepared for a in own)
            c.portal.call(svc.execute, Announce("Cameras on, please"), CLI_ACTOR)
            read_until(ws, "Cameras on, please")
            assert (
                AGENDA in svc.views.prepared.renders() and place in svc.views.prepared.renders()
            )  # not touched
            # A group-mate's page opening (here the facilitator's) changes who the group's
            # view shows online.
            mate = next(
                m
                for m in (*group.members, group.facilitator, *group.sps)
                if m is not None and m != lee
            )
            email = svc.state.people.get(mate).reg.email
            with c.websocket_connect("/live", headers=session(c, email)) as other:
                read_until(other, 'id="now"')
                wait_online(svc, mate)
            assert (
                place not in svc.views.prepared.renders() and AGENDA in svc.views.prepared.renders()
            )
            ahead = svc.views.prepared.renders()[AGENDA].fresh
            # What was prepared is what a render at the boundary gives.
            svc.clock.jump(FIRST.start)
            assert ahead == svc.render_audience(AGENDA)
            # At the boundary the page gets the new item; the news it has stays as it was.
            c.portal.call(svc.refresh, TIMED, svc.views.take_prepared(FIRST.start))
            msg = read_until(ws, "Welcome to the Core Principles")
            assert "Cameras on, please" not in msg  # unchanged, so not sent again
            assert "Cameras on, please" in "".join(svc.views._rendered[news[0]].values())


def wait_online(svc, pid: str) -> None:
    deadline = time.monotonic() + 5
    while not svc.state.people.get(pid).online:
        assert time.monotonic() < deadline, f"{pid} never came online"
        time.sleep(0.02)


def test_views_that_do_not_change_with_time_render_the_same_at_every_boundary(tmp_path):
    """The rule behind preparing and refreshing only `TIMED` audiences at a boundary: every
    other audience of every role renders the same bytes at any instant of the course."""
    from server.domain.agenda import build_schedule
    from server.live.audiences import audiences_for, render_audience
    from tests.app.harness import COURSE

    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        people = list(svc.state.people.by_id.values())
        keys = {a for p in people for a in audiences_for(svc.state, Actor(p.id, p.role))}
        keys |= set(audiences_for(svc.state, None))
        untimed = sorted(a for a in keys if not a.startswith(TIMED))
        assert len(untimed) > 5, untimed
        instants = [s.start for s in build_schedule(COURSE).items]
        first = {a: render_audience(svc.view_context(), a) for a in untimed}

        def differing() -> list[tuple[str, object]]:  # run in the server's loop
            out = []
            for at in instants[:: max(1, len(instants) // 12)]:
                svc.clock.jump(at)
                out += [
                    (a, at) for a in untimed if render_audience(svc.view_context(), a) != first[a]
                ]
            return out

        assert c.portal.call(differing) == []


def test_a_clock_moved_before_the_boundary_throws_the_preparation_away(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        c.portal.call(svc.views.prepare, FIRST.start)
        assert svc.views.take_prepared(FIRST.start + timedelta(minutes=15)) == {}


def test_what_was_prepared_is_compared_again_if_pages_were_sent_something_since(tmp_path):
    """What a boundary sends is worked out when preparing, against what pages had then; if an
    audience was rendered and sent again in between, it is worked out afresh at the boundary."""
    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            read_until(ws, 'id="now"')
            # Prepared while the agenda's last render is not at hand (as for a page that has
            # just joined a new audience and is not yet sent its snapshot): all of it, then.
            c.portal.call(lambda: svc.views._rendered.pop(AGENDA))
            c.portal.call(svc.views.prepare, FIRST.start)
            ahead = svc.views.prepared.renders()[AGENDA]
            assert ahead.compared is None and 'id="day-1"' in ahead.message.text
            # Rendered and sent again before the boundary.
            c.portal.call(svc.refresh, (AGENDA,))
            read_until(ws, 'id="day-1"')
            svc.clock.jump(FIRST.start)
            c.portal.call(svc.refresh, TIMED, svc.views.take_prepared(FIRST.start))
            msg = read_until(ws, "Welcome to the Core Principles")
            assert 'id="day-1"' not in msg  # only what changed since, not the whole agenda
            assert svc.views._rendered[AGENDA] is ahead.fresh  # the prepared render, not a new one
