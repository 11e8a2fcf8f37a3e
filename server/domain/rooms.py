"""Who is in which small group: the groups of each track, their members, staff and SP slots.

Group membership is stable across the days and changes only by events (the commands that make
them are in `groups.membership`); where someone should be at an instant is `placement`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.agenda import Kind
from server.domain.events import Event
from server.domain.people import Person, Track

GROUP_KINDS = frozenset({Kind.SMALL_GROUP, Kind.PRACTICE})

EVENT_TYPES = frozenset(
    {
        "groups.assigned",
        "member.placed",
        "member.unplaced",
        "member.locked",
        "track.chosen",
    }
)


@dataclass(frozen=True)
class GroupInfo:
    name: str
    track: str
    facilitator: str | None
    sps: tuple[str, ...]
    members: tuple[str, ...]
    # With fewer SP actors than groups, a practice block is split into `sp_slots` equal slots
    # and this group has its actor in slot `sp_slot` (0-based); otherwise the whole block.
    sp_slot: int = 0
    sp_slots: int = 1


@dataclass(frozen=True)
class Breakout:
    """Small groups the director opened for a while inside an item that has none (say a track
    session, to practise one of its cases): from `opened` until `until`, within item `item`."""

    item: str
    opened: datetime
    until: datetime
    by: str

    def on(self, item_id: str | None, now: datetime) -> bool:
        return item_id == self.item and self.opened <= now < self.until


@dataclass(frozen=True)
class RoomsState:
    groups: Mapping[str, GroupInfo] = field(default_factory=dict)
    member_of: Mapping[str, str] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    chosen_track: Mapping[str, str] = field(default_factory=dict)
    breakout: Breakout | None = None  # the latest quick breakout, open or over
    # Staff visiting a room that is not theirs (the director anywhere, a facilitator in their
    # track): person -> (room key, the item during which the visit holds).
    visits: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def breakout_at(self, item_id: str | None, now: datetime) -> Breakout | None:
        b = self.breakout
        return b if b is not None and b.on(item_id, now) else None

    def group_of(self, pid: str) -> GroupInfo | None:
        name = self.member_of.get(pid)
        if name is not None:
            return self.groups[name]
        for g in self.groups.values():  # staff
            if g.facilitator == pid or pid in g.sps:
                return g
        return None

    def staff_groups(self, pid: str) -> list[GroupInfo]:
        return [g for g in self.groups.values() if g.facilitator == pid or pid in g.sps]


def learner_track(rooms: RoomsState, p: Person) -> str:
    """A learner's track: as registered, or for "both" as chosen (adult until they choose)."""
    if p.reg.track is Track.BOTH:
        return rooms.chosen_track.get(p.id, Track.ADULT.value)
    return p.reg.track.value


def _without(rooms: RoomsState, pid: str) -> RoomsState:
    name = rooms.member_of.get(pid)
    if name is None:
        return rooms
    g = rooms.groups[name]
    g = replace(g, members=tuple(m for m in g.members if m != pid))
    member_of = {k: v for k, v in rooms.member_of.items() if k != pid}
    return replace(rooms, groups={**rooms.groups, name: g}, member_of=member_of)


def apply_rooms(rooms: RoomsState, e: Event) -> RoomsState:
    d = e.data
    if e.type == "groups.assigned":
        groups = {
            str(g["name"]): GroupInfo(
                str(g["name"]),
                str(g["track"]),
                g.get("facilitator"),
                tuple(g["sps"]),
                tuple(g["members"]),
                int(g.get("sp_slot", 0)),
                int(g.get("sp_slots", 1)),
            )
            for g in d["groups"]
        }
        member_of = {m: n for n, g in groups.items() for m in g.members}
        return replace(rooms, groups=groups, member_of=member_of, locked=frozenset())
    if e.type == "member.placed":
        pid, name = str(d["person"]), str(d["group"])
        rooms = _without(rooms, pid)
        g = rooms.groups[name]
        g = replace(g, members=(*g.members, pid))
        return replace(
            rooms, groups={**rooms.groups, name: g}, member_of={**rooms.member_of, pid: name}
        )
    if e.type == "member.unplaced":
        rooms = _without(rooms, str(d["person"]))
        return replace(rooms, locked=rooms.locked - {str(d["person"])})
    if e.type == "member.locked":
        pid = str(d["person"])
        return replace(rooms, locked=rooms.locked | {pid} if d["locked"] else rooms.locked - {pid})
    if e.type == "track.chosen":
        return replace(
            rooms, chosen_track={**rooms.chosen_track, str(d["person"]): str(d["track"])}
        )
    return rooms
