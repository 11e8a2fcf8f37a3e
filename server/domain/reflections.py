"""Reflections: each person's own writing, private unless they share one with their group.

The privacy rule is `may_read`, and every page and export reads reflections through it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role
from server.domain.rooms import RoomsState
from server.domain.submissions import FeedbackState, Reflection, is_new, with_sid

MAX_REFLECTION = 5000
EVENT_TYPES = frozenset({"reflection.written", "reflection.shared"})


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


ReflectionCommand = WriteReflection | ShareReflection


def may_read(r: Reflection, viewer: Actor, rooms: RoomsState) -> bool:
    """The rule: a reflection is its author's alone until they share it with a group; then
    that group's members and staff may read it, and the course director (and the director's
    exports) too. Nobody else ever reads a private entry."""
    if r.author == viewer.id:
        return True
    if r.shared_with is None:
        return False
    if viewer.role is Role.DIRECTOR:
        return True
    groups = {g.name for g in rooms.staff_groups(viewer.id)}
    mine = rooms.group_of(viewer.id)
    if mine is not None:
        groups.add(mine.name)
    return r.shared_with in groups


def readable(
    fb: FeedbackState, viewer: Actor, rooms: RoomsState, author: str | None = None
) -> tuple[Reflection, ...]:
    """The reflections `viewer` may read, in the order written (only `author`'s, if given)."""
    return tuple(
        r
        for r in fb.reflections.values()
        if (author is None or r.author == author) and may_read(r, viewer, rooms)
    )


def decide_reflection(
    fb: FeedbackState, rooms: RoomsState, command: ReflectionCommand, actor: Actor, now: datetime
) -> list[NewEvent]:
    if isinstance(command, WriteReflection):
        if not is_new(fb, command.sid, actor):
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
    raise DomainError(f"Unknown command {type(command).__name__}")


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


def apply_reflection(fb: FeedbackState, e: Event) -> FeedbackState:
    fb = with_sid(fb, e)  # (a share names its reflection's id, which is already its author's)
    d = e.data
    sid = str(d["sid"])
    if e.type == "reflection.written":
        r = Reflection(sid, e.actor, str(d["item"]), str(d["prompt"]), str(d["text"]), e.at)
        return replace(fb, reflections=fb.reflections.setting(r.sid, r))
    group = d.get("group")
    r = replace(fb.reflections[sid], shared_with=str(group) if group else None)
    return replace(fb, reflections=fb.reflections.setting(sid, r))
