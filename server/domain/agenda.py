"""The course agenda: items written in local wall time, scheduled as UTC instants.

Pure: no clock is read here; every function that needs "now" takes it as an argument.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.domain.designations import DesignatedItem, Designations
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role, require


class Kind(StrEnum):
    PLENARY = "plenary"
    TRACK_SESSION = "track_session"
    SMALL_GROUP = "small_group"
    PRACTICE = "practice"
    BREAK = "break"
    LUNCH = "lunch"
    TRANSITION = "transition"


# Items that carry no continuing-education credit whatever the designations say.
NON_CREDIT_KINDS = frozenset({Kind.BREAK, Kind.LUNCH, Kind.TRANSITION})
# Items that soak up a schedule delay by starting later and ending on time.
ABSORBING_KINDS = frozenset({Kind.BREAK, Kind.LUNCH})
# A break or lunch that absorbs a delay keeps at least this much of itself.
MIN_ABSORBER = timedelta(minutes=5)
MAX_DELAY_MINUTES = 120


@dataclass(frozen=True)
class AgendaItem:
    """One agenda item as the course data writes it: a day number and local wall times."""

    id: str
    day: int
    title: str
    kind: Kind
    start: time
    end: time
    faculty: tuple[str, ...] = ()
    split_by_track: bool = False
    prompts: tuple[str, ...] = ()  # reflection prompts, for reflection items
    # The provider's designations: (credit type id, minutes of this item that carry it).
    credit: tuple[tuple[str, float], ...] = ()

    @property
    def credit_bearing(self) -> bool:
        return bool(self.credit)

    @property
    def minutes(self) -> float:
        """The item's length as the agenda writes it (a delay does not add designated time)."""
        return float(
            (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)
        )

    def carries(self, type_id: str) -> float:
        """Minutes of this item designated for `type_id` (0: none)."""
        return next((m for t, m in self.credit if t == type_id), 0.0)

    def designated(self) -> DesignatedItem:
        return DesignatedItem(
            f"Day {self.day} {self.start:%H:%M} {self.title}", self.minutes, dict(self.credit)
        )


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    provider: str
    accreditor: str
    timezone: str
    first_date: date
    designations: Designations
    items: tuple[AgendaItem, ...]
    objectives: tuple[str, ...] = ()  # the learning objectives, as the course page states them

    @property
    def days(self) -> int:
        return max((i.day for i in self.items), default=0)

    def rebased(self, first_date: date) -> Course:
        """The same course offered with another first day (the next offering, a rehearsal)."""
        return replace(self, first_date=first_date)


def local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time on a date.

    Raises DomainError if that wall time does not exist on that date (skipped by a DST change).
    An ambiguous wall time (repeated by a DST change) resolves to its first occurrence.
    """
    local = datetime.combine(day, wall, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DomainError(f"{wall:%H:%M} does not exist on {day.isoformat()} in {tz.key}")
    return instant


@dataclass(frozen=True)
class ScheduledItem:
    """An agenda item placed on the calendar: start and end are UTC instants."""

    item: AgendaItem
    start: datetime
    end: datetime

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, now: datetime) -> bool:
        return self.start <= now < self.end


class Schedule:
    """The course's items as UTC instants, in order. Immutable; delays make a new Schedule."""

    def __init__(self, course: Course, items: Sequence[ScheduledItem]) -> None:
        self.course = course
        self.tz = ZoneInfo(course.timezone)
        self.items: tuple[ScheduledItem, ...] = tuple(sorted(items, key=lambda s: s.start))
        self._starts = [s.start for s in self.items]
        self._by_id = {s.id: s for s in self.items}

    def __iter__(self) -> Iterator[ScheduledItem]:
        return iter(self.items)

    def get(self, item_id: str) -> ScheduledItem:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise DomainError(f"No agenda item with id {item_id!r}") from None

    def current(self, now: datetime) -> ScheduledItem | None:
        """The item running at `now` (start inclusive, end exclusive), or None."""
        i = bisect.bisect_right(self._starts, now) - 1
        if i >= 0 and self.items[i].contains(now):
            return self.items[i]
        return None

    def next(self, now: datetime) -> ScheduledItem | None:
        """The first item that starts after `now`, or None when the course is over."""
        i = bisect.bisect_right(self._starts, now)
        return self.items[i] if i < len(self.items) else None

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left in the running item, or None when nothing is running."""
        cur = self.current(now)
        return cur.end - now if cur else None

    def next_boundary(self, now: datetime) -> datetime | None:
        """The first instant after `now` at which an item starts or ends."""
        candidates = [t for s in self.items for t in (s.start, s.end) if t > now]
        return min(candidates, default=None)

    def day_items(self, day: int) -> tuple[ScheduledItem, ...]:
        return tuple(s for s in self.items if s.item.day == day)

    def day_date(self, day: int) -> date:
        return self.course.first_date + timedelta(days=day - 1)

    def day_at(self, now: datetime) -> int | None:
        """The course day whose local date is the date of `now`, or None outside the course."""
        local = now.astimezone(self.tz).date()
        offset = (local - self.course.first_date).days + 1
        return offset if 1 <= offset <= self.course.days else None

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def delayed(self, item_id: str, minutes: int) -> Schedule:
        """The schedule after the item `item_id` runs `minutes` longer.

        The rule: the delayed item ends later; each later item that day starts and ends later by
        the delay still outstanding, until a break or lunch absorbs it by starting later and ending
        on time. A break or lunch keeps at least MIN_ABSORBER of its length; what it cannot absorb
        passes on to the items after it. Other days are never moved.
        """
        if not 1 <= minutes <= MAX_DELAY_MINUTES:
            raise DomainError(f"A delay must be 1 to {MAX_DELAY_MINUTES} minutes, not {minutes}")
        target = self.get(item_id)
        owed = timedelta(minutes=minutes)
        out: list[ScheduledItem] = []
        for s in self.items:
            if s.item.day != target.item.day or s.start < target.start:
                out.append(s)
            elif s is target:
                out.append(replace(s, end=s.end + owed))
            elif owed <= timedelta(0):
                out.append(s)
            elif s.item.kind in ABSORBING_KINDS:
                can_absorb = max(timedelta(0), s.duration - MIN_ABSORBER)
                absorbed = min(owed, can_absorb)
                out.append(replace(s, start=s.start + owed, end=s.end + owed - absorbed))
                owed -= absorbed
            else:
                out.append(replace(s, start=s.start + owed, end=s.end + owed))
        return Schedule(self.course, out)


def build_schedule(course: Course) -> Schedule:
    """Place every item of `course` on the calendar from its first date, day by day.

    Each day's local wall times are converted with that day's UTC offset, so an offering that
    crosses a DST change keeps its local times.
    """
    tz = ZoneInfo(course.timezone)
    placed = []
    for item in course.items:
        day = course.first_date + timedelta(days=item.day - 1)
        placed.append(
            ScheduledItem(item, local_to_utc(day, item.start, tz), local_to_utc(day, item.end, tz))
        )
    return Schedule(course, placed)


def utc_z(instant: datetime) -> str:
    """An instant as ISO 8601 in UTC with a Z suffix, to the second."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def item_summary(schedule: Schedule, s: ScheduledItem) -> dict[str, object]:
    """The public shape of a scheduled item (used by `companion agenda --json` and the API)."""
    return {
        "day": s.item.day,
        "title": s.item.title,
        "kind": s.item.kind.value,
        "split_by_track": s.item.split_by_track,
        "faculty": list(s.item.faculty),
        "start": utc_z(s.start),
        "end": utc_z(s.end),
        "start_local": schedule.local(s.start).replace(microsecond=0).isoformat(),
        "end_local": schedule.local(s.end).replace(microsecond=0).isoformat(),
    }


def now_and_next(schedule: Schedule, now: datetime) -> dict[str, object]:
    """What is on at `now` and what comes next, as /agenda.json and `companion agenda --json`
    print them."""
    cur, nxt = schedule.current(now), schedule.next(now)
    return {
        "now": utc_z(now),
        "timezone": schedule.course.timezone,
        "current": item_summary(schedule, cur) if cur else None,
        "next": item_summary(schedule, nxt) if nxt else None,
    }


# --- delays as commands and events: the rule itself is `Schedule.delayed` ---------------------

DELAY_EVENTS = frozenset({"agenda.delayed"})


@dataclass(frozen=True)
class Delay:
    item_id: str
    minutes: int
    at: datetime


@dataclass(frozen=True)
class DelayRunningItem:
    """Run the current item `minutes` longer (the delay rule is Schedule.delayed)."""

    minutes: int


def decide_delay(
    schedule: Schedule, command: DelayRunningItem, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, frozenset({Role.DIRECTOR}), "delay the schedule")
    if not 1 <= command.minutes <= MAX_DELAY_MINUTES:
        raise DomainError(
            f"A delay must be 1 to {MAX_DELAY_MINUTES} minutes, not {command.minutes}."
        )
    current = schedule.current(now)
    if current is None:
        raise DomainError("Nothing is running right now, so there is nothing to delay.")
    data = {"item_id": current.id, "minutes": command.minutes}
    return [NewEvent("agenda.delayed", actor.id, now, data)]


def apply_delay(delays: tuple[Delay, ...], e: Event) -> tuple[Delay, ...]:
    return (*delays, Delay(str(e.data["item_id"]), int(e.data["minutes"]), e.at))
