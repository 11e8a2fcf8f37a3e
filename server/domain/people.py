"""People on the course: who they are, their role, their personal link, and whether they are online.

A person is found by email (case-insensitive): the same registration imported twice is the same
person. Their id is made at random when they are first registered and recorded in the log, so
nobody can work it out from an email address (ids appear in signed links and pages).
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


BOARD_ID_COLUMNS = ("abim_id", "abp_id", "nabp_id")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def legacy_person_id(email: str) -> str:
    """The id of a person registered by a log written before ids were recorded in their
    registration event: derived from the email alone. Only for reading such logs."""
    return "p" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def new_person_id(salt: str, email: str) -> str:
    """The id of a person first registered now: `salt` is random (the caller's; the domain has
    no randomness), so the id cannot be worked out from the email without it."""
    if len(salt) < 16:
        raise ValueError("a person id needs a random salt of at least 16 characters")
    digest = hashlib.sha256(f"{salt}\0{email.strip().lower()}".encode()).hexdigest()
    return "p" + digest[:16]


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
    # As boards file them (PARS, CPE Monitor); given together or not at all. Without them a
    # report splits `name` at its last space, and says so.
    first_name: str | None = None
    last_name: str | None = None
    degrees: tuple[str, ...] = ()  # as the roster writes them: "MD", "RN", "PharmD"
    abim_id: str | None = None
    nabp_id: str | None = None  # the pharmacist's NABP e-Profile id (CPE Monitor)
    zoom_email: str | None = None  # the email they sign in to Zoom with, if not `email`

    def board_id(self, column: str) -> str | None:
        """The id in roster column `column` (abim_id, abp_id, nabp_id), if given."""
        value = getattr(self, column, None) if column in BOARD_ID_COLUMNS else None
        return value if isinstance(value, str) and value else None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "email": self.email,
            "role": self.role.value,
            "discipline": self.discipline.value,
            "track": self.track.value,
            "team": self.team,
            "abp_id": self.abp_id,
            "dob_mmdd": self.dob_mmdd,
        }
        if self.first_name:  # older logs have neither key; they read back as None
            data |= {"first_name": self.first_name, "last_name": self.last_name}
        if self.degrees:  # older logs have none of these keys
            data["degrees"] = list(self.degrees)
        for key in ("abim_id", "nabp_id", "zoom_email"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

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
            first_name=d.get("first_name"),
            last_name=d.get("last_name"),
            degrees=tuple(str(x) for x in d.get("degrees") or ()),
            abim_id=d.get("abim_id"),
            nabp_id=d.get("nabp_id"),
            zoom_email=d.get("zoom_email"),
        )


@dataclass(frozen=True)
class Person:
    id: str
    reg: Registration
    link_version: int = 0
    revoked: bool = False
    erased: bool = False  # their data was erased: a placeholder, listed nowhere
    # Open connections (connection ids) right now; online while there is at least one.
    connections: frozenset[str] = field(default_factory=frozenset)

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
class Claim:
    """A learner's claim of one credit type: how much, when, and whether they gave permission
    to share their completion with the board that type is reported to."""

    amount: float
    at: datetime
    consent: bool = False


@dataclass(frozen=True)
class PeopleState:
    """Everyone registered, their links, and the time each has been online.

    `intervals` are closed spells online per person (course time); `opened`, when each page
    open now opened."""

    by_id: Mapping[str, Person] = field(default_factory=dict)
    by_email: Mapping[str, str] = field(default_factory=dict)
    intervals: Mapping[str, tuple[tuple[datetime, datetime], ...]] = field(default_factory=dict)
    opened: Mapping[str, datetime] = field(default_factory=dict)  # open page -> when it opened
    evaluated: frozenset[str] = frozenset()
    # Person id -> credit type id -> their claim of it.
    claims: Mapping[str, Mapping[str, Claim]] = field(default_factory=dict)

    def get(self, pid: str) -> Person | None:
        return self.by_id.get(pid)

    def online_since(self, pid: str) -> datetime | None:
        """When a person online now came online: the first of their open pages opened."""
        p = self.by_id.get(pid)
        return min((self.opened[c] for c in p.connections), default=None) if p else None

    def id_of(self, email: str) -> str | None:
        """The id of the person registered with `email` (any case), if any."""
        return self.by_email.get(email.strip().lower())

    def with_person(self, p: Person) -> PeopleState:
        email = p.reg.email.strip().lower()
        return replace(self, by_id={**self.by_id, p.id: p}, by_email={**self.by_email, email: p.id})

    def of_role(self, role: Role) -> list[Person]:
        return sorted(
            (p for p in self.by_id.values() if p.role is role and not p.erased),
            key=lambda p: p.name,
        )
