"""The course's state as a pure projection of its events, and the commands that change it.

Each part of the state has its own module with its events, commands, `decide_*` and `apply_*`;
this module only routes an event or a command to its part.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain import (
    announcements,
    authoring,
    breakouts,
    credit,
    erasure,
    evaluations,
    feedback,
    help_calls,
    lifecycle,
    mail,
    media,
    people_rules,
    reflections,
    roleplay,
    rooms,
    talk,
)
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
from server.domain.media import media_room
from server.domain.people import PeopleState
from server.domain.placement import place_of, staff_of
from server.domain.rehearsal import JumpClock, decide_jump
from server.domain.roles import Actor
from server.domain.submissions import FeedbackState


@dataclass(frozen=True)
class CourseState:
    """Everything the log says so far. `seq` is the last event applied (0 for an empty log)."""

    seq: int = 0
    delays: tuple[Delay, ...] = ()
    announcements: tuple[announcements.Announcement, ...] = ()
    people: PeopleState = field(default_factory=PeopleState)
    rooms: rooms.RoomsState = field(default_factory=rooms.RoomsState)
    help: help_calls.HelpState = field(default_factory=help_calls.HelpState)
    roleplays: roleplay.RoleplaysState = field(default_factory=roleplay.RoleplaysState)
    feedback: FeedbackState = field(default_factory=FeedbackState)
    media: media.MediaState = field(default_factory=media.MediaState)
    mail: mail.MailState = field(default_factory=mail.MailState)
    authoring: authoring.AuthoringState = field(default_factory=authoring.AuthoringState)
    talk: talk.TalkState = field(default_factory=talk.TalkState)

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
    if t in announcements.EVENT_TYPES:
        return replace(
            state, announcements=announcements.apply_announcement(state.announcements, event)
        )
    if t in people_rules.EVENT_TYPES:
        return replace(state, people=people_rules.apply_people(state.people, event))
    if t in rooms.EVENT_TYPES:
        return replace(state, rooms=rooms.apply_rooms(state.rooms, event))
    if t in breakouts.EVENT_TYPES:
        return replace(state, rooms=breakouts.apply_breakout(state.rooms, event))
    if t in help_calls.EVENT_TYPES:
        return replace(state, help=help_calls.apply_help(state.help, event))
    if t in roleplay.EVENT_TYPES:
        return replace(state, roleplays=roleplay.apply_roleplays(state.roleplays, event))
    if t in feedback.EVENT_TYPES:
        return replace(state, feedback=feedback.apply_feedback(state.feedback, event))
    if t in reflections.EVENT_TYPES:
        return replace(state, feedback=reflections.apply_reflection(state.feedback, event))
    if t in evaluations.EVENT_TYPES:
        return replace(state, feedback=evaluations.apply_evaluation(state.feedback, event))
    if t in media.EVENT_TYPES:
        return replace(state, media=media.apply_media(state.media, event))
    if t in mail.EVENT_TYPES:
        return replace(state, mail=mail.apply_mail(state.mail, event))
    if t in authoring.EVENT_TYPES:
        return replace(state, authoring=authoring.apply_authoring(state.authoring, event))
    if t in talk.EVENT_TYPES:
        return replace(state, talk=talk.apply_talk(state.talk, event))
    return state


def replay(events: list[Event], state: CourseState | None = None) -> CourseState:
    state = state or CourseState()
    for e in events:
        state = apply(state, e)
    return state


Command = (
    DelayRunningItem
    | JumpClock
    | announcements.AnnouncementCommand
    | people_rules.PeopleCommand
    | credit.ClaimCredit
    | membership.GroupsCommand
    | help_calls.HelpCommand
    | roleplay.RoleplayCommand
    | feedback.FeedbackCommand
    | reflections.ReflectionCommand
    | evaluations.SubmitEvaluation
    | media.MediaCommand
    | erasure.MarkErased
    | lifecycle.CloseFinished
    | mail.RecordMail
    | authoring.AuthoringCommand
    | breakouts.BreakoutCommand
    | talk.TalkCommand
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
    if isinstance(command, announcements.AnnouncementCommand):
        return announcements.decide_announcement(state.announcements, command, actor, now)
    if isinstance(command, lifecycle.CloseFinished):
        return lifecycle.decide_closings(state, state.schedule(base), actor, now)
    if isinstance(command, erasure.MarkErased):
        return erasure.decide_erased(state, command, actor, now)
    if isinstance(command, people_rules.PeopleCommand):
        events = people_rules.decide_people(state.people, state.schedule(base), command, actor, now)
        if isinstance(command, people_rules.Connect) and events:
            events += membership.late_joiner_events(
                state.rooms, state.people, actor.id, actor.id, now
            )
        return events
    if isinstance(command, credit.ClaimCredit):
        assessed = state.feedback.assessed
        return credit.decide_claim(
            state.people, assessed, state.schedule(base), command, actor, now
        )
    if isinstance(command, membership.GroupsCommand):
        return membership.decide_membership(state.rooms, state.people, command, actor, now)
    if isinstance(command, help_calls.HelpCommand):
        schedule = state.schedule(base)
        return help_calls.decide_help(
            state.help, state.rooms, state.people, schedule, command, actor, now
        )
    if isinstance(command, roleplay.RoleplayCommand):
        play = state.roleplays.of(command.group)
        return roleplay.decide_roleplay(play, state.rooms, command, actor, now)
    if isinstance(command, feedback.FeedbackCommand):
        return feedback.decide_feedback(
            state.feedback, state.rooms, state.roleplays, command, actor, now
        )
    if isinstance(command, reflections.ReflectionCommand):
        return reflections.decide_reflection(state.feedback, state.rooms, command, actor, now)
    if isinstance(command, evaluations.SubmitEvaluation):
        events = evaluations.decide_evaluation(
            state.feedback, state.schedule(base), command, actor, now
        )
        # Someone whose course evaluation was already recorded is not recorded twice.
        return [
            e
            for e in events
            if not (e.type == "evaluation.completed" and actor.id in state.people.evaluated)
        ]
    if isinstance(command, media.MediaCommand):
        return media.decide_media(state.media, state.rooms, state.roleplays, command, actor, now)
    if isinstance(command, mail.RecordMail):
        return mail.decide_mail(state.people, command, actor, now)
    if isinstance(command, breakouts.BreakoutCommand):
        schedule = state.schedule(base)
        return breakouts.decide_breakout(state.rooms, state.people, schedule, command, actor, now)
    if isinstance(command, talk.TalkCommand):
        place = place_of(state.rooms, state.people, state.schedule(base), actor.id, now)
        here = media_room(place)
        staff = staff_of(state.rooms, state.people, here) if here else ()
        return talk.decide_talk(state.talk, here, staff, command, actor, now)
    if isinstance(command, authoring.AuthoringCommand):
        return authoring.decide_authoring(state.authoring, state.people, command, actor, now)
    raise DomainError(f"Unknown command {type(command).__name__}")
