"""What people submit with a browser-made id: feedback on turns, "next time I will…",
reflections and evaluations (each has its own module; this one holds what they share).

Every submission carries an id made by the person's browser (`sid`). The same id sent again is the
same submission: it produces no event, so a page that resends after a lost reply or a restart
never stores anything twice. A new id from the same person for the same turn, reflection or
evaluation form replaces their earlier answers (the log keeps both); if it changes nothing (the
same answers again), it is a repeat too and produces no event.

The forms themselves are content (scenarios/instruments, scenarios/evaluations); the transport
passes their shape in as a `Spec`, so these modules check answers without reading files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.errors import DomainError
from server.domain.events import Event
from server.domain.growing import Growing
from server.domain.roles import Actor

SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
OBSERVED_CHOICES = ("observed", "partly", "not_observed", "not_applicable")
SCALE_CHOICES = ("1", "2", "3", "4", "5")
MAX_TEXT = 2000
MAX_QUOTE = 500

# A form's shape: (item id, kind) pairs; kinds are observed, scale, quote and text.
Spec = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Feedback:
    sid: str
    author: str
    capacity: str  # "peer", "facilitator", "sp", or "self" (the learner on their own turn)
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
    """Everything submitted so far, and every submission id ever used, with its author."""

    # Every submission id -> its author (grows by one id per submission: see `growing`).
    sids: Growing[str, str] = field(default_factory=Growing)
    turns: Growing[TurnKey, Mapping[str, Feedback]] = field(default_factory=Growing)
    released: frozenset[TurnKey] = frozenset()
    # Learners with an individual assessment: a turn of theirs whose feedback was released.
    assessed: frozenset[str] = frozenset()
    next_time: Growing[TurnKey, NextTime] = field(default_factory=Growing)
    reflections: Growing[str, Reflection] = field(default_factory=Growing)  # by sid, in order
    evaluations: Growing[tuple[str, str], Evaluation] = field(default_factory=Growing)

    def on_turn(self, group: str, turn: int) -> tuple[Feedback, ...]:
        return tuple(self.turns.get((group, turn), {}).values())

    def reflections_of(self, author: str) -> tuple[Reflection, ...]:
        return tuple(r for r in self.reflections.values() if r.author == author)

    def shared_in(self, group: str) -> tuple[Reflection, ...]:
        return tuple(r for r in self.reflections.values() if r.shared_with == group)

    def evaluated(self, author: str) -> frozenset[str]:
        return frozenset(f for (a, f) in self.evaluations if a == author)


def is_new(feedback: FeedbackState, sid: str, actor: Actor) -> bool:
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
        kind, _, options = kinds[item].partition("=")
        allowed = options.split("|") if options else []
        if kind == "choice" and value not in allowed:
            raise DomainError(f"{item}: choose one of {', '.join(allowed)}, not {value[:40]!r}.")
        if kind == "choices":
            picked = [v.strip() for v in value.split(",") if v.strip()]
            wrong = [v for v in picked if v not in allowed]
            if wrong:
                raise DomainError(f"{item}: {wrong[0][:40]!r} is not one of {', '.join(allowed)}.")
            value = ",".join(dict.fromkeys(picked))
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


def with_sid(fb: FeedbackState, e: Event) -> FeedbackState:
    """`fb` knowing the submission id of `e`, if it carries one, as its author's."""
    sid = e.data.get("sid")
    if sid is None:
        return fb
    return replace(fb, sids=fb.sids.setting(str(sid), e.actor))
