"""Who is on the course and who is online, grouped for the staff pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.people import Claim, PeopleState, Person, Track
from server.domain.roles import Role

ROLE_ORDER = (Role.FACILITATOR, Role.SP, Role.LEARNER, Role.DIRECTOR)
ROLE_HEADINGS = {
    Role.FACILITATOR: "Facilitators",
    Role.SP: "Simulated-patient actors",
    Role.LEARNER: "Learners",
    Role.DIRECTOR: "Course directors",
}


@dataclass(frozen=True)
class Group:
    role: Role
    heading: str
    people: tuple[Person, ...]

    @property
    def online(self) -> int:
        return sum(1 for p in self.people if p.online)


@dataclass(frozen=True)
class PeopleView:
    track: str  # "adult", "pediatric" or "all"
    groups: tuple[Group, ...]
    evaluated: frozenset[str]
    claims: Mapping[str, Mapping[str, Claim]]  # person -> credit type -> claim
    erased: int = 0  # people whose data was erased (listed nowhere)

    @property
    def online(self) -> int:
        return sum(g.online for g in self.groups)

    @property
    def total(self) -> int:
        return sum(len(g.people) for g in self.groups)


def in_track(p: Person, track: str) -> bool:
    return track == "all" or p.reg.track in (Track(track), Track.BOTH)


def build_people_view(people: PeopleState, track: str = "all") -> PeopleView:
    groups = []
    for role in ROLE_ORDER:
        members = tuple(p for p in people.of_role(role) if in_track(p, track))
        if members:
            groups.append(Group(role, ROLE_HEADINGS[role], members))
    erased = sum(1 for p in people.by_id.values() if p.erased and in_track(p, track))
    return PeopleView(track, tuple(groups), people.evaluated, dict(people.claims), erased)
