"""The role-play engine: one state machine per small group.

    idle ─start→ briefing ─begin turn→ running ⇄ time-out
                    ↑                     │  ↖ rewind / tag-in (a new turn, same conversation)
                    └──── debrief ←─end turn┘
                            └─end→ done ─start→ briefing (another case)

Turns: the learner in the hot seat states a goal at the start of the turn. The next learner
suggested is the one with the fewest turns so far (everyone goes once before anyone goes twice),
then in group order. A per-turn timer runs only while the scene is running. Every transition is
an event; anything illegal raises a DomainError that says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role
from server.domain.rooms import RoomsState

MAX_GOAL = 200
MAX_CUE = 300
INTENSITIES = (1, 2, 3)  # low, medium, high


class Phase(StrEnum):
    IDLE = "idle"  # no role-play in this group yet
    BRIEFING = "briefing"  # case chosen, nobody in the hot seat yet
    RUNNING = "running"  # the scene is being played
    TIMEOUT = "timeout"  # the scene is paused for the group to talk
    DEBRIEF = "debrief"  # the turn is over; feedback and reflection
    DONE = "done"  # the case is finished


@dataclass(frozen=True)
class Turn:
    learner: str
    goal: str
    started_at: datetime
    tag_in: bool = False
    running_since: datetime | None = None  # set while running
    elapsed: float = 0.0  # seconds of running before `running_since`
    timeouts: int = 0
    rewinds: tuple[str, ...] = ()
    ended_at: datetime | None = None
    scenario: str | None = None  # the case being played
    version: int = 0  # the case's version when its role-play began (0: the file's)

    def seconds_used(self, now: datetime) -> float:
        extra = (now - self.running_since).total_seconds() if self.running_since else 0.0
        return self.elapsed + max(0.0, extra)


@dataclass(frozen=True)
class Cue:
    at: datetime
    text: str


@dataclass(frozen=True)
class Roleplay:
    group: str
    phase: Phase = Phase.IDLE
    scenario: str | None = None
    beats: tuple[str, ...] = ()
    minutes: int = 0  # the door note's time for a turn
    beat: str | None = None
    intensity: int = 1
    version: int = 0  # the case's published version this role-play plays (0: the file's)
    turns: tuple[Turn, ...] = ()
    cues: tuple[Cue, ...] = ()
    timeout_by: str | None = None
    started_at: datetime | None = None  # when the current case was started

    @property
    def turn(self) -> Turn | None:
        if self.turns and self.turns[-1].ended_at is None:
            return self.turns[-1]
        return None

    @property
    def hot_seat(self) -> str | None:
        t = self.turn
        return t.learner if t else None

    @property
    def last_active(self) -> datetime | None:
        """When the case was started or its last turn began (None: no case yet)."""
        t = self.turns[-1].started_at if self.turns else None
        if self.started_at is None:
            return t
        return self.started_at if t is None else max(t, self.started_at)

    @property
    def open(self) -> bool:
        """A case is under way (briefed, running, paused or in debrief)."""
        return self.phase not in (Phase.IDLE, Phase.DONE)

    def turns_of(self, learner: str) -> int:
        return sum(1 for t in self.turns if t.learner == learner)


def suggest_next(rp: Roleplay, members: Sequence[str]) -> str | None:
    """Who should take the hot seat next: fewest turns so far, not the one just finished,
    then the group's order."""
    if not members:
        return None
    last = rp.turns[-1].learner if rp.turns else None
    order = {m: i for i, m in enumerate(members)}
    return min(members, key=lambda m: (rp.turns_of(m), m == last, order[m]))


# --- commands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRoleplay:
    group: str
    scenario: str
    track: str
    beats: tuple[str, ...]
    minutes: int
    version: int = 0  # the case's version now: the role-play keeps it to the end


@dataclass(frozen=True)
class BeginTurn:
    group: str
    learner: str
    goal: str


@dataclass(frozen=True)
class TagIn:
    group: str
    learner: str
    goal: str


@dataclass(frozen=True)
class TimeOut:
    group: str


@dataclass(frozen=True)
class TimeIn:
    group: str


@dataclass(frozen=True)
class Rewind:
    group: str
    beat: str


@dataclass(frozen=True)
class ReachBeat:
    group: str
    beat: str


@dataclass(frozen=True)
class SetIntensity:
    group: str
    level: int


@dataclass(frozen=True)
class SendCue:
    group: str
    text: str


@dataclass(frozen=True)
class EndTurn:
    group: str


@dataclass(frozen=True)
class EndRoleplay:
    group: str


RoleplayCommand = (
    StartRoleplay
    | BeginTurn
    | TagIn
    | TimeOut
    | TimeIn
    | Rewind
    | ReachBeat
    | SetIntensity
    | SendCue
    | EndTurn
    | EndRoleplay
)
EVENT_TYPES = frozenset(
    {
        "roleplay.started",
        "turn.began",
        "scene.paused",
        "scene.resumed",
        "scene.rewound",
        "beat.reached",
        "intensity.set",
        "cue.sent",
        "turn.ended",
        "roleplay.ended",
    }
)

# Which phases each command may start from.
ALLOWED: Mapping[type, frozenset[Phase]] = {
    StartRoleplay: frozenset({Phase.IDLE, Phase.DONE}),
    BeginTurn: frozenset({Phase.BRIEFING, Phase.DEBRIEF}),
    TagIn: frozenset({Phase.RUNNING, Phase.TIMEOUT}),
    TimeOut: frozenset({Phase.RUNNING}),
    TimeIn: frozenset({Phase.TIMEOUT}),
    Rewind: frozenset({Phase.TIMEOUT, Phase.RUNNING}),
    ReachBeat: frozenset({Phase.RUNNING, Phase.TIMEOUT}),
    SetIntensity: frozenset({Phase.BRIEFING, Phase.RUNNING, Phase.TIMEOUT}),
    SendCue: frozenset({Phase.BRIEFING, Phase.RUNNING, Phase.TIMEOUT}),
    EndTurn: frozenset({Phase.RUNNING, Phase.TIMEOUT}),
    EndRoleplay: frozenset({Phase.BRIEFING, Phase.DEBRIEF}),
}
PHASE_WORDS = {
    Phase.IDLE: "no role-play has started",
    Phase.BRIEFING: "the case is being briefed",
    Phase.RUNNING: "the scene is running",
    Phase.TIMEOUT: "the scene is in a time-out",
    Phase.DEBRIEF: "the turn is being debriefed",
    Phase.DONE: "the case is finished",
}
VERBS = {
    StartRoleplay: "start a case",
    BeginTurn: "start a turn",
    TagIn: "tag in",
    TimeOut: "call a time-out",
    TimeIn: "resume the scene",
    Rewind: "rewind",
    ReachBeat: "move the conversation on",
    SetIntensity: "change the intensity",
    SendCue: "send a cue",
    EndTurn: "end the turn",
    EndRoleplay: "finish the case",
}


def capacities(rooms: RoomsState, group: str, actor: Actor, rp: Roleplay) -> set[str]:
    """The capacities in which `actor` stands in `group`'s role-play."""
    g = rooms.groups.get(group)
    if g is None:
        raise DomainError(f"There is no group named {group!r}.")
    out = set()
    if actor.role is Role.DIRECTOR or g.facilitator == actor.id:
        out.add("facilitator")
    if actor.id in g.sps:
        out.add("sp")
    if actor.id in g.members:
        out.add("member")
    if rp.hot_seat == actor.id:
        out.add("hot_seat")
    return out


# Who may issue each command (capacities within the group).
WHO: Mapping[type, frozenset[str]] = {
    StartRoleplay: frozenset({"facilitator"}),
    BeginTurn: frozenset({"facilitator", "member"}),  # a member may volunteer themself
    TagIn: frozenset({"facilitator", "member"}),
    TimeOut: frozenset({"facilitator", "sp", "member"}),  # anyone in the room may call it
    TimeIn: frozenset({"facilitator", "hot_seat"}),
    Rewind: frozenset({"facilitator", "hot_seat"}),
    ReachBeat: frozenset({"facilitator", "sp"}),
    SetIntensity: frozenset({"facilitator"}),
    SendCue: frozenset({"facilitator"}),
    EndTurn: frozenset({"facilitator", "hot_seat"}),
    EndRoleplay: frozenset({"facilitator"}),
}
CAPACITY_WORDS = {
    "facilitator": "the group's facilitator",
    "sp": "the group's SP actor",
    "member": "a learner in the group",
    "hot_seat": "the learner in the hot seat",
}


def _goal(text: str) -> str:
    goal = " ".join(text.split())
    if not goal:
        raise DomainError("Say what you want to work on in this turn.")
    if len(goal) > MAX_GOAL:
        raise DomainError(f"Keep the goal under {MAX_GOAL} characters.")
    return goal


def decide_roleplay(
    rp: Roleplay, rooms: RoomsState, command: RoleplayCommand, actor: Actor, now: datetime
) -> list[NewEvent]:
    """The events of a role-play command, or a DomainError/PermissionDenied saying why not."""
    kind = type(command)
    held = capacities(rooms, command.group, actor, rp)
    if not held & WHO[kind]:
        allowed = " or ".join(CAPACITY_WORDS[c] for c in sorted(WHO[kind]))
        raise PermissionDenied(f"Only {allowed} may {VERBS[kind]}.")
    if rp.phase not in ALLOWED[kind]:
        raise DomainError(f"You cannot {VERBS[kind]} now: {PHASE_WORDS[rp.phase]}.")
    g = rooms.groups[command.group]

    def ev(type_: str, **data: Any) -> NewEvent:
        return NewEvent(type_, actor.id, now, {"group": g.name, **data})

    if isinstance(command, StartRoleplay):
        if command.track != g.track:
            raise DomainError(f"That is a {command.track} case; {g.name} is a {g.track} group.")
        if len(command.beats) < 1:
            raise DomainError("A case needs at least one beat.")
        return [
            ev(
                "roleplay.started",
                scenario=command.scenario,
                beats=list(command.beats),
                minutes=command.minutes,
                version=command.version,
            )
        ]
    if isinstance(command, BeginTurn | TagIn):
        if command.learner not in g.members:
            raise DomainError("Only a learner in this group can take the hot seat.")
        if "facilitator" not in held and command.learner != actor.id:
            raise PermissionDenied("You can volunteer yourself, not someone else.")
        if isinstance(command, TagIn) and command.learner == rp.hot_seat:
            raise DomainError("That learner is already in the hot seat.")
        goal = _goal(command.goal)
        tag = isinstance(command, TagIn)
        beat = rp.beat if tag and rp.beat else rp.beats[0]
        return [ev("turn.began", learner=command.learner, goal=goal, beat=beat, tag_in=tag)]
    if isinstance(command, TimeOut):
        return [ev("scene.paused")]
    if isinstance(command, TimeIn):
        return [ev("scene.resumed")]
    if isinstance(command, Rewind | ReachBeat):
        if command.beat not in rp.beats:
            raise DomainError(f"This case has no beat {command.beat!r}.")
        return [
            ev(
                "scene.rewound" if isinstance(command, Rewind) else "beat.reached",
                beat=command.beat,
            )
        ]
    if isinstance(command, SetIntensity):
        if command.level not in INTENSITIES:
            raise DomainError("Intensity is 1 (low), 2 (medium) or 3 (high).")
        if command.level == rp.intensity:
            return []
        return [ev("intensity.set", level=command.level)]
    if isinstance(command, SendCue):
        text = " ".join(command.text.split())
        if not text:
            raise DomainError("A cue needs some text.")
        if len(text) > MAX_CUE:
            raise DomainError(f"Keep cues under {MAX_CUE} characters.")
        return [ev("cue.sent", text=text)]
    if isinstance(command, EndTurn):
        return [ev("turn.ended")]
    return [ev("roleplay.ended")]


def _end_turn(rp: Roleplay, at: datetime) -> Roleplay:
    t = rp.turn
    if t is None:
        return rp
    done = replace(t, elapsed=t.seconds_used(at), running_since=None, ended_at=at)
    return replace(rp, turns=(*rp.turns[:-1], done))


def apply_roleplay(rp: Roleplay, e: Event) -> Roleplay:
    d = e.data
    if e.type == "roleplay.started":
        return Roleplay(
            group=rp.group,
            phase=Phase.BRIEFING,
            scenario=str(d["scenario"]),
            beats=tuple(d["beats"]),
            minutes=int(d["minutes"]),
            beat=str(d["beats"][0]),
            version=int(d.get("version") or 0),
            turns=rp.turns,
            started_at=e.at,
        )
    if e.type == "turn.began":
        rp = _end_turn(rp, e.at)
        turn = Turn(
            str(d["learner"]),
            str(d["goal"]),
            e.at,
            bool(d["tag_in"]),
            running_since=e.at,
            scenario=rp.scenario,
            version=rp.version,
        )
        return replace(
            rp, phase=Phase.RUNNING, beat=str(d["beat"]), turns=(*rp.turns, turn), timeout_by=None
        )
    t = rp.turn
    if e.type == "scene.paused" and t is not None:
        paused = replace(
            t, elapsed=t.seconds_used(e.at), running_since=None, timeouts=t.timeouts + 1
        )
        return replace(rp, phase=Phase.TIMEOUT, turns=(*rp.turns[:-1], paused), timeout_by=e.actor)
    if e.type == "scene.resumed" and t is not None:
        running = replace(t, running_since=e.at)
        return replace(rp, phase=Phase.RUNNING, turns=(*rp.turns[:-1], running), timeout_by=None)
    if e.type == "scene.rewound" and t is not None:
        beat = str(d["beat"])
        resumed = replace(t, rewinds=(*t.rewinds, beat), running_since=t.running_since or e.at)
        return replace(
            rp, phase=Phase.RUNNING, beat=beat, turns=(*rp.turns[:-1], resumed), timeout_by=None
        )
    if e.type == "beat.reached":
        return replace(rp, beat=str(d["beat"]))
    if e.type == "intensity.set":
        return replace(rp, intensity=int(d["level"]))
    if e.type == "cue.sent":
        return replace(rp, cues=(*rp.cues, Cue(e.at, str(d["text"]))))
    if e.type == "turn.ended":
        return replace(_end_turn(rp, e.at), phase=Phase.DEBRIEF, timeout_by=None)
    if e.type == "roleplay.ended":
        return replace(rp, phase=Phase.DONE)
    return rp


@dataclass(frozen=True)
class RoleplaysState:
    by_group: Mapping[str, Roleplay] = field(default_factory=dict)

    def of(self, group: str) -> Roleplay:
        return self.by_group.get(group) or Roleplay(group)


def apply_roleplays(state: RoleplaysState, e: Event) -> RoleplaysState:
    group = str(e.data["group"])
    updated = apply_roleplay(state.of(group), e)
    return replace(state, by_group={**state.by_group, group: updated})
