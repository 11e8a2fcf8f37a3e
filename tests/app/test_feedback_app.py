"""Per-turn feedback over HTTP and the live socket: the form for everyone but the hot seat, live
tallies for the facilitator, nothing to the learner before release, "next time I will…" after."""

import json
import re
from datetime import timedelta
from urllib.parse import quote

from markupsafe import escape

from server.content.cases import load_library
from tests.app.harness import DAY2_PRACTICE, Socket, form_groups, make_client, pid, session
from tests.app.harness import GROUP_ROSTER as ROSTER

WORKED = "You named the fear before the numbers"


def setup_turn(c):
    form_groups(c, seed=2, min_size=3, max_size=4)
    svc = c.app.state.service
    l1 = pid(c, "l1@example.org")
    group = svc.state.rooms.group_of(l1)
    fac = svc.state.people.by_id[group.facilitator].reg.email
    case = next(s for s in load_library().values() if s.track == group.track)
    r = c.post(f"/rp/{group.name}/start", data={"scenario": case.id}, headers=session(c, fac))
    assert r.status_code == 200, r.text
    r = c.post(
        f"/rp/{group.name}/begin",
        data={"learner": l1, "goal": "Pause after the news"},
        headers=session(c, fac),
    )
    assert r.status_code == 200, r.text
    return svc, group, fac


def test_feedback_flows_from_observers_to_the_learner_at_debrief(tmp_path):
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc, group, fac = setup_turn(c)
        l1 = pid(c, "l1@example.org")
        peer = next(m for m in group.members if m != l1)
        peer_email = svc.state.people.by_id[peer].reg.email
        url = f"/fb/{group.name}/1"
        with (
            c.websocket_connect("/live", headers=session(c, fac)) as f_ws,
            c.websocket_connect("/live", headers=session(c, "l1@example.org")) as l_ws,
        ):
            F, L = Socket(f_ws), Socket(l_ws)
            F.until('id="tally-')
            L.until("You are in the hot seat")
            page = c.get("/", headers=session(c, peer_email)).text
            assert "Their goal: <q>Pause after the news</q>" in page
            assert f'action="{quote(url)}"' in page
            inst_items = re.findall(r'name="a\.([a-z-]+)"', page)
            assert inst_items, "the form lists the instrument's items"
            first = inst_items[0]
            assert "a.empathy" in page, "every observer's form holds the global rating"
            form = {
                "sid": "peer-sub-0001",
                f"a.{first}": "observed",
                "a.worked": WORKED,
                "a.empathy": "2",
                "a.relationship": "4",
            }
            r = c.post(url, data=form, headers=session(c, peer_email))
            assert r.status_code == 200, r.text
            tally = F.until(WORKED)  # the facilitator's tally, with what was written
            assert 'id="tally-' in tally and "1 of" in tally
            # The same submission again (a lost reply, a resend after reconnecting): stored once.
            seq = svc.state.seq
            r = c.post(url, data=form, headers=session(c, peer_email))
            assert r.status_code == 200 and svc.state.seq == seq
            assert len(svc.state.feedback.on_turn(group.name, 1)) == 1
            # The learner does not see what was written, yet.
            assert WORKED not in c.get("/", headers=session(c, "l1@example.org")).text
            # Release needs the turn to have ended, and the facilitator.
            r = c.post(url + "/release", headers=session(c, fac))
            assert r.status_code == 422 and "turn has ended" in r.text
            c.post(f"/rp/{group.name}/end-turn", headers=session(c, fac))
            # The learner rates themselves (the global rating) before seeing the others'.
            L.until("Rate yourself before you see")
            mine = {"sid": "self-sub-0001", "a.empathy": "5", "a.relationship": "4"}
            r = c.post(url, data=mine, headers=session(c, "l1@example.org"))
            assert r.status_code == 200 and "Self-rating saved" in r.text, r.text
            own = [f for f in svc.state.feedback.on_turn(group.name, 1) if f.capacity == "self"]
            assert [f.instrument for f in own] == ["global-communication"]
            F.until("Self against others")  # the facilitator sees the gap at once
            assert c.post(url + "/release", headers=session(c, peer_email)).status_code == 403
            r = c.post(url + "/release", headers=session(c, fac))
            assert r.status_code == 200, r.text
            released = L.until(WORKED)
            assert not any(WORKED in m for m in L.seen[:-1])
            # Self against others: empathy 5 against 2 (+3.0), relationship 4 against 4 (+0.0).
            assert "Self against others" in released
            assert re.search(
                r"Demonstrates empathy</th><td>5</td><td>2\.0.*?</td><td[^>]*>\+3\.0", released
            )
            assert re.search(
                r"Builds a relationship</th><td>4</td><td>4\.0.*?</td><td[^>]*>\+0\.0", released
            )
            # Next time I will…
            r = c.post(
                url + "/next",
                data={"sid": "next-0000001", "text": "pause longer"},
                headers=session(c, "l1@example.org"),
            )
            assert r.status_code == 200, r.text
            F.until("pause longer")
            r = c.post(
                url + "/next",
                data={"sid": "next-0000002", "text": "x"},
                headers=session(c, peer_email),
            )
            assert r.status_code == 403


def test_bad_feedback_is_refused_with_the_reason_and_nothing_is_stored(tmp_path):
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc, group, fac = setup_turn(c)
        l1 = pid(c, "l1@example.org")
        peer_email = svc.state.people.by_id[next(m for m in group.members if m != l1)].reg.email
        outsider = next(
            p for g in svc.state.rooms.groups.values() if g.name != group.name for p in g.members
        )
        url = f"/fb/{group.name}/1"
        seq = svc.state.seq
        cases = [
            (peer_email, {"sid": "bad-000001", "a.nope": "observed"}, 422, "has no item"),
            (peer_email, {"sid": "bad-000002", "a.worked": "   "}, 422, "empty"),
            (peer_email, {"sid": "bad-000003", "a.worked": "x" * 2001}, 422, "2000"),
            (peer_email, {"sid": "no", "a.worked": "fine"}, 422, "submission id"),
            ("l1@example.org", {"sid": "bad-000004", "a.naming": "observed"}, 422, "no item"),
            (
                svc.state.people.by_id[outsider].reg.email,
                {"sid": "bad-000005", "a.worked": "hi"},
                403,
                "Only people in",
            ),
        ]
        for who, form, status, words in cases:
            r = c.post(url, data=form, headers=session(c, who))
            assert r.status_code == status and words in r.text, (form, r.status_code, r.text)
        r = c.post(
            f"/fb/{group.name}/9",
            data={"sid": "bad-000006", "a.worked": "x"},
            headers=session(c, peer_email),
        )
        assert r.status_code == 422 and "no turn 9" in r.text
        r = c.post(
            f"/fb/{group.name}/x", data={"sid": "bad-000007"}, headers=session(c, peer_email)
        )
        assert r.status_code == 422
        assert svc.state.seq == seq
        # Someone else's id is refused, not treated as theirs.
        ok = {"sid": "taken-00001", "a.worked": "good"}
        assert c.post(url, data=ok, headers=session(c, peer_email)).status_code == 200
        r = c.post(url, data=ok, headers=session(c, fac))
        assert r.status_code == 422 and "already in use" in r.text


SECRET_THOUGHT = "I froze when she cried and felt useless"
SHARED_THOUGHT = "Silence was harder than any words"
LAST_DAY_CLOSE = timedelta(days=2, hours=6, minutes=20)  # Day 3, 16:20 ET (Closing)


def test_private_reflections_reach_no_one_else_and_shared_ones_reach_the_group(
    tmp_path, capsys, figure
):
    from server.cli import main

    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc, group, fac = setup_turn(c)
        l1 = "l1@example.org"
        peer_email = svc.state.people.by_id[
            next(m for m in group.members if m != pid(c, l1))
        ].reg.email
        outsider = next(
            svc.state.people.by_id[p].reg.email
            for g in svc.state.rooms.groups.values()
            if g.name != group.name
            for p in g.members
        )
        page = c.get("/reflections", headers=session(c, l1)).text
        assert "private" in page and "Community Building and Reflection" in page  # latest prompts
        for sid, text, share in (
            ("refl-private-1", SECRET_THOUGHT, "0"),
            ("refl-shared-01", SHARED_THOUGHT, "1"),
        ):
            r = c.post(
                "/reflections",
                data={"sid": sid, "item": "", "prompt": "p", "text": text, "share": share},
                headers=session(c, l1),
            )
            assert r.status_code == 200, r.text
        # The author sees both; the group and its facilitator see only the shared one.
        assert SECRET_THOUGHT in c.get("/reflections", headers=session(c, l1)).text
        assert SECRET_THOUGHT in c.get("/portfolio", headers=session(c, l1)).text
        director = session(c, "director@example.org")
        for who in (peer_email, fac, "director@example.org"):
            page = c.get("/reflections", headers=session(c, who)).text
            assert SHARED_THOUGHT in page and SECRET_THOUGHT not in page, who
        page = c.get("/reflections", headers=session(c, outsider)).text
        assert SHARED_THOUGHT not in page and SECRET_THOUGHT not in page
        page = c.get(f"/director/people/{pid(c, l1)}/portfolio", headers=director).text
        assert SHARED_THOUGHT in page and SECRET_THOUGHT not in page
        assert (
            c.get(
                f"/director/people/{pid(c, l1)}/portfolio", headers=session(c, peer_email)
            ).status_code
            == 403
        )
        # Only the author can share or unshare; unsharing takes it back from the group.
        r = c.post(
            "/reflections/refl-private-1/share", data={"share": "1"}, headers=session(c, peer_email)
        )
        assert r.status_code == 422
        r = c.post("/reflections/refl-shared-01/share", data={"share": "0"}, headers=session(c, l1))
        assert r.status_code == 200
        assert SHARED_THOUGHT not in c.get("/reflections", headers=session(c, fac)).text
        # No live partial carries a reflection either.
        # No live partial any page can follow carries it either: render every audience of
        # every person on the course and look.
        from server.domain.roles import Actor
        from server.live.audiences import audiences_for, render_audience

        keys = {None: audiences_for(svc.state, None)}
        for p in svc.state.people.by_id.values():
            keys[p.id] = audiences_for(svc.state, Actor(p.id, p.role))
        partials = 0
        for key in {k for ks in keys.values() for k in ks}:
            for html in render_audience(svc.view_context(), key).values():
                assert SECRET_THOUGHT not in html, key
                partials += 1
        assert partials > 20
        r = c.post("/reflections/refl-shared-01/share", data={"share": "1"}, headers=session(c, l1))
        # The director's export of this learner's data: shared entries, a count of private ones.
        r = c.get(f"/director/people/{pid(c, l1)}/export", headers=director)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        record = r.json()
        assert record["registration"]["email"] == l1 and record["reflections_private"] == 1
        assert [x["text"] for x in record["reflections_shared"]] == [SHARED_THOUGHT]
        assert SECRET_THOUGHT not in r.text
        assert (
            c.get(
                f"/director/people/{pid(c, l1)}/export", headers=session(c, peer_email)
            ).status_code
            == 403
        )
        assert c.get("/director/people/nobody/export", headers=director).status_code == 404
        store = svc.store.url
    # Exports: shared reflections only, never a private one.
    assert main(["export", "reflections", "--format", "json", "--store", store]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in rows] == [SHARED_THOUGHT]
    assert main(["export", "reflections", "--format", "csv", "--store", store]) == 0
    out = capsys.readouterr().out
    assert SECRET_THOUGHT not in out and SHARED_THOUGHT in out
    assert main(["export", "person", "--email", l1, "--store", store]) == 0
    out = capsys.readouterr().out
    assert SHARED_THOUGHT in out and SECRET_THOUGHT not in out
    assert json.loads(out)["reflections_private"] == 1
    assert main(["export", "person", "--email", "nobody@example.org", "--store", store]) != 0
    assert "nobody" in capsys.readouterr().err
    figure("pages of other people checked", 5)
    figure("live partials checked", partials)
    figure("exports checked (CSV, JSON, the director's and the CLI's person export)", 5)
    figure("private reflections leaked", 0)


def test_the_course_evaluation_opens_on_the_last_day_and_unlocks_credit(tmp_path, capsys):
    from server.cli import main

    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc = c.app.state.service
        l1 = session(c, "l1@example.org")
        page = c.get("/evaluations", headers=l1).text
        assert "Course evaluation" in page and "opens" in page
        answers = {
            "sid": "eval-course-01",
            "a.objective-1": "5",
            "a.objective-2": "5",
            "a.objective-3": "4",
            "a.objective-4": "4",
            "a.profession": "nurse",
            "a.knowledge": "4",
            "a.communication": "4",
            "a.relevance": "5",
            "a.bias": "no",
            "a.online": "4",
            "a.commitment": "=cmd|' /C calc'!A0",
        }
        r = c.post("/evaluations/course", data=answers, headers=l1)
        assert r.status_code == 422 and "opens" in r.text
        r = c.post("/evaluations/day-2", data={"sid": "eval-day2-001", "a.pace": "3"}, headers=l1)
        assert r.status_code == 422  # day 2's form opens with its last item
        assert (
            c.post("/evaluations/day-9", data={"sid": "eval-day9-001"}, headers=l1).status_code
            == 422
        )
        c.portal.call(svc.jump_clock, svc.schedule.day_items(3)[-1].start)
        assert (
            c.post(
                "/evaluations/course",
                data={"sid": "eval-course-02", "a.objective-1": "9"},
                headers=l1,
            ).status_code
            == 422
        )
        hours = {"type": "nursing_contact_hours", "amount": "0.25", "attest": "yes"}
        r = c.post("/me/claim", data=hours, headers=l1)
        assert r.status_code == 422 and "course evaluation" in r.text
        # One of the required ratings left out: refused, and the question is named.
        partial = {k: v for k, v in answers.items() if k != "a.relevance"} | {"sid": "eval-c-03"}
        r = c.post("/evaluations/course", data=partial, headers=l1)
        assert r.status_code == 422 and "The content was relevant to my practice" in r.text
        assert "My knowledge" not in r.text
        r = c.post("/evaluations/course", data=answers, headers=l1)
        assert r.status_code == 200, r.text
        assert pid(c, "l1@example.org") in svc.state.people.evaluated
        r = c.post("/evaluations/course", data=answers, headers=l1)  # a resend: stored once
        assert r.status_code == 200
        assert sum(1 for (a, f) in svc.state.feedback.evaluations if f == "course") == 1
        assert "✓ submitted" in c.get("/evaluations", headers=l1).text
        staff = next(p for p in svc.state.people.by_id.values() if p.role.value == "facilitator")
        r = c.post(
            "/evaluations/course",
            data=dict(answers, sid="eval-fac-0001"),
            headers=session(c, staff.reg.email),
        )
        assert r.status_code == 403
        r = c.post("/me/claim", data=hours, headers=l1)
        assert "course evaluation" not in r.text and "up to 0 contact hours" in r.text  # absent
        store = svc.store.url
    assert main(["export", "evaluations", "--format", "csv", "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "email,name,form,item,value,submitted"
    assert "'=cmd" in out  # a formula stays text in a spreadsheet


def test_feedback_export_lists_every_answer(tmp_path, capsys):
    from server.cli import main

    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc, group, fac = setup_turn(c)
        l1 = pid(c, "l1@example.org")
        peers = [svc.state.people.by_id[m].reg.email for m in group.members if m != l1]
        for i, who in enumerate([*peers, fac]):
            r = c.post(
                f"/fb/{group.name}/1",
                data={"sid": f"fb-export-{i:03d}", "a.worked": f"w{i}", "a.try": f"t{i}"},
                headers=session(c, who),
            )
            assert r.status_code == 200, r.text
        store = svc.store.url
    assert main(["export", "feedback", "--format", "json", "--store", store]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * (len(peers) + 1)
    assert {r["from_capacity"] for r in rows} == {"peer", "facilitator"}
    assert all(r["learner_email"] == "l1@example.org" and r["turn"] == 1 for r in rows)


def test_a_reflection_item_points_learners_to_their_reflections(tmp_path):
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        svc = c.app.state.service
        c.post(
            "/director/groups/assign",
            data={"seed": "2", "min_size": "3", "max_size": "4", "teams": "together"},
            headers=session(c, "director@example.org"),
        )
        l1 = session(c, "l1@example.org")
        assert "write a reflection" not in c.get("/", headers=l1).text
        item = next(s for s in svc.schedule if s.item.prompts and s.item.day == 2)
        c.portal.call(svc.jump_clock, item.start)
        page = c.get("/", headers=l1).text
        assert "write a reflection" in page
        refl = c.get("/reflections", headers=l1).text
        assert all(str(escape(p)) in refl for p in item.item.prompts)  # the running item's own
