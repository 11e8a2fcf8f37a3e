"""What the breakout partials show: where to be, a group's room, every room at a glance, help."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.domain.agenda import Schedule, ScheduledItem
from server.domain.breakouts import NO_ROOM_KINDS
from server.domain.course_state import CourseState
from server.domain.groups.forming import over_share
from server.domain.help_calls import HelpCall, help_track, track_answers
from server.domain.media import media_room
from server.domain.people import Person
from server.domain.placement import Place, place_of, staff_of
from server.domain.rooms import GROUP_KINDS, Breakout, GroupInfo
from server.domain.talk import STAFF, Message, Question, is_question_room
from server.live import keys
from server.live.names import slug


@dataclass(frozen=True)
class WhereView:
    key: str
    place: Place
    group: GroupInfo | None
    members: tuple[Person, ...]
    facilitator: Person | None
    sps: tuple[Person, ...]
    item: ScheduledItem | None
    visitors: tuple[Person, ...] = ()  # staff dropping in on the group
    tz: ZoneInfo | None = None  # the course's zone, for the times shown


def visitors_of(state: CourseState, room: str) -> tuple[Person, ...]:
    """The staff visiting `room` (a room key), as the room shows them."""
    people = state.people
    return tuple(
        people.by_id[pid]
        for pid, (visited, _) in sorted(state.rooms.visits.items())
        if visited == room and pid in people.by_id
    )


def build_where(state: CourseState, schedule: Schedule, key: str, now: datetime) -> WhereView:
    target = key.removeprefix(keys.PLACE)
    people = state.people
    group = None
    if target.startswith("group:"):
        group = state.rooms.groups.get(target.removeprefix("group:"))
    # Any member stands for the whole audience: they share group and track.
    if group is not None and group.members:
        place = place_of(state.rooms, people, schedule, group.members[0], now)
    else:
        track = target.removeprefix("track:")
        stand_in = next(
            (
                p.id
                for p in people.by_id.values()
                if p.role.value == "learner"
                and p.reg.track.value == track
                and state.rooms.group_of(p.id) is None
            ),
            None,
        )
        place = (
            place_of(state.rooms, people, schedule, stand_in, now)
            if stand_in
            else Place("plenary", "plenary", "Plenary (everyone together)", schedule.current(now))
        )
    members = tuple(people.by_id[m] for m in group.members if m in people.by_id) if group else ()
    fac = people.get(group.facilitator) if group and group.facilitator else None
    sps = tuple(people.by_id[s] for s in group.sps if s in people.by_id) if group else ()
    seen = visitors_of(state, f"group:{group.name}") if group else ()
    item = schedule.current(now)
    return WhereView(key, place, group, members, fac, sps, item, seen, schedule.tz)


@dataclass(frozen=True)
class RoomView:
    group: GroupInfo
    members: tuple[Person, ...]
    facilitator: Person | None
    sps: tuple[Person, ...]
    locked: frozenset[str]
    help: tuple[HelpCall, ...]
    mix: tuple[tuple[str, int], ...] = ()  # disciplines of the members, commonest first
    over: tuple[str, ...] = ()  # disciplines above their fair share of the track here
    visitors: tuple[Person, ...] = ()  # staff dropping in
    hands: tuple[Person, ...] = ()  # raised in the group's room
    messages: tuple[int, ...] = ()  # the seqs of the latest public messages in its room

    @property
    def online(self) -> int:
        return sum(1 for p in self.members if p.online)

    @property
    def dom_id(self) -> str:
        return "room-" + slug(self.group.name)


def _mix_by_track(state: CourseState) -> dict[str, Counter[str]]:
    """Each track's learners in groups, by discipline (what a group's fair share is of)."""
    mix: dict[str, Counter[str]] = {}
    for g in state.rooms.groups.values():
        counts = mix.setdefault(g.track, Counter())
        counts.update(
            state.people.by_id[m].reg.discipline.value for m in g.members if m in state.people.by_id
        )
    return mix


def build_room(
    state: CourseState, name: str, mix: dict[str, Counter[str]] | None = None
) -> RoomView | None:
    g = state.rooms.groups.get(name)
    if g is None:
        return None
    people = state.people
    members = tuple(people.by_id[m] for m in g.members if m in people.by_id)
    calls = tuple(h for h in state.help.open() if h.person in g.members or h.person in g.sps)
    here = Counter(p.reg.discipline.value for p in members)
    track = (mix if mix is not None else _mix_by_track(state)).get(g.track, Counter())
    return RoomView(
        g,
        members,
        people.get(g.facilitator) if g.facilitator else None,
        tuple(people.by_id[s] for s in g.sps if s in people.by_id),
        state.rooms.locked,
        calls,
        tuple(sorted(here.items(), key=lambda dc: (-dc[1], dc[0]))),
        over_share(here, track),
        visitors_of(state, f"group:{g.name}"),
        tuple(
            people.by_id[x]
            for x in state.talk.hands.get(f"group:{g.name}", ())
            if x in people.by_id
        ),
        tuple(m.seq for m in state.talk.in_room(f"group:{g.name}")),
    )


def build_rooms(state: CourseState) -> list[RoomView]:
    mix = _mix_by_track(state)  # once for every tile
    rooms = [build_room(state, n, mix) for n in sorted(state.rooms.groups)]
    return [r for r in rooms if r is not None]


@dataclass(frozen=True)
class HelpView:
    track: str
    viewer: str | None  # the facilitator whose list it is (None: the director's, all calls)
    calls: tuple[tuple[HelpCall, Person | None, Person | None], ...]  # call, asker, claimer

    def may_close(self, claimer: Person | None) -> bool:
        """Done and Release are for the call's claimer and the director."""
        return self.viewer is None or (claimer is not None and claimer.id == self.viewer)


def build_help(state: CourseState, track: str, viewer: str | None = None) -> HelpView:
    """The open calls that the staff of `track` answer ("all": the director's view), as
    `viewer` (a facilitator) sees them."""
    people = state.people
    out = []
    for h in state.help.open():
        asker = people.get(h.person)
        if asker is None:
            continue
        staff = "both" if track == "all" else track
        if not track_answers(staff, help_track(state.rooms, people, h)):
            continue
        out.append((h, asker, people.get(h.claimed_by) if h.claimed_by else None))
    return HelpView(track, viewer, tuple(out))


@dataclass(frozen=True)
class VisitView:
    """A staff member's drop-in (where they are visiting, or that it ended) and, for the
    director, the quick breakout: open for some minutes, or close early."""

    person: Person | None
    place: Place
    visit: tuple[str, str] | None  # (room, item) while visiting
    breakout: Breakout | None  # open now
    may_open: bool  # the director, in an item without groups, groups formed
    item: ScheduledItem | None
    tz: ZoneInfo | None = None

    @property
    def director(self) -> bool:
        return self.person is not None and self.person.role.value == "director"

    @property
    def shown(self) -> bool:
        return (self.visit is not None and self.place.visiting) or self.director


def build_visit(state: CourseState, schedule: Schedule, pid: str, now: datetime) -> VisitView:
    item = schedule.current(now)
    person = state.people.get(pid)
    place = place_of(state.rooms, state.people, schedule, pid, now)
    breakout = state.rooms.breakout_at(item.id if item else None, now)
    may_open = (
        person is not None
        and person.role.value == "director"
        and item is not None
        and item.item.kind not in GROUP_KINDS
        and item.item.kind not in NO_ROOM_KINDS
        and bool(state.rooms.groups)
        and breakout is None
    )
    visit = state.rooms.visits.get(pid)
    return VisitView(person, place, visit, breakout, may_open, item, schedule.tz)


@dataclass(frozen=True)
class TalkView:
    """The talk beside the video of the room a page's person is in now: its chat, its raised
    hands and, in the plenary and the track sessions, its questions. `staff` views (a staff
    member's own page) also lower hands and mark questions answered."""

    key: str
    room: str | None  # None: no room now (a break)
    label: str
    messages: tuple[tuple[Message, Person | None], ...]
    hands: tuple[Person, ...]
    questions: tuple[tuple[Question, Person | None], ...]
    asks: bool  # questions are taken here
    staff: bool
    private_to: str  # who a private line here reaches, in words ("" if nobody)
    tz: ZoneInfo | None = None


def talk_room(state: CourseState, schedule: Schedule, key: str, now: datetime) -> Place:
    """The place a talk audience's people are in now: a group's members share it, a track's
    learners without a group share it, and a staff member's own page has theirs."""
    target = key.removeprefix(keys.TALK)
    if target.startswith("person:"):
        return place_of(state.rooms, state.people, schedule, target.removeprefix("person:"), now)
    return build_where(state, schedule, keys.place(target), now).place


def build_talk(state: CourseState, schedule: Schedule, key: str, now: datetime) -> TalkView:
    place = talk_room(state, schedule, key, now)
    room = media_room(place)
    people = state.people
    viewer = people.get(key.removeprefix(keys.TALK + "person:"))
    staff = viewer is not None and viewer.role in STAFF
    if room is None:
        return TalkView(key, None, place.label, (), (), (), False, staff, "", schedule.tz)
    t = state.talk
    reach = [people.by_id[x] for x in staff_of(state.rooms, people, room) if x in people.by_id]
    words = ", ".join(p.name for p in reach[:3]) + (" and others" if len(reach) > 3 else "")
    return TalkView(
        key,
        room,
        place.label,
        tuple((m, people.get(m.author)) for m in t.in_room(room)),
        tuple(people.by_id[x] for x in t.hands.get(room, ()) if x in people.by_id),
        tuple((q, people.get(q.author)) for q in t.questions_in(room)),
        is_question_room(room),
        staff,
        words,
        schedule.tz,
    )


def build_inbox(state: CourseState, pid: str) -> tuple[tuple[Message, Person | None], ...]:
    return tuple((m, state.people.get(m.author)) for m in state.talk.private_for(pid))
