"""Erasing one person's data: a learner who took part in a simulated morning of practice (turns,
feedback given and received, "next time", a reflection, an evaluation, a help call, a recording,
an announcement naming them) is erased by the director; nothing of theirs is left in the course,
its pages, its exports or the bytes of its files, and everyone else's records are intact."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from server.cli import main
from server.content.instruments import evaluation_form, spec
from server.demo.sim import Simulation
from server.domain.announcements import Announce
from server.domain.course_state import replay
from server.domain.erasure import ERASED_NAME
from server.domain.evaluations import SubmitEvaluation, evaluation_keys
from server.domain.help_calls import RequestHelp
from server.domain.media import SaveRecording
from server.domain.reflections import WriteReflection
from server.domain.roles import MEDIA_ACTOR, Actor, Role
from server.domain.talk import SendChat
from server.reports import exports
from tests.app.harness import (
    DEMO_ROSTER,
    before_day2_practice,
    make_client,
    pid,
    read_until,
    session,
    simulate,
    spared,
)


def file_bytes(db: Path) -> bytes:
    """Every byte SQLite keeps for the log: the database, its write-ahead log, shared memory."""
    return b"".join(
        p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()
    )


def practised(svc, spare):
    """Two learners of one group who each had a turn, gave and got feedback."""
    state = svc.state
    fb = state.feedback
    for name in sorted(state.rooms.groups):
        rp = state.roleplays.of(name)
        learners = []
        for number, t in enumerate(rp.turns, start=1):
            authors = fb.turns.get((name, number), {})
            gave = any(a == t.learner for (g, _), per in fb.turns.items() for a in per if g == name)
            if t.learner not in spare and authors and gave and t.learner not in learners:
                learners.append(t.learner)
        if len(learners) >= 2:
            return name, learners[0], learners[1]
    raise AssertionError("the simulated morning gave no group two learners with turns")


@pytest.mark.timeout(180)
def test_the_director_erases_one_learners_data_and_nothing_of_theirs_remains(tmp_path, figure):
    """A learner after a simulated morning of practice is erased from the people list: nothing
    of theirs is left in the state, the pages, the exports or the bytes of the log's files;
    everyone else's records are unchanged and the rewritten log replays to the same state."""
    db = tmp_path / "log.db"
    with before_day2_practice(tmp_path) as c:
        svc = c.app.state.service
        spare = spared(svc)
        simulate(c, Simulation(svc, spare, seed=11), 70)  # 70 minutes of practice
        group, x, y = practised(svc, spare)
        xp, yp = svc.state.people.by_id[x], svc.state.people.by_id[y]
        ax, ay = Actor(x, Role.LEARNER), Actor(y, Role.LEARNER)
        director = session(c, "director@example.org")
        director_actor = Actor(pid(c, "director@example.org"), Role.DIRECTOR)

        # What the learner writes for themselves, a call for help, an announcement naming them.
        item = svc.schedule.current(svc.clock.now())
        c.portal.call(
            svc.execute,
            WriteReflection("erase-x-reflection-1", item.id, "Prompt", "ZEBRA-X-REFLECTS"),
            ax,
        )
        c.portal.call(
            svc.execute,
            WriteReflection("erase-y-reflection-1", item.id, "Prompt", "OKAPI-Y-REFLECTS"),
            ay,
        )
        c.portal.call(svc.execute, RequestHelp("ZEBRA-X-HELP my audio"), ax)
        # What they said in their group's chat, in public and privately to its facilitator.
        here = f"group:{svc.state.rooms.group_of(x).name}"
        for n, private in ((1, False), (2, True)):
            said = SendChat(f"erase-x-chat-{n}", here, "ZEBRA-X-CHAT hello", private=private)
            c.portal.call(svc.execute, said, ax)
        words = f"Well done to {xp.name} and {yp.name} ({xp.reg.email.upper()})"
        c.portal.call(svc.execute, Announce(words), director_actor)
        turn = next(
            n for n, t in enumerate(svc.state.roleplays.of(group).turns, 1) if t.learner == x
        )
        started = svc.clock.now() - timedelta(minutes=3)
        for person in (x, svc.state.rooms.groups[group].sps[0]):
            rec = SaveRecording(
                group,
                turn,
                1,
                person,
                f"{group}/{turn}.1/{person}.webm",
                started,
                started + timedelta(minutes=1),
                1000,
                x,
            )
            c.portal.call(svc.execute, rec, MEDIA_ACTOR)
        # The day's evaluation, with the free-text answers.
        key = next(k for k in evaluation_keys(svc.schedule) if k != "course")
        form = evaluation_form(svc.evaluations, key)
        svc.clock.jump(max(svc.clock.now(), _opens(svc, key)))
        answers = {}
        for it in form.items:
            answers[it.id] = {"scale": "4", "observed": "observed"}.get(
                it.kind.value, "ZEBRA-X-EVAL"
            )
        c.portal.call(
            svc.execute, SubmitEvaluation("erase-x-evaluation-1", key, spec(form), answers), ax
        )

        x_session = session(c, xp.reg.email)
        x_token = c.app.state.signer.link_token(x, xp.link_version)
        before = file_bytes(db)
        for secret in (xp.reg.email.encode(), xp.name.encode(), x.encode(), b"ZEBRA-X"):
            assert secret in before
        rps = svc.state.roleplays
        y_gave = {  # feedback Y gave on turns of others than X
            (g, n)
            for (g, n), per in svc.state.feedback.turns.items()
            if y in per and rps.of(g).turns[n - 1].learner != x
        }
        assert y_gave
        events_before = c.portal.call(svc.store.read, svc.course.id)

        with c.websocket_connect("/live", headers=x_session) as ws:
            ws.receive_text(), ws.receive_text()
            # The director must type the email: anything else erases nothing.
            r = c.post(f"/director/people/{x}/erase", data={"confirm": "someone"}, headers=director)
            assert r.status_code == 422 and "type their email" in r.text
            assert svc.state.people.by_id[x].name == xp.name
            # A learner may not erase anyone.
            r = c.post(
                f"/director/people/{y}/erase", data={"confirm": yp.reg.email}, headers=x_session
            )
            assert r.status_code == 403
            r = c.post(
                f"/director/people/{x}/erase",
                data={"confirm": f"  {xp.reg.email.upper()} "},
                headers=director,
            )
            assert r.status_code == 200 and "Erased" in r.text
            read_until(ws, '"revoked"')
            with pytest.raises(WebSocketDisconnect):
                ws.receive_text()

        state = svc.state
        events = c.portal.call(svc.store.read, svc.course.id)
        after = file_bytes(db)
        # Nothing of theirs in the bytes of the log.
        for secret in (xp.reg.email, xp.name, x, "ZEBRA-X"):
            assert secret.encode() not in after, secret
            assert secret.lower() not in json.dumps([e.data for e in events]).lower(), secret
        assert not any(e.actor == x for e in events)
        # Everyone else's records are as they were.
        assert yp.reg.email.encode() in after and b"OKAPI-Y-REFLECTS" in after
        assert [e.seq for e in events[: len(events_before)]] == [e.seq for e in events_before]
        untouched = [(a, b) for a, b in zip(events_before, events, strict=False) if a == b]
        figure("events rewritten", len(events_before) - len(untouched))
        figure("events kept as they were", len(untouched))
        assert state.people.by_id[y].reg == yp.reg
        assert all(y in state.feedback.turns[k] for k in y_gave), "feedback Y gave was lost"
        # The course replays from the rewritten log to the state the server holds.
        assert replay(events) == state
        erased = [p for p in state.people.by_id.values() if p.erased]
        assert len(erased) == 1 and erased[0].name == ERASED_NAME
        new = erased[0].id
        assert all(new not in g.members for g in state.rooms.groups.values())
        assert not any(x in (r.person, r.learner) for r in state.media.recordings.values())
        deleted = [e for e in events if e.type == "recording.deleted"]
        assert len(deleted) == 2 and {e.data["reason"] for e in deleted} == {"erased"}
        # Their turns keep their place in the group's history, with no goal; the feedback on
        # them is gone; the feedback they gave a colleague stays, by an erased participant.
        turns = [t for t in state.roleplays.of(group).turns if t.learner == new]
        assert turns and all(t.goal == "" for t in turns)
        for g, number in state.feedback.turns:
            assert state.roleplays.of(g).turns[number - 1].learner != new
        assert any(new in per for per in state.feedback.turns.values())
        assert (
            "[erased]" in state.announcements[-1].text and yp.name in state.announcements[-1].text
        )

        # Pages, exports and links.
        page = c.get("/director", headers=director).text
        with c.websocket_connect("/live", headers=director) as ws:
            ws.receive_text()
            page += ws.receive_text()  # the live partials: people, rooms, help calls
        assert 'id="people"' in page and xp.name not in page and xp.reg.email not in page
        assert "1 person&#39;s data erased." in page
        csv = exports.export("attendance", state, svc.schedule, svc.clock.now(), "csv")
        assert xp.name not in csv and xp.reg.email not in csv and yp.name in csv
        assert xp.name not in exports.export(
            "feedback", state, svc.schedule, svc.clock.now(), "csv"
        )
        assert xp.name not in c.get("/", headers=x_session).text
        r = c.get(f"/join/{x_token}")
        assert r.status_code == 403 and "on this course" in r.text and xp.name not in r.text
        r = c.post(f"/director/people/{new}/erase", data={"confirm": "x"}, headers=director)
        assert r.status_code == 422 and "already erased" in r.text
        seq = state.seq

    # A restart on the same file: the same course, without them.
    with make_client(tmp_path, seconds_before_first=0, roster_text="") as c2:
        assert c2.app.state.service.state.seq >= seq
        assert xp.reg.email not in {
            p.reg.email for p in c2.app.state.service.state.people.by_id.values()
        }
    figure("stored events", len(events))


def _opens(svc, key):
    from server.domain.evaluations import evaluation_opens

    return evaluation_opens(svc.schedule, key) + timedelta(seconds=1)


def test_the_command_line_erases_only_with_yes(tmp_path, capsys):
    with make_client(tmp_path, seconds_before_first=60, roster_text=DEMO_ROSTER) as c:
        svc = c.app.state.service
        learner = svc.state.people.of_role(Role.LEARNER)[0]
    store = f"sqlite:///{tmp_path / 'log.db'}"
    assert main(["erase", "--email", learner.reg.email, "--store", store]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["erase", "--email", "nobody@example.org", "--store", store, "--yes"]) == 2
    assert "nobody with the email" in capsys.readouterr().err
    assert main(["erase", "--email", learner.reg.email, "--store", store, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Erased" in out and "registration list" in out
    assert learner.reg.email.encode() not in file_bytes(tmp_path / "log.db")
    assert main(["erase", "--email", learner.reg.email, "--store", store, "--yes"]) == 2
