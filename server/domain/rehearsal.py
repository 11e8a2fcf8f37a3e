"""Moving a rehearsal clock is an event, so every worker sharing the log moves with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
