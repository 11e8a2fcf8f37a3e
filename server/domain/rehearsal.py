"""Moving a rehearsal clock is an event, so every worker sharing the log moves with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.agenda import Schedule
from server.domain.events import NewEvent
from server.domain.roles import Actor, Role, require


@dataclass(frozen=True)
class JumpClock:
    """Move a rehearsal clock to `to`; `wall` is the Unix time of the request, so every worker
    sharing the log lands on the same course time however late it hears of it."""

    to: datetime
    wall: float


def decide_jump(command: JumpClock, actor: Actor, now: datetime) -> list[NewEvent]:
    require(actor, frozenset({Role.DIRECTOR}), "move the rehearsal clock")
    data = {"to": command.to.isoformat(), "wall": command.wall}
    return [NewEvent("clock.jumped", actor.id, now, data)]


def course_time_reached(times: Iterable[datetime], schedule: Schedule) -> datetime | None:
    """The last course time a log records within the course's days (None if none): where a
    rehearsal on it had got to, and so where one started again on it goes on from (course time
    never runs backwards in one log). Times outside those days (a roster imported at the command
    line on the real clock, say) are not course time."""
    first = schedule.items[0].start - timedelta(days=1)
    last = schedule.items[-1].end + timedelta(days=1)
    return max((t for t in times if first <= t <= last), default=None)
