"""The demo's simulated participants: a practice block runs by itself through the same commands
real people send, and the people whose links the demo prints are never acted for."""

from server.demo.people import example_people
from server.demo.sim import Simulation
from server.domain.placement import sp_window
from server.domain.roleplay import TimeIn
from server.domain.roles import Role
from tests.app.harness import (
    DAY2_PRACTICE,
    DEMO_ROSTER,
    before_day2_practice,
    make_client,
    session,
    simulate,
    spared,
)


def test_a_practice_block_runs_by_itself_and_spares_the_printed_people(tmp_path):
    with before_day2_practice(tmp_path) as c:
        svc = c.app.state.service
        assert svc.state.rooms.groups  # the demo roster arrives with its groups formed
        spare = spared(svc)
        sim = Simulation(svc, spare, seed=7)
        simulate(c, sim, 70)
        events = c.portal.call(svc.store.read, svc.course.id)
    types = [e.type for e in events]
    for kind in (
        "presence.joined",
        "presence.left",
        "roleplay.started",
        "turn.began",
        "scene.paused",
        "scene.resumed",
        "beat.reached",
        "turn.ended",
        "feedback.submitted",
        "feedback.released",
        "nexttime.written",
        "chat.sent",
    ):
        assert kind in types, f"the simulation never produced {kind}"
    # Learners rate themselves on their own turns (the gap), beside the others' feedback.
    capacities = {f.capacity for per in svc.state.feedback.turns.values() for f in per.values()}
    assert {"self", "peer"} <= capacities, capacities
    assert not any(e.actor in spare for e in events if e.actor != "cli")
    state = svc.state
    spare_fac = next(
        p.id for p in example_people(state.people, state.rooms) if p.role is Role.FACILITATOR
    )
    for name, g in state.rooms.groups.items():
        started = state.roleplays.of(name).scenario is not None
        assert started == (g.facilitator != spare_fac), name
    turns = [t for g in state.roleplays.by_group.values() for t in g.turns]
    assert not any(t.learner in spare for t in turns)
    assert len(state.feedback.turns) >= len(turns) - len(state.rooms.groups)
    assert sim.actions > 100


def test_the_simulation_keeps_going_when_the_course_refuses(tmp_path):
    """A real person getting there first makes a simulated command illegal: it is skipped."""
    with make_client(
        tmp_path, seconds_before_first=-DAY2_PRACTICE.total_seconds(), roster_text=DEMO_ROSTER
    ) as c:
        svc = c.app.state.service
        sim = Simulation(svc, frozenset(), seed=3)
        group = next(iter(svc.state.rooms.groups))
        fac = svc.state.rooms.groups[group].facilitator
        ok = c.portal.call(sim.act, TimeIn(group), fac)  # no scene is running
        assert ok is False and sim.refused == 1


def test_a_shared_sp_actor_plays_each_group_in_its_slot_only(tmp_path):
    """The demo's pediatric actor is shared by two groups: the simulation runs each group's
    scenes while the actor is with it (first half, second half of the practice block), the actor
    acts only in the group they are with, and the actor's page shows where they are now."""
    with before_day2_practice(tmp_path) as c:
        svc = c.app.state.service
        rooms = svc.state.rooms
        shared = [g for g in rooms.groups.values() if g.sp_slots > 1]
        assert len(shared) >= 2
        sim = Simulation(svc, frozenset(), seed=5)  # nobody spared: every group runs itself
        simulate(c, sim, 10)  # into the first slot
        item = svc.schedule.current(svc.clock.now())
        assert item.item.kind.value == "practice"
        sp = svc.state.people.by_id[shared[0].sps[0]]
        page = c.get("/", headers=session(c, sp.reg.email)).text
        here = next(g for g in shared if sp_window(item, g)[0] <= svc.clock.now())
        away = next(g for g in shared if g is not here)
        assert f"With {here.name} now, until" in page
        assert f"You are with {away.name} " in page and "Your room moves by itself" in page
        simulate(c, sim, int((item.end - svc.clock.now()).total_seconds() // 60) + 1)
        events = c.portal.call(svc.store.read, svc.course.id)
    for g in shared:
        start, end = sp_window(item, g)
        began = [e.at for e in events if e.type == "turn.began" and e.data.get("group") == g.name]
        assert began, f"{g.name} never played in its slot"
        assert all(start <= t < end for t in began), g.name
    acted = [
        e for e in events if e.actor == sp.id and e.data.get("group") in {g.name for g in shared}
    ]
    assert acted
    for e in acted:
        start, end = sp_window(item, rooms.groups[e.data["group"]])
        assert start <= e.at < end, (e.type, e.data["group"], e.at)
