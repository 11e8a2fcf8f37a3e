"""People on the course: who they are, their role, their personal link, and whether they are online.

A person is keyed by email (case-insensitive). Their id is derived from the email so that the
same registration imported twice is the same person.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.domain.roles import Role


class Discipline(StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    NURSE_PRACTITIONER = "nurse_practitioner"
    PHYSICIAN_ASSISTANT = "physician_assistant"
    PSYCHOLOGIST = "psychologist"
    PHARMACIST = "pharmacist"
    SOCIAL_WORKER = "social_worker"
    CHAPLAIN = "chaplain"
    RESIDENT_FELLOW = "resident_fellow"
    OTHER = "other"


class Track(StrEnum):
    ADULT = "adult"
    PEDIATRIC = "pediatric"
    BOTH = "both"


EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def person_id(email: str) -> str:
    """A stable, URL-safe id for the person registered with `email`."""
    return "p" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Registration:
    """What the registration list says of one person (all values already validated)."""

    name: str
    email: str
    role: Role
    discipline: Discipline
    track: Track
    team: str | None = None
    abp_id: str | None = None
    dob_mmdd: str | None = None

    @property
    def id(self) -> str:
        return person_id(self.email)

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "role": self.role.value,
            "discipline": self.discipline.value,
            "track": self.track.value,
            "team": self.team,
            "abp_id": self.abp_id,
            "dob_mmdd": self.dob_mmdd,
        }

    @classmethod
    def from_data(cls, d: Mapping[str, Any]) -> Registration:
        return cls(
            name=str(d["name"]),
            email=str(d["email"]),
            role=Role(d["role"]),
            discipline=Discipline(d["discipline"]),
            track=Track(d["track"]),
            team=d.get("team"),
            abp_id=d.get("abp_id"),
            dob_mmdd=d.get("dob_mmdd"),
        )


@dataclass(frozen=True)
class Person:
    reg: Registration
    link_version: int = 0
    revoked: bool = False
    erased: bool = False  # their data was erased: a placeholder, listed nowhere
    # Open connections (connection ids) right now; online while there is at least one.
    connections: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return self.reg.id

    @property
    def name(self) -> str:
        return self.reg.name

    @property
    def role(self) -> Role:
        return self.reg.role

    @property
    def online(self) -> bool:
        return bool(self.connections)

    def with_registration(self, reg: Registration) -> Person:
        return replace(self, reg=reg)


@dataclass(frozen=True)
class PeopleState:
    """Everyone registered, their links, and the time each has been online.

    `intervals` are closed spells online per person; `open_since` is when a person who is online
    now came online (course time)."""

    by_id: Mapping[str, Person] = field(default_factory=dict)
    by_email: Mapping[str, str] = field(default_factory=dict)
    intervals: Mapping[str, tuple[tuple[datetime, datetime], ...]] = field(default_factory=dict)
    open_since: Mapping[str, datetime] = field(default_factory=dict)
    evaluated: frozenset[str] = frozenset()
    claims: Mapping[str, tuple[float, datetime]] = field(default_factory=dict)  # credits, when

    def get(self, pid: str) -> Person | None:
        return self.by_id.get(pid)

    def with_person(self, p: Person) -> PeopleState:
        return replace(
            self, by_id={**self.by_id, p.id: p}, by_email={**self.by_email, p.reg.email: p.id}
        )

    def of_role(self, role: Role) -> list[Person]:
        return sorted(
            (p for p in self.by_id.values() if p.role is role and not p.erased),
            key=lambda p: p.name,
        )
