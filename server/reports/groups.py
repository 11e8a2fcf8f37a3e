"""From roster to groups and back to the outside world: the JSON shape, Zoom's CSV, a report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ZoomFiles:
    files: dict[str, str]  # meeting name -> its pre-assignment CSV
    placed: dict[str, int]  # meeting name -> people in it
    not_placed: list[tuple[str, str]]  # (email, why)


def zoom_files(
    a: Assignment,
    regs: Iterable[Registration],
    meetings: Mapping[str, Iterable[str]] | None = None,
) -> ZoomFiles:
    """Zoom's breakout-room pre-assignment files, one per meeting: `meetings` names each and the
    tracks whose groups meet in it (None: one meeting for all). Each row is a room and the email
    the person signs in to Zoom with (the roster's `zoom_email`, else their email). Everyone not
    placed is listed with why: an SP actor who visits several groups in turn (Zoom pre-assigns one
    room per person), staff without a group, learners left unassigned, groups of a track that is in
    no meeting."""
    regs = list(regs)
    login = {r.email: r.zoom_email or r.email for r in regs}
    plan = {
        name: set(tracks) for name, tracks in (meetings or {"": {"adult", "pediatric"}}).items()
    }
    visits: dict[str, list[str]] = {}
    for g in a.groups:
        for sp in g.sps:
            visits.setdefault(sp, []).append(g.name)
    writers: dict[str, tuple[io.StringIO, Any]] = {}
    placed: dict[str, int] = {name: 0 for name in plan}
    for name in plan:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["Pre-assign Room Name", "Email Address"])
        writers[name] = (buf, w)
    not_placed: list[tuple[str, str]] = []
    seen: set[str] = set()
    for g in a.groups:
        meeting = next((m for m, tracks in plan.items() if g.track in tracks), None)
        people = (
            [p for p in (g.facilitator,) if p]
            + [sp for sp in g.sps if len(visits[sp]) == 1]
            + [m.email for m in g.members]
        )
        seen.update(people)
        if meeting is None:
            not_placed += [
                (e, f"group {g.name} is {g.track}, a track in no meeting") for e in people
            ]
            continue
        for email in people:
            writers[meeting][1].writerow([g.name, login.get(email, email)])
            placed[meeting] += 1
    for sp, groups in visits.items():
        if len(groups) > 1:
            seen.add(sp)
            not_placed.append(
                (
                    sp,
                    f"SP actor shared by {', '.join(groups)}: move them to each room at their slot",
                )
            )
    for email, why in a.unassigned:
        seen.add(email)
        not_placed.append((email, f"not in a group: {why}"))
    for r in regs:
        if r.email not in seen:
            not_placed.append(
                (r.email, f"{r.role.value}: not in a small group (joins the main room)")
            )
    return ZoomFiles({n: b.getvalue() for n, (b, _) in writers.items()}, placed, not_placed)


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
