"""Help calls: a learner or an SP actor calls for help from where they are; the facilitators of
their track (and the director) see the call, the first to take it has it, and only they (or the
director) release it or mark it done."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from server.domain.agenda import Schedule
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.people import PeopleState, Track
from server.domain.placement import person_track, place_of
from server.domain.roles import Actor, Role, require
from server.domain.rooms import RoomsState

MAX_HELP_NOTE = 300
ANSWERERS = frozenset({Role.FACILITATOR, Role.DIRECTOR})

# help.closed: the agenda closed a call still open at the end of its item (domain/lifecycle.py).
EVENT_TYPES = frozenset(
    {"help.requested", "help.claimed", "help.released", "help.resolved", "help.closed"}
)


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
    closed: bool = False  # by the agenda, at the end of its item, without an answer


@dataclass(frozen=True)
class HelpState:
    calls: tuple[HelpCall, ...] = ()

    def open(self) -> list[HelpCall]:
        return [h for h in self.calls if not h.resolved]

    def get(self, call_id: int) -> HelpCall | None:
        return next((h for h in self.calls if h.id == call_id), None)


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


HelpCommand = RequestHelp | ClaimHelp | ReleaseHelp | ResolveHelp


def help_track(rooms: RoomsState, people: PeopleState, call: HelpCall) -> str:
    """The track whose facilitators answer `call`: recorded when it was made (for older calls,
    the caller's track now)."""
    if call.track:
        return call.track
    asker = people.get(call.person)
    return person_track(rooms, asker) if asker else Track.BOTH.value


def track_answers(staff: str, call: str) -> bool:
    """Whether staff of track `staff` answer a call of track `call`: the same track, or
    "both" on either side."""
    return Track.BOTH.value in (staff, call) or staff == call


def may_answer(rooms: RoomsState, people: PeopleState, call: HelpCall, actor: Actor) -> bool:
    """The rule for who sees and answers a help call: the director, and facilitators of the
    call's track (`track_answers`)."""
    if actor.role is Role.DIRECTOR:
        return True
    me = people.get(actor.id)
    if actor.role is not Role.FACILITATOR or me is None:
        return False
    return track_answers(me.reg.track.value, help_track(rooms, people, call))


def decide_help(
    calls: HelpState,
    rooms: RoomsState,
    people: PeopleState,
    schedule: Schedule,
    command: HelpCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    """The events of a help command; raises PermissionDenied or DomainError if not allowed."""
    if isinstance(command, RequestHelp):
        p = people.get(actor.id)
        if p is None or p.role not in (Role.LEARNER, Role.SP):
            raise PermissionDenied("Help calls come from learners and SP actors.")
        note = " ".join(command.note.split())
        if len(note) > MAX_HELP_NOTE:
            raise DomainError(f"Keep the note under {MAX_HELP_NOTE} characters.")
        if any(h.person == p.id for h in calls.open()):
            raise DomainError("Your call for help is already waiting; a facilitator is coming.")
        room = place_of(rooms, people, schedule, p.id, now).room
        call = {"person": p.id, "room": room, "note": note, "track": person_track(rooms, p)}
        return [NewEvent("help.requested", p.id, now, call)]
    require(actor, ANSWERERS, "answer help calls")
    answered = calls.get(command.help_id)
    if answered is None or not may_answer(rooms, people, answered, actor):
        raise DomainError("No such help call.")  # nor a hint that another track has one
    if answered.resolved:
        raise DomainError("That call has already been answered.")
    data: dict[str, int | str] = {"help": answered.id, "by": actor.id, "person": answered.person}
    if isinstance(command, ClaimHelp):
        if answered.claimed_by is not None:
            who = people.get(answered.claimed_by)
            raise DomainError(f"{who.name if who else 'Someone'} already took this call.")
        return [NewEvent("help.claimed", actor.id, now, data)]
    if answered.claimed_by is None and isinstance(command, ReleaseHelp):
        raise DomainError("Nobody has taken this call yet.")
    if answered.claimed_by is None and actor.role is not Role.DIRECTOR:
        raise DomainError("Take the call first (“I'll go”), then mark it done.")
    if answered.claimed_by != actor.id and actor.role is not Role.DIRECTOR:
        who = people.get(answered.claimed_by or "")
        raise PermissionDenied(
            f"{who.name if who else 'Someone else'} took this call; only they or the course "
            "director can release it or mark it done."
        )
    kind = "help.released" if isinstance(command, ReleaseHelp) else "help.resolved"
    return [NewEvent(kind, actor.id, now, data)]


def apply_help(calls: HelpState, e: Event) -> HelpState:
    d = e.data
    if e.type == "help.requested":
        track = str(d["track"]) if d.get("track") else None
        call = HelpCall(e.seq, str(d["person"]), str(d["room"]), str(d["note"]), e.at, track=track)
        return replace(calls, calls=(*calls.calls, call))
    hid = int(d["help"])

    def changed(h: HelpCall) -> HelpCall:
        if e.type == "help.claimed":
            return replace(h, claimed_by=str(d["by"]))
        if e.type == "help.released":
            return replace(h, claimed_by=None)
        return replace(h, resolved=True, closed=e.type == "help.closed")

    return replace(calls, calls=tuple(changed(h) if h.id == hid else h for h in calls.calls))
