"""What the provider reports to boards, and the director's view of it.

- PARS (ACCME's Program and Activity Reporting System) takes MOC completions for ABIM and ABP
  as a tab-delimited learner file. The fields and their order follow the learner completion
  data ACCME lists for its learner upload ("Learner Template B", tab-delimited, April 2020, and
  the FAQ on what to report for MOC): the activity id, the board and the learner's id with it,
  first and last name, birth month and day, the completion date, the credit type and amount,
  and the learner's permission to share. Only learners who claimed, gave permission and have
  every field are written; the others are listed as missing with what is missing.
- CPE Monitor (NABP) takes pharmacists' completions: the e-Profile id, birth month and day
  (MMDD), the activity's universal activity number (UAN), the date of participation and the
  hours. ACPE accepts them only within 60 days of the activity.
- The director's credit report: per credit type what is ready to report, what is missing and
  the reporting deadline; per agenda item what it carries and who attended; per profession who
  may claim what and who did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.domain.agenda import Schedule
from server.domain.course_state import CourseState
from server.domain.designations import CreditType, Report, Requirement, findings, unreportable
from server.domain.people import Discipline
from server.domain.roles import Role
from server.reports.credit import CreditReport, credit_report

# How long after completion a report may be made (ACCME asks for MOC completions within 30 days;
# CPE Monitor accepts pharmacists' completions for 60 days).
REPORT_WITHIN = {Report.PARS: timedelta(days=30), Report.CPE_MONITOR: timedelta(days=60)}

PARS_FIELDS = (
    "Activity ID",
    "Board",
    "Board ID",
    "First Name",
    "Last Name",
    "Birth Month/Day (MM/DD)",
    "Completion Date (MM/DD/YYYY)",
    "Credit Type",
    "Credits Earned",
    "Permission to Share",
)
CPE_FIELDS = (
    "NABP e-Profile ID",
    "Birth MMDD",
    "UAN",
    "Date of Participation (MMDDYYYY)",
    "Contact Hours",
    "First Name",
    "Last Name",
)


def _reports(state: CourseState, schedule: Schedule, now: datetime) -> list[CreditReport]:
    return [credit_report(state, schedule, p.id, now) for p in state.people.of_role(Role.LEARNER)]


@dataclass(frozen=True)
class Line:
    """One learner's completion of one board-reported type: its fields, or what is missing."""

    report: CreditReport
    type: CreditType
    fields: tuple[str, ...]
    missing: tuple[str, ...]


def _missing(r: CreditReport, t: CreditType) -> list[str]:
    st = r.standing(t.id)
    if st is None:
        return ["not offered"]
    board = t.board or "board"
    words = {
        Requirement.EVALUATION: "no course evaluation",
        Requirement.BOARD_ID: f"no {board} ID on the roster",
        Requirement.BIRTH_DATE: "no birth month/day on the roster",
        Requirement.ASSESSED: "no released feedback on a turn of theirs",
    }
    out = [words[g] for g in st.gaps if g in words]
    if st.claim is None:
        out.append("not claimed")
    elif Requirement.CONSENT in t.requires and not st.claim.consent:
        out.append("no permission to share")
    if r.completed_on is None:
        out.append("no attendance")
    return out


def board_lines(
    state: CourseState, schedule: Schedule, now: datetime, report: Report
) -> list[Line]:
    """Every learner offered a type reported to `report`, with the fields of their line (ready)
    or what is missing."""
    d = schedule.course.designations
    lines = []
    for r in _reports(state, schedule, now):
        first, last = r.first_last
        reg = r.person.reg
        for t in d.types:
            if t.report is not report or r.standing(t.id) is None:
                continue
            missing = _missing(r, t)
            st = r.standing(t.id)
            board_id = reg.board_id(t.board_id.value) if t.board_id else None
            mmdd = (reg.dob_mmdd or "").replace("-", "")
            done = r.completed_on
            fields: tuple[str, ...] = ()
            if not missing and st and st.claim and done:
                amount = f"{st.claim.amount:g}" if t.step >= 1 else f"{st.claim.amount:.2f}"
                if report is Report.PARS:
                    fields = (
                        d.activity_id or "",
                        t.board or "",
                        board_id or "",
                        first,
                        last,
                        f"{mmdd[:2]}/{mmdd[2:]}",
                        done.strftime("%m/%d/%Y"),
                        "MOC",
                        amount,
                        "Y",
                    )
                else:
                    fields = (
                        board_id or "",
                        mmdd,
                        t.activity_number or "",
                        done.strftime("%m%d%Y"),
                        amount,
                        first,
                        last,
                    )
            lines.append(Line(r, t, fields, tuple(missing)))
    return lines


def unready_file(schedule: Schedule, report: Report) -> str | None:
    """Why the course cannot write a `report` file at all (None: it can)."""
    return unreportable(schedule.course.designations, report)


def _cell(value: str) -> str:
    """A field as a tab-delimited file can hold it: no tabs or line breaks inside."""
    return " ".join(value.split())


def tab_file(header: Sequence[str], lines: Sequence[Line]) -> str:
    rows = ["\t".join(header)] + ["\t".join(_cell(f) for f in x.fields) for x in lines if x.fields]
    return "\r\n".join(rows) + "\r\n"


def csv_file(header: Sequence[str], lines: Sequence[Line]) -> str:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for x in lines:
        if x.fields:
            w.writerow([_cell(f) for f in x.fields])
    return out.getvalue()


def pars_file(state: CourseState, schedule: Schedule, now: datetime) -> str:
    return tab_file(PARS_FIELDS, board_lines(state, schedule, now, Report.PARS))


def cpe_file(state: CourseState, schedule: Schedule, now: datetime) -> str:
    return csv_file(CPE_FIELDS, board_lines(state, schedule, now, Report.CPE_MONITOR))


@dataclass(frozen=True)
class TypeReadiness:
    type: CreditType
    offered: int  # learners it is for
    claimed: int
    ready: int  # claimed with everything a report needs
    missing: tuple[tuple[str, int], ...]  # (what is missing, how many learners)
    deadline: date | None  # the last day to report, for board-reported types


@dataclass(frozen=True)
class ItemRow:
    label: str
    kind: str
    minutes: float
    carries: tuple[tuple[str, float], ...]  # (type short name, designated minutes)
    present: int  # learners present at all
    mean_minutes: float  # among learners present


@dataclass(frozen=True)
class ProfessionRow:
    discipline: Discipline
    learners: int
    evaluated: int
    claimed: tuple[tuple[str, int, float], ...]  # (type short name, learners claiming, total)


@dataclass(frozen=True)
class CreditOverview:
    findings: tuple[str, ...]
    types: tuple[TypeReadiness, ...]
    items: tuple[ItemRow, ...]
    professions: tuple[ProfessionRow, ...]
    files: tuple[tuple[str, str, str | None], ...]  # (label, href, why it cannot be written)


def credit_overview(state: CourseState, schedule: Schedule, now: datetime) -> CreditOverview:
    d = schedule.course.designations
    reports = _reports(state, schedule, now)
    last_day = schedule.day_date(schedule.course.days)
    types = []
    for t in d.types:
        mine = [r for r in reports if r.standing(t.id) is not None]
        missing: Counter[str] = Counter()
        ready = 0
        for r in mine:
            gaps = _missing(r, t)
            missing.update(gaps)
            ready += 0 if gaps else 1
        within = REPORT_WITHIN.get(t.report)
        types.append(
            TypeReadiness(
                t,
                len(mine),
                sum(1 for r in mine if (st := r.standing(t.id)) and st.claim is not None),
                ready,
                tuple(sorted(missing.items(), key=lambda kv: -kv[1])),
                last_day + within if within else None,
            )
        )
    per_item: dict[str, list[float]] = {}
    for r in reports:
        for ia in r.items:
            if ia.minutes > 0:
                per_item.setdefault(ia.s.id, []).append(ia.minutes)
    names = {t.id: t.short for t in d.types}
    items = tuple(
        ItemRow(
            f"Day {s.item.day} {schedule.local(s.start):%H:%M} {s.item.title}",
            s.item.kind.value,
            s.item.minutes,
            tuple((names.get(t, t), m) for t, m in s.item.credit),
            len(per_item.get(s.id, [])),
            sum(per_item.get(s.id, [0.0])) / max(1, len(per_item.get(s.id, []))),
        )
        for s in schedule.items
    )
    by_disc: dict[Discipline, list[CreditReport]] = {}
    for r in reports:
        by_disc.setdefault(r.person.reg.discipline, []).append(r)
    professions = []
    for disc in Discipline:
        rs = by_disc.get(disc, [])
        if not rs:
            continue
        claimed = []
        for t in d.types:
            amounts = [st.claim.amount for r in rs if (st := r.standing(t.id)) and st.claim]
            if any(r.standing(t.id) for r in rs):
                claimed.append((t.short, len(amounts), sum(amounts)))
        professions.append(
            ProfessionRow(disc, len(rs), sum(r.evaluated for r in rs), tuple(claimed))
        )
    files = (
        ("Credit per learner and type (CSV)", "/director/credit/credits.csv", None),
        (
            "PARS learner file for MOC (tab-delimited)",
            "/director/credit/pars.txt",
            unready_file(schedule, Report.PARS),
        ),
        (
            "CPE Monitor file for pharmacists (CSV)",
            "/director/credit/cpe-monitor.csv",
            unready_file(schedule, Report.CPE_MONITOR),
        ),
    )
    return CreditOverview(
        findings(d, [i.designated() for i in schedule.course.items]),
        tuple(types),
        items,
        tuple(professions),
        files,
    )


def overview_rows(o: CreditOverview) -> list[dict[str, Any]]:
    """The per-item and per-profession tables as rows, for a spreadsheet."""
    rows: list[dict[str, Any]] = []
    for i in o.items:
        rows.append(
            {
                "table": "item",
                "name": i.label,
                "carries": "; ".join(f"{n} {m:g} min" for n, m in i.carries),
                "learners": i.present,
                "mean_minutes": round(i.mean_minutes, 1),
            }
        )
    for p in o.professions:
        rows.append(
            {
                "table": "profession",
                "name": p.discipline.value,
                "carries": "; ".join(f"{n}: {c} claimed {t:g}" for n, c, t in p.claimed),
                "learners": p.learners,
                "mean_minutes": None,
            }
        )
    return rows
