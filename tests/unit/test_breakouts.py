"""Quick breakouts and drop-in visits, pure: who may open, how long, where everyone belongs while
they are open and after; who may visit which room, where a visitor belongs, and the visit
closed with its item."""

from datetime import timedelta

import pytest

from server.domain.breakouts import CloseBreakout, LeaveVisit, OpenBreakout, Visit
from server.domain.errors import DomainError, PermissionDenied
from server.domain.groups.membership import AssignGroups
from server.domain.lifecycle import CloseFinished
from server.domain.people_rules import ImportRoster
from server.domain.placement import in_group_time, next_move
from server.domain.roles import CLI_ACTOR
from server.domain.roster import parse_roster
from tests.unit.harness import SALT, SCHEDULE, Course

PAIN = SCHEDULE.get("d3-02")  # a track session: adult and pediatric, no small groups
BREAK = SCHEDULE.get("d3-03")
PLENARY = SCHEDULE.get("d3-01")
ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Ada Facilitator,ada@example.org,facilitator,nurse,adult
Cy Facilitator,cy@example.org,facilitator,physician,pediatric
Sam Actor,sam@example.org,sp,other,adult
A One,a1@example.org,learner,nurse,adult
A Two,a2@example.org,learner,physician,adult
P One,p1@example.org,learner,nurse,pediatric
"""


def course() -> Course:
    c = Course(now=PAIN.start + timedelta(minutes=10))
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    c.do(AssignGroups(seed=1, min_size=1, max_size=4))
    return c


def test_the_director_opens_small_groups_inside_a_track_session_and_everyone_moves_and_back():
    c = course()
    director = c.actor("director@example.org")
    t = c.now
    assert c.place("a1@example.org", t).room == "track:adult"
    with pytest.raises(PermissionDenied):
        c.do(OpenBreakout(15), c.actor("ada@example.org"))
    with pytest.raises(DomainError, match="ends in 65 minutes; open them for at most that"):
        c.do(OpenBreakout(90), director)
    with pytest.raises(DomainError, match="1 to 120"):
        c.do(OpenBreakout(0), director)
    with pytest.raises(DomainError, match="not a break"):
        c.do(OpenBreakout(5), director, at=BREAK.start + timedelta(minutes=1))
    [e] = c.do(OpenBreakout(20), director)
    until = t + timedelta(minutes=20)
    assert e.type == "breakout.opened" and e.data["until"] == until.isoformat()
    group = c.state.rooms.group_of(c.person("a1@example.org").id)
    place = c.place("a1@example.org", t + timedelta(minutes=5))
    assert (place.kind, place.room, place.until) == ("group", f"group:{group.name}", until)
    assert c.place("sam@example.org", t + timedelta(minutes=5)).kind == "group"  # the SP too
    assert c.place("ada@example.org", t + timedelta(minutes=5)).kind == "group"
    assert in_group_time(SCHEDULE, t + timedelta(minutes=5), c.state.rooms)
    assert not in_group_time(SCHEDULE, t + timedelta(minutes=5))  # the agenda alone: no groups
    assert next_move(c.state.rooms, SCHEDULE, t) == until  # pages move back by themselves
    assert c.place("a1@example.org", until).room == "track:adult"
    assert c.place("director@example.org", t + timedelta(minutes=5)).kind != "group"
    with pytest.raises(DomainError, match="already meet"):
        c.do(OpenBreakout(5), director, at=SCHEDULE.get("d3-10").start + timedelta(minutes=1))
    # Closed early: everyone is back at once; closing again does nothing.
    later = t + timedelta(minutes=8)
    [e] = c.do(CloseBreakout(), director, at=later)
    assert c.place("a1@example.org", later).room == "track:adult"
    assert c.do(CloseBreakout(), director, at=later) == []
    assert next_move(c.state.rooms, SCHEDULE, later) == PAIN.end


def test_staff_drop_in_on_rooms_they_may_visit_and_leave_or_the_item_ends_it():
    c = course()
    director, ada, cy = (c.actor(f"{x}@example.org") for x in ("director", "ada", "cy"))
    t = c.now
    adult = next(g for g in c.state.rooms.groups.values() if g.track == "adult")
    peds = next(g for g in c.state.rooms.groups.values() if g.track == "pediatric")
    with pytest.raises(PermissionDenied, match="Only the director and facilitators"):
        c.do(Visit(f"group:{adult.name}"), c.actor("a1@example.org"))
    with pytest.raises(PermissionDenied, match="own track"):
        c.do(Visit(f"group:{adult.name}"), cy)
    with pytest.raises(DomainError, match="no small group"):
        c.do(Visit("group:Nowhere"), director)
    with pytest.raises(DomainError, match="no room"):
        c.do(Visit("kitchen"), director)
    with pytest.raises(DomainError, match="break"):
        c.do(Visit("plenary"), director, at=BREAK.start + timedelta(minutes=1))
    c.do(Visit(f"group:{peds.name}"), cy)  # their own track's group
    c.do(Visit(f"group:{adult.name}"), director)
    assert c.do(Visit(f"group:{adult.name}"), director) == []  # already there
    place = c.place("director@example.org", t)
    assert (place.room, place.visiting) == (f"group:{adult.name}", True)
    assert place.label == f"Visiting small group {adult.name}"
    assert c.place("cy@example.org", t).room == f"group:{peds.name}"
    c.do(Visit("track:pediatric"), director)  # moving on replaces the visit
    assert c.place("director@example.org", t).room == "track:pediatric"
    c.do(LeaveVisit(), director)
    assert not c.place("director@example.org", t).visiting
    assert c.do(LeaveVisit(), director) == []
    # The item ends: the visit with it (recorded), and the facilitator is back in their place.
    [ended] = c.do(CloseFinished(), CLI_ACTOR, at=PAIN.end)
    assert (ended.type, ended.data["reason"]) == ("visit.ended", "item ended")
    assert c.state.rooms.visits == {}
    assert len(c.do(Visit("plenary"), ada, at=PLENARY.start + timedelta(minutes=1))) == 1
