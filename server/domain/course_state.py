"""The course's state as a pure projection of its events, and the commands that change it.

Each part of the state has its own module with its events, commands, `decide_*` and `apply_*`;
this module only routes an event or a command to its part.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain import announcements as an
from server.domain import credit, erasure, rooms
from server.domain import evaluations as ev
from server.domain import feedback as fb
from server.domain import help as hp
from server.domain import media as md
from server.domain import people_rules as pr
from server.domain import reflections as rf
from server.domain import roleplay as rp
from server.domain.agenda import (
    DELAY_EVENTS,
    Delay,
    DelayRunningItem,
    Schedule,
    apply_delay,
    decide_delay,
)
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.groups import membership
from server.domain.people import PeopleState
from server.domain.rehearsal import JumpClock, decide_jump
from server.domain.roles import Actor
from server.domain.submissions import FeedbackState


@dataclass(frozen=True)
class CourseState:
    """Everything the log says so far. `seq` is the last event applied (0 for an empty log)."""

    seq: int = 0
    delays: tuple[Delay, ...] = ()
    announcements: tuple[an.Announcement, ...] = ()
    people: PeopleState = field(default_factory=PeopleState)
    rooms: rooms.RoomsState = field(default_factory=rooms.RoomsState)
    help: hp.HelpState = field(default_factory=hp.HelpState)
    roleplays: rp.RoleplaysState = field(default_factory=rp.RoleplaysState)
    feedback: FeedbackState = field(default_factory=FeedbackState)
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
    t = event.type
    if t in DELAY_EVENTS:
        return replace(state, delays=apply_delay(state.delays, event))
    if t in an.EVENT_TYPES:
        return replace(state, announcements=an.apply_announcement(state.announcements, event))
    if t in pr.EVENT_TYPES:
        return replace(state, people=pr.apply_people(state.people, event))
    if t in rooms.EVENT_TYPES:
        return replace(state, rooms=rooms.apply_rooms(state.rooms, event))
    if t in hp.EVENT_TYPES:
        return replace(state, help=hp.apply_help(state.help, event))
    if t in rp.EVENT_TYPES:
        return replace(state, roleplays=rp.apply_roleplays(state.roleplays, event))
    if t in fb.EVENT_TYPES:
        return replace(state, feedback=fb.apply_feedback(state.feedback, event))
    if t in rf.EVENT_TYPES:
        return replace(state, feedback=rf.apply_reflection(state.feedback, event))
    if t in ev.EVENT_TYPES:
        return replace(state, feedback=ev.apply_evaluation(state.feedback, event))
    if t in md.EVENT_TYPES:
        return replace(state, media=md.apply_media(state.media, event))
    return state


def replay(events: list[Event], state: CourseState | None = None) -> CourseState:
    state = state or CourseState()
    for e in events:
        state = apply(state, e)
    return state


Command = (
    DelayRunningItem
    | JumpClock
    | an.Announce
    | pr.PeopleCommand
    | credit.ClaimCredit
    | membership.GroupsCommand
    | hp.HelpCommand
    | rp.RoleplayCommand
    | fb.FeedbackCommand
    | rf.ReflectionCommand
    | ev.SubmitEvaluation
    | md.MediaCommand
    | erasure.MarkErased
)


def decide(
    state: CourseState, base: Schedule, command: Command, actor: Actor, now: datetime
) -> list[NewEvent]:
    """The events that `command` by `actor` at `now` produces.

    Raises PermissionDenied for a role that may not issue it and DomainError for anything
    else the course's rules forbid; returns events only for a command that is fully legal.
    """
    if isinstance(command, DelayRunningItem):
        return decide_delay(state.schedule(base), command, actor, now)
    if isinstance(command, JumpClock):
        return decide_jump(command, actor, now)
    if isinstance(command, an.Announce):
        return an.decide_announce(command, actor, now)
    if isinstance(command, erasure.MarkErased):
        return erasure.decide_erased(state, command, actor, now)
    if isinstance(command, pr.PeopleCommand):
        events = pr.decide_people(state.people, state.schedule(base), command, actor, now)
        if isinstance(command, pr.Connect) and events:
            events += membership.late_joiner_events(
                state.rooms, state.people, actor.id, actor.id, now
            )
        return events
    if isinstance(command, credit.ClaimCredit):
        return credit.decide_claim(state.people, state.schedule(base), command, actor, now)
    if isinstance(command, membership.GroupsCommand):
        return membership.decide_membership(state.rooms, state.people, command, actor, now)
    if isinstance(command, hp.HelpCommand):
        schedule = state.schedule(base)
        return hp.decide_help(state.help, state.rooms, state.people, schedule, command, actor, now)
    if isinstance(command, rp.RoleplayCommand):
        roleplay = state.roleplays.of(command.group)
        return rp.decide_roleplay(roleplay, state.rooms, command, actor, now)
    if isinstance(command, fb.FeedbackCommand):
        return fb.decide_feedback(state.feedback, state.rooms, state.roleplays, command, actor, now)
    if isinstance(command, rf.ReflectionCommand):
        return rf.decide_reflection(state.feedback, state.rooms, command, actor, now)
    if isinstance(command, ev.SubmitEvaluation):
        events = ev.decide_evaluation(state.feedback, state.schedule(base), command, actor, now)
        # Someone whose course evaluation was already recorded is not recorded twice.
        return [
            e
            for e in events
            if not (e.type == "evaluation.completed" and actor.id in state.people.evaluated)
        ]
    if isinstance(command, md.MediaCommand):
        return md.decide_media(state.media, state.rooms, state.roleplays, command, actor, now)
    raise DomainError(f"Unknown command {type(command).__name__}")
