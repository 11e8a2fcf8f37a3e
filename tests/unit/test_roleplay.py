"""The role-play state machine: every transition, the turn-order rule, and what is refused."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event
from server.domain.roleplay import (
    BeginTurn,
    EndRoleplay,
    EndTurn,
    Phase,
    ReachBeat,
    Rewind,
    Roleplay,
    SendCue,
    SetIntensity,
    StartRoleplay,
    TagIn,
    TimeIn,
    TimeOut,
    apply_roleplay,
    decide_roleplay,
    suggest_next,
)
from server.domain.roles import Actor, Role
from server.domain.rooms import GroupInfo, RoomsState

T0 = datetime(2026, 5, 14, 15, 15, tzinfo=UTC)
G = "Adult 1"
ROOMS = RoomsState(groups={G: GroupInfo(G, "adult", "fac", ("sp",), ("a", "b", "c"))})
FAC, SP, DIRECTOR = Actor("fac", Role.FACILITATOR), Actor("sp", Role.SP), Actor("d", Role.DIRECTOR)
A, B, C = (Actor(x, Role.LEARNER) for x in "abc")
OUTSIDER = Actor("z", Role.LEARNER)
BEATS = ("opening", "news", "emotion", "next-steps")
START = StartRoleplay(G, "adult-news-x", "adult", BEATS, 8)


class Play:
    def __init__(self):
        self.rp = Roleplay(G)
        self.seq = 0
        self.now = T0

    def do(self, command, actor=FAC, after=0):
        self.now += timedelta(seconds=after)
        for e in decide_roleplay(self.rp, ROOMS, command, actor, self.now):
            self.seq += 1
            self.rp = apply_roleplay(self.rp, Event(self.seq, e.type, e.actor, e.at, e.data))
        return self.rp


def test_a_full_case_walks_every_state():
    p = Play()
    assert p.do(START).phase is Phase.BRIEFING and p.rp.beat == "opening"
    assert p.do(BeginTurn(G, "a", "name the emotion"), after=60).phase is Phase.RUNNING
    assert p.rp.hot_seat == "a" and p.rp.turn.goal == "name the emotion"
    p.do(ReachBeat(G, "news"), SP, after=120)
    assert p.do(TimeOut(G), B, after=60).phase is Phase.TIMEOUT  # anyone in the room may call it
    assert p.rp.turn.seconds_used(p.now + timedelta(minutes=5)) == 180  # the clock stops
    assert p.do(Rewind(G, "opening"), A, after=90).phase is Phase.RUNNING  # the hot seat rewinds
    assert p.rp.beat == "opening" and p.rp.turn.rewinds == ("opening",)
    p.do(TimeOut(G), SP, after=30)
    assert p.do(TimeIn(G), FAC, after=10).phase is Phase.RUNNING
    p.do(ReachBeat(G, "emotion"), FAC, after=20)
    p.do(TagIn(G, "b", "stay with silence"), after=40)  # b continues the same conversation
    assert p.rp.hot_seat == "b" and p.rp.beat == "emotion" and p.rp.turn.tag_in
    assert p.rp.turns[0].ended_at is not None and p.rp.turns[0].seconds_used(p.now) == 270
    assert p.do(EndTurn(G), B, after=100).phase is Phase.DEBRIEF
    assert p.do(BeginTurn(G, "c", "make a recommendation")).phase is Phase.RUNNING
    p.do(EndTurn(G), after=50)
    assert p.do(EndRoleplay(G)).phase is Phase.DONE
    assert p.do(START).phase is Phase.BRIEFING  # another case; the turns are remembered
    assert [t.learner for t in p.rp.turns] == ["a", "b", "c"]


def test_intensity_and_private_cues():
    p = Play()
    p.do(START)
    p.do(SetIntensity(G, 3))
    assert p.rp.intensity == 3
    assert decide_roleplay(p.rp, ROOMS, SetIntensity(G, 3), FAC, T0) == []
    p.do(SendCue(G, "  cry   a little  "))
    assert p.rp.cues[-1].text == "cry a little"
    with pytest.raises(DomainError, match="1 \\(low\\)"):
        p.do(SetIntensity(G, 4))
    with pytest.raises(DomainError, match="some text"):
        p.do(SendCue(G, "   "))


@pytest.mark.parametrize(
    "command", [BeginTurn(G, "a", "x"), TimeOut(G), TimeIn(G), EndTurn(G), EndRoleplay(G)]
)
def test_nothing_but_a_start_works_before_a_case_is_chosen(command):
    with pytest.raises(DomainError, match="no role-play has started"):
        Play().do(command)


def test_time_in_needs_a_time_out_and_start_needs_no_running_case():
    p = Play()
    p.do(START)
    p.do(BeginTurn(G, "a", "x"))
    with pytest.raises(DomainError, match="scene is running"):
        p.do(TimeIn(G))
    with pytest.raises(DomainError, match="scene is running"):
        p.do(START)


def test_who_may_do_what():
    p = Play()
    with pytest.raises(PermissionDenied, match="facilitator"):
        p.do(START, A)
    p.do(START, DIRECTOR)  # the director stands in for any facilitator
    with pytest.raises(PermissionDenied, match="volunteer yourself"):
        p.do(BeginTurn(G, "b", "x"), A)
    p.do(BeginTurn(G, "a", "x"), A)  # volunteering is fine
    with pytest.raises(PermissionDenied):
        p.do(TimeOut(G), OUTSIDER)
    p.do(TimeOut(G), C)
    with pytest.raises(PermissionDenied, match="hot seat"):
        p.do(TimeIn(G), C)
    with pytest.raises(PermissionDenied):
        p.do(SendCue(G, "x"), SP)
    with pytest.raises(PermissionDenied):
        p.do(SetIntensity(G, 2), A)


def test_bad_values_are_refused():
    p = Play()
    with pytest.raises(DomainError, match="pediatric case"):
        p.do(StartRoleplay(G, "peds", "pediatric", BEATS, 8))
    p.do(START)
    with pytest.raises(DomainError, match="work on"):
        p.do(BeginTurn(G, "a", "   "))
    with pytest.raises(DomainError, match="learner in this group"):
        p.do(BeginTurn(G, "z", "x"))
    p.do(BeginTurn(G, "a", "x"))
    with pytest.raises(DomainError, match="no beat 'nope'"):
        p.do(Rewind(G, "nope"))
    with pytest.raises(DomainError, match="already in the hot seat"):
        p.do(TagIn(G, "a", "x"))
    with pytest.raises(DomainError, match="no group"):
        decide_roleplay(p.rp, ROOMS, TimeOut("Nope"), FAC, T0)


def test_everyone_gets_a_turn_before_anyone_repeats():
    p = Play()
    p.do(START)
    order = []
    for _ in range(6):
        nxt = suggest_next(p.rp, ["a", "b", "c"])
        order.append(nxt)
        p.do(BeginTurn(G, nxt, "goal"))
        p.do(EndTurn(G))
    assert order == ["a", "b", "c", "a", "b", "c"]
    assert suggest_next(Roleplay(G), []) is None


COMMANDS = st.sampled_from(
    [
        START,
        BeginTurn(G, "a", "g"),
        BeginTurn(G, "b", "g"),
        TagIn(G, "c", "g"),
        TimeOut(G),
        TimeIn(G),
        Rewind(G, "news"),
        ReachBeat(G, "emotion"),
        SetIntensity(G, 2),
        SendCue(G, "cue"),
        EndTurn(G),
        EndRoleplay(G),
    ]
)
ACTORS = st.sampled_from([FAC, SP, A, B, C, OUTSIDER, DIRECTOR])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(COMMANDS, ACTORS, st.integers(0, 600)), max_size=40))
def test_no_sequence_of_commands_reaches_an_illegal_state(steps):
    p = Play()
    for command, actor, wait in steps:
        with contextlib.suppress(DomainError):
            p.do(command, actor, after=wait)
        rp = p.rp
        # Invariants: exactly one open turn while running or in time-out, none otherwise;
        # the clock runs only while running; the beat is one of the case's.
        open_turns = [t for t in rp.turns if t.ended_at is None]
        if rp.phase in (Phase.RUNNING, Phase.TIMEOUT):
            assert len(open_turns) == 1
            assert (open_turns[0].running_since is not None) == (rp.phase is Phase.RUNNING)
        else:
            assert open_turns == []
        if rp.phase is not Phase.IDLE:
            assert rp.beat in BEATS
        assert all(t.seconds_used(p.now) >= 0 for t in rp.turns)
