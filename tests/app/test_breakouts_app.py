"""Breakouts live: the agenda moves learners into track rooms and groups; moves reach both rooms."""

import re
from datetime import timedelta

from tests.app.harness import (
    FIRST,
    client_at,
    form_groups,
    make_client,
    pid,
    read_until,
    session,
)


def test_learners_are_routed_into_track_rooms_and_groups_at_the_boundaries(tmp_path):
    # 1.5 s before the first split item (11:30 ET, Day 1).
    with client_at(tmp_path, timedelta(hours=1, minutes=30) - timedelta(seconds=1.5)) as c:
        form_groups(c)
        with (
            c.websocket_connect("/live", headers=session(c, "l1@example.org")) as adult,
            c.websocket_connect("/live", headers=session(c, "p1@example.org")) as peds,
        ):
            assert "Break" in read_until(adult, 'id="where"')
            read_until(peds, 'id="where"')
            assert "Adult session" in read_until(adult, "Adult session")
            assert "Pediatric session" in read_until(peds, "Pediatric session")
        # Jump to the small-group item at 16:00: each learner lands in their group.
        svc = c.app.state.service
        group = svc.state.rooms.member_of[pid(c, "l1@example.org")]
        c.portal.call(svc.jump_clock, FIRST.start + timedelta(hours=6) - timedelta(seconds=1))
        with c.websocket_connect("/live", headers=session(c, "l1@example.org")) as adult:
            assert "Your small group" in read_until(adult, 'id="where"')  # the card, as it is
            msg = read_until(adult, f"Small group {group}")
            # At the boundary only the line that changed is sent; the card stays as it was.
            assert 'id="where-now"' in msg and 'id="group-card"' not in msg


def test_a_move_reaches_both_rooms_and_the_learner(tmp_path):
    with client_at(tmp_path, timedelta(hours=6, minutes=5)) as c:  # 16:05, small groups
        form_groups(c)
        svc = c.app.state.service
        rooms = svc.state.rooms
        l1 = pid(c, "l1@example.org")
        here = rooms.member_of[l1]
        there = next(n for n, g in rooms.groups.items() if g.track == "adult" and n != here)
        fac_here = svc.state.people.by_id[rooms.groups[here].facilitator].reg.email
        fac_there = svc.state.people.by_id[rooms.groups[there].facilitator].reg.email
        with (
            c.websocket_connect("/live", headers=session(c, fac_here)) as a,
            c.websocket_connect("/live", headers=session(c, fac_there)) as b,
            c.websocket_connect("/live", headers=session(c, "l1@example.org")) as learner,
        ):
            read_until(learner, f"Small group {here}")
            r = c.post(
                "/director/groups/move",
                data={"person": l1, "group": there},
                headers=session(c, "director@example.org"),
            )
            assert r.status_code == 200 and f"Moved to {there}" in r.text
            slug_here = "room-" + here.lower().replace(" ", "-")
            slug_there = "room-" + there.lower().replace(" ", "-")
            read_until(a, f'id="{slug_here}"', unless=f'data-person="{l1}"')
            arrived = read_until(b, f'data-person="{l1}"')
            assert f'id="{slug_there}"' in arrived
            assert f"Small group {there}" in read_until(learner, f"Small group {there}")


def test_help_calls_reach_every_facilitator_of_the_track_and_the_first_claim_wins(tmp_path):
    with client_at(tmp_path, timedelta(hours=6, minutes=5)) as c:
        form_groups(c)
        with (
            c.websocket_connect("/live", headers=session(c, "ada@example.org")) as ada,
            c.websocket_connect("/live", headers=session(c, "ben@example.org")) as ben,
            c.websocket_connect("/live", headers=session(c, "cy@example.org")) as cy,
        ):
            r = c.post(
                "/help", data={"note": "<b>no sound</b>"}, headers=session(c, "l2@example.org")
            )
            assert r.status_code == 200 and "facilitator has been called" in r.text
            for ws in (ada, ben):
                msg = read_until(ws, "no sound")
                assert "&lt;b&gt;no sound&lt;/b&gt;" in msg
            hid = c.app.state.service.state.help.open()[0].id
            assert (
                c.post(f"/help/{hid}/claim", headers=session(c, "ben@example.org")).status_code
                == 200
            )
            assert "Taken by Ben Facilitator" in read_until(ada, "Taken by")
            late = c.post(f"/help/{hid}/claim", headers=session(c, "ada@example.org"))
            assert late.status_code == 422 and "Ben Facilitator already took" in late.text
            cy.send_text('{"type": "clock", "t0": 1}')
            assert "no sound" not in read_until(cy, '"t0"')  # the pediatric facilitator: not theirs


def test_a_track_message_reaches_only_that_track(tmp_path):
    with client_at(tmp_path, timedelta(minutes=5)) as c:
        with (
            c.websocket_connect("/live", headers=session(c, "l1@example.org")) as adult,
            c.websocket_connect("/live", headers=session(c, "p1@example.org")) as peds,
        ):
            adult.receive_text(), adult.receive_text(), peds.receive_text(), peds.receive_text()
            c.post(
                "/director/announce",
                data={"text": "Peds room opens early", "track": "pediatric"},
                headers=session(c, "director@example.org"),
            )
            assert "Peds room opens early" in read_until(peds, "Peds room")
            c.post(
                "/director/announce",
                data={"text": "Everyone back at 11:30"},
                headers=session(c, "director@example.org"),
            )
            msg = read_until(adult, "Everyone back")
            assert "Peds room opens early" not in msg


TEAM_ROSTER = """name,email,role,discipline,track,team
Dana Director,director@example.org,director,physician,both,
N One,n1@example.org,learner,nurse,adult,ward
N Two,n2@example.org,learner,nurse,adult,ward
N Three,n3@example.org,learner,nurse,adult,ward
N Four,n4@example.org,learner,nurse,adult,
D One,d1@example.org,learner,physician,adult,
D Two,d2@example.org,learner,physician,adult,
D Three,d3@example.org,learner,physician,adult,
D Four,d4@example.org,learner,physician,adult,
"""


def test_the_directors_tiles_show_each_groups_mix_and_name_a_discipline_over_its_share(tmp_path):
    # A team of three nurses kept together in groups of four: each group is one discipline over.
    with make_client(tmp_path, 3600, roster_text=TEAM_ROSTER) as c:
        form_groups(c, min_size=3, max_size=4)
        html = c.get("/", headers=session(c, "director@example.org")).text
        page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
        assert page.count("over share:") == 2
        assert "over share: nurse" in page and "over share: physician" in page
        assert "3 nurse · 1 physician" in page and "3 physician · 1 nurse" in page
