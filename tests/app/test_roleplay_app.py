"""A whole practice block on the rehearsal clock, with facilitator, SP and learners connected:
every role's view follows along, and no SP-only text ever reaches a learner's socket."""

from server.content.cases import load_library
from server.domain.placement import sp_window
from server.domain.roles import Actor, Role
from tests.app.harness import DAY2_PRACTICE, Socket, make_client, pid, session
from tests.app.harness import GROUP_ROSTER as ROSTER


def sp_only_texts(case) -> list[str]:
    """Every piece of the script that only the SP and the facilitator may see."""
    p = case.portrayal
    texts = [p.opening_line, p.wants, *p.facts_known]
    texts += [h.info for h in p.hidden] + [h.reveal_when for h in p.hidden]
    for level in (p.cue_ladder.low, p.cue_ladder.medium, p.cue_ladder.high):
        texts += [level.description, *level.example_lines]
    for b in case.beats:
        texts += b.actor_prompts
    texts += case.debrief_points
    return [t for t in texts if len(t) > 12]


def escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_a_practice_block_runs_with_every_role_connected(tmp_path):
    library = load_library()
    case = next(c for c in sorted(library.values(), key=lambda c: c.id) if c.track == "adult")
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        director = session(c, "director@example.org")
        c.post(
            "/director/groups/assign",
            data={"seed": "2", "min_size": "1", "max_size": "2", "teams": "together"},
            headers=director,
        )
        svc = c.app.state.service
        l1 = pid(c, "l1@example.org")
        group = svc.state.rooms.group_of(l1)
        other = next(m for m in group.members if m != l1)
        other_email = svc.state.people.by_id[other].reg.email
        outsider = next(
            p
            for g in svc.state.rooms.groups.values()
            if g.name != group.name and g.track == "adult"
            for p in g.members
        )
        fac = svc.state.people.by_id[group.facilitator].reg.email
        sp = svc.state.people.by_id[group.sps[0]].reg.email
        url = f"/rp/{group.name}"
        # One SP actor for the adult groups: go to this group's slot of the practice block.
        start, _ = sp_window(svc.schedule.current(svc.clock.now()), group)
        c.portal.call(svc.move_clock, max(start, svc.clock.now()), Actor("cli", Role.DIRECTOR))

        def post(path, who, **form):
            r = c.post(url + path, data=form, headers=session(c, who))
            assert r.status_code == 200, r.text
            return r

        with (
            c.websocket_connect("/live", headers=session(c, fac)) as f_ws,
            c.websocket_connect("/live", headers=session(c, sp)) as s_ws,
            c.websocket_connect("/live", headers=session(c, "l1@example.org")) as l1_ws,
            c.websocket_connect("/live", headers=session(c, other_email)) as l2_ws,
            c.websocket_connect(
                "/live", headers=session(c, svc.state.people.by_id[outsider].reg.email)
            ) as out_ws,
        ):
            F, S, L1, L2, OUT = (Socket(w) for w in (f_ws, s_ws, l1_ws, l2_ws, out_ws))
            for s in (F, S, L1, L2):
                s.until('id="rp-')
            post("/start", fac, scenario=case.id)
            L1.until(escaped(case.door_note.task[:40]))  # the learners get the door note
            S.until(escaped(case.portrayal.opening_line[:40]))  # the SP gets the script
            post("/begin", fac, learner=l1, goal="Name the emotion before giving facts")
            assert "L One</strong> is in the hot seat" in L2.until(
                "Name the emotion before giving facts"
            )
            S.until("Clinician: L One")

            post("/timeout", other_email)  # an observer calls a time-out
            for s in (F, S, L1):
                s.until("rp-phase-timeout")
            post("/intensity", fac, level="3")
            assert escaped(case.portrayal.cue_ladder.high.example_lines[0]) in S.until(
                "intensity-high"
            )
            post("/cue", fac, text="Let the silence sit for ten seconds")
            S.until("Let the silence sit for ten seconds")
            post("/rewind", "l1@example.org", beat=case.beats[0].id)  # the hot seat rewinds
            for s in (F, S, L1):
                s.until("rp-phase-running")
            post("/tagin", other_email, goal="Respond to the question about time")
            L1.until("Respond to the question about time")
            post("/end-turn", fac)
            for s in (L1, L2, S):
                s.until("rp-phase-debrief")
            post("/end", fac)
            F.until("rp-phase-done")
            L1.until("rp-phase-done")

        # The information barrier: nothing SP-only reached any learner's socket.
        learner_bytes = "".join(L1.seen + L2.seen + OUT.seen)
        leaked = [t for t in sp_only_texts(case) if escaped(t) in learner_bytes]
        assert leaked == []
        assert "Let the silence sit" not in learner_bytes
        assert "Let the silence sit" in "".join(F.seen)  # the facilitator sees the cues sent
        # The outsider, in another group, saw none of this role-play at all.
        assert escaped(case.door_note.task[:40]) not in "".join(OUT.seen)
        rp = svc.state.roleplays.of(group.name)
        assert [t.learner for t in rp.turns] == [l1, other]
        assert rp.turns[0].rewinds == (case.beats[0].id,)


def test_role_play_commands_from_the_wrong_people_are_refused(tmp_path):
    library = load_library()
    case = next(c for c in library.values() if c.track == "adult")
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=ROSTER
    ) as c:
        c.post(
            "/director/groups/assign",
            data={"seed": "2", "min_size": "1", "max_size": "2", "teams": "together"},
            headers=session(c, "director@example.org"),
        )
        group = c.app.state.service.state.rooms.group_of(pid(c, "l1@example.org"))
        r = c.post(
            f"/rp/{group.name}/start",
            data={"scenario": case.id},
            headers=session(c, "l1@example.org"),
        )
        assert (
            r.status_code == 403 and "Only the group&#39;s facilitator may start a case" in r.text
        )
        r = c.post(f"/rp/{group.name}/launch", headers=session(c, "l1@example.org"))
        assert r.status_code == 422 and "Unknown role-play action" in r.text
        r = c.post("/rp/Nowhere/timeout", headers=session(c, "l1@example.org"))
        assert r.status_code == 422 and "no group named" in r.text
