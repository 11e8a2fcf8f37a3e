"""Breakouts: who is in which small group, where each person should be now, and help calls.

The agenda, not a host, decides the room: during a split item a learner is in their track's
session; during a small-group or practice item, in their small group; otherwise in the plenary
or on a break. Group membership is stable across the days and changes only by events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from server.domain.agenda import Kind, Schedule, ScheduledItem
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.groups import Member, Settings, Staff, assign
from server.domain.people import PeopleState, Person, Track
from server.domain.roles import Actor, Role, require

DIRECTOR_ONLY = frozenset({Role.DIRECTOR})
GROUP_KINDS = frozenset({Kind.SMALL_GROUP, Kind.PRACTICE})
MAX_HELP_NOTE = 300

EVENT_TYPES = frozenset(
    {
        "groups.assigned",
        "member.placed",
        "member.unplaced",
        "member.locked",
        "track.chosen",
        "help.requested",
        "help.claimed",
        "help.released",
        "help.resolved",
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
class HelpCall:
    id: int  # the seq of the request event
    person: str
    room: str
    note: str
    at: datetime
    claimed_by: str | None = None
    resolved: bool = False
    track: str | None = None  # the track whose facilitators answer it (older calls: None)


@dataclass(frozen=True)
class RoomsState:
    groups: Mapping[str, GroupInfo] = field(default_factory=dict)
    member_of: Mapping[str, str] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    chosen_track: Mapping[str, str] = field(default_factory=dict)
    help: tuple[HelpCall, ...] = ()

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

    def open_help(self) -> list[HelpCall]:
        return [h for h in self.help if not h.resolved]


def learner_track(rooms: RoomsState, p: Person) -> str:
    """A learner's track: as registered, or for "both" as chosen (adult until they choose)."""
    if p.reg.track is Track.BOTH:
        return rooms.chosen_track.get(p.id, Track.ADULT.value)
    return p.reg.track.value


def person_track(rooms: RoomsState, p: Person) -> str:
    """The track a person belongs to: a learner's (as chosen), anyone else's as registered
    (adult, pediatric or both)."""
    return learner_track(rooms, p) if p.role is Role.LEARNER else p.reg.track.value


def help_track(rooms: RoomsState, people: PeopleState, call: HelpCall) -> str:
    """The track whose facilitators answer `call`: recorded when it was made (for older calls,
    the caller's track now)."""
    if call.track:
        return call.track
    asker = people.get(call.person)
    return person_track(rooms, asker) if asker else "both"


def may_answer(rooms: RoomsState, people: PeopleState, call: HelpCall, actor: Actor) -> bool:
    """The rule for who sees and answers a help call: the director, and facilitators of the
    call's track (`track_answers`)."""
    if actor.role is Role.DIRECTOR:
        return True
    me = people.get(actor.id)
    if actor.role is not Role.FACILITATOR or me is None:
        return False
    return track_answers(me.reg.track.value, help_track(rooms, people, call))


def track_answers(staff: str, call: str) -> bool:
    """Whether staff of track `staff` answer a call of track `call`: the same track, or
    "both" on either side."""
    return Track.BOTH.value in (staff, call) or staff == call


@dataclass(frozen=True)
class Place:
    """Where a person should be at an instant."""

    kind: str  # "plenary", "track", "group", "break", "none"
    room: str  # a stable key: "plenary", "track:adult", "group:Adult 1", "break", "none"
    label: str
    item: ScheduledItem | None


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
    p = people.get(pid)
    if kind is Kind.TRACK_SESSION and item.item.split_by_track and p is not None:
        track = learner_track(rooms, p) if p.role is Role.LEARNER else p.reg.track.value
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


# --- commands --------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class RequestHelp:
    note: str = ""


@dataclass(frozen=True)
class ClaimHelp:
    help_id: int


@dataclass(frozen=True)
class ResolveHelp:
    help_id: int


@dataclass(frozen=True)
class ReleaseHelp:
    """The claimer (or the director) gives a taken call back to the track's facilitators."""

    help_id: int


RoomsCommand = (
    AssignGroups
    | ChooseTrack
    | MoveMember
    | LockMember
    | Rebalance
    | RequestHelp
    | ClaimHelp
    | ReleaseHelp
    | ResolveHelp
)
ROOMS_COMMANDS = (
    AssignGroups,
    ChooseTrack,
    MoveMember,
    LockMember,
    Rebalance,
    RequestHelp,
    ClaimHelp,
    ReleaseHelp,
    ResolveHelp,
)


def _learners(people: PeopleState) -> list[Person]:
    return [p for p in people.of_role(Role.LEARNER) if not p.revoked]


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


def decide_rooms(
    rooms: RoomsState,
    people: PeopleState,
    schedule: Schedule,
    command: RoomsCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    """The events of a breakout command; raises PermissionDenied or DomainError if not allowed."""
    if isinstance(command, AssignGroups):
        require(actor, DIRECTOR_ONLY, "form the small groups")
        members = [
            Member(p.id, p.reg.discipline.value, learner_track(rooms, p), p.reg.team)
            for p in _learners(people)
        ]
        staff = [
            Staff(p.id, p.reg.track.value)
            for p in people.of_role(Role.FACILITATOR)
            if not p.revoked
        ]
        sps = [Staff(p.id, p.reg.track.value) for p in people.of_role(Role.SP) if not p.revoked]
        settings = Settings(command.min_size, command.max_size, command.teams)
        a = assign(members, staff, sps, settings, command.seed)
        data = {
            "groups": [
                {
                    "name": g.name,
                    "track": g.track,
                    "facilitator": g.facilitator,
                    "sps": list(g.sps),
                    "members": [m.email for m in g.members],
                    "sp_slot": a.slot(g.name),
                    "sp_slots": a.sp_slots.get(g.track, 1),
                }
                for g in a.groups
            ],
            "notes": list(a.notes),
            "score": round(a.score, 4),
        }
        return [NewEvent("groups.assigned", actor.id, now, data)]
    if isinstance(command, ChooseTrack):
        p = people.get(actor.id)
        if p is None or p.role is not Role.LEARNER:
            raise PermissionDenied("Only a learner chooses a track.")
        if p.reg.track is not Track.BOTH:
            raise DomainError(f"You are registered for the {p.reg.track.value} track only.")
        if command.track not in (Track.ADULT.value, Track.PEDIATRIC.value):
            raise DomainError(f"Choose adult or pediatric, not {command.track!r}.")
        out = [NewEvent("track.chosen", p.id, now, {"person": p.id, "track": command.track})]
        g = rooms.group_of(p.id)
        if g is not None and g.track != command.track and p.id not in rooms.locked:
            target = smallest_group(rooms, command.track)
            if target is not None:
                data = {"person": p.id, "group": target, "reason": "track"}
                out.append(NewEvent("member.placed", p.id, now, data))
        return out
    if isinstance(command, MoveMember):
        require(actor, DIRECTOR_ONLY, "move people between groups")
        p = people.get(command.person_id)
        if p is None or p.role is not Role.LEARNER:
            raise DomainError("Only learners move between small groups.")
        g = rooms.groups.get(command.group)
        if g is None:
            raise DomainError(f"There is no group named {command.group!r}.")
        if g.track != learner_track(rooms, p):
            raise DomainError(
                f"{p.name} is on the {learner_track(rooms, p)} track; "
                f"{g.name} is a {g.track} group."
            )
        if rooms.member_of.get(p.id) == g.name:
            return []
        data = {"person": p.id, "group": g.name, "reason": "moved"}
        return [NewEvent("member.placed", actor.id, now, data)]
    if isinstance(command, LockMember):
        require(actor, DIRECTOR_ONLY, "lock people in place")
        if command.person_id not in rooms.member_of:
            raise DomainError("Only someone in a group can be locked in place.")
        if (command.person_id in rooms.locked) == command.locked:
            return []
        data = {"person": command.person_id, "locked": command.locked}
        return [NewEvent("member.locked", actor.id, now, data)]
    if isinstance(command, Rebalance):
        require(actor, DIRECTOR_ONLY, "rebalance the groups")
        return _rebalance(rooms, people, actor.id, now)
    if isinstance(command, RequestHelp):
        p = people.get(actor.id)
        if p is None or p.role not in (Role.LEARNER, Role.SP):
            raise PermissionDenied("Help calls come from learners and SP actors.")
        note = " ".join(command.note.split())
        if len(note) > MAX_HELP_NOTE:
            raise DomainError(f"Keep the note under {MAX_HELP_NOTE} characters.")
        if any(h.person == p.id for h in rooms.open_help()):
            raise DomainError("Your call for help is already waiting; a facilitator is coming.")
        room = place_of(rooms, people, schedule, p.id, now).room
        data = {"person": p.id, "room": room, "note": note, "track": person_track(rooms, p)}
        return [NewEvent("help.requested", p.id, now, data)]
    if isinstance(command, ClaimHelp | ReleaseHelp | ResolveHelp):
        require(actor, frozenset({Role.FACILITATOR, Role.DIRECTOR}), "answer help calls")
        call = next((h for h in rooms.help if h.id == command.help_id), None)
        if call is None or not may_answer(rooms, people, call, actor):
            raise DomainError("No such help call.")  # nor a hint that another track has one
        if call.resolved:
            raise DomainError("That call has already been answered.")
        mine = call.claimed_by == actor.id or actor.role is Role.DIRECTOR
        data = {"help": call.id, "by": actor.id}
        if isinstance(command, ClaimHelp):
            if call.claimed_by is not None:
                who = people.get(call.claimed_by)
                raise DomainError(f"{who.name if who else 'Someone'} already took this call.")
            return [NewEvent("help.claimed", actor.id, now, data)]
        if call.claimed_by is None and isinstance(command, ReleaseHelp):
            raise DomainError("Nobody has taken this call yet.")
        if call.claimed_by is None and actor.role is not Role.DIRECTOR:
            raise DomainError("Take the call first (“I'll go”), then mark it done.")
        if not mine:
            who = people.get(call.claimed_by or "")
            raise PermissionDenied(
                f"{who.name if who else 'Someone else'} took this call; only they or the course "
                "director can release it or mark it done."
            )
        kind = "help.released" if isinstance(command, ReleaseHelp) else "help.resolved"
        return [NewEvent(kind, actor.id, now, data)]
    raise DomainError(f"Unknown command {type(command).__name__}")


def _rebalance(rooms: RoomsState, people: PeopleState, actor: str, now: datetime) -> list[NewEvent]:
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
                out.append(
                    NewEvent(
                        "member.unplaced",
                        actor,
                        now,
                        {"person": pid, "reason": "no-show", "group": name},
                    )
                )
    for track in ("adult", "pediatric"):
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
            # Move the one whose discipline the small group lacks most.
            have = Counter(_discipline(people, x) for x in sizes[small])
            pid = min(movable, key=lambda x: (have[_discipline(people, x)], x))
            sizes[big].remove(pid)
            sizes[small].append(pid)
            data = {"person": pid, "group": small, "reason": "rebalance"}
            out.append(NewEvent("member.placed", actor, now, data))
    return out


def _discipline(people: PeopleState, pid: str) -> str:
    p = people.get(pid)
    return p.reg.discipline.value if p else ""


# --- events ----------------------------------------------------------------------------------


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
    if e.type == "help.requested":
        track = str(d["track"]) if d.get("track") else None
        call = HelpCall(e.seq, str(d["person"]), str(d["room"]), str(d["note"]), e.at, track=track)
        return replace(rooms, help=(*rooms.help, call))
    if e.type in ("help.claimed", "help.released", "help.resolved"):
        hid = int(d["help"])

        def changed(h: HelpCall) -> HelpCall:
            if e.type == "help.claimed":
                return replace(h, claimed_by=str(d["by"]))
            if e.type == "help.released":
                return replace(h, claimed_by=None)
            return replace(h, resolved=True)

        calls = tuple(changed(h) if h.id == hid else h for h in rooms.help)
        return replace(rooms, help=calls)
    return rooms
