"""Breakouts in the domain: forming groups, where each person is, moves, locks, help calls."""

from datetime import timedelta

import pytest

from server.domain.course_state import apply
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event
from server.domain.groups.membership import (
    AssignGroups,
    ChooseTrack,
    LockMember,
    MoveMember,
    Rebalance,
)
from server.domain.help_calls import ClaimHelp, RequestHelp, ResolveHelp
from server.domain.people_rules import Connect, Disconnect, ImportRoster
from server.domain.placement import next_move, place_of, sp_window, sps_with
from server.domain.roles import Actor, Role
from server.domain.roster import parse_roster
from tests.servers import ROOT
from tests.unit.harness import DAY1, SALT, Course
from tests.unit.harness import SCHEDULE as BASE

ROSTER = tuple(parse_roster((ROOT / "scenarios/demo/roster.csv").read_text()).registrations)


def when(day, hhmm):
    h, m = map(int, hhmm.split(":"))
    return DAY1 + timedelta(days=day - 1, hours=h - 10, minutes=m)


@pytest.fixture
def course():
    c = Course()
    c.do(ImportRoster(ROSTER, SALT))
    c.do(AssignGroups(seed=3))
    return c


ADULT = "priya.raman@example.org"
PEDS = "avery.whitfield@example.org"
BOTH = "noah.castellano@example.org"  # registered for both tracks


def test_the_same_roster_and_seed_give_the_same_groups_whatever_the_ids():
    """Ids are random; groups are formed by the registrations, so they come out the same."""

    def groups(salt):
        c = Course()
        c.do(ImportRoster(ROSTER, salt))
        c.do(AssignGroups(seed=3))
        email = {p.id: p.reg.email for p in c.state.people.by_id.values()}
        return {
            n: (email.get(g.facilitator), sorted(email[m] for m in g.members))
            for n, g in c.state.rooms.groups.items()
        }

    assert groups("first-salt-0123456789ab") == groups("other-salt-ba9876543210")


def test_groups_cover_every_learner_once(course):
    groups = course.state.rooms.groups
    members = [m for g in groups.values() for m in g.members]
    learners = [p.id for p in course.state.people.of_role(Role.LEARNER)]
    assert sorted(members) == sorted(learners)
    assert all(g.facilitator for g in groups.values())


def test_the_agenda_decides_the_room(course):
    assert course.place(ADULT, when(1, "10:05")).room == "plenary"
    assert course.place(ADULT, when(1, "11:20")).kind == "break"
    assert course.place(ADULT, when(1, "11:35")).room == "track:adult"
    assert course.place(PEDS, when(1, "11:35")).room == "track:pediatric"
    group = course.state.rooms.member_of[course.actor(ADULT).id]
    assert course.place(ADULT, when(1, "16:05")).room == f"group:{group}"  # small group
    assert course.place(ADULT, when(2, "11:30")).room == f"group:{group}"  # practice
    assert course.place(ADULT, when(2, "16:50")).room == "plenary"  # large group close
    assert course.place(ADULT, when(3, "20:00")).kind == "none"


def test_a_both_track_learner_goes_adult_until_they_choose(course):
    me = course.actor(BOTH)
    assert course.place(BOTH, when(1, "11:35")).room == "track:adult"
    events = course.do(ChooseTrack("pediatric"), me)
    assert course.place(BOTH, when(1, "11:35")).room == "track:pediatric"
    # and their small group follows the track they chose
    assert [e.type for e in events] == ["track.chosen", "member.placed"]
    assert course.state.rooms.group_of(me.id).track == "pediatric"
    with pytest.raises(DomainError, match="adult track only"):
        course.do(ChooseTrack("pediatric"), course.actor(ADULT))


def test_the_director_moves_a_learner_within_their_track(course):
    me = course.actor(ADULT)
    here = course.state.rooms.member_of[me.id]
    other = next(
        n for n, g in course.state.rooms.groups.items() if g.track == "adult" and n != here
    )
    course.do(MoveMember(me.id, other))
    assert course.state.rooms.member_of[me.id] == other
    assert me.id not in course.state.rooms.groups[here].members
    peds = next(n for n, g in course.state.rooms.groups.items() if g.track == "pediatric")
    with pytest.raises(DomainError, match="adult track"):
        course.do(MoveMember(me.id, peds))
    with pytest.raises(PermissionDenied):
        course.do(MoveMember(me.id, here), course.actor("dana.whitcombe@example.org"))


def test_rebalancing_takes_out_no_shows_and_keeps_locked_people(course):
    rooms = course.state.rooms
    seen = [pid for g in rooms.groups.values() if g.track == "adult" for pid in g.members[:3]]
    locked_absent = next(
        pid for g in rooms.groups.values() if g.track == "adult" for pid in g.members[3:]
    )
    for pid in seen:
        course.do(Connect(f"c-{pid}"), Actor(pid, Role.LEARNER))
    course.do(LockMember(locked_absent))
    course.do(Rebalance())
    rooms = course.state.rooms
    adult = [g for g in rooms.groups.values() if g.track == "adult"]
    placed = {m for g in adult for m in g.members}
    assert set(seen) <= placed and locked_absent in placed
    assert len(placed) == len(seen) + 1
    sizes = [len(g.members) for g in adult]
    assert max(sizes) - min(sizes) <= 1


def test_a_late_joiner_lands_in_the_smallest_group_of_their_track(course):
    extra = parse_roster(
        "name,email,role,discipline,track\nLate Comer,late@example.org,learner,chaplain,pediatric\n"
    )
    course.do(ImportRoster(tuple(extra.registrations), SALT))
    me = course.actor("late@example.org")
    assert me.id not in course.state.rooms.member_of
    smallest = min(
        (g for g in course.state.rooms.groups.values() if g.track == "pediatric"),
        key=lambda g: (len(g.members), g.name),
    ).name
    events = course.do(Connect("c1"), me)
    assert [e.type for e in events] == ["presence.joined", "member.placed"]
    assert course.state.rooms.member_of[me.id] == smallest
    course.do(Disconnect("c1"), me)
    assert [e.type for e in course.do(Connect("c2"), me)] == ["presence.joined"]


def test_the_first_facilitator_to_claim_a_help_call_takes_it(course):
    me = course.actor(ADULT)
    course.do(RequestHelp("  audio   not working "), me, when(2, "11:30"))
    call = course.state.help.open()[0]
    assert call.note == "audio not working" and call.room.startswith("group:")
    with pytest.raises(DomainError, match="already waiting"):
        course.do(RequestHelp(), me, when(2, "11:31"))
    dana, rafael = (
        course.actor("dana.whitcombe@example.org"),
        course.actor("rafael.ibarra@example.org"),
    )
    course.do(ClaimHelp(call.id), dana)
    with pytest.raises(DomainError, match="Dana Whitcombe already took"):
        course.do(ClaimHelp(call.id), rafael)
    course.do(ResolveHelp(call.id), dana)
    assert course.state.help.open() == []
    with pytest.raises(PermissionDenied):
        course.do(ClaimHelp(call.id), me)


def test_forming_groups_needs_the_director(course):
    with pytest.raises(PermissionDenied):
        course.do(AssignGroups(), course.actor("dana.whitcombe@example.org"))


def practice_items():
    return [s for s in BASE if s.item.kind.value == "practice"]


def test_an_sp_actor_shared_by_two_groups_moves_between_them_by_the_timetable(course):
    """The demo roster has one pediatric actor for two pediatric groups: each practice block is
    split in two, the actor is in one group's room for each half, and the clock knows when."""
    rooms = course.state.rooms
    peds = sorted(
        (g for g in rooms.groups.values() if g.track == "pediatric"), key=lambda g: g.sp_slot
    )
    assert len(peds) == 2 and peds[0].sps == peds[1].sps and len(peds[0].sps) == 1
    assert [(g.sp_slot, g.sp_slots) for g in peds] == [(0, 2), (1, 2)]
    sp = course.state.people.by_id[peds[0].sps[0]].reg.email
    for item in practice_items():
        # Two equal slots, the edge on a whole minute (105 minutes: 52 + 53).
        minutes = (item.end - item.start) // timedelta(minutes=1)
        middle = item.start + timedelta(minutes=minutes // 2)
        assert middle.second == 0 and abs((item.end - middle) - (middle - item.start)) <= timedelta(
            minutes=1
        )
        assert course.place(sp, item.start).room == f"group:{peds[0].name}"
        assert course.place(sp, middle - timedelta(seconds=1)).room == f"group:{peds[0].name}"
        assert course.place(sp, middle).room == f"group:{peds[1].name}"
        assert course.place(sp, item.end - timedelta(seconds=1)).room == f"group:{peds[1].name}"
        assert next_move(rooms, BASE, item.start) == middle
        assert next_move(rooms, BASE, middle) == item.end
        assert sps_with(rooms, peds[0], item, item.start) == peds[0].sps
        assert sps_with(rooms, peds[1], item, item.start) == ()
        assert sp_window(item, peds[1]) == (middle, item.end)
    # Adult groups have an actor each, for the whole block.
    adult = [g for g in rooms.groups.values() if g.track == "adult"]
    assert all(g.sp_slots == 1 and g.sps for g in adult)
    item = practice_items()[0]
    assert all(sp_window(item, g) == (item.start, item.end) for g in adult)
    # Outside practice (a small-group discussion) the actor is with their first group.
    small = next(s for s in BASE if s.item.kind.value == "small_group")
    assert course.place(sp, small.start).room.startswith("group:")


def test_groups_formed_before_the_timetable_was_recorded_keep_the_actor_in_one_room(course):
    """A log written before groups carried their slot: the actor stays with their first group."""
    rooms = course.state.rooms
    old = {
        "groups": [
            {k: v for k, v in vars(g).items() if k not in ("sp_slot", "sp_slots")}
            | {"sps": list(g.sps), "members": list(g.members)}
            for g in rooms.groups.values()
        ]
    }
    e = Event(course.state.seq + 1, "groups.assigned", "cli", DAY1, old)
    state = apply(course.state, e)
    peds = [g for g in state.rooms.groups.values() if g.track == "pediatric"]
    assert all(g.sp_slots == 1 for g in peds)
    sp = peds[0].sps[0]
    item = practice_items()[0]
    middle = item.start + (item.end - item.start) / 2
    first = place_of(state.rooms, state.people, BASE, sp, item.start).room
    assert place_of(state.rooms, state.people, BASE, sp, middle).room == first


def test_a_page_opening_touches_only_the_views_that_list_that_person():
    """At the start of a day hundreds of pages open within seconds: each re-renders the lists
    that show its person (their own groups, the staff lists), not every group's views."""
    from datetime import UTC, datetime

    from server.domain.rooms import GroupInfo, RoomsState
    from server.live.audiences import touched_by

    rooms = RoomsState(
        groups={
            "Adult 1": GroupInfo("Adult 1", "adult", "fac", ("sp",), ("a", "b")),
            "Adult 2": GroupInfo("Adult 2", "adult", "fac2", ("sp",), ("x",)),
        },
        member_of={"a": "Adult 1", "b": "Adult 1", "x": "Adult 2"},
    )
    at = datetime(2026, 5, 13, 14, 0, tzinfo=UTC)

    def keys(kind: str, who: str) -> set[str]:
        return set(touched_by(Event(1, kind, who, at, {"person": who, "conn": "w-1"}), rooms))

    a = keys("presence.joined", "a")
    assert {"room:Adult 1", "rp:Adult 1:", "place:group:Adult 1"} <= a
    assert not any("Adult 2" in k for k in a)
    assert {"presence:", "director", "rooms"} <= a
    sp = keys("presence.left", "sp")  # an actor shared by both groups
    assert {"rp:Adult 1:", "rp:Adult 2:"} <= sp
    # A reset (a worker's pages closed at once) still touches everything.
    reset = set(touched_by(Event(2, "presence.reset", "cli", at, {"connections": []}), rooms))
    assert {"room:", "rp:", "place:"} <= reset
