"""What the director exports: attendance per item and credit per learner for the accreditor, and
the feedback, shared reflections and evaluations collected. Private reflections are never
exported: `reflection_rows` reads shared entries only.

Each table's columns and their types are written once (`TABLES`); `export` writes a table in
any of the formats of `sheets` (CSV, CSV for Excel, JSON, .xlsx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.domain.agenda import Schedule, utc_z
from server.domain.course_state import CourseState
from server.domain.reflections import readable
from server.domain.roles import CLI_ACTOR, Role
from server.reports.credit import credit_report
from server.reports.sheets import Columns, columns, render

ATTENDANCE = columns(
    "email name day:number item kind start:instant end:instant minutes_present:number credit_types"
)
CREDITS = columns(
    "email name first_name last_name name_split discipline degrees track credit_type unit "
    "minutes_counted:number minutes_designated:number earned:number maximum:number "
    "evaluation_completed:bool missing claimed:number claimed_on:date consent_to_share:bool "
    "board board_id completed_on:date"
)
FEEDBACK = columns(
    "group turn:number case learner_email learner_name goal released:bool from_email from_name "
    "from_capacity instrument item value moment submitted:instant"
)
REFLECTIONS = columns("email name shared_with agenda_item prompt text written:instant")
EVALUATIONS = columns("email name form item value submitted:instant")
TALK = columns("kind room email name to text upvotes:number answered:bool sent:instant")


def attendance_rows(state: CourseState, schedule: Schedule, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for p in state.people.of_role(Role.LEARNER):
        report = credit_report(state, schedule, p.id, now)
        for ia in report.items:
            rows.append(
                {
                    "email": p.reg.email,
                    "name": p.name,
                    "day": ia.s.item.day,
                    "item": ia.s.item.title,
                    "kind": ia.s.item.kind.value,
                    "start": utc_z(ia.s.start),
                    "end": utc_z(ia.s.end),
                    "minutes_present": round(ia.minutes, 1),
                    "credit_types": " ".join(t for t, _ in ia.s.item.credit),
                }
            )
    return rows


def credit_rows(state: CourseState, schedule: Schedule, now: datetime) -> list[dict[str, Any]]:
    """One row per learner and credit type offered to them: what counts, what is earned, what
    is missing and what was claimed."""
    rows = []
    for p in state.people.of_role(Role.LEARNER):
        r = credit_report(state, schedule, p.id, now)
        first, last = r.first_last
        for st in r.standings:
            t = st.type
            rows.append(
                {
                    "email": p.reg.email,
                    "name": p.name,
                    "first_name": first,
                    "last_name": last,
                    "name_split": r.name_from,
                    "discipline": p.reg.discipline.value,
                    "degrees": ", ".join(p.reg.degrees),
                    "track": p.reg.track.value,
                    "credit_type": t.id,
                    "unit": t.unit,
                    "minutes_counted": round(st.minutes, 1),
                    "minutes_designated": round(st.possible, 1),
                    "earned": st.earned,
                    "maximum": t.maximum,
                    "evaluation_completed": r.evaluated,
                    "missing": " ".join(st.blockers),
                    "claimed": st.claim.amount if st.claim else None,
                    "claimed_on": schedule.local(st.claim.at).date().isoformat()
                    if st.claim
                    else None,
                    "consent_to_share": st.claim.consent if st.claim else None,
                    "board": t.board,
                    "board_id": p.reg.board_id(t.board_id.value) if t.board_id else None,
                    "completed_on": r.completed_on.isoformat() if r.completed_on else None,
                }
            )
    return rows


def _who(state: CourseState, pid: str) -> tuple[str, str]:
    p = state.people.get(pid)
    return (p.reg.email, p.name) if p else ("", "")


def feedback_rows(state: CourseState) -> list[dict[str, Any]]:
    """One row per answer given about a role-play turn."""
    rows = []
    for (group, number), per_author in sorted(state.feedback.turns.items()):
        turn = state.roleplays.of(group).turns[number - 1]
        l_email, l_name = _who(state, turn.learner)
        for f in per_author.values():
            a_email, a_name = _who(state, f.author)
            for item, value in f.answers.items():
                rows.append(
                    {
                        "group": group,
                        "turn": number,
                        "case": turn.scenario or "",
                        "learner_email": l_email,
                        "learner_name": l_name,
                        "goal": turn.goal,
                        "released": (group, number) in state.feedback.released,
                        "from_email": a_email,
                        "from_name": a_name,
                        "from_capacity": f.capacity,
                        "instrument": f.instrument,
                        "item": item,
                        "value": value,
                        "moment": f.moments.get(item, ""),
                        "submitted": utc_z(f.at),
                    }
                )
    return rows


def reflection_rows(state: CourseState) -> list[dict[str, Any]]:
    """The reflections the course director may read: shared ones, never a private entry."""
    rows = []
    for r in readable(state.feedback, CLI_ACTOR, state.rooms):
        email, name = _who(state, r.author)
        rows.append(
            {
                "email": email,
                "name": name,
                "shared_with": r.shared_with,
                "agenda_item": r.item,
                "prompt": r.prompt,
                "text": r.text,
                "written": utc_z(r.at),
            }
        )
    return rows


def talk_rows(state: CourseState) -> list[dict[str, Any]]:
    """Every message, private line and question, in the order sent."""
    t = state.talk
    rows: list[tuple[int, dict[str, Any]]] = []
    for m in t.messages.values():
        email, name = _who(state, m.author)
        to = " ".join(_who(state, x)[0] for x in m.to)
        kind = "private" if m.to else "chat"
        rows.append((m.seq, {
            "kind": kind, "room": m.room, "email": email, "name": name, "to": to,
            "text": m.text, "upvotes": None, "answered": None, "sent": utc_z(m.at),
        }))  # fmt: skip
    for q in t.questions.values():
        email, name = _who(state, q.author)
        rows.append((q.id, {
            "kind": "question", "room": q.room, "email": email, "name": name, "to": "",
            "text": q.text, "upvotes": len(q.votes), "answered": q.answered, "sent": utc_z(q.at),
        }))  # fmt: skip
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def evaluation_rows(state: CourseState) -> list[dict[str, Any]]:
    """One row per answer in each person's latest submission of each evaluation."""
    rows = []
    for (pid, form), ev in sorted(state.feedback.evaluations.items()):
        email, name = _who(state, pid)
        for item, value in ev.answers.items():
            rows.append(
                {
                    "email": email,
                    "name": name,
                    "form": form,
                    "item": item,
                    "value": value,
                    "submitted": utc_z(ev.at),
                }
            )
    return rows


@dataclass(frozen=True)
class Table:
    columns: Columns
    rows: Callable[[CourseState, Schedule, datetime], list[dict[str, Any]]]


TABLES = {
    "attendance": Table(ATTENDANCE, attendance_rows),
    "credits": Table(CREDITS, credit_rows),
    "feedback": Table(FEEDBACK, lambda state, schedule, now: feedback_rows(state)),
    "reflections": Table(REFLECTIONS, lambda state, schedule, now: reflection_rows(state)),
    "evaluations": Table(EVALUATIONS, lambda state, schedule, now: evaluation_rows(state)),
    "talk": Table(TALK, lambda state, schedule, now: talk_rows(state)),
}


def rows_of(
    name: str, state: CourseState, schedule: Schedule, now: datetime
) -> list[dict[str, Any]]:
    """The rows of table `name` (one of TABLES)."""
    if name not in TABLES:
        raise ValueError(f"unknown export {name!r} ({', '.join(TABLES)})")
    return TABLES[name].rows(state, schedule, now)


def export(
    name: str, state: CourseState, schedule: Schedule, now: datetime, fmt: str
) -> str | bytes:
    """Table `name` in `fmt` (csv, csv-excel, json: text; xlsx: bytes)."""
    return render(rows_of(name, state, schedule, now), fmt, TABLES[name].columns, title=name)


def person_record(
    state: CourseState, schedule: Schedule, pid: str, now: datetime
) -> dict[str, Any]:
    """Everything the course holds about one person, for the director to hand to them (a
    subject-access request). Their private reflections are counted, not copied: those are for
    their author alone, who sees them in their own portfolio."""
    p = state.people.get(pid)
    if p is None:
        raise KeyError(pid)
    reg = p.reg
    fb = state.feedback
    record: dict[str, Any] = {
        "exported": utc_z(now),
        "registration": {
            "name": reg.name,
            "email": reg.email,
            "role": reg.role.value,
            "discipline": reg.discipline.value,
            "track": reg.track.value,
            "team": reg.team,
            "abp_id": reg.abp_id,
            "dob_mmdd": reg.dob_mmdd,
            "first_name": reg.first_name,
            "last_name": reg.last_name,
            "degrees": list(reg.degrees),
            "abim_id": reg.abim_id,
            "nabp_id": reg.nabp_id,
            "zoom_email": reg.zoom_email,
            "link_revoked": p.revoked,
        },
        "small_group": (g.name if (g := state.rooms.group_of(pid)) else None),
        "online_spells": [
            {"from": utc_z(a), "to": utc_z(b)} for a, b in state.people.intervals.get(pid, ())
        ],
    }
    if reg.role is Role.LEARNER:
        report = credit_report(state, schedule, pid, now)
        record["attendance"] = [
            {"item": ia.s.item.title, "day": ia.s.item.day, "minutes_present": round(ia.minutes, 1)}
            for ia in report.items
        ]
        record["credit"] = {
            "evaluation_completed": report.evaluated,
            "types": [
                {
                    "type": st.type.id,
                    "earned": st.earned,
                    "claimed": st.claim.amount if st.claim else None,
                    "claimed_at": utc_z(st.claim.at) if st.claim else None,
                    "consent_to_share": st.claim.consent if st.claim else None,
                }
                for st in report.standings
            ],
        }
    given, received, next_time = [], [], []
    for (group, number), per_author in sorted(fb.turns.items()):
        turn = state.roleplays.of(group).turns[number - 1]
        for f in per_author.values():
            entry = {
                "group": group,
                "turn": number,
                "goal": turn.goal,
                "capacity": f.capacity,
                "answers": dict(f.answers),
                "moments": dict(f.moments),
                "submitted": utc_z(f.at),
            }
            if f.author == pid:
                given.append({**entry, "about": _who(state, turn.learner)[1]})
            if turn.learner == pid and (group, number) in fb.released:
                received.append({**entry, "from": _who(state, f.author)[1]})
        nt = fb.next_time.get((group, number))
        if nt is not None and turn.learner == pid:
            next_time.append({"group": group, "turn": number, "text": nt.text, "at": utc_z(nt.at)})
    mine = fb.reflections_of(pid)
    shared = readable(fb, CLI_ACTOR, state.rooms, author=pid)
    record["feedback_given"] = given
    record["feedback_received"] = received
    record["next_time"] = next_time
    record["reflections_shared"] = [
        {"shared_with": r.shared_with, "prompt": r.prompt, "text": r.text, "written": utc_z(r.at)}
        for r in shared
    ]
    record["reflections_private"] = len(mine) - len(shared)  # counted, never copied
    record["evaluations"] = [
        {"form": form, "answers": dict(ev.answers), "submitted": utc_z(ev.at)}
        for (author, form), ev in sorted(fb.evaluations.items())
        if author == pid
    ]
    record["recordings"] = [
        {"id": r.id, "group": r.group, "turn": r.turn, "part": r.segment, "ended": utc_z(r.ended)}
        for r in state.media.recordings.values()
        if r.person == pid
    ]
    record["recording_consent"] = sorted(
        g for g, people in state.media.consent.items() if pid in people
    )
    return record
