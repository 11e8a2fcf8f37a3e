"""The course's state as a pure projection of its events, and the commands that change it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain import erasure as er
from server.domain import feedback as fb
from server.domain import media as md
from server.domain import people_rules as pr
from server.domain import roleplay as rp
from server.domain import rooms as rr
from server.domain.agenda import MAX_DELAY_MINUTES, Schedule
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.people import PeopleState
from server.domain.roles import Actor, Role, require

MAX_ANNOUNCEMENT = 500
DIRECTOR_ONLY = frozenset({Role.DIRECTOR})


@dataclass(frozen=True)
class Delay:
    item_id: str
    minutes: int
    at: datetime


@dataclass(frozen=True)
class Announcement:
    seq: int
    at: datetime
    text: str
    by: str
    track: str | None = None  # None: everyone; "adult" or "pediatric": that track's rooms


@dataclass(frozen=True)
class CourseState:
    """Everything the log says so far. `seq` is the last event applied (0 for an empty log)."""

    seq: int = 0
    delays: tuple[Delay, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    people: PeopleState = field(default_factory=PeopleState)
    rooms: rr.RoomsState = field(default_factory=rr.RoomsState)
    roleplays: rp.RoleplaysState = field(default_factory=rp.RoleplaysState)
    feedback: fb.FeedbackState = field(default_factory=fb.FeedbackState)
    media: md.MediaState = field(default_factory=md.MediaState)

    def schedule(self, base: Schedule) -> Schedule:
        """The base schedule with every recorded delay applied, in the order they were made."""
        out = base
        for d in self.delays:
            out = out.delayed(d.item_id, d.minutes)
        return out


def apply(state: CourseState, event: Event) -> CourseState:
    """The state after `event`. Unknown event types only advance `seq`, so that an older
    server can replay a newer log."""
    if event.seq != state.seq + 1:
        raise DomainError(f"Event {event.seq} cannot follow event {state.seq}")
    state = replace(state, seq=event.seq)
    if event.type == "agenda.delayed":
        d = Delay(str(event.data["item_id"]), int(event.data["minutes"]), event.at)
        return replace(state, delays=(*state.delays, d))
    if event.type == "announcement.sent":
        track = event.data.get("track")
        a = Announcement(event.seq, event.at, str(event.data["text"]), event.actor, track)
        return replace(state, announcements=(*state.announcements, a))
    if event.type in pr.EVENT_TYPES:
        return replace(state, people=pr.apply_people(state.people, event))
    if event.type in rr.EVENT_TYPES:
        return replace(state, rooms=rr.apply_rooms(state.rooms, event))
    if event.type in rp.EVENT_TYPES:
        return replace(state, roleplays=rp.apply_roleplays(state.roleplays, event))
    if event.type in fb.EVENT_TYPES:
        return replace(state, feedback=fb.apply_feedback(state.feedback, event))
    if event.type in md.EVENT_TYPES:
        return replace(state, media=md.apply_media(state.media, event))
    return state


def replay(events: list[Event], state: CourseState | None = None) -> CourseState:
    state = state or CourseState()
    for e in events:
        state = apply(state, e)
    return state


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelayRunningItem:
    """Run the current item `minutes` longer (the delay rule is Schedule.delayed)."""

    minutes: int


@dataclass(frozen=True)
class JumpClock:
    """Move a rehearsal clock to `to`; `wall` is the Unix time of the request, so every worker
    sharing the log lands on the same course time however late it hears of it."""

    to: datetime
    wall: float


@dataclass(frozen=True)
class Announce:
    text: str
    track: str | None = None  # everyone, or only the "adult" or "pediatric" track


Command = (
    DelayRunningItem
    | JumpClock
    | Announce
    | pr.PeopleCommand
    | rr.RoomsCommand
    | rp.RoleplayCommand
    | fb.FeedbackCommand
    | md.MediaCommand
    | er.MarkErased
)


def decide(
    state: CourseState, base: Schedule, command: Command, actor: Actor, now: datetime
) -> list[NewEvent]:
    """The events that `command` by `actor` at `now` produces.

    Raises PermissionDenied for a role that may not issue it and DomainError for anything
    else the course's rules forbid; returns events only for a command that is fully legal.
    """
    if isinstance(command, DelayRunningItem):
        require(actor, DIRECTOR_ONLY, "delay the schedule")
        if not 1 <= command.minutes <= MAX_DELAY_MINUTES:
            raise DomainError(
                f"A delay must be 1 to {MAX_DELAY_MINUTES} minutes, not {command.minutes}."
            )
        current = state.schedule(base).current(now)
        if current is None:
            raise DomainError("Nothing is running right now, so there is nothing to delay.")
        data = {"item_id": current.id, "minutes": command.minutes}
        return [NewEvent("agenda.delayed", actor.id, now, data)]
    if isinstance(command, JumpClock):
        require(actor, DIRECTOR_ONLY, "move the rehearsal clock")
        data = {"to": command.to.isoformat(), "wall": command.wall}
        return [NewEvent("clock.jumped", actor.id, now, data)]
    if isinstance(command, Announce):
        require(actor, DIRECTOR_ONLY, "send an announcement")
        text = command.text.strip()
        if not text:
            raise DomainError("An announcement needs some text.")
        if len(text) > MAX_ANNOUNCEMENT:
            raise DomainError(
                f"An announcement may be at most {MAX_ANNOUNCEMENT} characters ({len(text)} given)."
            )
        if command.track not in (None, "adult", "pediatric"):
            raise DomainError(f"Send to everyone, adult or pediatric, not {command.track!r}.")
        body: dict[str, str] = {"text": text}
        if command.track:
            body["track"] = command.track
        return [NewEvent("announcement.sent", actor.id, now, body)]
    if isinstance(command, er.MarkErased):
        return er.decide_erased(state, command, actor, now)
    if isinstance(command, pr.PEOPLE_COMMANDS):
        events = pr.decide_people(state.people, state.schedule(base), command, actor, now)
        if isinstance(command, pr.Connect) and events:
            events += rr.late_joiner_events(state.rooms, state.people, actor.id, actor.id, now)
        return events
    if isinstance(command, rp.ROLEPLAY_COMMANDS):
        roleplay = state.roleplays.of(command.group)
        return rp.decide_roleplay(roleplay, state.rooms, command, actor, now)
    if isinstance(command, fb.FEEDBACK_COMMANDS):
        events = fb.decide_feedback(
            state.feedback, state.rooms, state.roleplays, state.schedule(base), command, actor, now
        )
        # Someone whose course evaluation was already recorded is not recorded twice.
        return [
            e
            for e in events
            if not (e.type == "evaluation.completed" and actor.id in state.people.evaluated)
        ]
    if isinstance(command, md.MEDIA_COMMANDS):
        return md.decide_media(state.media, state.rooms, state.roleplays, command, actor, now)
    if isinstance(command, rr.ROOMS_COMMANDS):
        schedule = state.schedule(base)
        return rr.decide_rooms(state.rooms, state.people, schedule, command, actor, now)
    raise DomainError(f"Unknown command {type(command).__name__}")
