"""Attendance and credit per person, as the learner, the certificate and the exports show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.domain.agenda import Schedule, ScheduledItem
from server.domain.course_state import CourseState
from server.domain.credit import (
    abp_points,
    attendance,
    full_attendance_minutes,
    full_completion,
    may_claim,
)
from server.domain.people import Person


@dataclass(frozen=True)
class ItemAttendance:
    s: ScheduledItem
    minutes: float

    @property
    def share(self) -> float:
        return min(1.0, self.minutes / (self.s.duration.total_seconds() / 60))


@dataclass(frozen=True)
class CreditReport:
    person: Person
    items: tuple[ItemAttendance, ...]
    credit_minutes: float
    possible_minutes: float
    earned: float
    cap: float
    evaluated: bool
    claimed: float | None
    claimed_on: date | None

    @property
    def may_claim(self) -> bool:
        return may_claim(self.person.role, self.evaluated, self.earned)

    @property
    def full_completion(self) -> bool:
        return full_completion(self.evaluated, self.claimed)

    @property
    def abp_points(self) -> float | None:
        return abp_points(self.evaluated, self.claimed, self.person.reg.abp_id)

    @property
    def first_last(self) -> tuple[str, str]:
        """First and last name as boards file them: the roster's columns when given, else the
        name split at its last space (a guess: see `name_from`)."""
        reg = self.person.reg
        if reg.first_name and reg.last_name:
            return reg.first_name, reg.last_name
        parts = self.person.name.rsplit(" ", 1)
        return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")

    @property
    def name_from(self) -> str:
        """Where `first_last` came from: "roster" or "guessed" (check before reporting)."""
        return "roster" if self.person.reg.first_name else "guessed"


def credit_report(state: CourseState, schedule: Schedule, pid: str, now: datetime) -> CreditReport:
    people = state.people
    person = people.by_id[pid]
    att = attendance(people.intervals.get(pid, ()), people.open_since.get(pid), now, schedule)
    items = tuple(
        ItemAttendance(s, att.per_item.get(s.id, 0.0)) for s in schedule.items if s.start < now
    )
    claim = people.claims.get(pid)
    return CreditReport(
        person=person,
        items=items,
        credit_minutes=att.credit_minutes,
        possible_minutes=full_attendance_minutes(schedule),
        earned=att.earned,
        cap=schedule.course.credits.ama_pra_category_1,
        evaluated=pid in people.evaluated,
        claimed=claim[0] if claim else None,
        claimed_on=claim[1].astimezone(schedule.tz).date() if claim else None,
    )
