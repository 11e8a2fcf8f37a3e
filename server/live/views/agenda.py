"""What the agenda partials show at an instant: derived from the schedule, the state and `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.domain.agenda import Schedule, ScheduledItem
from server.domain.announcements import Announcement, showing
from server.domain.course_state import CourseState

TRACK_MARK = " (Adult and Pediatric Sessions)"


def display_title(title: str) -> str:
    """The title without the agenda's "(Adult and Pediatric Sessions)" marker."""
    return title.removesuffix(TRACK_MARK)


@dataclass(frozen=True)
class Row:
    s: ScheduledItem
    status: str  # "past", "current" or "future"
    shifted_minutes: int  # how much later than planned it starts (0 if on time)

    @property
    def title(self) -> str:
        return display_title(self.s.item.title)


@dataclass(frozen=True)
class Day:
    number: int
    date: date
    rows: tuple[Row, ...]
    is_today: bool


@dataclass(frozen=True)
class AgendaView:
    now: datetime
    tz: ZoneInfo
    phase: str  # "before", "running", "between" or "after"
    current: ScheduledItem | None
    next: ScheduledItem | None
    days: tuple[Day, ...]
    announcements: tuple[Announcement, ...]
    course_title: str
    first_date: date

    def day_of(self, instant: datetime) -> int:
        """The course day of `instant` (1 on the first day; the same count before or after)."""
        return (instant.astimezone(self.tz).date() - self.first_date).days + 1

    @property
    def zone_abbr(self) -> str:
        return self.now.astimezone(self.tz).tzname() or self.tz.key


def build_agenda_view(
    base: Schedule, schedule: Schedule, state: CourseState, now: datetime
) -> AgendaView:
    current = schedule.current(now)
    nxt = schedule.next(now)
    if current is not None:
        phase = "running"
    elif schedule.items and now < schedule.items[0].start:
        phase = "before"
    elif nxt is None:
        phase = "after"
    else:
        phase = "between"
    today = schedule.day_at(now)
    days = []
    for n in range(1, schedule.course.days + 1):
        rows = []
        for s in schedule.day_items(n):
            status = "current" if s is current else ("past" if s.end <= now else "future")
            shift = int((s.start - base.get(s.id).start).total_seconds() // 60)
            rows.append(Row(s, status, shift))
        days.append(Day(n, schedule.day_date(n), tuple(rows), n == today))
    return AgendaView(
        now=now,
        tz=schedule.tz,
        phase=phase,
        current=current,
        next=nxt,
        days=tuple(days),
        announcements=showing(state.announcements, schedule, now, "all"),
        course_title=schedule.course.title,
        first_date=schedule.course.first_date,
    )
