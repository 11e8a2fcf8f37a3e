"""The people the console prints links for, and whom the demo's simulation leaves alone."""

from __future__ import annotations

from server.domain.people import PeopleState, Person
from server.domain.roles import Role
from server.domain.rooms import RoomsState


def example_people(people: PeopleState, rooms: RoomsState | None = None) -> list[Person]:
    """Every course director and one of each other role: the links the console prints, and the
    people the demo's simulation leaves for a real person to drive. The SP and the learner come
    from another group than the facilitator's, so their pages move by themselves."""
    out: list[Person] = list(people.of_role(Role.DIRECTOR))
    facilitators = people.of_role(Role.FACILITATOR)
    out += facilitators[:1]
    first = facilitators[0].id if facilitators else None
    for role in (Role.SP, Role.LEARNER):
        members = people.of_role(role)
        elsewhere = [
            p
            for p in members
            if rooms is not None
            and (g := rooms.group_of(p.id)) is not None
            and g.facilitator not in (None, first)
        ]
        out += (elsewhere or members)[:1]
    return out
