"""The director's messages to every room or to one track's rooms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role, require

MAX_ANNOUNCEMENT = 500
EVENT_TYPES = frozenset({"announcement.sent"})


@dataclass(frozen=True)
class Announcement:
    seq: int
    at: datetime
    text: str
    by: str
    track: str | None = None  # None: everyone; "adult" or "pediatric": that track's rooms


@dataclass(frozen=True)
class Announce:
    text: str
    track: str | None = None  # everyone, or only the "adult" or "pediatric" track


def decide_announce(command: Announce, actor: Actor, now: datetime) -> list[NewEvent]:
    require(actor, frozenset({Role.DIRECTOR}), "send an announcement")
    text = command.text.strip()
    if not text:
        raise DomainError("An announcement needs some text.")
    if len(text) > MAX_ANNOUNCEMENT:
        raise DomainError(
            f"An announcement may be at most {MAX_ANNOUNCEMENT} characters ({len(text)} given)."
        )
    if command.track not in (None, "adult", "pediatric"):
        raise DomainError(f"Send to everyone, adult or pediatric, not {command.track!r}.")
    body: dict[str, str] = {"text": text}
    if command.track:
        body["track"] = command.track
    return [NewEvent("announcement.sent", actor.id, now, body)]


def apply_announcement(
    announcements: tuple[Announcement, ...], e: Event
) -> tuple[Announcement, ...]:
    track = e.data.get("track")
    a = Announcement(e.seq, e.at, str(e.data["text"]), e.actor, track)
    return (*announcements, a)
