"""The demo's simulated participants: a practice block runs by itself through the same commands
real people send, and the people whose links the demo prints are never acted for."""

from datetime import timedelta

from server.app import example_people
from server.domain.roleplay import TimeIn
from server.domain.roles import Role
from server.sim import Simulation
from tests.app.conftest import make_client
from tests.servers import ROOT

DEMO_ROSTER = (ROOT / "scenarios/demo/roster.csv").read_text()
DAY2_PRACTICE = timedelta(days=1, hours=1, minutes=20)  # 11:20 ET, role-play practice


def before_day2_practice(tmp_path):
    """A client on the demo roster, a course-minute before Day 2's role-play practice."""
    return make_client(
        tmp_path,
        seconds_before_first=-(DAY2_PRACTICE.total_seconds() - 60),
        roster_text=DEMO_ROSTER,
    )


def spared(svc) -> frozenset[str]:
    """The people the demo prints links for, whom the simulation never acts for."""
    return frozenset(p.id for p in example_people(svc.state.people, svc.state.rooms))


def simulate(c, sim: Simulation, minutes: int) -> None:
    """Run `sim` for `minutes` of course time in 15-second steps."""
    svc = c.app.state.service
    for _ in range(minutes * 4):
        svc.clock.jump(svc.clock.now() + timedelta(seconds=15))
        c.portal.call(sim.step, svc.clock.now())


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
    ):
        assert kind in types, f"the simulation never produced {kind}"
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
