"""Attendance, replayed from presence: pure functions of spells online and the schedule.

The reconnect rule: a gap of at most RECONNECT_GRACE between two spells online (a dropped
connection, a reload, a server restart) counts as present. What attendance earns is `credit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from server.domain.agenda import Schedule

RECONNECT_GRACE = timedelta(minutes=2)

Spell = tuple[datetime, datetime]


def merged_spells(spells: Iterable[Spell], grace: timedelta = RECONNECT_GRACE) -> list[Spell]:
    """Spells sorted and joined where they overlap or the gap between them is at most `grace`."""
    out: list[Spell] = []
    for start, end in sorted(spells):
        if end <= start:
            continue
        if out and start - out[-1][1] <= grace:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def person_spells(
    closed: Sequence[Spell], open_since: datetime | None, now: datetime
) -> list[Spell]:
    """A person's spells online up to `now`, the open one (if online) ending at `now`."""
    spells = list(closed)
    if open_since is not None and open_since < now:
        spells.append((open_since, now))
    return merged_spells(spells)


def minutes_per_item(spells: Sequence[Spell], schedule: Schedule) -> dict[str, float]:
    """Minutes present in each agenda item (items with no presence are left out)."""
    out: dict[str, float] = {}
    for s in schedule.items:
        seconds = 0.0
        for a, b in spells:
            overlap = (min(b, s.end) - max(a, s.start)).total_seconds()
            if overlap > 0:
                seconds += overlap
        if seconds > 0:
            out[s.id] = seconds / 60
    return out
