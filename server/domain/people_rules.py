"""Commands and events about people: the roster, personal links, presence, evaluation, credit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from server.domain.agenda import Schedule
from server.domain.attendance import merged_spells
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.people import (
    Claim,
    PeopleState,
    Person,
    Registration,
    legacy_person_id,
    new_person_id,
)
from server.domain.roles import Actor, Role, require

DIRECTOR_ONLY = frozenset({Role.DIRECTOR})
EVERYONE = frozenset(Role)

EVENT_TYPES = frozenset(
    {
        "person.registered",
        "person.updated",
        "person.erased",
        "link.reissued",
        "link.revoked",
        "presence.joined",
        "presence.left",
        "presence.reset",
        "evaluation.completed",
        "credit.claimed",
    }
)

# Who is registered and their links, without presence, evaluations or claims.
REGISTRY_EVENTS = frozenset(
    {"person.registered", "person.updated", "person.erased", "link.reissued", "link.revoked"}
)


@dataclass(frozen=True)
class ImportRoster:
    """Register new people and update changed ones; unchanged rows produce no events.

    `salt` is random, made by the caller (the service): new people's ids come from it."""

    registrations: tuple[Registration, ...]
    salt: str = ""


@dataclass(frozen=True)
class ReissueLink:
    person_id: str


@dataclass(frozen=True)
class RevokeLink:
    person_id: str


@dataclass(frozen=True)
class Connect:
    """A page opened. `at`: when, if its record may come later (the log busy or away)."""

    connection_id: str
    at: datetime | None = None


@dataclass(frozen=True)
class Disconnect:
    """A page closed. `at`: when, if its record may come later."""

    connection_id: str
    at: datetime | None = None


# A join or leave recorded later than this after it happened carries when it happened: the
# spell it opens or closes is the person's, not the log's delay.
LATE_PRESENCE = timedelta(seconds=1)


@dataclass(frozen=True)
class ResetPresence:
    """At server start: connections open in the log died with the previous process. With
    `connections`, only those (their worker stopped beating), closed `at` when that worker was
    last seen beating: it may have died any moment after, and nobody is counted present on a
    page of a worker that was not known to be alive."""

    connections: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True)
class RecordEvaluation:
    person_id: str
    form: str = "course"


PeopleCommand = (
    ImportRoster
    | ReissueLink
    | RevokeLink
    | Connect
    | Disconnect
    | ResetPresence
    | RecordEvaluation
)


def _person(people: PeopleState, pid: str) -> Person:
    p = people.get(pid)
    if p is None or p.erased:
        raise DomainError("No such person on this course.")
    return p


def decide_people(
    people: PeopleState, schedule: Schedule, command: PeopleCommand, actor: Actor, now: datetime
) -> list[NewEvent]:
    """The events of a people command; raises PermissionDenied or DomainError if not allowed."""
    if isinstance(command, ImportRoster):
        require(actor, DIRECTOR_ONLY, "import the registration list")
        out = []
        for reg in command.registrations:
            pid = people.id_of(reg.email)
            existing = people.get(pid) if pid else None
            if existing is None:
                try:
                    new = new_person_id(command.salt, reg.email)
                except ValueError:
                    raise DomainError("A roster import needs a random salt for new ids.") from None
                data = {"id": new, **reg.as_data()}
                out.append(NewEvent("person.registered", actor.id, now, data))
            elif existing.reg != reg:
                data = {"id": existing.id, **reg.as_data()}
                out.append(NewEvent("person.updated", actor.id, now, data))
        return out
    if isinstance(command, ReissueLink):
        require(actor, DIRECTOR_ONLY, "issue personal links")
        p = _person(people, command.person_id)
        data = {"person": p.id, "version": p.link_version + 1}
        return [NewEvent("link.reissued", actor.id, now, data)]
    if isinstance(command, RevokeLink):
        require(actor, DIRECTOR_ONLY, "revoke personal links")
        p = _person(people, command.person_id)
        if p.revoked:
            raise DomainError(f"{p.name}'s link is already revoked.")
        if p.id == actor.id:
            raise DomainError("You cannot revoke your own link.")
        return [NewEvent("link.revoked", actor.id, now, {"person": p.id})]
    if isinstance(command, Connect | Disconnect):
        p = _person(people, actor.id)
        if p.revoked:
            raise PermissionDenied("This personal link has been revoked.")
        cid = command.connection_id
        if (cid in p.connections) == isinstance(command, Connect):
            return []  # already open, or already closed
        data = {"person": p.id, "conn": cid}
        if command.at is not None and now - command.at > LATE_PRESENCE:
            data["at"] = command.at.isoformat()
        kind = "presence.joined" if isinstance(command, Connect) else "presence.left"
        return [NewEvent(kind, p.id, now, data)]
    if isinstance(command, ResetPresence):
        require(actor, DIRECTOR_ONLY, "reset presence")
        if command.connections:
            wanted = set(command.connections)
            open_now = sorted(c for p in people.by_id.values() for c in p.connections & wanted)
            if not open_now:
                return []
            closing: dict[str, Any] = {"connections": open_now}
            if command.at is not None and now - command.at > LATE_PRESENCE:
                closing["at"] = command.at.isoformat()
            return [NewEvent("presence.reset", actor.id, now, closing)]
        if not any(p.connections for p in people.by_id.values()):
            return []
        return [NewEvent("presence.reset", actor.id, now, {})]
    if isinstance(command, RecordEvaluation):
        # For an evaluation that reached the course another way (on paper, by email).
        require(actor, DIRECTOR_ONLY, "record a course evaluation")
        p = _person(people, command.person_id)
        if p.id in people.evaluated:
            return []
        data = {"person": p.id, "form": command.form}
        return [NewEvent("evaluation.completed", actor.id, now, data)]
    raise DomainError(f"Unknown command {type(command).__name__}")


LEGACY_CREDIT_TYPE = "ama_pra_category_1"


def registered_id(data: Mapping[str, Any]) -> str:
    """The person id a registration event is about: recorded in it, or (in logs written before
    ids were recorded) derived from its email."""
    recorded = data.get("id")
    return str(recorded) if recorded else legacy_person_id(str(data["email"]))


def _close(people: PeopleState, pid: str, at: datetime) -> PeopleState:
    """Every page of `pid` closed at `at`."""
    return _pages_closed(people, pid, people.by_id[pid].connections, at)


def _pages_closed(people: PeopleState, pid: str, gone: frozenset[str], at: datetime) -> PeopleState:
    """Pages `gone` of `pid` closed at `at`: each one's spell, from when it opened, joins the
    person's spells online (merged where they meet). Kept page by page, a join or leave that
    was recorded late, after others of the same person, still counts exactly when it was."""
    opened = dict(people.opened)  # a copy made in C: thousands of pages may close
    spells = [*people.intervals.get(pid, ()), *((opened.pop(c), at) for c in gone)]
    p = people.by_id[pid]
    return replace(
        people.with_person(replace(p, connections=p.connections - gone)),
        intervals={**people.intervals, pid: tuple(merged_spells(spells, timedelta(0)))},
        opened=opened,
    )


def happened(e: Event) -> datetime:
    """When a join, leave or worker's reset happened: its record's time, unless it was recorded
    late (a reset: when the worker was last seen alive)."""
    at = e.data.get("at")
    return datetime.fromisoformat(at) if isinstance(at, str) else e.at


def apply_people(people: PeopleState, e: Event) -> PeopleState:
    d = e.data
    if e.type in ("person.registered", "person.updated"):
        reg = Registration.from_data(d)
        pid = registered_id(d)
        existing = people.get(pid)
        p = existing.with_registration(reg) if existing else Person(pid, reg)
        return people.with_person(p)
    if e.type == "link.reissued":
        p = people.by_id[str(d["person"])]
        return people.with_person(replace(p, link_version=int(d["version"]), revoked=False))
    if e.type in ("link.revoked", "person.erased"):
        p = people.by_id[str(d["person"])]
        closed = replace(
            p, revoked=True, connections=frozenset(), erased=p.erased or e.type == "person.erased"
        )
        return _close(people, p.id, e.at).with_person(closed)
    if e.type == "presence.joined":
        p = people.by_id[str(d["person"])]
        conn = str(d["conn"])
        people = replace(people, opened={**people.opened, conn: happened(e)})
        return people.with_person(replace(p, connections=p.connections | {conn}))
    if e.type == "presence.left":
        p = people.by_id[str(d["person"])]
        gone = frozenset({str(d["conn"])}) & p.connections
        return _pages_closed(people, p.id, gone, happened(e)) if gone else people
    if e.type == "presence.reset" and d.get("connections"):
        gone = frozenset(str(c) for c in d["connections"])
        for p in list(people.by_id.values()):
            if p.connections & gone:
                people = _pages_closed(people, p.id, p.connections & gone, happened(e))
        return people
    if e.type == "presence.reset":
        for p in list(people.by_id.values()):
            if p.connections:
                people = _close(people, p.id, e.at)
        return people
    if e.type == "evaluation.completed":
        return replace(people, evaluated=people.evaluated | {str(d["person"])})
    if e.type == "credit.claimed":
        # Logs written before credit types were recorded claimed AMA PRA Category 1 credit.
        kind = str(d.get("type") or LEGACY_CREDIT_TYPE)
        amount = float(d["amount"] if "amount" in d else d["credits"])
        pid = str(d["person"])
        mine = {**people.claims.get(pid, {}), kind: Claim(amount, e.at, bool(d.get("consent")))}
        return replace(people, claims={**people.claims, pid: mine})
    return people
