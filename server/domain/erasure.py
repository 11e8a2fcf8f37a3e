"""Erasing one person's data: the rule for rewriting a course's stored log.

The log is the only record, so erasure rewrites it, event by event, with one rule:

- Their id is replaced everywhere (actor, every field, every key) by a new, random-looking id
  that nothing links back to them: the id of a placeholder registration, "Erased participant".
- Their registration (name, email, discipline, team, ABP id, date of birth) becomes that
  placeholder; their role and track stay, so the course's structure still adds up.
- What they wrote for themselves (reflections, "next time I will…", evaluations) and what others
  wrote about their turns (peer feedback) is dropped: the event keeps its place in the log as an
  `erased` event with no content. Their goal for a turn and the note of a help call become empty.
- Their full name and email are replaced by "[erased]" in any other text (an announcement, a cue,
  feedback they gave a colleague).
- What they gave others (feedback on a colleague's turn) stays, no longer theirs.

Every event type of the course must be named below (`keep` or another rule); a new type
without one is refused by a test, so nothing new escapes the rule. The caller supplies the
random `token` (the domain has no randomness) and rewrites the stored events; `person.erased`
is then recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.media import stage_of_turn
from server.domain.people import Discipline, PeopleState, Person, Registration, new_person_id
from server.domain.roleplay import Phase, RoleplaysState
from server.domain.roles import Actor, Role, require
from server.domain.rooms import RoomsState


class CourseState(Protocol):
    """The parts of the course's state erasure reads (course_state.CourseState has them)."""

    @property
    def people(self) -> PeopleState: ...
    @property
    def rooms(self) -> RoomsState: ...
    @property
    def roleplays(self) -> RoleplaysState: ...


DIRECTOR_ONLY = frozenset({Role.DIRECTOR})

ERASED_NAME = "Erased participant"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real address
ERASED_TEXT = "[erased]"
DROPPED = "erased"  # the type an event takes when its whole content was theirs


@dataclass(frozen=True)
class Erasure:
    """Who is erased (their current id, email and name) and the token of their new id."""

    old: str
    email: str
    name: str
    token: str

    @property
    def new_email(self) -> str:
        return f"erased-{self.token}@{ERASED_DOMAIN}"

    @property
    def new(self) -> str:
        return new_person_id(self.token, self.new_email)

    def placeholder(self, reg: Registration) -> dict[str, Any]:
        data = Registration(
            name=ERASED_NAME,
            email=self.new_email,
            role=reg.role,
            discipline=Discipline.OTHER,
            track=reg.track,
        ).as_data()
        return {"id": self.new, **data}


def erasure_of(p: Person, token: str) -> Erasure:
    if not re.fullmatch(r"[0-9a-f]{16,64}", token):
        raise ValueError("an erasure token is 16 to 64 lowercase hex digits")
    return Erasure(p.id, p.reg.email, p.reg.name, token)


def check_erasure(state: CourseState, actor: Actor, pid: str) -> Person:
    """The person `actor` may erase now, or DomainError/PermissionDenied saying why not."""
    require(actor, DIRECTOR_ONLY, "erase a person's data")
    p = state.people.get(pid)
    if p is None or p.erased:
        raise DomainError("No such person on this course (already erased?).")
    if p.id == actor.id:
        raise DomainError("You cannot erase your own data while signed in with it.")
    for rp in state.roleplays.by_group.values():
        if rp.phase in (Phase.RUNNING, Phase.TIMEOUT) and pid in stage_of_turn(state.rooms, rp):
            raise DomainError(
                f"{p.name} is on the stage of a scene in group {rp.group}; "
                "erase their data when the turn has ended."
            )
    return p


# --- the rule, per event type ------------------------------------------------------------------

Rule = Callable[[Event, Erasure], Event]


def keep(e: Event, er: Erasure) -> Event:
    """Nothing of theirs beyond their id (replaced everywhere by `redact`)."""
    return e


def registration(e: Event, er: Erasure) -> Event:
    """Theirs becomes the placeholder; anyone else's is left exactly as it is."""
    if str(e.data.get("email", "")).strip().lower() != er.email.strip().lower():
        return e
    return replace(
        e, actor=_swap(e.actor, er, None), data=er.placeholder(Registration.from_data(e.data))
    )


def drop(e: Event) -> Event:
    return replace(e, type=DROPPED, data={})


def drop_if_theirs(e: Event, er: Erasure) -> Event:
    return drop(e) if e.actor == er.old else e


def drop_if_about_them(e: Event, er: Erasure) -> Event:
    return drop(e) if e.data.get("learner") == er.old else e


def blank(field: str, owner: str) -> Rule:
    def rule(e: Event, er: Erasure) -> Event:
        if e.data.get(owner) != er.old:
            return e
        return replace(e, data={**e.data, field: ""})

    return rule


RULES: Mapping[str, Rule] = {
    # course
    "agenda.delayed": keep,
    "announcement.sent": keep,
    "clock.jumped": keep,
    # people
    "person.registered": registration,
    "person.updated": registration,
    "person.erased": keep,
    "link.reissued": keep,
    "link.revoked": keep,
    "presence.joined": keep,
    "presence.left": keep,
    "presence.reset": keep,
    "evaluation.completed": keep,
    "credit.claimed": keep,
    # rooms
    "groups.assigned": keep,
    "member.placed": keep,
    "member.unplaced": keep,
    "member.locked": keep,
    "track.chosen": keep,
    "help.requested": blank("note", "person"),
    "help.claimed": keep,
    "help.released": keep,
    "help.closed": keep,
    "announcement.withdrawn": keep,
    "help.resolved": keep,
    # role-play
    "roleplay.started": keep,
    "turn.began": blank("goal", "learner"),
    "scene.paused": keep,
    "scene.resumed": keep,
    "scene.rewound": keep,
    "beat.reached": keep,
    "intensity.set": keep,
    "cue.sent": keep,
    "turn.ended": keep,
    "roleplay.ended": keep,
    # feedback, reflection, evaluation
    "feedback.submitted": drop_if_about_them,
    "feedback.released": keep,
    "nexttime.written": drop_if_theirs,
    "reflection.written": drop_if_theirs,
    "reflection.shared": drop_if_theirs,
    "evaluation.submitted": drop_if_theirs,
    # media (their recordings' files are deleted first, through the ordinary command)
    "recording.set": keep,
    "consent.given": keep,
    "consent.withdrawn": keep,
    "recording.saved": keep,
    "recording.deleted": keep,
    "room.link_set": keep,
    "room.hosted": keep,
    # mail (the person's id only; the error a mail server gave may quote the address)
    "mail.sent": keep,
    "mail.failed": blank("error", "person"),
    # talk: what they wrote goes; hands and upvotes stay, no longer theirs
    "chat.sent": drop_if_theirs,
    "question.asked": drop_if_theirs,
    "hand.raised": keep,
    "hand.lowered": keep,
    "question.upvoted": keep,
    "question.answered": keep,
    # quick breakouts and drop-in visits
    "breakout.opened": keep,
    "breakout.closed": keep,
    "visit.started": keep,
    "visit.ended": keep,
    # authoring (a published case stays; its author's id becomes the placeholder's)
    "author.named": keep,
    "author.unnamed": keep,
    "content.published": keep,
    DROPPED: keep,
}


def _words(er: Erasure) -> re.Pattern[str] | None:
    """Their full name and email as whole words, in any case."""
    words = [w for w in (er.name.strip(), er.email.strip()) if len(w) >= 3]
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _swap(value: Any, er: Erasure, words: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        if er.old in value:
            value = value.replace(er.old, er.new)
        return words.sub(ERASED_TEXT, value) if words is not None else value
    if isinstance(value, list | tuple):
        return [_swap(v, er, words) for v in value]
    if isinstance(value, Mapping):
        return {_swap(k, er, words): _swap(v, er, words) for k, v in value.items()}
    return value


def redact(e: Event, er: Erasure) -> Event:
    """`e` with nothing of the erased person left (the same event if it held nothing)."""
    rule = RULES.get(e.type)
    if rule is None:
        # A type this server does not know (a newer server wrote it): keep only its place.
        return drop(e) if _mentions(e, er) else e
    if rule is registration:
        return rule(e, er)
    out = rule(e, er)
    if out.type == DROPPED:
        return replace(out, actor=_swap(out.actor, er, None))
    words = _words(er)
    return replace(out, actor=_swap(out.actor, er, None), data=_swap(dict(out.data), er, words))


def _mentions(e: Event, er: Erasure) -> bool:
    text = json.dumps(dict(e.data), ensure_ascii=False).lower()
    return e.actor == er.old or er.old in text or er.email.lower() in text


def redact_log(events: Iterable[Event], er: Erasure) -> list[Event]:
    """The stored events that change, rewritten (same seq, same instant)."""
    return [r for e in events if (r := redact(e, er)) != e]


# --- the command recorded after the rewrite ---------------------------------------------------


@dataclass(frozen=True)
class MarkErased:
    """Recorded once the log is rewritten: the placeholder `person_id` is an erased person
    (no link, no group, listed nowhere)."""

    person_id: str


def decide_erased(
    state: CourseState, command: MarkErased, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, DIRECTOR_ONLY, "erase a person's data")
    p = state.people.get(command.person_id)
    if p is None or not p.reg.email.endswith("@" + ERASED_DOMAIN):
        raise DomainError("Only a rewritten (erased) registration can be marked erased.")
    if p.erased:
        return []
    out = []
    group = state.rooms.member_of.get(p.id)
    if group is not None:
        data = {"person": p.id, "reason": "erased", "group": group}
        out.append(NewEvent("member.unplaced", actor.id, now, data))
    return [*out, NewEvent("person.erased", actor.id, now, {"person": p.id})]
