"""The information barrier, by type: every role's view of a role-play, built for every case in
the library mid-scene, holds only what that role may see. The leak test (tests/app) checks the
bytes on the sockets; this one checks what the templates are given, so a careless template edit
has nothing to leak."""

import dataclasses
import typing
from datetime import timedelta

import pytest

from server.content.cases import Beat, CueLevel, Portrayal, Scenario, StopRules, load_library
from server.domain.course_state import CourseState
from server.domain.groups.membership import AssignGroups
from server.domain.people_rules import ImportRoster
from server.domain.roleplay import BeginTurn, Cue, ReachBeat, SendCue, SetIntensity, StartRoleplay
from server.domain.roles import Actor, Role
from server.domain.roster import parse_roster
from server.live.views.roleplay import (
    BUILDERS,
    FacilitatorRoleplayView,
    LearnerRoleplayView,
    SpRoleplayView,
    build_roleplay_view,
)
from tests.unit.harness import SALT, SCHEDULE, Course

PRACTICE = next(s for s in SCHEDULE if s.item.kind.value == "practice")
NOW = PRACTICE.start + timedelta(minutes=5)
LIBRARY = load_library()
CUE = "Private cue: hold back the worry about the son"
ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Ada Facilitator,ada@example.org,facilitator,nurse,adult
Pia Facilitator,pia@example.org,facilitator,physician,pediatric
Sam Actor,sam@example.org,sp,other,adult
Sue Actor,sue@example.org,sp,other,pediatric
A One,a1@example.org,learner,nurse,adult
A Two,a2@example.org,learner,physician,adult
P One,p1@example.org,learner,nurse,pediatric
P Two,p2@example.org,learner,physician,pediatric
"""
# Types that carry the SP's script or the facilitator's cues, and the registration (email,
# board ids, birth date) of the people in the room.
SCRIPT_TYPES = (Scenario, Portrayal, CueLevel, Beat, StopRules, Cue)


def mid_scene(case: Scenario) -> tuple[CourseState, str]:
    """A group of the case's track, its case started, a turn running at the second beat, the
    intensity up and a cue sent."""
    c = Course(now=NOW)
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    c.do(AssignGroups(seed=1, min_size=1, max_size=4))
    state = c.state
    group = next(g for g in state.rooms.groups.values() if g.track == case.track)
    fac = Actor(group.facilitator, Role.FACILITATOR)
    beats = tuple(b.id for b in case.beats)
    c.do(StartRoleplay(group.name, case.id, case.track, beats, 8), fac)
    c.do(BeginTurn(group.name, group.members[0], "Pause after the news"), fac)
    c.do(ReachBeat(group.name, case.beats[1].id), fac)
    c.do(SetIntensity(group.name, 3), fac)
    c.do(SendCue(group.name, CUE), fac)
    return c.state, group.name


def sp_only_texts(case: Scenario) -> set[str]:
    p = case.portrayal
    texts = {p.who, p.affect, p.relationship, p.opening_line, p.wants, *p.facts_known, CUE}
    texts |= {h.info for h in p.hidden} | {h.reveal_when for h in p.hidden}
    for level in (p.cue_ladder.low, p.cue_ladder.medium, p.cue_ladder.high):
        texts |= {level.description, *level.example_lines}
    for b in case.beats:
        texts |= set(b.actor_prompts)
    texts |= set(case.debrief_points) | set(case.stop_rules.sp_halts_when)
    texts |= set(case.stop_rules.facilitator_halts_when) | {case.stop_rules.safe_word}
    texts |= {*case.objectives, *case.sp_feedback, *case.de_roling, *case.aftercare}
    return texts


def values(obj, seen=None):
    """Every value reachable from `obj` through dataclass fields, pydantic fields, tuples,
    lists and mappings."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from values(getattr(obj, f.name), seen)
    elif hasattr(type(obj), "model_fields"):
        for name in type(obj).model_fields:
            yield from values(getattr(obj, name), seen)
    elif isinstance(obj, dict | typing.Mapping):
        for k, v in obj.items():
            yield from values(k, seen)
            yield from values(v, seen)
    elif isinstance(obj, tuple | list | set | frozenset):
        for v in obj:
            yield from values(v, seen)


def field_types(cls, seen=None) -> set[type]:
    """Every class named by the annotations of `cls`'s fields, recursively."""
    seen = seen if seen is not None else set()
    if cls in seen:
        return seen
    seen.add(cls)
    hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
    for hint in hints.values():
        stack = [hint]
        while stack:
            h = stack.pop()
            stack += list(typing.get_args(h))
            origin = typing.get_origin(h) or h
            if isinstance(origin, type) and origin.__module__.startswith("server."):
                field_types(origin, seen)
    return seen


def test_a_learners_view_type_has_no_field_for_the_script_or_anyones_registration():
    from server.domain.people import Person, Registration

    reachable = field_types(LearnerRoleplayView)
    assert not reachable & {*SCRIPT_TYPES, Person, Registration}, reachable
    assert set(BUILDERS) == {"learner", "sp", "facilitator"}


@pytest.mark.parametrize("case_id", sorted(LIBRARY))
def test_every_roles_view_of_every_case_holds_only_what_that_role_may_see(case_id):
    case = LIBRARY[case_id]
    state, group = mid_scene(case)
    secret = sp_only_texts(case)
    views = {
        role: build_roleplay_view(state, LIBRARY, group, role, NOW, SCHEDULE) for role in BUILDERS
    }
    learner = views["learner"]
    assert isinstance(learner, LearnerRoleplayView)
    held = list(values(learner))
    assert not [v for v in held if isinstance(v, SCRIPT_TYPES)]
    assert not {v for v in held if isinstance(v, str)} & secret
    emails = {p.reg.email for p in state.people.by_id.values()}
    assert not {v for v in held if isinstance(v, str)} & emails
    # What the learner does get: the brief, the beat by title, the goal.
    assert learner.case is not None and learner.case.door_note == case.door_note
    assert learner.scene.beat is not None and learner.scene.beat.title == case.beats[1].title
    assert learner.scene.goal == "Pause after the news"
    # The SP and the facilitator get the script and the cue.
    sp, fac = views["sp"], views["facilitator"]
    assert isinstance(sp, SpRoleplayView) and isinstance(fac, FacilitatorRoleplayView)
    assert sp.case is case and [c.text for c in sp.cues] == [CUE]
    assert sp.cue_level == case.portrayal.cue_ladder.high
    assert sp.beat == case.beats[1]
    assert fac.case is case and fac.rp.cues[-1].text == CUE
    assert build_roleplay_view(state, LIBRARY, group, "director", NOW, SCHEDULE) is None


@pytest.mark.parametrize("case_id", sorted(LIBRARY)[:3])
def test_an_observers_feedback_form_holds_the_beats_by_title_only(case_id):
    from server.content.instruments import load_instruments
    from server.live.views.feedback import build_feedback_panel

    case = LIBRARY[case_id]
    state, group = mid_scene(case)
    observer = state.rooms.groups[group].members[1]
    panel = build_feedback_panel(state, LIBRARY, load_instruments(), group, observer)
    assert panel is not None and panel.target is not None
    held = list(values(panel))
    assert not [v for v in held if isinstance(v, SCRIPT_TYPES)]
    assert not {v for v in held if isinstance(v, str)} & sp_only_texts(case)
    assert [b.title for b in panel.target.beats] == [b.title for b in case.beats]


def test_the_actor_gets_feedback_guidance_at_debrief_and_aftercare_at_the_end():
    """ASPE's elements where they are used: the SP's out-of-role feedback guidance at debrief,
    de-roling and aftercare once the case is finished, the objectives and level in the script,
    and how often the actor has portrayed the case today against its limit."""
    from markupsafe import escape

    from server.domain.roleplay import EndRoleplay, EndTurn
    from server.live.render import Renderer

    case = LIBRARY["adult-pain-bone-metastases"]
    state, group = mid_scene(case)
    c = Course(state, now=NOW)
    fac = Actor(state.rooms.groups[group].facilitator, Role.FACILITATOR)
    r = Renderer()

    def page(role: str) -> str:
        view = build_roleplay_view(c.state, LIBRARY, group, role, NOW, SCHEDULE)
        return r.render(f"live/rp_{role}.html", r=view, oob=False)

    def shown(html: str, lines) -> bool:
        return all(str(escape(x)) in html for x in lines)

    running = page("sp")
    assert 'class="aspe sp-feedback"' not in running.split("tp-more")[0]  # not while playing
    assert shown(running, case.objectives) and case.level.value in running
    assert "You have portrayed this case 1 time today, of at most 6" in running
    c.do(EndTurn(group), fac)
    debrief = page("sp")
    assert 'class="aspe sp-feedback"' in debrief.split("tp-more")[0] and shown(
        debrief, case.sp_feedback
    )
    assert shown(page("facilitator"), case.sp_feedback)
    c.do(EndRoleplay(group), fac)
    done = page("sp")
    assert 'class="aspe aftercare"' in done.split("tp-more")[0]
    assert shown(done, case.de_roling) and shown(done, case.aftercare)
    assert 'class="aspe aftercare"' in page("facilitator").split("tp-more")[0]
