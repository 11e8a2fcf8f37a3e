"""What the agenda closes: role-plays end with their practice, help calls with their item.

The rule. A role-play belongs to the agenda item it was last active in (the item running when
its case started or its latest turn began). When that item ends, a scene still running or paused
is parked into debrief (its turn ends), so the group can still release feedback; when the item
after it ends, the case is closed. A help call still open when the item it was made in ends is
closed, and so is a staff member's drop-in visit. Each of these is recorded (`reason: "item
ended"`); the record (turns, feedback, recordings) stays. `CloseFinished` is issued at every
agenda boundary and produces nothing when nothing is due, so any worker may issue it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from server.domain.agenda import Schedule, ScheduledItem
from server.domain.announcements import Announcement, next_expiry
from server.domain.errors import DomainError
from server.domain.events import NewEvent
from server.domain.help_calls import HelpState
from server.domain.placement import next_move
from server.domain.roleplay import RoleplaysState
from server.domain.roles import Actor, Role, require
from server.domain.rooms import RoomsState

ENDED = "item ended"


@dataclass(frozen=True)
class CloseFinished:
    """Close what the agenda has ended by now."""


class CourseState(Protocol):
    @property
    def roleplays(self) -> RoleplaysState: ...
    @property
    def help(self) -> HelpState: ...
    @property
    def rooms(self) -> RoomsState: ...
    @property
    def announcements(self) -> tuple[Announcement, ...]: ...


def item_of(schedule: Schedule, at: datetime) -> ScheduledItem | None:
    """The item running at `at`, or else the next one to start (activity between items belongs
    to the item that follows)."""
    return schedule.current(at) or schedule.next(at)


def decide_closings(
    state: CourseState, schedule: Schedule, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, frozenset({Role.DIRECTOR}), "close what the agenda has ended")
    out: list[NewEvent] = []
    for group, rp in sorted(state.roleplays.by_group.items()):
        if not rp.open or rp.last_active is None:
            continue
        item = item_of(schedule, rp.last_active)
        if item is None or now < item.end:
            continue
        following = schedule.next(item.start)
        closes = following.end if following is not None else item.end
        why = {"group": group, "reason": ENDED}
        if rp.turn is not None:  # a scene running or paused: parked, its turn ended
            out.append(NewEvent("turn.ended", actor.id, now, why))
        if now >= closes:
            out.append(NewEvent("roleplay.ended", actor.id, now, why))
    for call in state.help.open():
        item = item_of(schedule, call.at)
        if item is not None and now >= item.end:
            data = {"help": call.id, "person": call.person, "reason": ENDED}
            out.append(NewEvent("help.closed", actor.id, now, data))
    for person, (_, item_id) in sorted(state.rooms.visits.items()):
        try:
            ended = now >= schedule.get(item_id).end
        except DomainError:
            ended = True  # an item no longer in the agenda
        if ended:
            data = {"person": person, "reason": ENDED}
            out.append(NewEvent("visit.ended", actor.id, now, data))
    return out


def next_change(state: CourseState, schedule: Schedule, now: datetime) -> datetime | None:
    """The first instant after `now` at which what pages show changes by time alone: an item
    starts or ends, an SP actor moves on, an announcement expires."""
    times = [
        t
        for t in (
            next_move(state.rooms, schedule, now),
            next_expiry(state.announcements, schedule, now),
        )
        if t is not None
    ]
    return min(times, default=None)
