"""Pages' views for the next agenda boundary are rendered just before it, so at the boundary
only the writing is left; anything recorded meanwhile is rendered afresh."""

from __future__ import annotations

from datetime import timedelta

from server.course import PREPARE_AHEAD
from server.domain.course_state import Announce
from server.domain.roles import CLI_ACTOR
from server.live.audiences import AGENDA
from tests.app.conftest import FIRST, make_client, session
from tests.app.test_live import read_until


def test_the_boundary_push_was_rendered_before_the_boundary(tmp_path):
    with make_client(tmp_path, seconds_before_first=2) as c:
        svc = c.app.state.service
        renders: list[tuple[float, str]] = []
        render = svc.render_audience

        def recorded(audience):
            renders.append((svc.clock.real_seconds_until(FIRST.start), audience))
            return render(audience)

        svc.render_audience = recorded
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            read_until(ws, "Welcome to the Core Principles")  # the opening item, now on
        agenda = [left for left, a in renders if a == AGENDA]
        # Rendered about PREPARE_AHEAD before the boundary, and not again at it.
        assert agenda and all(left > PREPARE_AHEAD / 2 for left in agenda), agenda


def test_what_is_recorded_after_preparing_is_rendered_afresh(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        with c.websocket_connect("/live", headers=session(c, "lee@example.org")) as ws:
            read_until(ws, 'id="now"')
            c.portal.call(svc._prepare, FIRST.start)
            prepared = svc._prepared[2]
            news = [a for a in prepared if a.startswith("news:")]
            assert AGENDA in prepared and news
            c.portal.call(svc.execute, Announce("Cameras on, please"), CLI_ACTOR)
            read_until(ws, "Cameras on, please")
            assert AGENDA in svc._prepared[2]  # the announcement does not touch the agenda
            assert not any(a.startswith("news:") for a in svc._prepared[2])
            ahead = svc._prepared[2][AGENDA]
            # What was prepared is what a render at the boundary gives.
            svc.clock.jump(FIRST.start)
            assert ahead == svc.render_audience(AGENDA)
            # At the boundary the page gets the new item; the news it has stays as it was.
            c.portal.call(svc.refresh, ("",), svc._take_prepared(FIRST.start))
            msg = read_until(ws, "Welcome to the Core Principles")
            assert "Cameras on, please" not in msg  # unchanged, so not sent again
            assert "Cameras on, please" in "".join(svc._rendered[news[0]].values())


def test_a_clock_moved_before_the_boundary_throws_the_preparation_away(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        svc = c.app.state.service
        c.portal.call(svc._prepare, FIRST.start)
        assert svc._take_prepared(FIRST.start + timedelta(minutes=15)) == {}
