"""Credit and completion: what minutes of attendance earn of each credit type the course
designates, who may claim it, and what a claim needs.

The rules (sources in docs/decisions.md):
- Minutes count only in the items designated for a type, and only as many as are designated:
  a learner present for the whole of an item designated for 30 of its 45 minutes has 30 minutes
  of that type; present for half of it, 15. Hours are those minutes over 60.
- What is earned is the hours in the type's step (0.25; 1 where a board takes whole points),
  rounded down, never above the type's maximum. Designations that add up to the maximum give
  exactly the maximum for full attendance; `designations.findings` says when they do not.
- A type is for its professions (a physician claims AMA PRA Category 1 credit, a nurse contact
  hours); a certificate of participation is for a learner who can claim none of the main type.
- A claim needs what the type requires: the course evaluation, the learner's id with the board
  and birth month and day, their permission to share their completion with the board, and for
  some boards an individual assessment with feedback released to them. Each type is claimed on
  its own, up to what was earned, in its step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from server.domain.agenda import Schedule
from server.domain.attendance import Spell, minutes_per_item, person_spells
from server.domain.designations import CreditType, Designations, Requirement, designated_minutes
from server.domain.errors import DomainError
from server.domain.events import NewEvent
from server.domain.people import Discipline, PeopleState, Person
from server.domain.roles import Actor, Role, require


def type_minutes(per_item: Mapping[str, float], schedule: Schedule, type_id: str) -> float:
    """Minutes of `type_id` in the minutes present per item: each item's share designated for
    the type, never more than its designated minutes."""
    total = 0.0
    for item_id, present in per_item.items():
        item = schedule.get(item_id).item
        designated = item.carries(type_id)
        if designated and item.minutes > 0:
            total += min(designated, present * designated / item.minutes)
    return total


def earned(minutes: float, t: CreditType) -> float:
    """What `minutes` of a type earn: hours in the type's step, rounded down, at most its
    maximum."""
    steps = math.floor(minutes / 60 / t.step + 1e-9)
    return min(t.maximum, steps * t.step)


def full_minutes(schedule: Schedule, type_id: str) -> float:
    return designated_minutes((s.item.designated() for s in schedule.items), type_id)


def standing_of(
    per_item: Mapping[str, float], schedule: Schedule, t: CreditType
) -> tuple[float, float, float]:
    """(minutes counted, minutes designated, earned) of `t` for these minutes present per item:
    a certificate of participation counts the main type's items (`Designations.counted_as`)."""
    source = schedule.course.designations.counted_as(t)
    minutes = type_minutes(per_item, schedule, source)
    return minutes, full_minutes(schedule, source), earned(minutes, t)


@dataclass(frozen=True)
class Facts:
    """What the claim rules read of a learner."""

    role: Role
    discipline: Discipline
    degrees: tuple[str, ...]
    board_ids: Mapping[str, str | None]  # roster column -> id
    birth_date: bool
    evaluated: bool
    assessed: bool


def facts_of(p: Person, evaluated: bool, assessed: bool) -> Facts:
    reg = p.reg
    ids = {c: reg.board_id(c) for c in ("abim_id", "abp_id", "nabp_id")}
    return Facts(p.role, reg.discipline, reg.degrees, ids, bool(reg.dob_mmdd), evaluated, assessed)


def offered(d: Designations, f: Facts) -> tuple[CreditType, ...]:
    """The types this learner may claim, in the course's order: those of their profession or
    degree, and a certificate of participation if the main type is not theirs."""
    if f.role is not Role.LEARNER:
        return ()
    main = d.main
    gets_main = main is not None and main.for_learner(f.discipline, f.degrees)
    return tuple(
        t
        for t in d.types
        if (not gets_main if t.participation else t.for_learner(f.discipline, f.degrees))
    )


def gaps(t: CreditType, f: Facts) -> tuple[Requirement, ...]:
    """The requirements of `t` this learner does not meet yet, besides attendance and consent
    (which they give with the claim). Empty: they may claim."""
    met = {
        Requirement.EVALUATION: f.evaluated,
        Requirement.BOARD_ID: not t.board_id or bool(f.board_ids.get(t.board_id)),
        Requirement.BIRTH_DATE: f.birth_date,
        Requirement.ASSESSED: f.assessed,
        Requirement.CONSENT: True,
    }
    return tuple(r for r in Requirement if r in t.requires and not met[r])


def blockers(t: CreditType, f: Facts) -> tuple[str, ...]:
    """`gaps` in words the learner can act on."""
    board = t.board or "the board"
    words = {
        Requirement.EVALUATION: "Submit the course evaluation.",
        Requirement.BOARD_ID: f"Your {board} ID is not on the registration list; ask the course "
        "director.",
        Requirement.BIRTH_DATE: f"Your birth month and day are not on the registration list "
        f"({board} matches on them); ask the course director.",
        Requirement.ASSESSED: f"{board} needs an individual assessment with feedback: a turn in "
        "the hot seat whose feedback your facilitator has released to you.",
    }
    return tuple(words[r] for r in gaps(t, f))


def claim_refused(
    d: Designations, t: CreditType | None, f: Facts, earned_now: float, amount: float, consent: bool
) -> str | None:
    """Why a claim of `amount` of `t` may not be made now (None: it may)."""
    if f.role is not Role.LEARNER:
        return "Only learners claim credit."
    if t is None:
        return "This course offers no such credit type."
    if t not in offered(d, f):
        return f"{t.name} is not for your profession; see the certificates offered on this page."
    missing = blockers(t, f)
    if missing:
        return f"{t.name}: {missing[0]}"
    if Requirement.CONSENT in t.requires and not consent:
        return (
            f"{t.name} is reported to {t.board or 'the board'} only with your permission: tick "
            "the box to share your completion."
        )
    if not math.isfinite(amount) or amount <= 0:
        return f"Claim a positive amount of {t.unit}, not {amount}."
    if abs(amount / t.step - round(amount / t.step)) > 1e-9:
        return f"Claim {t.unit} in steps of {t.step:g}, not {amount}."
    if amount > earned_now + 1e-9:
        return f"You may claim up to {earned_now:g} {t.unit}, not {amount:g}."
    return None


@dataclass(frozen=True)
class ClaimCredit:
    type: str
    amount: float
    consent: bool = False


def person_minutes(
    people: PeopleState, pid: str, schedule: Schedule, now: datetime
) -> dict[str, float]:
    closed: Sequence[Spell] = people.intervals.get(pid, ())
    return minutes_per_item(person_spells(closed, people.online_since(pid), now), schedule)


def decide_claim(
    people: PeopleState,
    assessed: frozenset[str],
    schedule: Schedule,
    command: ClaimCredit,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    require(actor, frozenset({Role.LEARNER}), "claim credit")
    p = people.get(actor.id)
    if p is None or p.erased:
        raise DomainError("No such person on this course.")
    d = schedule.course.designations
    t = d.get(command.type)
    f = facts_of(p, p.id in people.evaluated, p.id in assessed)
    got = 0.0
    if t is not None:
        got = standing_of(person_minutes(people, p.id, schedule, now), schedule, t)[2]
    refused = claim_refused(d, t, f, got, command.amount, command.consent)
    if refused:
        raise DomainError(refused)
    assert t is not None
    data = {"person": p.id, "type": t.id, "amount": command.amount, "consent": command.consent}
    return [NewEvent("credit.claimed", p.id, now, data)]
