"""Attendance and credit per person, as the learner, the certificates, the director and the
exports show them: for each credit type offered to the learner, the minutes that count, what they
earn, what is missing before a claim, and the claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.domain.agenda import Schedule, ScheduledItem
from server.domain.course_state import CourseState
from server.domain.credit import (
    blockers,
    facts_of,
    gaps,
    offered,
    person_minutes,
    standing_of,
)
from server.domain.designations import CreditType, Requirement
from server.domain.people import Claim, Person


@dataclass(frozen=True)
class ItemAttendance:
    s: ScheduledItem
    minutes: float

    @property
    def share(self) -> float:
        return min(1.0, self.minutes / (self.s.duration.total_seconds() / 60))


@dataclass(frozen=True)
class Standing:
    """One credit type for one learner."""

    type: CreditType
    minutes: float  # designated minutes attended
    possible: float  # designated minutes in the course
    earned: float
    blockers: tuple[str, ...]  # what the learner must do first, in their words
    gaps: tuple[Requirement, ...]  # the same, as requirements
    claim: Claim | None

    @property
    def may_claim(self) -> bool:
        return not self.blockers and self.earned >= self.type.step

    @property
    def needs_consent(self) -> bool:
        return Requirement.CONSENT in self.type.requires

    @property
    def shared(self) -> bool:
        """Claimed, with permission to share where the board needs it: ready to report."""
        return self.claim is not None and (self.claim.consent or not self.needs_consent)


@dataclass(frozen=True)
class CreditReport:
    person: Person
    items: tuple[ItemAttendance, ...]
    standings: tuple[Standing, ...]
    evaluated: bool
    completed_on: date | None  # the last course day they attended

    def standing(self, type_id: str) -> Standing | None:
        return next((s for s in self.standings if s.type.id == type_id), None)

    @property
    def claims(self) -> tuple[Standing, ...]:
        return tuple(s for s in self.standings if s.claim is not None)

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
    per_item = person_minutes(people, pid, schedule, now)
    items = tuple(
        ItemAttendance(s, per_item.get(s.id, 0.0)) for s in schedule.items if s.start < now
    )
    d = schedule.course.designations
    evaluated = pid in people.evaluated
    facts = facts_of(person, evaluated, pid in state.feedback.assessed)
    mine = people.claims.get(pid, {})
    standings = []
    for t in offered(d, facts):
        minutes, possible, got = standing_of(per_item, schedule, t)
        standings.append(
            Standing(
                t,
                minutes,
                possible,
                got,
                blockers(t, facts),
                gaps(t, facts),
                mine.get(t.id),
            )
        )
    attended = [s for s in schedule.items if per_item.get(s.id, 0) > 0]
    last = max(attended, key=lambda s: s.start, default=None)
    return CreditReport(
        person=person,
        items=items,
        standings=tuple(standings),
        evaluated=evaluated,
        completed_on=schedule.local(last.start).date() if last else None,
    )
