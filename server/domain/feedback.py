"""Feedback on role-play turns, "next time I will…", reflections and evaluations.

Every submission carries an id made by the person's browser (`sid`). The same id sent again is the
same submission: it produces no event, so a page that resends after a lost reply or a restart
never stores anything twice. A new id from the same person for the same turn, reflection or
evaluation form replaces their earlier answers (the log keeps both); if it changes nothing (the
same answers again), it is a repeat too and produces no event.

The forms themselves are content (scenarios/instruments, scenarios/evaluations); the transport
passes their shape in as a `Spec`, so this module checks answers without reading files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from server.domain.agenda import Schedule
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.roleplay import RoleplaysState, capacities
from server.domain.roles import Actor, Role
from server.domain.rooms import RoomsState

SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
OBSERVED_CHOICES = ("observed", "partly", "not_observed", "not_applicable")
SCALE_CHOICES = ("1", "2", "3", "4", "5")
MAX_TEXT = 2000
MAX_QUOTE = 500
MAX_REFLECTION = 5000

# A form's shape: (item id, kind) pairs; kinds are observed, scale, quote and text.
Spec = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Feedback:
    sid: str
    author: str
    capacity: str  # "peer", "facilitator" or "sp"
    group: str
    turn: int  # 1-based position in the group's turns
    learner: str
    instrument: str
    answers: Mapping[str, str]
    moments: Mapping[str, str]  # quote item -> the beat it was said in
    at: datetime


@dataclass(frozen=True)
class NextTime:
    sid: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Reflection:
    sid: str
    author: str
    item: str  # the agenda item it was written for ("" when none was running)
    prompt: str
    text: str
    at: datetime
    shared_with: str | None = None  # the group it is shared with; None while private


@dataclass(frozen=True)
class Evaluation:
    sid: str
    author: str
    form: str
    answers: Mapping[str, str]
    at: datetime


TurnKey = tuple[str, int]


@dataclass(frozen=True)
class FeedbackState:
    sids: Mapping[str, str] = field(default_factory=dict)  # every submission id -> its author
    turns: Mapping[TurnKey, Mapping[str, Feedback]] = field(default_factory=dict)
    released: frozenset[TurnKey] = frozenset()
    next_time: Mapping[TurnKey, NextTime] = field(default_factory=dict)
    reflections: Mapping[str, Reflection] = field(default_factory=dict)  # by sid, in order
    evaluations: Mapping[tuple[str, str], Evaluation] = field(default_factory=dict)

    def on_turn(self, group: str, turn: int) -> tuple[Feedback, ...]:
        return tuple(self.turns.get((group, turn), {}).values())

    def reflections_of(self, author: str) -> tuple[Reflection, ...]:
        return tuple(r for r in self.reflections.values() if r.author == author)

    def shared_in(self, group: str) -> tuple[Reflection, ...]:
        return tuple(r for r in self.reflections.values() if r.shared_with == group)

    def evaluated(self, author: str) -> frozenset[str]:
        return frozenset(f for (a, f) in self.evaluations if a == author)


# --- evaluations ----------------------------------------------------------------------------

COURSE_EVALUATION = "course"


def evaluation_keys(schedule: Schedule) -> tuple[str, ...]:
    """One evaluation per course day (`day-1`…) and one for the whole course."""
    return (*(f"day-{d}" for d in range(1, schedule.course.days + 1)), COURSE_EVALUATION)


def evaluation_opens(schedule: Schedule, key: str) -> datetime:
    """The rule: a day's evaluation opens when that day's last item starts; the course
    evaluation opens when the last day's last item starts. Both stay open afterwards."""
    if key not in evaluation_keys(schedule):
        raise DomainError(f"There is no evaluation called {key!r}.")
    day = schedule.course.days if key == COURSE_EVALUATION else int(key.removeprefix("day-"))
    return schedule.day_items(day)[-1].start


# --- commands --------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class WriteReflection:
    sid: str
    item: str
    prompt: str
    text: str
    share: bool = False


@dataclass(frozen=True)
class ShareReflection:
    sid: str  # the reflection's id
    share: bool


@dataclass(frozen=True)
class SubmitEvaluation:
    sid: str
    form: str  # day-1, day-2, … or course
    spec: Spec
    answers: Mapping[str, str]


FeedbackCommand = (
    SubmitFeedback
    | ReleaseFeedback
    | WriteNextTime
    | WriteReflection
    | ShareReflection
    | SubmitEvaluation
)
FEEDBACK_COMMANDS = (
    SubmitFeedback,
    ReleaseFeedback,
    WriteNextTime,
    WriteReflection,
    ShareReflection,
    SubmitEvaluation,
)
EVENT_TYPES = frozenset(
    {
        "feedback.submitted",
        "feedback.released",
        "nexttime.written",
        "reflection.written",
        "reflection.shared",
        "evaluation.submitted",
    }
)


def _sid(feedback: FeedbackState, sid: str, actor: Actor) -> bool:
    """True if `sid` is new; False if this person already sent it (a repeat). Raises on ids
    that are malformed or that belong to someone else."""
    if not SID.match(sid):
        raise DomainError("This form has no valid submission id; reload the page and send again.")
    owner = feedback.sids.get(sid)
    if owner is None:
        return True
    if owner != actor.id:
        raise DomainError("That submission id is already in use; reload the page and send again.")
    return False


def check_answers(spec: Spec, answers: Mapping[str, str], where: str) -> dict[str, str]:
    """The non-empty answers, each checked against its item's kind; errors name the item."""
    kinds = dict(spec)
    out: dict[str, str] = {}
    for item, raw in answers.items():
        if item not in kinds:
            raise DomainError(f"{where} has no item {item!r}.")
        value = raw.strip()
        if not value:
            continue
        kind = kinds[item]
        if kind == "observed" and value not in OBSERVED_CHOICES:
            raise DomainError(f"{item}: choose observed, partly, not observed or not applicable.")
        if kind == "scale" and value not in SCALE_CHOICES:
            raise DomainError(f"{item}: choose a rating from 1 to 5, not {value!r}.")
        limit = MAX_QUOTE if kind == "quote" else MAX_TEXT
        if kind in ("text", "quote") and len(value) > limit:
            raise DomainError(f"{item}: keep it under {limit} characters ({len(value)} given).")
        out[item] = value
    if not out:
        raise DomainError(f"{where} is empty; answer at least one item.")
    return out


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
    schedule: Schedule,
    command: FeedbackCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    if isinstance(command, WriteReflection):
        if not _sid(fb, command.sid, actor):
            return []
        if len(command.item) > 64:
            raise DomainError("That agenda item id is not one of this course's.")
        text = command.text.strip()
        if not text:
            raise DomainError("A reflection needs some text.")
        if len(text) > MAX_REFLECTION:
            raise DomainError(f"Keep a reflection under {MAX_REFLECTION} characters.")
        prompt = command.prompt.strip()[:500]
        for written in fb.reflections_of(actor.id):
            if (written.item, written.prompt, written.text) == (command.item, prompt, text):
                return []  # the same reflection again, under another id: nothing new
        data: dict[str, Any] = {
            "sid": command.sid,
            "item": command.item,
            "prompt": prompt,
            "text": text,
        }
        events = [NewEvent("reflection.written", actor.id, now, data)]
        if command.share:
            events += _share(fb, rooms, command.sid, actor, now, True, new=True)
        return events
    if isinstance(command, ShareReflection):
        r = fb.reflections.get(command.sid)
        if r is None or r.author != actor.id:
            raise DomainError("You have no reflection with that id.")
        return _share(fb, rooms, command.sid, actor, now, command.share)
    if isinstance(command, SubmitEvaluation):
        if actor.role is not Role.LEARNER:
            raise PermissionDenied("Only learners fill in the course evaluations.")
        opens = evaluation_opens(schedule, command.form)
        if now < opens:
            raise DomainError("This evaluation opens at the start of the day's last session.")
        if not _sid(fb, command.sid, actor):
            return []
        answers = check_answers(command.spec, command.answers, "The evaluation")
        submitted = fb.evaluations.get((actor.id, command.form))
        if submitted is not None and dict(submitted.answers) == answers:
            return []  # the same answers again: nothing new
        data = {"sid": command.sid, "form": command.form, "answers": answers}
        events = [NewEvent("evaluation.submitted", actor.id, now, data)]
        if command.form == COURSE_EVALUATION:
            done = {"person": actor.id, "form": command.form}
            events.append(NewEvent("evaluation.completed", actor.id, now, done))
        return events

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
        if not _sid(fb, command.sid, actor):
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
        raise DomainError("This was your own turn; your feedback comes from the others.")
    if not _sid(fb, command.sid, actor):
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


def _share(
    fb: FeedbackState,
    rooms: RoomsState,
    sid: str,
    actor: Actor,
    now: datetime,
    share: bool,
    new: bool = False,
) -> list[NewEvent]:
    current = None if new else fb.reflections[sid].shared_with
    if share:
        g = rooms.group_of(actor.id)
        if g is None:
            raise DomainError("You are not in a small group yet, so there is no one to share with.")
        if current == g.name:
            return []
        return [NewEvent("reflection.shared", actor.id, now, {"sid": sid, "group": g.name})]
    if current is None:
        return []
    return [NewEvent("reflection.shared", actor.id, now, {"sid": sid, "group": None})]


def apply_feedback(fb: FeedbackState, e: Event) -> FeedbackState:
    d = e.data
    if "sid" in d:  # (a share names its reflection's id, which is already its author's)
        fb = replace(fb, sids={**fb.sids, str(d["sid"]): e.actor})
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
        return replace(fb, turns={**fb.turns, key: on_turn})
    if e.type == "feedback.released":
        return replace(fb, released=fb.released | {(str(d["group"]), int(d["turn"]))})
    if e.type == "nexttime.written":
        key = (str(d["group"]), int(d["turn"]))
        nt = NextTime(str(d["sid"]), str(d["text"]), e.at)
        return replace(fb, next_time={**fb.next_time, key: nt})
    if e.type == "reflection.written":
        r = Reflection(
            str(d["sid"]), e.actor, str(d["item"]), str(d["prompt"]), str(d["text"]), e.at
        )
        return replace(fb, reflections={**fb.reflections, r.sid: r})
    if e.type == "reflection.shared":
        sid = str(d["sid"])
        group = d.get("group")
        r = replace(fb.reflections[sid], shared_with=str(group) if group else None)
        return replace(fb, reflections={**fb.reflections, sid: r})
    if e.type == "evaluation.submitted":
        ev = Evaluation(str(d["sid"]), e.actor, str(d["form"]), dict(d["answers"]), e.at)
        return replace(fb, evaluations={**fb.evaluations, (e.actor, ev.form): ev})
    return fb
