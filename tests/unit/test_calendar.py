"""The calendars we write, read back by three parsers nobody here wrote (Mozilla's ical.js under
node, vobject, icalendar): every event at its instant to the second, across both DST changes and
on a course re-based years ahead; the zone as yearly rules; DTSTAMP and SEQUENCE as calendar
programs need them; one person's days."""

import json
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from server.content.course import load_course
from server.domain.agenda import Delay, build_schedule
from server.domain.course_state import CourseState
from server.domain.groups.membership import AssignGroups
from server.domain.people_rules import ImportRoster
from server.domain.roster import parse_roster
from server.reports.calendar import (
    agenda_events,
    agenda_ics,
    ics,
    person_events,
    sequences,
    transitions,
    vtimezone,
)
from tests.independent import JS
from tests.unit.harness import SALT, Course

COURSE = load_course()
STAMP = datetime(2026, 12, 1, 16, 0, 5, tzinfo=UTC)

# The course as offered, a spring offering whose last day is the day clocks go forward, an
# autumn one whose last day is the day they go back, and one re-based 13 years ahead.
OFFERINGS = [
    COURSE.first_date,
    date(2026, 3, 6),
    date(2026, 10, 30),
    date(2039, 5, 11),
    date(2040, 3, 9),
]


def ical_js(path) -> list[dict]:
    out = subprocess.run(
        ["node", str(JS / "read_ics.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def by_vobject(text: str) -> dict[str, tuple[int, int]]:
    cal = vobject.readOne(text)
    return {
        str(e.uid.value): (int(e.dtstart.value.timestamp()), int(e.dtend.value.timestamp()))
        for e in cal.vevent_list
    }


def by_icalendar(text: str) -> dict[str, tuple[int, int]]:
    cal = icalendar.Calendar.from_ical(text)
    return {
        str(e["uid"]): (int(e.decoded("dtstart").timestamp()), int(e.decoded("dtend").timestamp()))
        for e in cal.walk("VEVENT")
    }


def parsers_agree(tmp_path, schedule) -> list[dict]:
    """The agenda of `schedule` written and read by the three parsers: each must place every
    event at the agenda's instants to the second. ical.js's events."""
    text = agenda_ics(schedule, STAMP).decode()
    path = tmp_path / "agenda.ics"
    path.write_text(text, newline="")
    want = {
        e.uid: (int(e.start.timestamp()), int(e.end.timestamp()))
        for e in agenda_events(schedule, {})
    }
    assert len(want) == len(schedule.items)
    js = ical_js(path)
    assert {e["uid"]: (e["start"], e["end"]) for e in js} == want
    assert by_vobject(text) == want
    assert by_icalendar(text) == want
    return js


@pytest.mark.parametrize("first", OFFERINGS, ids=[d.isoformat() for d in OFFERINGS])
def test_three_parsers_agree_with_the_agenda_to_the_second(tmp_path, first):
    schedule = build_schedule(COURSE.rebased(first))
    js = parsers_agree(tmp_path, schedule)
    assert all(e["zone"] == "America/New_York" for e in js)
    # Every item starts at its local wall time, whatever that day's offset.
    tz = ZoneInfo(COURSE.timezone)
    for s in schedule.items:
        assert s.start.astimezone(tz).time() == s.item.start


def test_the_zone_is_its_yearly_rules_without_dates_or_stray_properties():
    text = agenda_ics(build_schedule(COURSE), STAMP).decode()
    zone = text[text.index("BEGIN:VTIMEZONE") : text.index("END:VTIMEZONE")]
    assert "RDATE" not in zone and "COMMENT" not in zone
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in zone
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in zone
    assert "UNTIL" not in zone and zone.count("BEGIN:") == 3  # the zone, daylight, standard
    assert "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400" in zone
    # Each event is stamped when the file was made, and says it has not moved.
    events = text.count("BEGIN:VEVENT")
    assert text.count("DTSTAMP:20261201T160005Z") == events
    assert text.count("SEQUENCE:0") == events


@pytest.mark.parametrize(
    "zone", ["Europe/London", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata", "UTC"]
)
def test_zones_elsewhere_hold_their_instants_in_every_parser(tmp_path, zone):
    """A course run from another zone: southern-hemisphere rules, no DST any more, no offset."""
    course = replace(COURSE, timezone=zone).rebased(date(2027, 3, 24))
    parsers_agree(tmp_path, build_schedule(course))


def test_transitions_are_found_to_the_minute():
    tz = ZoneInfo("America/New_York")
    spring, autumn = transitions(tz, 2026)
    assert spring.at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC) and spring.name == "EDT"
    assert autumn.at == datetime(2026, 11, 1, 6, 0, tzinfo=UTC) and autumn.name == "EST"
    assert len(vtimezone(ZoneInfo("Asia/Kolkata"), 2026).subcomponents) == 1


def test_a_delay_raises_the_sequence_of_the_items_it_moves_and_moves_them(tmp_path):
    base = build_schedule(COURSE)
    day2 = base.day_items(2)
    state = CourseState(delays=(Delay(day2[1].id, 10, day2[1].start),))
    moved = sequences(state, base)
    later = state.schedule(base)
    # The delayed item runs longer; the next ones move until lunch absorbs it.
    assert moved[day2[1].id] == 1 and moved[day2[2].id] == 1
    assert day2[0].id not in moved and base.day_items(3)[0].id not in moved
    path = tmp_path / "later.ics"
    path.write_bytes(ics(later, agenda_events(later, moved), STAMP, "x"))
    events = {e["uid"]: e for e in ical_js(path)}
    uid = next(
        e.uid for e in agenda_events(base, {}) if e.uid.endswith(f"{day2[2].id}@session-companion")
    )
    assert events[uid]["sequence"] == 1
    assert events[uid]["start"] == int((day2[2].start + timedelta(minutes=10)).timestamp())


ROSTER = """name,email,role,discipline,track
Ada Adult,ada@example.org,learner,nurse,adult
Bo Adult,bo@example.org,learner,physician,adult
Dee Adult,dee@example.org,learner,chaplain,adult
Eve Adult,eve@example.org,learner,pharmacist,adult
Cy Peds,cy@example.org,learner,nurse,pediatric
Fay Fac,fay@example.org,facilitator,physician,adult
Hal Fac,hal@example.org,facilitator,social_worker,adult
Gus Fac,gus@example.org,facilitator,nurse,pediatric
Sal Actor,sal@example.org,sp,other,adult
"""


def test_a_persons_calendar_says_where_they_will_be(tmp_path):
    c = Course()
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    c.do(AssignGroups(seed=1, min_size=1, max_size=2))
    schedule = build_schedule(COURSE)
    ada, sal = c.person("ada@example.org"), c.person("sal@example.org")
    group = c.state.rooms.group_of(ada.id)
    mine = person_events(c.state, schedule, ada.id, {})
    titles = [e.summary for e in mine]
    assert any(t.endswith("(Adult session)") for t in titles)
    assert any(t.endswith(f"(Small group {group.name})") for t in titles)
    assert not any(t.endswith("(Pediatric session)") for t in titles)
    # The actor shared by the groups: one event per group and practice block, in their slot.
    slots = [e for e in person_events(c.state, schedule, sal.id, {}) if e.kind == "practice"]
    groups = [g for g in c.state.rooms.groups.values() if sal.id in g.sps]
    practices = [s for s in schedule.items if s.item.kind.value == "practice"]
    assert len(slots) == len(groups) * len(practices) and len(groups) >= 2
    first = sorted((e for e in slots if "Delivering" in e.summary), key=lambda e: e.start)
    assert first[0].end <= first[1].start  # one slot after the other
    path = tmp_path / "sal.ics"
    path.write_bytes(ics(schedule, person_events(c.state, schedule, sal.id, {}), STAMP, "Sal"))
    parsed = ical_js(path)
    assert len({e["uid"] for e in parsed}) == len(parsed)  # every event its own uid
