"""From roster to groups and back to the outside world: the JSON shape, Zoom's CSV, a report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from server.domain.groups.forming import Assignment, Settings, assign
from server.domain.groups.membership import split_roster
from server.domain.people import Registration


def assign_roster(regs: Iterable[Registration], settings: Settings, seed: int) -> Assignment:
    """Groups for a registration list, offline (people keyed by email)."""
    learners, facilitators, sps = split_roster(((r.email, r) for r in regs), {})
    return assign(learners, facilitators, sps, settings, seed)


def as_json(a: Assignment) -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": g.name,
                "track": g.track,
                "facilitator": g.facilitator,
                "sp": list(g.sps),
                "members": [
                    {"email": m.email, "discipline": m.discipline, "team": m.team}
                    for m in g.members
                ],
            }
            for g in a.groups
        ],
        "unassigned": [{"email": e, "reason": r} for e, r in a.unassigned],
    }


def zoom_csv(a: Assignment) -> str:
    """Zoom's breakout-room pre-assignment file: one row per person. An SP actor who visits
    several groups in turn is left out (Zoom allows one room per person)."""
    visits: dict[str, int] = {}
    for g in a.groups:
        for sp in g.sps:
            visits[sp] = visits.get(sp, 0) + 1
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Pre-assign Room Name", "Email Address"])
    for g in a.groups:
        if g.facilitator:
            w.writerow([g.name, g.facilitator])
        for sp in g.sps:
            if visits[sp] == 1:
                w.writerow([g.name, sp])
        for m in g.members:
            w.writerow([g.name, m.email])
    return out.getvalue()


def report(a: Assignment) -> str:
    lines = []
    for g, q in zip(a.groups, a.quality, strict=True):
        staff = f"facilitator {g.facilitator or '— none —'}; SP {', '.join(g.sps) or '— none —'}"
        lines.append(f"{g.name} ({q.size} learners, {q.disciplines} disciplines) — {staff}")
        for m in g.members:
            team = f"  [team {m.team}]" if m.team else ""
            lines.append(f"    {m.email:40} {m.discipline}{team}")
        if q.over_share:
            lines.append(f"    more than a fair share of: {', '.join(q.over_share)}")
    lines.append("")
    lines.append(
        f"Quality: {a.distinct} distinct (group, discipline) pairs of at most {a.bound} possible "
        f"(score {a.score:.3f}); {sum(1 for q in a.quality if q.over_share)} groups with a "
        f"discipline over its fair share"
    )
    for track, plan in a.sp_timetable.items():
        lines.append(f"SP timetable, {track} ({a.sp_slots[track]} slots per practice block):")
        for name, actor in plan:
            lines.append(f"    slot {a.slot(name) + 1}: {name} with {actor}")
    for note in a.notes:
        lines.append(f"Note: {note}")
    for email, reason in a.unassigned:
        lines.append(f"Unassigned: {email}: {reason}")
    return "\n".join(lines)
