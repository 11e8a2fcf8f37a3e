"""Evaluations: a daily form and the course form, each open from a day's last item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from server.domain.agenda import Schedule
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role
from server.domain.submissions import (
    Evaluation,
    FeedbackState,
    Spec,
    check_answers,
    is_new,
    with_sid,
)

# evaluation.completed (the course form, or a paper one the director records) is people's.
EVENT_TYPES = frozenset({"evaluation.submitted"})


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


@dataclass(frozen=True)
class SubmitEvaluation:
    sid: str
    form: str  # day-1, day-2, … or course
    spec: Spec
    answers: Mapping[str, str]
    required: tuple[tuple[str, str], ...] = ()  # (item id, prompt) of what must be answered


def decide_evaluation(
    fb: FeedbackState, schedule: Schedule, command: SubmitEvaluation, actor: Actor, now: datetime
) -> list[NewEvent]:
    if actor.role is not Role.LEARNER:
        raise PermissionDenied("Only learners fill in the course evaluations.")
    opens = evaluation_opens(schedule, command.form)
    if now < opens:
        raise DomainError("This evaluation opens at the start of the day's last session.")
    if not is_new(fb, command.sid, actor):
        return []
    answers = check_answers(command.spec, command.answers, "The evaluation")
    missing = [prompt for item, prompt in command.required if item not in answers]
    if missing:
        raise DomainError("Please answer every required question: " + " · ".join(missing))
    submitted = fb.evaluations.get((actor.id, command.form))
    if submitted is not None and dict(submitted.answers) == answers:
        return []  # the same answers again: nothing new
    data = {"sid": command.sid, "form": command.form, "answers": answers}
    events = [NewEvent("evaluation.submitted", actor.id, now, data)]
    if command.form == COURSE_EVALUATION:
        done = {"person": actor.id, "form": command.form}
        events.append(NewEvent("evaluation.completed", actor.id, now, done))
    return events


def apply_evaluation(fb: FeedbackState, e: Event) -> FeedbackState:
    fb = with_sid(fb, e)
    d = e.data
    ev = Evaluation(str(d["sid"]), e.actor, str(d["form"]), dict(d["answers"]), e.at)
    return replace(fb, evaluations=fb.evaluations.setting((e.actor, ev.form), ev))
