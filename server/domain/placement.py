"""Where each person should be at an instant: the agenda's item decides the kind of room (their
track's session during a split item, their small group during a small-group or practice item,
else the plenary or a break), and the SP actors' timetable moves an actor shared by several
groups from one group to the next within a practice block."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.agenda import Kind, Schedule, ScheduledItem
from server.domain.people import PeopleState, Person, Track
from server.domain.roleplay import RoleplaysState
from server.domain.roles import Role
from server.domain.rooms import GROUP_KINDS, GroupInfo, RoomsState, learner_track


def person_track(rooms: RoomsState, p: Person) -> str:
    """The track a person belongs to: a learner's (as chosen), anyone else's as registered
    (adult, pediatric or both)."""
    return learner_track(rooms, p) if p.role is Role.LEARNER else p.reg.track.value


@dataclass(frozen=True)
class Place:
    """Where a person should be at an instant."""

    kind: str  # "plenary", "track", "group", "break", "none"
    room: str  # a stable key: "plenary", "track:adult", "group:Adult 1", "break", "none"
    label: str
    item: ScheduledItem | None
    until: datetime | None = None  # in a quick breakout: when the groups close
    visiting: bool = False  # staff dropping in on a room that is not theirs

    @property
    def visited(self) -> str:
        """The room a staff member is visiting here ("" when this is their own place)."""
        return self.room if self.visiting else ""


def place_of(
    rooms: RoomsState, people: PeopleState, schedule: Schedule, pid: str, now: datetime
) -> Place:
    """Where `pid` belongs at `now`: the agenda's item decides the kind of room."""
    return _place(rooms, people, schedule.current(now), pid, now)


def places_of(
    rooms: RoomsState, people: PeopleState, schedule: Schedule, pids: Iterable[str], now: datetime
) -> dict[str, Place]:
    """`place_of` for many people at one instant (the agenda is looked up once)."""
    item = schedule.current(now)
    return {pid: _place(rooms, people, item, pid, now) for pid in pids}


# --- the SP actors' timetable ------------------------------------------------------------------


def sp_window(item: ScheduledItem, g: GroupInfo) -> tuple[datetime, datetime]:
    """When, during `item`, group `g` has its SP actor: its slot of a practice block shared by
    the timetable (equal slots, each edge on a whole minute), or the whole item."""
    if item.item.kind is not Kind.PRACTICE or g.sp_slots <= 1:
        return item.start, item.end
    minutes = (item.end - item.start) // timedelta(minutes=1)
    slot = min(max(g.sp_slot, 0), g.sp_slots - 1)

    def edge(k: int) -> datetime:
        if k >= g.sp_slots:
            return item.end
        return item.start + timedelta(minutes=minutes * k // g.sp_slots)

    return edge(slot), edge(slot + 1)


def sp_group(
    rooms: RoomsState, pid: str, item: ScheduledItem | None, now: datetime
) -> GroupInfo | None:
    """The group SP actor `pid` is with at `now`: by the timetable during a practice block,
    else the first of their groups."""
    groups = [g for g in rooms.groups.values() if pid in g.sps]
    if item is not None and item.item.kind is Kind.PRACTICE:
        for g in groups:
            start, end = sp_window(item, g)
            if start <= now < end:
                return g
    return groups[0] if groups else None


def sps_with(
    rooms: RoomsState, g: GroupInfo, item: ScheduledItem | None, now: datetime
) -> tuple[str, ...]:
    """The SP actors of `g` who are with it at `now`."""
    return tuple(s for s in g.sps if (h := sp_group(rooms, s, item, now)) and h.name == g.name)


def next_move(rooms: RoomsState, schedule: Schedule, now: datetime) -> datetime | None:
    """The first instant after `now` at which anyone changes place: an agenda item starts or
    ends, or an SP actor moves to their next group within a practice block."""
    out = schedule.next_boundary(now)
    b = rooms.breakout
    if b is not None and b.until > now and (out is None or b.until < out):
        out = b.until  # a quick breakout closing: its pages move back
    item = schedule.current(now)
    if item is not None and item.item.kind is Kind.PRACTICE:
        edges = [t for g in rooms.groups.values() for t in sp_window(item, g) if t > now]
        out = min([*edges, *([out] if out else [])], default=None)
    return out


def _place(
    rooms: RoomsState, people: PeopleState, item: ScheduledItem | None, pid: str, now: datetime
) -> Place:
    if item is None:
        return Place("none", "none", "Nothing is scheduled right now", None)
    kind = item.item.kind
    if kind in (Kind.BREAK, Kind.LUNCH, Kind.TRANSITION):
        return Place("break", "break", item.item.title, item)
    visit = rooms.visits.get(pid)
    if visit is not None and visit[1] == item.id:
        return _visited(rooms, visit[0], item)
    p = people.get(pid)
    breakout = rooms.breakout_at(item.id, now)
    if breakout is not None and p is not None:
        g = sp_group(rooms, pid, item, now) if p.role is Role.SP else rooms.group_of(pid)
        if g is not None:
            label = f"Small group {g.name}"
            return Place("group", f"group:{g.name}", label, item, until=breakout.until)
    if kind is Kind.TRACK_SESSION and item.item.split_by_track and p is not None:
        track = person_track(rooms, p)
        if track == Track.BOTH.value:
            return Place("track", "track:all", "Adult and pediatric sessions", item)
        return Place("track", f"track:{track}", f"{track.capitalize()} session", item)
    if kind in GROUP_KINDS and p is not None:
        g = sp_group(rooms, pid, item, now) if p.role is Role.SP else rooms.group_of(pid)
        if g is not None:
            return Place("group", f"group:{g.name}", f"Small group {g.name}", item)
        if rooms.groups:
            return Place("none", "none", "Not in a small group yet", item)
    return Place("plenary", "plenary", "Plenary (everyone together)", item)


def _visited(rooms: RoomsState, room: str, item: ScheduledItem) -> Place:
    kind, _, name = room.partition(":")
    if kind == "group" and name in rooms.groups:
        return Place("group", room, f"Visiting small group {name}", item, visiting=True)
    if kind == "track":
        label = (
            "Visiting the adult and pediatric sessions"
            if name == "all"
            else (f"Visiting the {name} session")
        )
        return Place("track", room, label, item, visiting=True)
    return Place("plenary", "plenary", "Visiting the plenary", item, visiting=True)


def place_in(
    rooms: RoomsState, people: PeopleState, item: ScheduledItem | None, pid: str, now: datetime
) -> Place:
    """Where `pid` belongs at `now` during `item` (a calendar asks of items not running yet)."""
    return _place(rooms, people, item, pid, now)


def in_group_time(schedule: Schedule, now: datetime, rooms: RoomsState | None = None) -> bool:
    """Whether the small groups meet at `now`: in a small-group or practice item, or (with
    `rooms`) in a quick breakout the director opened."""
    item = schedule.current(now)
    if item is None:
        return False
    if item.item.kind in GROUP_KINDS:
        return True
    return rooms is not None and rooms.breakout_at(item.id, now) is not None


ROOM_LABELS = {"plenary": "Plenary", "break": "Break", "none": "No room", "track:all": "Sessions"}


def room_label(room: str) -> str:
    """A place's room key as people read it: "group:Adult 3" is "Small group Adult 3"."""
    if room.startswith("group:"):
        return f"Small group {room.removeprefix('group:')}"
    if room.startswith("track:") and room != "track:all":
        return f"{room.removeprefix('track:').capitalize()} session"
    return ROOM_LABELS.get(room, room)


# --- how often an SP actor has portrayed a case ------------------------------------------------


@dataclass(frozen=True)
class Portrayals:
    """How often SP actor `sp` has portrayed a case on one course day, against its limits."""

    sp: str
    count: int
    limit: int  # the case's most portrayals by one actor in a day
    rest_minutes: int
    last_ended: datetime | None  # the end of their last portrayal of it that day, if it ended

    @property
    def at_limit(self) -> bool:
        return self.count >= self.limit

    @property
    def rested_from(self) -> datetime | None:
        """When the actor may begin the next portrayal, after the rest the case asks for."""
        if self.last_ended is None or not self.rest_minutes:
            return None
        return self.last_ended + timedelta(minutes=self.rest_minutes)


def portrayals(
    rooms: RoomsState,
    roleplays: RoleplaysState,
    schedule: Schedule,
    sp: str,
    case: str,
    now: datetime,
    limit: int,
    rest_minutes: int,
) -> Portrayals:
    """Portrayals of `case` by SP actor `sp` on the course day of `now`: each turn of it begun
    (not tagged in: a tag-in continues the scene) while the actor was with the turn's group."""
    day = now.astimezone(schedule.tz).date()
    count = 0
    last: datetime | None = None
    for name, rp in roleplays.by_group.items():
        g = rooms.groups.get(name)
        if g is None or sp not in g.sps:
            continue
        for t in rp.turns:
            started = t.started_at
            if t.scenario != case or t.tag_in:
                continue
            if started > now or started.astimezone(schedule.tz).date() != day:
                continue
            if sp not in sps_with(rooms, g, schedule.current(started), started):
                continue
            count += 1
            if t.ended_at is not None and (last is None or t.ended_at > last):
                last = t.ended_at
    return Portrayals(sp, count, limit, rest_minutes, last)


def staff_of(rooms: RoomsState, people: PeopleState, room: str) -> tuple[str, ...]:
    """Who a private line in `room` reaches: a group's facilitator; a track session's
    facilitators; the director in the plenary (and anyone staff visiting the room)."""
    kind, _, name = room.partition(":")
    out: list[str] = []
    if kind == "group" and name in rooms.groups and rooms.groups[name].facilitator:
        out.append(str(rooms.groups[name].facilitator))
    elif kind == "track":
        out += [
            p.id
            for p in people.of_role(Role.FACILITATOR)
            if name == "all" or p.reg.track.value in (name, "both")
        ]
    else:
        out += [p.id for p in people.of_role(Role.DIRECTOR)]
    out += [pid for pid, (visited, _) in sorted(rooms.visits.items()) if visited == room]
    return tuple(dict.fromkeys(out))
