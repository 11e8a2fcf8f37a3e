"""Talk beside the video over HTTP and the live socket: chat reaches the room it was said in and
nobody else, a private line only the room's staff, a raised hand the facilitator's console and
the director's tiles; plenary questions are upvoted and marked answered by staff; and hostile
chat (scripts, formulas, 100 KB, a flood, a room not one's own) is escaped, guarded, refused."""

import csv
import io
from datetime import timedelta

from tests.app.harness import DAY2_PRACTICE, Socket, form_groups, make_client, pid, session
from tests.app.harness import GROUP_ROSTER as ROSTER

SCRIPT = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def sid(n: int) -> str:
    return f"talk-sid-{n:06d}"


def test_chat_hands_and_private_lines_reach_only_their_room(tmp_path):
    seconds = -(DAY2_PRACTICE + timedelta(minutes=1)).total_seconds()
    with make_client(tmp_path, seconds_before_first=seconds, roster_text=ROSTER) as c:
        svc = c.app.state.service
        form_groups(c, seed=2, min_size=3, max_size=4)
        l1 = pid(c, "l1@example.org")
        group = svc.state.rooms.group_of(l1)
        peer = next(svc.state.people.by_id[m].reg.email for m in group.members if m != l1)
        other = next(g for g in svc.state.rooms.groups.values() if g.name != group.name)
        outsider = svc.state.people.by_id[other.members[0]].reg.email
        fac = svc.state.people.by_id[group.facilitator].reg.email
        me = session(c, "l1@example.org")
        with (
            c.websocket_connect("/live", headers=session(c, peer)) as p_ws,
            c.websocket_connect("/live", headers=session(c, outsider)) as o_ws,
            c.websocket_connect("/live", headers=session(c, fac)) as f_ws,
        ):
            P, Out, F = Socket(p_ws), Socket(o_ws), Socket(f_ws)
            for s in (P, Out, F):
                s.until('id="talk"')
            r = c.post("/talk", data={"sid": sid(1), "text": f"Hello {SCRIPT}"}, headers=me)
            assert r.status_code == 200, r.text
            seen = P.until("Hello")
            assert SCRIPT not in seen and "&lt;script&gt;" in seen  # escaped
            F.until("Hello")  # the facilitator's console, beside the video
            # A resend of the same submission is stored once.
            count = len(svc.state.talk.messages)
            c.post("/talk", data={"sid": sid(1), "text": f"Hello {SCRIPT}"}, headers=me)
            assert len(svc.state.talk.messages) == count
            # A private line: the facilitator has it, the peer does not.
            r = c.post(
                "/talk",
                data={"sid": sid(2), "text": "PRIVATE-LINE I feel unwell", "kind": "private"},
                headers=me,
            )
            assert r.status_code == 200, r.text
            F.until("PRIVATE-LINE")
            assert "PRIVATE-LINE" not in c.get("/", headers=session(c, peer)).text
            assert "PRIVATE-LINE" in c.get("/", headers=me).text
            # A hand: on the facilitator's room card and the director's tile.
            assert c.post("/talk/hand", headers=me).status_code == 200
            F.until("Hand raised")
            tiles = c.get("/", headers=session(c, "director@example.org")).text
            assert "✋ 1" in tiles
            r = c.post("/talk/hand", data={"person": l1, "up": "0"}, headers=session(c, peer))
            assert r.status_code == 403  # a peer cannot lower it
            r = c.post("/talk/hand", data={"person": l1, "up": "0"}, headers=session(c, fac))
            assert r.status_code == 200 and svc.state.talk.hands[f"group:{group.name}"] == ()
            # Nothing of this group's chat reached the other group's page.
            assert not any("Hello" in m or "PRIVATE-LINE" in m for m in Out.seen)
            assert "Hello" not in c.get("/", headers=session(c, outsider)).text

        # Hostile: a formula is exported as text, 100 KB and a flood are refused with the reason.
        c.post("/talk", data={"sid": sid(3), "text": FORMULA}, headers=me)
        exported = c.get(
            "/director/export/talk?format=csv", headers=session(c, "director@example.org")
        )
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["kind"] for r in rows] == ["chat", "private", "chat"]
        assert rows[2]["text"] == "'" + FORMULA  # guarded: a spreadsheet shows it as text
        assert rows[1]["to"] == fac
        seq = svc.state.seq
        r = c.post("/talk", data={"sid": sid(4), "text": "x" * 100_000}, headers=me)
        assert r.status_code == 422 and "under 1000 characters" in r.text
        r = c.post("/talk", data={"sid": sid(5), "text": "   "}, headers=me)
        assert r.status_code == 422 and "Write the message first" in r.text
        r = c.post("/talk", data={"sid": sid(6), "text": "hi", "kind": "shout"}, headers=me)
        assert r.status_code == 422 and "not &#39;shout&#39;" in r.text
        assert svc.state.seq == seq
        statuses = [
            c.post("/talk", data={"sid": sid(10 + n), "text": f"flood {n}"}, headers=me)
            for n in range(12)
        ]
        refused = [r for r in statuses if r.status_code != 200]
        assert refused and all("sending very fast" in r.text for r in refused)
        assert sum(r.status_code == 200 for r in statuses) <= 8
        assert c.post("/talk", data={"text": "no sid"}, headers=me).status_code == 422


def test_plenary_questions_are_upvoted_and_marked_answered_by_staff(tmp_path):
    with make_client(tmp_path, seconds_before_first=-60, roster_text=ROSTER) as c:
        svc = c.app.state.service
        me, peer = session(c, "l1@example.org"), session(c, "l2@example.org")
        r = c.post(
            "/talk",
            data={"sid": sid(1), "text": "How do we start?", "kind": "question"},
            headers=me,
        )
        assert r.status_code == 200, r.text
        [q] = svc.state.talk.questions.values()
        assert q.room == "plenary"
        assert c.post(f"/talk/questions/{q.id}/upvote", headers=peer).status_code == 200
        assert c.post(f"/talk/questions/{q.id}/upvote", headers=peer).status_code == 200  # once
        assert svc.state.talk.questions[q.id].votes == {pid(c, "l2@example.org")}
        page = c.get("/", headers=session(c, "director@example.org")).text
        assert "How do we start?" in page and "▲ 1" in page and "Mark answered" in page
        assert "Mark answered" not in c.get("/", headers=peer).text
        assert c.post(f"/talk/questions/{q.id}/answered", headers=peer).status_code == 403
        r = c.post(f"/talk/questions/{q.id}/answered", headers=session(c, "director@example.org"))
        assert r.status_code == 200 and svc.state.talk.questions[q.id].answered
        assert c.post("/talk/questions/999/upvote", headers=peer).status_code == 422
        assert c.post("/talk/questions/x/upvote", headers=peer).status_code == 422
