"""The agenda as an iCalendar file, with the course's time zone spelled out (VTIMEZONE)."""

from __future__ import annotations

from icalendar import Calendar, Event

from server.domain.agenda import Schedule


def agenda_ics(schedule: Schedule) -> bytes:
    course = schedule.course
    cal = Calendar()
    cal.add("prodid", "-//Session Companion//agenda//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", course.title)
    cal.add("x-wr-timezone", course.timezone)
    for s in schedule.items:
        ev = Event()
        ev.add("uid", f"{course.id}-{course.first_date.isoformat()}-{s.id}@session-companion")
        ev.add("summary", s.item.title)
        ev.add("dtstart", schedule.local(s.start))
        ev.add("dtend", schedule.local(s.end))
        ev.add("dtstamp", s.start)
        ev.add("categories", [s.item.kind.value])
        if s.item.faculty:
            ev.add("description", "Faculty: " + ", ".join(s.item.faculty))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
