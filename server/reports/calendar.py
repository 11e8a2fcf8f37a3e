"""The agenda as iCalendar (RFC 5545): the whole course, or one person's days (their track's
sessions, their small group, an SP actor's slots), for a file or a subscription.

The time zone is written as its yearly rules (RRULE), found from the zone itself for the
course's years and checked for the years after: calendar programs that read a list of dates
(RDATE) or stop at a year limit place events an hour off. DTSTAMP is when the file was made;
SEQUENCE is how many times the item has moved (delays), so a subscribed calendar takes the change.
Pure: the instant the file is made is passed in.
"""

from __future__ import annotations

import calendar as cal_days
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from server.domain.agenda import Kind, Schedule, ScheduledItem
from server.domain.course_state import CourseState
from server.domain.placement import place_in, sp_window
from server.domain.roles import Role

if TYPE_CHECKING:  # icalendar is imported when a calendar is made, not at the server's start
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

RULE_CHECK_YEARS = 30  # the rule found for the course's year must hold this many years on
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    at: datetime  # the UTC instant
    before: timedelta  # UTC offset before it
    after: timedelta  # and after
    name: str  # the zone's abbreviation after it ("EDT")


@functools.lru_cache(maxsize=512)
def transitions(tz: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """The zone's offset changes during `year`, to the minute."""
    out = []
    step = 6 * 3600
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()

    while t < end:
        a, b = offset(t), offset(t + step)
        if a != b and a is not None and b is not None:
            lo, hi = t, t + step  # offset(lo) == a, offset(hi) == b: halve to the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == a else (lo, mid)
            at = datetime.fromtimestamp(hi, UTC)
            out.append(Transition(at, a, b, at.astimezone(tz).tzname() or ""))
        t += step
    return tuple(out)


@dataclass(frozen=True)
class YearlyRule:
    """A transition that recurs each year on the `nth` (-1: last) `weekday` of `month`, at
    `local` (wall time before the change, as RFC 5545 writes DTSTART)."""

    month: int
    weekday: int
    nth: int
    local: timedelta  # since midnight
    before: timedelta
    after: timedelta
    name: str

    def on(self, year: int) -> datetime:
        """The UTC instant of this transition in `year`."""
        days = cal_days.monthrange(year, self.month)[1]
        dates = [
            d for d in range(1, days + 1) if cal_days.weekday(year, self.month, d) == self.weekday
        ]
        if self.nth > len(dates):
            raise ValueError(f"no {self.nth}th weekday in {year}-{self.month:02d}")
        day = dates[self.nth - 1] if self.nth > 0 else dates[-1]
        wall = datetime(year, self.month, day) + self.local
        return (wall - self.before).replace(tzinfo=UTC)


def _holds(tz: ZoneInfo, rule: YearlyRule, years: range) -> bool:
    """Whether the zone changes offset as `rule` says in each of `years`."""
    try:
        return all(any(x.at == rule.on(y) for x in transitions(tz, y)) for y in years)
    except ValueError:
        return False


def _rules_for(tz: ZoneInfo, year: int) -> list[YearlyRule] | None:
    """The zone's transitions in `year` as yearly rules that hold for RULE_CHECK_YEARS after
    (None: they do not follow such rules)."""
    found = transitions(tz, year)
    rules = []
    for t in found:
        wall = (t.at + t.before).replace(tzinfo=None)
        nth = (wall.day - 1) // 7 + 1
        last = wall.day + 7 > cal_days.monthrange(year, wall.month)[1]
        candidates = ([] if nth == 5 else [nth]) + ([-1] if last else [])
        midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        for n in candidates:
            rule = YearlyRule(
                wall.month, wall.weekday(), n, wall - midnight, t.before, t.after, t.name
            )
            if _holds(tz, rule, range(year + 1, year + 1 + RULE_CHECK_YEARS)):
                rules.append(rule)
                break
        else:
            return None
    if len(found) != len(rules):
        return None
    later_counts = {len(transitions(tz, y)) for y in (year + 1, year + 2)}
    return rules if later_counts <= {len(found)} else None


def vtimezone(tz: ZoneInfo, year: int) -> Timezone:
    """The VTIMEZONE of `tz` from `year` on: its yearly rules when it has them; a zone without
    changes as one standard offset; otherwise each change of the course's years written out."""
    from icalendar import Timezone, vRecur

    zone = Timezone()
    zone.add("tzid", tz.key)
    rules = _rules_for(tz, year)
    if rules is not None and not rules:
        jan = datetime(year, 1, 1, tzinfo=UTC).astimezone(tz)
        offset = jan.utcoffset() or timedelta(0)
        zone.add_component(
            _observance(datetime(1970, 1, 1), offset, offset, jan.tzname() or tz.key)
        )
        return zone
    if rules is not None:
        for r in rules:
            part = _observance(
                r.on(year).replace(tzinfo=None) + r.before, r.before, r.after, r.name
            )
            by_day = f"{r.nth}{WEEKDAYS[r.weekday]}"
            part.add("rrule", vRecur({"freq": "yearly", "bymonth": r.month, "byday": by_day}))
            zone.add_component(part)
        return zone
    for y in (year - 1, year, year + 1, year + 2):  # irregular zones: the changes themselves
        for t in transitions(tz, y):
            wall = (t.at + t.before).replace(tzinfo=None)
            zone.add_component(_observance(wall, t.before, t.after, t.name))
    return zone


def _observance(
    start: datetime, before: timedelta, after: timedelta, name: str
) -> TimezoneStandard | TimezoneDaylight:
    """One STANDARD or DAYLIGHT block: from `start` (local wall time before the change), the
    offset goes from `before` to `after`."""
    from icalendar import TimezoneDaylight, TimezoneStandard

    part = TimezoneDaylight() if after > before else TimezoneStandard()
    part.add("dtstart", start)
    part.add("tzoffsetfrom", before)
    part.add("tzoffsetto", after)
    part.add("tzname", name)
    return part


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    start: datetime
    end: datetime
    kind: str
    sequence: int = 0
    description: str = ""
    location: str = ""


def sequences(state: CourseState, base: Schedule) -> dict[str, int]:
    """How many times each item has moved (its start or end changed by a delay)."""
    out: dict[str, int] = {}
    sched = base
    for d in state.delays:
        moved = sched.delayed(d.item_id, d.minutes)
        for a, b in zip(sched.items, moved.items, strict=True):
            if (a.start, a.end) != (b.start, b.end):
                out[a.id] = out.get(a.id, 0) + 1
        sched = moved
    return out


def _faculty(s: ScheduledItem) -> str:
    return "Faculty: " + ", ".join(s.item.faculty) if s.item.faculty else ""


def _uid(schedule: Schedule, s: ScheduledItem, part: str = "") -> str:
    course = schedule.course
    return f"{course.id}-{course.first_date.isoformat()}-{s.id}{part}@session-companion"


def agenda_events(schedule: Schedule, moved: Mapping[str, int]) -> list[CalendarEvent]:
    out = []
    for s in schedule.items:
        out.append(
            CalendarEvent(
                _uid(schedule, s),
                s.item.title,
                s.start,
                s.end,
                s.item.kind.value,
                moved.get(s.id, 0),
                _faculty(s),
            )
        )
    return out


def person_events(
    state: CourseState, schedule: Schedule, pid: str, moved: Mapping[str, int]
) -> list[CalendarEvent]:
    """One person's days: each item with where they will be (their track's session, their small
    group); an SP actor's practice blocks as their slot with each group."""
    people, rooms = state.people, state.rooms
    p = people.get(pid)
    if p is None:
        return []
    out = []
    for s in schedule.items:
        seq = moved.get(s.id, 0)
        if p.role is Role.SP and s.item.kind is Kind.PRACTICE:
            groups = [g for g in rooms.groups.values() if pid in g.sps]
            for g in groups:
                start, end = sp_window(s, g)
                out.append(
                    CalendarEvent(
                        _uid(schedule, s, f"-{g.name.replace(' ', '_')}"),
                        f"{s.item.title}: small group {g.name}",
                        start,
                        end,
                        s.item.kind.value,
                        seq,
                        f"You are the simulated patient of small group {g.name}.",
                        f"Small group {g.name}",
                    )
                )
            if groups:
                continue
        place = place_in(rooms, people, s, pid, s.start)
        where = place.label if place.kind in ("track", "group") else ""
        faculty = _faculty(s)
        out.append(
            CalendarEvent(
                _uid(schedule, s),
                f"{s.item.title} ({where})" if where else s.item.title,
                s.start,
                s.end,
                s.item.kind.value,
                seq,
                "\n".join(x for x in (f"Where: {where}" if where else "", faculty) if x),
                where,
            )
        )
    return out


def ics(
    schedule: Schedule,
    events: Sequence[CalendarEvent] | Iterable[CalendarEvent],
    stamp: datetime,
    name: str,
    url: str | None = None,
) -> bytes:
    """The calendar file of `events` in the course's zone, made at `stamp`."""
    from icalendar import Calendar, Event

    course = schedule.course
    tz = schedule.tz
    cal = Calendar()
    cal.add("prodid", "-//Session Companion//agenda//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", course.timezone)
    if url:
        cal.add("url", url)
        cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", "PT1H")
    events = list(events)
    first = min(
        (e.start for e in events),
        default=datetime.combine(course.first_date, datetime.min.time(), UTC),
    )
    # The rules start the year before the first event, so every event falls after their start.
    cal.add_component(vtimezone(tz, first.astimezone(tz).year - 1))
    for e in events:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp.astimezone(UTC))
        ev.add("sequence", e.sequence)
        ev.add("summary", e.summary)
        ev.add("dtstart", e.start.astimezone(tz))
        ev.add("dtend", e.end.astimezone(tz))
        ev.add("categories", [e.kind])
        if e.description:
            ev.add("description", e.description)
        if e.location:
            ev.add("location", e.location)
        cal.add_component(ev)
    return bytes(cal.to_ical())


def person_ics(
    state: CourseState,
    base: Schedule,
    schedule: Schedule,
    pid: str,
    stamp: datetime,
    url: str | None = None,
) -> bytes:
    """One person's calendar, made at `stamp` (for a download, a subscription or a mail)."""
    p = state.people.by_id[pid]
    events = person_events(state, schedule, pid, sequences(state, base))
    return ics(schedule, events, stamp, f"{schedule.course.title} · {p.name}", url)


def agenda_ics(
    schedule: Schedule, stamp: datetime, moved: Mapping[str, int] | None = None
) -> bytes:
    """The whole agenda, as everyone's calendar shows it."""
    return ics(schedule, agenda_events(schedule, moved or {}), stamp, schedule.course.title)
