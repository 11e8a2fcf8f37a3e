"""The director's messages to every room or to one track's rooms.

An announcement shows its day and time, and expires: at the end of the course day it was sent
(in the course's time zone) unless the director gave another time; the director can withdraw it
sooner. (A reader can dismiss one for themselves; that stays in their browser.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from server.domain.agenda import Schedule
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.roles import Actor, Role, require

MAX_ANNOUNCEMENT = 500
MAX_SHOWN = 5  # the latest this many that still apply
EVENT_TYPES = frozenset({"announcement.sent", "announcement.withdrawn"})
DIRECTOR_ONLY = frozenset({Role.DIRECTOR})


@dataclass(frozen=True)
class Announcement:
    seq: int
    at: datetime
    text: str
    by: str
    track: str | None = None  # None: everyone; "adult" or "pediatric": that track's rooms
    until: datetime | None = None  # set by the director; else the end of the day it was sent
    withdrawn: bool = False


@dataclass(frozen=True)
class Announce:
    text: str
    track: str | None = None  # everyone, or only the "adult" or "pediatric" track
    until: datetime | None = None


@dataclass(frozen=True)
class WithdrawAnnouncement:
    seq: int


AnnouncementCommand = Announce | WithdrawAnnouncement


def expires(a: Announcement, schedule: Schedule) -> datetime:
    """When `a` stops showing: the director's time, or midnight after the day it was sent."""
    if a.until is not None:
        return a.until
    day = schedule.local(a.at).date()
    return datetime.combine(day + timedelta(days=1), time(0), schedule.tz)


def showing(
    announcements: tuple[Announcement, ...], schedule: Schedule, now: datetime, where: str
) -> tuple[Announcement, ...]:
    """What `where` ("director", "all", "adult", "pediatric") shows at `now`: the latest first,
    neither withdrawn nor expired (the director sees every track's)."""
    return tuple(
        a
        for a in reversed(announcements)
        if not a.withdrawn
        and now < expires(a, schedule)
        and (where == "director" or a.track is None or a.track == where)
    )[:MAX_SHOWN]


def next_expiry(
    announcements: tuple[Announcement, ...], schedule: Schedule, now: datetime
) -> datetime | None:
    """The first instant after `now` at which a showing announcement expires."""
    ends = [expires(a, schedule) for a in announcements if not a.withdrawn]
    return min((t for t in ends if t > now), default=None)


def decide_announcement(
    announcements: tuple[Announcement, ...],
    command: AnnouncementCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    if isinstance(command, WithdrawAnnouncement):
        require(actor, DIRECTOR_ONLY, "withdraw an announcement")
        a = next((a for a in announcements if a.seq == command.seq), None)
        if a is None:
            raise DomainError("There is no such announcement.")
        if a.withdrawn:
            return []
        return [NewEvent("announcement.withdrawn", actor.id, now, {"seq": a.seq})]
    require(actor, DIRECTOR_ONLY, "send an announcement")
    text = command.text.strip()
    if not text:
        raise DomainError("An announcement needs some text.")
    if len(text) > MAX_ANNOUNCEMENT:
        raise DomainError(
            f"An announcement may be at most {MAX_ANNOUNCEMENT} characters ({len(text)} given)."
        )
    if command.track not in (None, "adult", "pediatric"):
        raise DomainError(f"Send to everyone, adult or pediatric, not {command.track!r}.")
    if command.until is not None and command.until <= now:
        raise DomainError("Choose a time still to come for the announcement to end.")
    body: dict[str, str] = {"text": text}
    if command.track:
        body["track"] = command.track
    if command.until is not None:
        body["until"] = command.until.isoformat()
    return [NewEvent("announcement.sent", actor.id, now, body)]


def apply_announcement(
    announcements: tuple[Announcement, ...], e: Event
) -> tuple[Announcement, ...]:
    d = e.data
    if e.type == "announcement.withdrawn":
        seq = int(d["seq"])
        return tuple(replace(a, withdrawn=True) if a.seq == seq else a for a in announcements)
    until = datetime.fromisoformat(str(d["until"])) if d.get("until") else None
    a = Announcement(e.seq, e.at, str(d["text"]), e.actor, d.get("track"), until)
    return (*announcements, a)
