"""Feedback on role-play turns: who gives it on which turn (peer, SP, facilitator), its release
to the learner at debrief, and the learner's "next time I will…". The id rule every submission
follows is in `submissions`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.roleplay import RoleplaysState, capacities
from server.domain.roles import Actor
from server.domain.rooms import RoomsState
from server.domain.submissions import (
    MAX_TEXT,
    Feedback,
    FeedbackState,
    NextTime,
    Spec,
    check_answers,
    is_new,
    with_sid,
)

EVENT_TYPES = frozenset({"feedback.submitted", "feedback.released", "nexttime.written"})

# The learner rates their own turn on the global rating, which every observer's form also holds,
# so the turn shows self against others (the gap analysis of the Gap-Kalamazoo form).
SELF_RATING = "global-communication"
SELF = "self"  # the capacity of a learner's rating of their own turn


@dataclass(frozen=True)
class SubmitFeedback:
    sid: str
    group: str
    turn: int
    instrument: str
    spec: Spec
    answers: Mapping[str, str]
    moments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleaseFeedback:
    group: str
    turn: int


@dataclass(frozen=True)
class WriteNextTime:
    sid: str
    group: str
    turn: int
    text: str


FeedbackCommand = SubmitFeedback | ReleaseFeedback | WriteNextTime


def _capacity(rooms: RoomsState, roleplays: RoleplaysState, group: str, actor: Actor) -> str:
    """Who `actor` gives feedback as in `group`: facilitator, SP or peer (the role-play's rule)."""
    held = capacities(rooms, group, actor, roleplays.of(group))
    for capacity, name in (("facilitator", "facilitator"), ("sp", "sp"), ("member", "peer")):
        if capacity in held:
            return name
    raise PermissionDenied(f"Only people in {group} may give feedback there.")


def decide_feedback(
    fb: FeedbackState,
    rooms: RoomsState,
    roleplays: RoleplaysState,
    command: FeedbackCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    capacity = _capacity(rooms, roleplays, command.group, actor)
    if isinstance(command, ReleaseFeedback) and capacity != "facilitator":
        raise PermissionDenied("Only the group's facilitator may release feedback.")
    rp = roleplays.of(command.group)
    if not 1 <= command.turn <= len(rp.turns):
        raise DomainError(f"{command.group} has no turn {command.turn}.")
    turn = rp.turns[command.turn - 1]
    key = (command.group, command.turn)
    if isinstance(command, ReleaseFeedback):
        if turn.ended_at is None:
            raise DomainError("Release feedback once the turn has ended, at debrief.")
        if key in fb.released:
            return []
        body = {"group": command.group, "turn": command.turn, "learner": turn.learner}
        return [NewEvent("feedback.released", actor.id, now, body)]
    if isinstance(command, WriteNextTime):
        if actor.id != turn.learner:
            raise PermissionDenied("Only the learner whose turn it was writes “next time I will…”.")
        if key not in fb.released:
            raise DomainError("Write this after your facilitator has shared your feedback.")
        if not is_new(fb, command.sid, actor):
            return []
        text = command.text.strip()
        if not text:
            raise DomainError("Finish the sentence “Next time I will…”.")
        if len(text) > MAX_TEXT:
            raise DomainError(f"Keep it under {MAX_TEXT} characters.")
        earlier_text = fb.next_time.get(key)
        if earlier_text is not None and earlier_text.text == text:
            return []  # the same words again: nothing new
        body = {"sid": command.sid, "group": command.group, "turn": command.turn, "text": text}
        return [NewEvent("nexttime.written", actor.id, now, body)]
    # SubmitFeedback
    if actor.id == turn.learner:
        if command.instrument != SELF_RATING:
            raise DomainError("On your own turn you rate yourself on the global rating only.")
        capacity = SELF
    if not is_new(fb, command.sid, actor):
        return []
    answers = check_answers(command.spec, command.answers, "The feedback form")
    moments = {k: v for k, v in command.moments.items() if k in answers and v and len(v) <= 64}
    mine = fb.turns.get(key, {}).get(actor.id)
    if mine is not None and (dict(mine.answers), dict(mine.moments), mine.instrument) == (
        answers,
        moments,
        command.instrument,
    ):
        return []  # the same answers again: nothing new
    body = {
        "sid": command.sid,
        "group": command.group,
        "turn": command.turn,
        "learner": turn.learner,
        "capacity": capacity,
        "instrument": command.instrument,
        "answers": answers,
        "moments": moments,
    }
    return [NewEvent("feedback.submitted", actor.id, now, body)]


def apply_feedback(fb: FeedbackState, e: Event) -> FeedbackState:
    fb = with_sid(fb, e)
    d = e.data
    if e.type == "feedback.submitted":
        key = (str(d["group"]), int(d["turn"]))
        f = Feedback(
            sid=str(d["sid"]),
            author=e.actor,
            capacity=str(d["capacity"]),
            group=key[0],
            turn=key[1],
            learner=str(d["learner"]),
            instrument=str(d["instrument"]),
            answers=dict(d["answers"]),
            moments=dict(d.get("moments") or {}),
            at=e.at,
        )
        on_turn = {**fb.turns.get(key, {}), e.actor: f}
        return replace(fb, turns=fb.turns.setting(key, on_turn))
    if e.type == "feedback.released":
        key = (str(d["group"]), int(d["turn"]))
        # An assessment is feedback given on the learner's turn by someone else, released to them.
        others = any(f.capacity != SELF for f in fb.turns.get(key, {}).values())
        learner = {str(d["learner"])} if d.get("learner") and others else set()
        return replace(fb, released=fb.released | {key}, assessed=fb.assessed | learner)
    if e.type == "nexttime.written":
        key = (str(d["group"]), int(d["turn"]))
        nt = NextTime(str(d["sid"]), str(d["text"]), e.at)
        return replace(fb, next_time=fb.next_time.setting(key, nt))
    return fb
