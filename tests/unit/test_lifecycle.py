"""What the agenda closes, pure: a scene parked at the end of its practice and closed at the end
of the next item, help calls closed with their item, announcements that show their day and
expire, and the next instant at which anything changes by time alone."""

from datetime import timedelta

import pytest

from server.domain.announcements import Announce, WithdrawAnnouncement, showing
from server.domain.errors import DomainError
from server.domain.groups.membership import AssignGroups
from server.domain.help_calls import RequestHelp
from server.domain.lifecycle import ENDED, CloseFinished, next_change
from server.domain.people_rules import ImportRoster
from server.domain.roleplay import BeginTurn, Phase, StartRoleplay, TimeOut
from server.domain.roles import AGENDA_ACTOR, Actor, Role
from server.domain.roster import parse_roster
from tests.servers import DEMO_ROSTER
from tests.unit.harness import SALT, SCHEDULE, Course

PRACTICE = next(s for s in SCHEDULE if s.item.kind.value == "practice")  # Day 2, 11:20
AFTER = SCHEDULE.next(PRACTICE.start)  # lunch
ROSTER = tuple(parse_roster(DEMO_ROSTER.read_text()).registrations)


@pytest.fixture
def course():
    c = Course(now=PRACTICE.start + timedelta(minutes=5))
    c.do(ImportRoster(ROSTER, SALT))
    c.do(AssignGroups(seed=1))
    return c


def a_turn_running(c: Course) -> str:
    g = next(g for g in c.state.rooms.groups.values() if g.track == "adult")
    fac = Actor(g.facilitator, Role.FACILITATOR)
    c.do(StartRoleplay(g.name, "adult-news-x", "adult", ("a", "b", "c"), 8), fac)
    c.do(BeginTurn(g.name, g.members[0], "Pause after the news"), fac)
    return g.name


def close(c: Course, at):
    return c.do(CloseFinished(), AGENDA_ACTOR, at)


def test_a_scene_still_running_when_its_practice_ends_is_parked_then_closed(course):
    group = a_turn_running(course)
    assert close(course, PRACTICE.end - timedelta(seconds=1)) == []  # nothing due yet
    parked = close(course, PRACTICE.end)
    assert [(e.type, e.data["reason"]) for e in parked] == [("turn.ended", ENDED)]
    rp = course.state.roleplays.of(group)
    assert rp.phase is Phase.DEBRIEF and rp.turns[-1].ended_at == PRACTICE.end
    assert close(course, AFTER.end - timedelta(seconds=1)) == []  # debrief through lunch
    closed = close(course, AFTER.end)
    assert [e.type for e in closed] == ["roleplay.ended"]
    assert course.state.roleplays.of(group).phase is Phase.DONE
    assert course.state.roleplays.of(group).turns  # the record stays
    assert close(course, AFTER.end + timedelta(hours=1)) == []


def test_a_scene_paused_in_time_out_is_parked_too_and_a_server_down_all_lunch_does_both(course):
    group = a_turn_running(course)
    g = course.state.rooms.groups[group]
    course.do(TimeOut(group), Actor(g.facilitator, Role.FACILITATOR))
    both = close(course, AFTER.end + timedelta(minutes=3))
    assert [e.type for e in both] == ["turn.ended", "roleplay.ended"]


def test_open_help_calls_close_with_their_item_and_the_caller_is_told(course):
    g = next(iter(course.state.rooms.groups.values()))
    caller = Actor(g.members[0], Role.LEARNER)
    course.do(RequestHelp("no sound"), caller)
    assert close(course, PRACTICE.end - timedelta(seconds=1)) == []
    (e,) = close(course, PRACTICE.end)
    assert e.type == "help.closed" and e.data["person"] == caller.id
    (call,) = course.state.help.calls
    assert call.resolved and call.closed and course.state.help.open() == []


def test_announcements_show_until_the_end_of_their_day_or_the_directors_time(course):
    noon = PRACTICE.start + timedelta(minutes=10)
    course.do(Announce("Lunch will start 10 minutes late"), at=noon)
    course.do(Announce("Adult rooms: cameras on", "adult", until=noon + timedelta(minutes=30)),
              at=noon)  # fmt: skip
    texts = [a.text for a in showing(course.state.announcements, SCHEDULE, noon, "adult")]
    assert texts == ["Adult rooms: cameras on", "Lunch will start 10 minutes late"]
    later = noon + timedelta(minutes=31)
    assert [a.text for a in showing(course.state.announcements, SCHEDULE, later, "adult")] == [
        "Lunch will start 10 minutes late"
    ]
    next_day = SCHEDULE.day_items(3)[0].start
    assert showing(course.state.announcements, SCHEDULE, next_day, "all") == ()
    assert next_change(course.state, SCHEDULE, noon) == noon + timedelta(minutes=30)
    first = course.state.announcements[0].seq
    course.do(WithdrawAnnouncement(first), at=noon + timedelta(minutes=1))
    assert showing(course.state.announcements, SCHEDULE, later, "all") == ()
    with pytest.raises(DomainError, match="still to come"):
        course.do(Announce("Too late", until=noon), at=noon + timedelta(minutes=2))
    with pytest.raises(DomainError, match="no such announcement"):
        course.do(WithdrawAnnouncement(10**6))
