"""Room media rules: which room's audio and video a person is in, who is on the stage, who is
muted on joining, when a turn may be recorded, and how long recordings are kept.

Pure: the course state and the instant are passed in. The media server (server/media/) asks
these functions and moves packets; it decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.placement import Place
from server.domain.roleplay import Phase, Roleplay, RoleplaysState, capacities
from server.domain.roles import MEDIA_ACTOR, Actor, Role, require
from server.domain.rooms import RoomsState

MAX_VIDEO = 9  # video tiles a viewer receives: the stage first, then others by arrival
MAX_AUDIO = 16
MAX_LINK = 500
STAFF = frozenset({Role.DIRECTOR, Role.FACILITATOR})
SCENE = (Phase.RUNNING, Phase.TIMEOUT)


def media_room(place: Place) -> str | None:
    """The media room of a place: breaks and "nowhere" have none."""
    if place.kind in ("break", "none"):
        return None
    return place.room


@dataclass(frozen=True)
class Layout:
    """How one room looks: who is on the stage (large), everyone else (small), who joins muted."""

    stage: tuple[str, ...]
    others: tuple[str, ...]
    muted_on_join: frozenset[str]
    label: str  # why the stage is what it is, for the page

    @property
    def order(self) -> tuple[str, ...]:
        """Who comes first in a viewer's tiles: the stage, then everyone else by arrival."""
        return (*self.stage, *self.others)


def layout(
    room: str,
    present: Sequence[tuple[str, Role]],
    rooms: RoomsState,
    roleplays: RoleplaysState,
) -> Layout:
    """The layout of `room` for the people `present` (in arrival order).

    In a small group during a scene, the stage is the SP, the learner in the hot seat and the
    facilitator; observers are small and join muted. Between scenes the group is a gallery of
    equals. In a plenary or track session the course staff are on the stage and learners join
    muted.
    """
    ids = [pid for pid, _ in present]
    stage: list[str] = []
    label = "Everyone"
    if room.startswith("group:"):
        name = room.removeprefix("group:")
        g = rooms.groups.get(name)
        rp = roleplays.of(name)
        if g is not None and rp.phase in SCENE and rp.hot_seat:
            wanted = [*g.sps, rp.hot_seat, *([g.facilitator] if g.facilitator else [])]
            stage = [p for p in wanted if p in ids]
            label = "Role-play on stage" if rp.phase is Phase.RUNNING else "Time-out"
    else:
        stage = [pid for pid, role in present if role in STAFF]
        label = "Course staff"
    on_stage = set(stage)
    others = tuple(p for p in ids if p not in on_stage)
    muted = frozenset(others) if stage else frozenset()
    return Layout(tuple(dict.fromkeys(stage)), others, muted, label)


def may_share_screen(role: Role, pid: str, room: str | None, rooms: RoomsState) -> str | None:
    """Whether `pid` may share a screen in `room`: course staff (the director and facilitators)
    in the plenary and track sessions, the group's own facilitator (or the director) in a small
    group. None when they may; otherwise the reason, for the page."""
    if room is None:
        return "There is no room to share a screen in right now."
    if role not in STAFF:
        return "Only course staff share a screen: ask the facilitator to share it."
    if room.startswith("group:") and role is not Role.DIRECTOR:
        group = rooms.groups.get(room.removeprefix("group:"))
        if group is None or group.facilitator != pid:
            return "Only this group's facilitator shares a screen here."
    return None


def visible(lay: Layout, viewer: str, limit: int = MAX_VIDEO) -> list[str]:
    """Whose video `viewer` receives: the stage, then others, never themself, at most `limit`."""
    return visible_of(lay.order, viewer, limit)


def visible_of(ordered: Sequence[str], viewer: str, limit: int) -> list[str]:
    """The first `limit` of `ordered` that are not `viewer` (it stops as soon as it has them)."""
    out: list[str] = []
    for pid in ordered:
        if len(out) == limit:
            break
        if pid != viewer:
            out.append(pid)
    return out


# --- recording, consent, external links -----------------------------------------------------


@dataclass(frozen=True)
class Recording:
    id: str  # "<group>/<turn>.<segment>.<start epoch>/<person>"
    group: str
    turn: int  # 1-based turn in the group's role-play
    segment: int  # 1-based: a turn is split at each time-out
    person: str  # whose camera and microphone
    file: str  # relative to the recordings folder
    started: datetime
    ended: datetime
    size: int
    learner: str = ""  # who was in the hot seat

    @property
    def part(self) -> str:
        return f"{self.turn}.{self.segment}.{int(self.started.timestamp())}"


@dataclass(frozen=True)
class MediaState:
    recording_on: frozenset[str] = frozenset()  # groups whose turns are recorded
    consent: Mapping[str, frozenset[str]] = field(default_factory=dict)  # group -> people
    recordings: Mapping[str, Recording] = field(default_factory=dict)  # live ones, by id
    links: Mapping[str, str] = field(default_factory=dict)  # room -> external meeting link
    hosts: Mapping[str, str] = field(default_factory=dict)  # room -> media server instance


def stage_of_turn(rooms: RoomsState, rp: Roleplay) -> tuple[str, ...]:
    """Who is on the stage of `rp`'s running turn, present or not."""
    g = rooms.groups.get(rp.group)
    if g is None or rp.hot_seat is None:
        return ()
    return tuple(dict.fromkeys([*g.sps, rp.hot_seat, *([g.facilitator] if g.facilitator else [])]))


def recording_blocked(media: MediaState, rooms: RoomsState, rp: Roleplay) -> str | None:
    """Why the running scene of `rp` may not be recorded right now (None: it may)."""
    if rp.group not in media.recording_on:
        return "Recording is off for this group."
    if rp.phase is not Phase.RUNNING:
        return "Only a running scene is recorded."
    stage = stage_of_turn(rooms, rp)
    missing = [p for p in stage if p not in media.consent.get(rp.group, frozenset())]
    if missing:
        return f"Waiting for consent from {len(missing)} of {len(stage)} on the stage."
    return None


def segment_of(rp: Roleplay) -> tuple[int, int] | None:
    """(turn, segment) of the running scene: a turn's segments are its stretches between
    time-outs. None while nothing runs."""
    t = rp.turn
    if t is None or rp.phase is not Phase.RUNNING:
        return None
    return len(rp.turns), t.timeouts + 1


def expired(media: MediaState, now: datetime, days: float) -> list[str]:
    """Recordings older than the retention period (days; 0 keeps them until deleted)."""
    if days <= 0:
        return []
    limit = now - timedelta(days=days)
    return sorted(r.id for r in media.recordings.values() if r.ended < limit)


def may_replay(rooms: RoomsState, actor: Actor, group: str) -> bool:
    """Recordings of a group are for that group (its learners, SP actors and facilitator) and the
    course director; nobody else."""
    if actor.role is Role.DIRECTOR:
        return True
    g = rooms.groups.get(group)
    return g is not None and (
        actor.id in g.members or actor.id in g.sps or actor.id == g.facilitator
    )


def rooms_for_links(rooms: RoomsState) -> list[tuple[str, str]]:
    """Every room a meeting link can be set on: (key, label)."""
    out = [
        ("plenary", "Plenary"),
        ("track:adult", "Adult session"),
        ("track:pediatric", "Pediatric session"),
    ]
    out += [(f"group:{name}", f"Small group {name}") for name in sorted(rooms.groups)]
    return out


def check_link(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_LINK:
        raise DomainError(f"A meeting link may be at most {MAX_LINK} characters.")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or any(c in url for c in " \"'<>"):
        raise DomainError(f"A meeting link must be a full https:// address, not {url!r}.")
    return url


@dataclass(frozen=True)
class SetRecording:
    group: str
    on: bool


@dataclass(frozen=True)
class GiveConsent:
    group: str
    given: bool


@dataclass(frozen=True)
class SaveRecording:
    """Written by the media server when a segment's file is complete."""

    group: str
    turn: int
    segment: int
    person: str
    file: str
    started: datetime
    ended: datetime
    size: int
    learner: str = ""


@dataclass(frozen=True)
class DeleteRecording:
    id: str
    reason: str = "deleted"  # "deleted" by the director, or "expired"


@dataclass(frozen=True)
class SetRoomLink:
    room: str
    url: str  # "" removes it


@dataclass(frozen=True)
class HostRoom:
    """Written by the media engine: `room` now lives on media server `instance` (a room is
    never split; every worker and host reads this to find it)."""

    room: str
    instance: str


MediaCommand = SetRecording | GiveConsent | SaveRecording | DeleteRecording | SetRoomLink | HostRoom
EVENT_TYPES = frozenset(
    {
        "recording.set",
        "consent.given",
        "consent.withdrawn",
        "recording.saved",
        "recording.deleted",
        "room.link_set",
        "room.hosted",
    }
)
ROOM_PREFIXES = ("plenary", "track:", "group:")


def decide_media(
    media: MediaState,
    rooms: RoomsState,
    roleplays: RoleplaysState,
    command: MediaCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    def ev(type_: str, **data: Any) -> NewEvent:
        return NewEvent(type_, actor.id, now, data)

    if isinstance(command, SetRecording):
        caps = capacities(rooms, command.group, actor, roleplays.of(command.group))
        if "facilitator" not in caps:
            raise PermissionDenied("Only the group's facilitator may turn recording on or off.")
        if (command.group in media.recording_on) == command.on:
            return []
        return [ev("recording.set", group=command.group, on=command.on)]
    if isinstance(command, GiveConsent):
        caps = capacities(rooms, command.group, actor, roleplays.of(command.group))
        if not caps & {"facilitator", "sp", "member"}:
            raise PermissionDenied(f"You are not in group {command.group}.")
        has = actor.id in media.consent.get(command.group, frozenset())
        if has == command.given:
            return []
        kind = "consent.given" if command.given else "consent.withdrawn"
        return [ev(kind, group=command.group, person=actor.id)]
    if isinstance(command, SaveRecording):
        if actor != MEDIA_ACTOR:
            raise PermissionDenied("Only the media server records.")
        part = f"{command.turn}.{command.segment}.{int(command.started.timestamp())}"
        rid = f"{command.group}/{part}/{command.person}"
        if rid in media.recordings:
            raise DomainError(f"Recording {rid} is already saved.")
        return [
            ev(
                "recording.saved",
                id=rid,
                group=command.group,
                turn=command.turn,
                segment=command.segment,
                person=command.person,
                file=command.file,
                started=command.started.isoformat(),
                ended=command.ended.isoformat(),
                size=command.size,
                learner=command.learner,
            )
        ]
    if isinstance(command, DeleteRecording):
        if command.reason == "expired":
            if actor != MEDIA_ACTOR:
                raise PermissionDenied("Only the media server expires recordings.")
        else:
            require(actor, frozenset({Role.DIRECTOR}), "delete a recording")
        rec = media.recordings.get(command.id)
        if rec is None:
            raise DomainError(f"There is no recording {command.id!r} (already deleted?).")
        return [ev("recording.deleted", id=command.id, file=rec.file, reason=command.reason)]
    if isinstance(command, SetRoomLink):
        require(actor, frozenset({Role.DIRECTOR}), "set a room's meeting link")
        room = command.room
        if not room.startswith(ROOM_PREFIXES):
            raise DomainError(f"{room!r} is not a room (plenary, track:… or group:…).")
        if room.startswith("group:") and room.removeprefix("group:") not in rooms.groups:
            raise DomainError(f"There is no group named {room.removeprefix('group:')!r}.")
        url = check_link(command.url) if command.url.strip() else ""
        if media.links.get(room, "") == url:
            return []
        return [ev("room.link_set", room=room, url=url)]
    if isinstance(command, HostRoom):
        if actor != MEDIA_ACTOR:
            raise PermissionDenied("Only the media engine places rooms on its servers.")
        if not command.room.startswith(ROOM_PREFIXES):
            raise DomainError(f"{command.room!r} is not a room (plenary, track:… or group:…).")
        before = media.hosts.get(command.room, "")
        if before == command.instance:
            return []
        return [ev("room.hosted", room=command.room, instance=command.instance, before=before)]
    raise DomainError(f"Unknown command {type(command).__name__}")


def host_for(hosts: Mapping[str, str], alive: Sequence[str], room: str) -> str | None:
    """The media server instance `room` should live on: where it lives now if that instance is
    alive, else the alive instance with the fewest rooms (ties by the order given). None if no
    instance is alive."""
    current = hosts.get(room)
    if current in alive:
        return current
    if not alive:
        return None
    load = {name: 0 for name in alive}
    for r, name in hosts.items():
        if name in load and r != room:
            load[name] += 1
    return min(alive, key=lambda name: (load[name], alive.index(name)))


def apply_media(media: MediaState, e: Event) -> MediaState:
    d = e.data
    if e.type == "recording.set":
        g = str(d["group"])
        on = media.recording_on | {g} if d["on"] else media.recording_on - {g}
        return replace(media, recording_on=on)
    if e.type in ("consent.given", "consent.withdrawn"):
        g, p = str(d["group"]), str(d["person"])
        now = media.consent.get(g, frozenset())
        now = now | {p} if e.type == "consent.given" else now - {p}
        return replace(media, consent={**media.consent, g: now})
    if e.type == "recording.saved":
        rec = Recording(
            str(d["id"]),
            str(d["group"]),
            int(d["turn"]),
            int(d["segment"]),
            str(d["person"]),
            str(d["file"]),
            datetime.fromisoformat(str(d["started"])),
            datetime.fromisoformat(str(d["ended"])),
            int(d["size"]),
            str(d.get("learner", "")),
        )
        return replace(media, recordings={**media.recordings, rec.id: rec})
    if e.type == "recording.deleted":
        rest = {k: v for k, v in media.recordings.items() if k != d["id"]}
        return replace(media, recordings=rest)
    if e.type == "room.link_set":
        room, url = str(d["room"]), str(d["url"])
        links = {k: v for k, v in media.links.items() if k != room}
        if url:
            links[room] = url
        return replace(media, links=links)
    if e.type == "room.hosted":
        return replace(media, hosts={**media.hosts, str(d["room"]): str(d["instance"])})
    return media
