"""Credit and completion: what minutes of attendance earn, who may claim it, and what a board
counts as complete.

The rule: one AMA PRA Category 1 credit per 60 minutes present in credit-bearing items, in
quarter steps rounded down, capped at the course's maximum. A learner claims up to what they
earned once the course evaluation is in. For ABP MOC, "full completion" is the evaluation
submitted and credit claimed; only then are points (the credits claimed) reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from server.domain.agenda import Schedule
from server.domain.attendance import Spell, minutes_per_item, person_spells
from server.domain.errors import DomainError
from server.domain.events import NewEvent
from server.domain.people import PeopleState
from server.domain.roles import Actor, Role, require

CREDIT_STEP = 0.25


def credit_minutes(per_item: Mapping[str, float], schedule: Schedule) -> float:
    return sum(m for item_id, m in per_item.items() if schedule.get(item_id).item.credit_bearing)


def credits_for(minutes: float, cap: float) -> float:
    """Credits earned for `minutes` of participation: quarter steps, rounded down, capped."""
    quarters = math.floor(minutes / 60 / CREDIT_STEP + 1e-9)
    return min(cap, quarters * CREDIT_STEP)


@dataclass(frozen=True)
class Attendance:
    per_item: Mapping[str, float]
    credit_minutes: float
    earned: float


def attendance(
    closed: Sequence[Spell], open_since: datetime | None, now: datetime, schedule: Schedule
) -> Attendance:
    per_item = minutes_per_item(person_spells(closed, open_since, now), schedule)
    minutes = credit_minutes(per_item, schedule)
    return Attendance(
        per_item, minutes, credits_for(minutes, schedule.course.credits.ama_pra_category_1)
    )


def full_attendance_minutes(schedule: Schedule) -> float:
    return sum(s.duration.total_seconds() / 60 for s in schedule.items if s.item.credit_bearing)


@dataclass(frozen=True)
class ClaimCredit:
    credits: float


def claim_refused(role: Role, evaluated: bool, earned: float, credits: float) -> str | None:
    """Why a claim of `credits` may not be made now (None: it may). The rule: a learner, whose
    course evaluation is in, claims in quarter steps up to what their attendance earned."""
    if role is not Role.LEARNER:
        return "Only learners claim credit."
    if not evaluated:
        return "Please submit the course evaluation before claiming credit."
    if credits <= 0 or abs(credits / CREDIT_STEP - round(credits / CREDIT_STEP)) > 1e-9:
        return f"Claim credit in steps of {CREDIT_STEP:.2f}, not {credits}."
    if credits > earned + 1e-9:
        return f"You may claim up to {earned:.2f} credits, not {credits:.2f}."
    return None


def may_claim(role: Role, evaluated: bool, earned: float) -> bool:
    """Whether someone may claim some credit now (the least step, by `claim_refused`)."""
    return claim_refused(role, evaluated, earned, CREDIT_STEP) is None


def full_completion(evaluated: bool, claimed: float | None) -> bool:
    """For ABP MOC: the course evaluation submitted and credit claimed."""
    return evaluated and claimed is not None


def abp_points(evaluated: bool, claimed: float | None, abp_id: str | None) -> float | None:
    """The ABP MOC points to report: the credits claimed, on full completion, for someone with an
    ABP ID; else none."""
    return claimed if full_completion(evaluated, claimed) and abp_id else None


def decide_claim(
    people: PeopleState, schedule: Schedule, command: ClaimCredit, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, frozenset({Role.LEARNER}), "claim credit")
    p = people.get(actor.id)
    if p is None or p.erased:
        raise DomainError("No such person on this course.")
    att = attendance(people.intervals.get(p.id, ()), people.open_since.get(p.id), now, schedule)
    c = command.credits
    refused = claim_refused(p.role, p.id in people.evaluated, att.earned, c)
    if refused:
        raise DomainError(refused)
    return [NewEvent("credit.claimed", p.id, now, {"person": p.id, "credits": c})]
