"""Quick breakouts and drop-in visits: the director opens the small groups for some minutes
inside an item that has none (pages move to their groups and back by themselves), and staff
visit a room that is not theirs (the director any room, a facilitator their track's), seen there
as a visitor, until they leave or the item ends."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from server.domain.agenda import Kind, Schedule
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.people import PeopleState
from server.domain.roles import Actor, Role
from server.domain.rooms import GROUP_KINDS, Breakout, RoomsState

EVENT_TYPES = frozenset({"breakout.opened", "breakout.closed", "visit.started", "visit.ended"})
MAX_MINUTES = 120
NO_ROOM_KINDS = frozenset({Kind.BREAK, Kind.LUNCH, Kind.TRANSITION})


@dataclass(frozen=True)
class OpenBreakout:
    minutes: int


@dataclass(frozen=True)
class CloseBreakout:
    pass


@dataclass(frozen=True)
class Visit:
    room: str  # a room key: "plenary", "track:adult", "group:Adult 2"


@dataclass(frozen=True)
class LeaveVisit:
    pass


BreakoutCommand = OpenBreakout | CloseBreakout | Visit | LeaveVisit


def check_visit(rooms: RoomsState, people: PeopleState, actor: Actor, room: str) -> None:
    """Raise unless `actor` may visit `room`: the director any room, a facilitator the rooms of
    their track (a group of it, its session, the plenary)."""
    if actor.role not in (Role.DIRECTOR, Role.FACILITATOR):
        raise PermissionDenied("Only the director and facilitators drop in on rooms.")
    kind, _, name = room.partition(":")
    if kind not in ("plenary", "track", "group") or (kind != "plenary" and not name):
        raise DomainError(f"There is no room {room!r}.")
    if kind == "group" and name not in rooms.groups:
        raise DomainError(f"There is no small group {name!r}.")
    if kind == "track" and name not in ("adult", "pediatric", "all"):
        raise DomainError(f"There is no {name!r} track.")
    if actor.role is Role.DIRECTOR or kind == "plenary":
        return
    p = people.get(actor.id)
    track = p.reg.track.value if p else ""
    theirs = name if kind == "track" else rooms.groups[name].track
    if track not in ("both", theirs):
        raise PermissionDenied(f"Facilitators drop in on the rooms of their own track ({track}).")


def decide_breakout(
    rooms: RoomsState,
    people: PeopleState,
    schedule: Schedule,
    command: BreakoutCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    item = schedule.current(now)
    if isinstance(command, Visit | LeaveVisit):
        if isinstance(command, LeaveVisit):
            if actor.id not in rooms.visits:
                return []
            return [NewEvent("visit.ended", actor.id, now, {"person": actor.id})]
        check_visit(rooms, people, actor, command.room)
        if item is None or item.item.kind in NO_ROOM_KINDS:
            raise DomainError("No room is meeting now (a break, or nothing scheduled).")
        if rooms.visits.get(actor.id) == (command.room, item.id):
            return []
        data = {"person": actor.id, "room": command.room, "item": item.id}
        return [NewEvent("visit.started", actor.id, now, data)]
    if actor.role is not Role.DIRECTOR:
        raise PermissionDenied("Only the course director opens and closes quick breakouts.")
    if isinstance(command, CloseBreakout):
        if rooms.breakout_at(item.id if item else None, now) is None:
            return []
        return [NewEvent("breakout.closed", actor.id, now, {"item": item.id if item else ""})]
    if not rooms.groups:
        raise DomainError("Form the small groups first.")
    if item is None or item.item.kind in NO_ROOM_KINDS:
        raise DomainError("Open small groups during an agenda item, not a break.")
    if item.item.kind in GROUP_KINDS:
        raise DomainError("The small groups already meet in this item.")
    if not 1 <= command.minutes <= MAX_MINUTES:
        raise DomainError(f"Open them for 1 to {MAX_MINUTES} minutes, not {command.minutes}.")
    left = (item.end - now) // timedelta(minutes=1)
    if command.minutes > left:
        raise DomainError(f"{item.item.title} ends in {left} minutes; open them for at most that.")
    until = now + timedelta(minutes=command.minutes)
    opened = {"item": item.id, "minutes": command.minutes, "until": until.isoformat()}
    return [NewEvent("breakout.opened", actor.id, now, opened)]


def apply_breakout(rooms: RoomsState, e: Event) -> RoomsState:
    d = e.data
    if e.type == "breakout.opened":
        until = datetime.fromisoformat(str(d["until"]))
        return replace(rooms, breakout=Breakout(str(d["item"]), e.at, until, e.actor))
    if e.type == "breakout.closed" and rooms.breakout is not None:
        return replace(rooms, breakout=replace(rooms.breakout, until=e.at))
    if e.type == "visit.started":
        visits = {**rooms.visits, str(d["person"]): (str(d["room"]), str(d["item"]))}
        return replace(rooms, visits=visits)
    if e.type == "visit.ended":
        return replace(rooms, visits={k: v for k, v in rooms.visits.items() if k != d["person"]})
    return rooms
