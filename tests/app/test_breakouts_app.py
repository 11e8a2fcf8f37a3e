"""Quick breakouts and drop-in, over HTTP and the live socket: the director opens small groups
inside a Day 3 track session and every page moves there and back; the director drops in on a
group from its tile, shown to the group as a visitor; a facilitator joins a caller's room from
their help call."""

from datetime import timedelta

from tests.app.harness import FIRST, Socket, form_groups, make_client, pid, session
from tests.app.harness import GROUP_ROSTER as ROSTER
from tests.unit.harness import SCHEDULE

PAIN = SCHEDULE.get("d3-02")  # Day 3, a track session (adult and pediatric), no small groups
DIRECTOR = "director@example.org"


def at_pain(tmp_path):
    seconds = -(PAIN.start - FIRST.start + timedelta(minutes=5)).total_seconds()
    return make_client(tmp_path, seconds_before_first=seconds, roster_text=ROSTER)


def test_a_quick_breakout_moves_every_page_to_its_group_and_back(tmp_path):
    with at_pain(tmp_path) as c:
        svc = c.app.state.service
        form_groups(c, seed=2, min_size=3, max_size=4)
        group = svc.state.rooms.group_of(pid(c, "l1@example.org"))
        d = session(c, DIRECTOR)
        page = c.get("/", headers=d).text
        assert "Open the small groups now, inside Pain" in page
        with c.websocket_connect("/live", headers=session(c, "l1@example.org")) as ws:
            L = Socket(ws)
            L.until("Adult session")
            r = c.post("/director/breakout", data={"minutes": "500"}, headers=d)
            assert r.status_code == 422 and "1 to 120" in r.text
            r = c.post("/director/breakout", data={"minutes": "15"}, headers=d)
            assert r.status_code == 200 and "every page moves there now" in r.text
            moved = L.until("Small groups opened by the director")
            assert f"Small group {group.name}" in moved and "data-until=" in moved
            assert "Close the small groups now" in c.get("/", headers=d).text
            # The facilitator's console gets its group's role-play controls for the breakout.
            fac = svc.state.people.by_id[group.facilitator].reg.email
            assert "Role-play controls" in c.get("/", headers=session(c, fac)).text
            r = c.post("/director/breakout/close", headers=d)
            assert r.status_code == 200 and "every page moves back" in r.text
            L.until("Adult session")
        assert svc.state.rooms.breakout is not None and svc.state.rooms.breakout.until < PAIN.end


def test_the_director_drops_in_on_a_group_and_a_facilitator_joins_a_callers_room(tmp_path):
    seconds = -(timedelta(days=1, hours=1, minutes=25)).total_seconds()  # Day 2 practice
    with make_client(tmp_path, seconds_before_first=seconds, roster_text=ROSTER) as c:
        svc = c.app.state.service
        form_groups(c, seed=2, min_size=3, max_size=4)
        group = svc.state.rooms.group_of(pid(c, "l1@example.org"))
        d = session(c, DIRECTOR)
        assert f'value="group:{group.name}"' in c.get("/", headers=d).text  # "Drop in" on a tile
        with c.websocket_connect("/live", headers=session(c, "l1@example.org")) as ws:
            L = Socket(ws)
            L.until("group-card")
            room = {"room": f"group:{group.name}"}
            r = c.post("/visit", data=room, headers=d, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (303, "/")  # back to their page
            r = c.get("/", headers=d)
            assert f"visiting small group {group.name}</strong>" in r.text
            assert f"Role-play controls · {group.name}" in r.text  # the group's panels
            assert "Leave the room" in r.text
            seen = L.until("Visiting now")
            assert "Dana Director" in seen  # the group sees who is visiting
            assert c.post("/visit/leave", headers=d, follow_redirects=False).status_code == 303
            assert "Leave the room" not in c.get("/", headers=d).text
            L.until('id="group-card"', limit=60)
        # A help call from the group: its facilitator's list offers to join the caller's room.
        r = c.post(
            "/help", data={"note": "Our SP has dropped"}, headers=session(c, "l2@example.org")
        )
        assert r.status_code == 200
        call = next(h for h in svc.state.help.open())
        fac = next(
            p.reg.email
            for p in svc.state.people.by_id.values()
            if p.role.value == "facilitator"
            and p.reg.track.value == "adult"
            and p.id != svc.state.rooms.group_of(pid(c, "l2@example.org")).facilitator
        )
        page = c.get("/", headers=session(c, fac)).text
        assert "Join their room" in page and f'value="{call.room}"' in page
        r = c.post(
            "/visit", data={"room": call.room}, headers=session(c, fac), follow_redirects=False
        )
        assert r.status_code == 303
        assert "Leave the room" in c.get("/", headers=session(c, fac)).text
        assert svc.state.rooms.visits[pid(c, fac)][0] == call.room
        # A pediatric facilitator cannot drop in on an adult group.
        r = c.post("/visit", data={"room": call.room}, headers=session(c, "cy@example.org"))
        assert r.status_code == 403 and "own track" in r.text
