"""Commands decide events; events rebuild state; permissions are checked in the domain."""

from datetime import datetime, timedelta

import pytest

from server.content.course import load_course
from server.domain.agenda import DelayRunningItem, build_schedule
from server.domain.announcements import Announce
from server.domain.course_state import CourseState, apply, decide, replay
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event
from server.domain.roles import Actor, Role

BASE = build_schedule(load_course())
DIRECTOR = Actor("d", Role.DIRECTOR)
DURING_WELCOME = datetime.fromisoformat("2026-05-13T14:10:00+00:00")


def stored(new, seq_from=1):
    return [Event(seq_from + i, e.type, e.actor, e.at, e.data) for i, e in enumerate(new)]


def test_director_delays_the_running_item():
    new = decide(CourseState(), BASE, DelayRunningItem(10), DIRECTOR, DURING_WELCOME)
    assert [(e.type, dict(e.data)) for e in new] == [
        ("agenda.delayed", {"item_id": "d1-01", "minutes": 10})
    ]
    state = replay(stored(new))
    assert state.seq == 1
    assert state.schedule(BASE).get("d1-01").end == BASE.get("d1-01").end + timedelta(minutes=10)


def test_a_delay_applies_to_the_item_running_in_the_delayed_schedule():
    s1 = replay(stored(decide(CourseState(), BASE, DelayRunningItem(30), DIRECTOR, DURING_WELCOME)))
    # At 10:45 the welcome is still running in the delayed schedule (it now ends 11:00).
    at = datetime.fromisoformat("2026-05-13T14:45:00+00:00")
    new = decide(s1, BASE, DelayRunningItem(5), DIRECTOR, at)
    assert new[0].data["item_id"] == "d1-01"


def test_nothing_to_delay_between_items():
    night = datetime.fromisoformat("2026-05-14T03:00:00+00:00")
    with pytest.raises(DomainError, match="Nothing is running"):
        decide(CourseState(), BASE, DelayRunningItem(5), DIRECTOR, night)


@pytest.mark.parametrize("role", [Role.LEARNER, Role.FACILITATOR, Role.SP])
@pytest.mark.parametrize("command", [DelayRunningItem(5), Announce("hello")])
def test_only_the_director_delays_or_announces(role, command):
    with pytest.raises(PermissionDenied, match="course director"):
        decide(CourseState(), BASE, command, Actor("x", role), DURING_WELCOME)


@pytest.mark.parametrize(
    ("text", "error"), [("   ", "needs some text"), ("x" * 501, "at most 500")]
)
def test_announcement_text_is_checked(text, error):
    with pytest.raises(DomainError, match=error):
        decide(CourseState(), BASE, Announce(text), DIRECTOR, DURING_WELCOME)


def test_announcements_accumulate_in_order():
    a = decide(CourseState(), BASE, Announce("  Back at 11:30  "), DIRECTOR, DURING_WELCOME)
    state = replay(stored(a))
    b = decide(state, BASE, Announce("Second"), DIRECTOR, DURING_WELCOME)
    state = apply(state, stored(b, 2)[0])
    assert [x.text for x in state.announcements] == ["Back at 11:30", "Second"]


def test_events_must_follow_without_gaps():
    e = stored(decide(CourseState(), BASE, Announce("x"), DIRECTOR, DURING_WELCOME), seq_from=3)
    with pytest.raises(DomainError, match="cannot follow"):
        apply(CourseState(), e[0])


def test_unknown_event_types_only_advance_the_sequence():
    e = Event(1, "something.new", "x", DURING_WELCOME, {})
    assert apply(CourseState(), e) == CourseState(seq=1)
