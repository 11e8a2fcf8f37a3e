"""The commands that change who is in which group: forming the groups (`forming.assign`), a
learner's choice of track, the director's moves and locks, rebalancing after no-shows, and a
late joiner's place (the smallest group of their track)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import NewEvent
from server.domain.groups.forming import Member, Settings, Staff, assign
from server.domain.people import PeopleState, Registration, Track
from server.domain.roles import Actor, Role, require
from server.domain.rooms import RoomsState, learner_track

DIRECTOR_ONLY = frozenset({Role.DIRECTOR})


@dataclass(frozen=True)
class AssignGroups:
    seed: int = 0
    min_size: int = 6
    max_size: int = 8
    teams: str = "together"


@dataclass(frozen=True)
class ChooseTrack:
    track: str


@dataclass(frozen=True)
class MoveMember:
    person_id: str
    group: str


@dataclass(frozen=True)
class LockMember:
    person_id: str
    locked: bool = True


@dataclass(frozen=True)
class Rebalance:
    """Take never-seen learners out of groups and even out sizes, leaving locked people."""


GroupsCommand = AssignGroups | ChooseTrack | MoveMember | LockMember | Rebalance


def decide_membership(
    rooms: RoomsState, people: PeopleState, command: GroupsCommand, actor: Actor, now: datetime
) -> list[NewEvent]:
    """The events of a group command; raises PermissionDenied or DomainError if not allowed."""
    return DECIDERS[type(command)](rooms, people, command, actor, now)


def _assign(
    rooms: RoomsState, people: PeopleState, c: AssignGroups, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, DIRECTOR_ONLY, "form the small groups")
    everyone = [p for p in people.by_id.values() if not p.revoked and not p.erased]
    # Placed by email, not by id: ids are random, and the same roster and seed should give the
    # same groups on any course.
    ids = {p.reg.email.lower(): p.id for p in everyone}
    chosen = {p.reg.email.lower(): t for p in everyone if (t := rooms.chosen_track.get(p.id))}
    members, staff, sps = split_roster(
        ((p.reg.email.lower(), p.reg) for p in sorted(everyone, key=lambda p: p.name)), chosen
    )
    a = assign(members, staff, sps, Settings(c.min_size, c.max_size, c.teams), c.seed)
    data = {
        "groups": [
            {
                "name": g.name,
                "track": g.track,
                "facilitator": ids[g.facilitator] if g.facilitator else None,
                "sps": [ids[e] for e in g.sps],
                "members": [ids[m.email] for m in g.members],
                "sp_slot": a.slot(g.name),
                "sp_slots": a.sp_slots.get(g.track, 1),
            }
            for g in a.groups
        ],
        "notes": list(a.notes),
        "score": round(a.score, 4),
    }
    return [NewEvent("groups.assigned", actor.id, now, data)]


def _choose_track(
    rooms: RoomsState, people: PeopleState, c: ChooseTrack, actor: Actor, now: datetime
) -> list[NewEvent]:
    p = people.get(actor.id)
    if p is None or p.role is not Role.LEARNER:
        raise PermissionDenied("Only a learner chooses a track.")
    if p.reg.track is not Track.BOTH:
        raise DomainError(f"You are registered for the {p.reg.track.value} track only.")
    if c.track not in (Track.ADULT.value, Track.PEDIATRIC.value):
        raise DomainError(f"Choose adult or pediatric, not {c.track!r}.")
    out = [NewEvent("track.chosen", p.id, now, {"person": p.id, "track": c.track})]
    g = rooms.group_of(p.id)
    if g is not None and g.track != c.track and p.id not in rooms.locked:
        target = smallest_group(rooms, c.track)
        if target is not None:
            data = {"person": p.id, "group": target, "reason": "track"}
            out.append(NewEvent("member.placed", p.id, now, data))
    return out


def _move(
    rooms: RoomsState, people: PeopleState, c: MoveMember, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, DIRECTOR_ONLY, "move people between groups")
    p = people.get(c.person_id)
    if p is None or p.role is not Role.LEARNER:
        raise DomainError("Only learners move between small groups.")
    g = rooms.groups.get(c.group)
    if g is None:
        raise DomainError(f"There is no group named {c.group!r}.")
    if g.track != learner_track(rooms, p):
        raise DomainError(
            f"{p.name} is on the {learner_track(rooms, p)} track; {g.name} is a {g.track} group."
        )
    if rooms.member_of.get(p.id) == g.name:
        return []
    data = {"person": p.id, "group": g.name, "reason": "moved"}
    return [NewEvent("member.placed", actor.id, now, data)]


def _lock(
    rooms: RoomsState, people: PeopleState, c: LockMember, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, DIRECTOR_ONLY, "lock people in place")
    if c.person_id not in rooms.member_of:
        raise DomainError("Only someone in a group can be locked in place.")
    if (c.person_id in rooms.locked) == c.locked:
        return []
    data = {"person": c.person_id, "locked": c.locked}
    return [NewEvent("member.locked", actor.id, now, data)]


def _rebalance(
    rooms: RoomsState, people: PeopleState, c: Rebalance, actor: Actor, now: datetime
) -> list[NewEvent]:
    """Learners never seen online leave their groups (unless locked); then, per track, the
    largest group gives the smallest the member whose discipline it lacks most, until sizes
    differ by at most one."""
    require(actor, DIRECTOR_ONLY, "rebalance the groups")
    if not rooms.groups:
        raise DomainError("There are no groups yet.")
    out: list[NewEvent] = []
    sizes: dict[str, list[str]] = {n: list(g.members) for n, g in rooms.groups.items()}
    for name, members in sizes.items():
        for pid in list(members):
            p = people.get(pid)
            seen = p is not None and (p.online or pid in people.intervals)
            if not seen and pid not in rooms.locked:
                members.remove(pid)
                data = {"person": pid, "reason": "no-show", "group": name}
                out.append(NewEvent("member.unplaced", actor.id, now, data))
    for track in (Track.ADULT.value, Track.PEDIATRIC.value):
        names = sorted(n for n, g in rooms.groups.items() if g.track == track)
        while names:
            big = max(names, key=lambda n: (len(sizes[n]), n))
            small = min(names, key=lambda n: (len(sizes[n]), n))
            if len(sizes[big]) - len(sizes[small]) <= 1:
                break
            movable = [pid for pid in sizes[big] if pid not in rooms.locked]
            if not movable:
                names.remove(big)
                continue
            have = Counter(_discipline(people, x) for x in sizes[small])
            pid = min(movable, key=lambda x: (have[_discipline(people, x)], x))
            sizes[big].remove(pid)
            sizes[small].append(pid)
            data = {"person": pid, "group": small, "reason": "rebalance"}
            out.append(NewEvent("member.placed", actor.id, now, data))
    return out


DECIDERS: Mapping[type, Callable[[RoomsState, PeopleState, Any, Actor, datetime], list[NewEvent]]]
DECIDERS = {
    AssignGroups: _assign,
    ChooseTrack: _choose_track,
    MoveMember: _move,
    LockMember: _lock,
    Rebalance: _rebalance,
}


def smallest_group(rooms: RoomsState, track: str, exclude: str | None = None) -> str | None:
    candidates = [g for g in rooms.groups.values() if g.track == track and g.name != exclude]
    if not candidates:
        return None
    return min(candidates, key=lambda g: (len(g.members), g.name)).name


def late_joiner_events(
    rooms: RoomsState, people: PeopleState, pid: str, actor: str, now: datetime
) -> list[NewEvent]:
    """A learner with no group, once groups exist, goes to the smallest group of their track."""
    p = people.get(pid)
    if p is None or p.role is not Role.LEARNER or not rooms.groups or pid in rooms.member_of:
        return []
    target = smallest_group(rooms, learner_track(rooms, p))
    if target is None:
        return []
    data = {"person": pid, "group": target, "reason": "late"}
    return [NewEvent("member.placed", actor, now, data)]


def split_roster(
    people: Iterable[tuple[str, Registration]], chosen: Mapping[str, str]
) -> tuple[list[Member], list[Staff], list[Staff]]:
    """Who is to be placed, keyed as given (a person id, or an email offline): learners as
    members (a "both" registrant in their chosen track, adult by default), facilitators and
    SP actors as staff."""
    learners, facilitators, sps = [], [], []
    for key, r in people:
        if r.role is Role.LEARNER:
            track = r.track.value
            if r.track is Track.BOTH:
                track = chosen.get(key, Track.ADULT.value)
            learners.append(Member(key, r.discipline.value, track, r.team))
        elif r.role is Role.FACILITATOR:
            facilitators.append(Staff(key, r.track.value))
        elif r.role is Role.SP:
            sps.append(Staff(key, r.track.value))
    return learners, facilitators, sps


def _discipline(people: PeopleState, pid: str) -> str:
    p = people.get(pid)
    return p.reg.discipline.value if p else ""
