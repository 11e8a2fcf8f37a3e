"""What the provider designates: each credit type the course offers, its maximum, who may claim
it and what a claim needs, and, item by item, how many minutes of which items carry it.

Pure data and checks, no I/O. The course data (scenarios/course.yaml) writes the designations;
`findings` says where they and the agenda disagree (designated minutes over or under a maximum,
parts of a credit type that add to more than the whole), so the director sees it before a
learner does. What attendance earns under these designations is `credit`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.domain.people import Discipline


class Requirement(StrEnum):
    """What a claim of a credit type needs besides attendance."""

    EVALUATION = "evaluation"  # the course evaluation submitted
    BOARD_ID = "board_id"  # the learner's id with the board, on the roster
    BIRTH_DATE = "birth_date"  # birth month and day, on the roster (boards match on it)
    CONSENT = "consent"  # the learner's permission to share their completion with the board
    ASSESSED = "assessed"  # an individual assessment with feedback released to the learner


class BoardId(StrEnum):
    """The roster column holding a learner's id with a board."""

    ABIM = "abim_id"
    ABP = "abp_id"
    NABP = "nabp_id"


class Report(StrEnum):
    """Where completions of a credit type are reported by the provider."""

    NONE = "none"  # the certificate is the record
    PARS = "pars"  # ACCME's PARS, for MOC boards
    CPE_MONITOR = "cpe_monitor"  # NABP's CPE Monitor, for pharmacists


_DEGREE = re.compile(r"^[A-Za-z][A-Za-z.\-]{0,11}$")


def degree_key(degree: str) -> str:
    """A degree as compared: "M.D." and "md" are "MD"; "Pharm.D." is "PHARMD"."""
    return degree.replace(".", "").replace("-", "").upper()


def parse_degrees(text: str) -> tuple[str, ...]:
    """Degrees as a roster writes them ("MD, PhD", "RN; APRN", "PharmD"), checked one by one."""
    out: list[str] = []
    for raw in re.split(r"[,;/]", text):
        d = raw.strip()
        if not d:
            continue
        if not _DEGREE.match(d):
            raise ValueError(
                f"degree {d!r} is not a degree abbreviation (letters and dots, like MD, RN, PharmD)"
            )
        if degree_key(d) not in {degree_key(x) for x in out}:
            out.append(d)
    return tuple(out)


@dataclass(frozen=True)
class CreditType:
    """One kind of credit, contact hours or MOC points the course offers."""

    id: str
    name: str  # as a certificate prints it: "AMA PRA Category 1 Credits™"
    unit: str  # "credits", "contact hours", "MOC points", "hours"
    maximum: float
    step: float  # 0.25 for credit and hours; 1.0 where a board takes whole points
    professions: frozenset[Discipline] | None  # None: every profession
    degrees: frozenset[str]  # degree keys that qualify whatever the profession says
    requires: frozenset[Requirement]
    board: str | None  # "ABIM", "ABP", "NABP": who the completion goes to
    board_id: BoardId | None
    report: Report
    part_of: str | None  # the credit type this one is a part of (pharmacology of contact hours)
    statement: str  # the designation or approval statement, "{maximum}" filled in
    board_statement: str | None = None
    participation: bool = False  # a certificate of participation, not a claim of credit
    short: str = ""  # a short name for tables ("AMA PRA 1"); the name when not given
    activity_number: str | None = None  # the board's number for the activity (ACPE's UAN)

    def for_learner(self, discipline: Discipline, degrees: Iterable[str]) -> bool:
        """Whether someone of this profession and these degrees may claim this type: their
        profession is one of its professions, or one of their degrees is one of its degrees."""
        if self.professions is None:
            return True
        return discipline in self.professions or any(degree_key(d) in self.degrees for d in degrees)

    def text(self) -> str:
        return self.statement.replace("{maximum}", f"{self.maximum:.2f}")


@dataclass(frozen=True)
class Designations:
    """The course's credit types in the order certificates list them, and the activity's id."""

    types: tuple[CreditType, ...] = ()
    activity_id: str | None = None  # the provider's activity id in ACCME's PARS

    def get(self, type_id: str) -> CreditType | None:
        return next((t for t in self.types if t.id == type_id), None)

    def parts_of(self, type_id: str) -> tuple[CreditType, ...]:
        return tuple(t for t in self.types if t.part_of == type_id)

    def counted_as(self, t: CreditType) -> str:
        """The type whose designated items count for `t`: a certificate of participation counts
        the hours of the main type's items; every other type its own."""
        main = self.main
        return main.id if t.participation and main is not None else t.id

    @property
    def main(self) -> CreditType | None:
        """The type a certificate of participation states the designation of: the first that is
        neither a part nor participation (AMA PRA Category 1 for a CME activity)."""
        return next((t for t in self.types if not t.part_of and not t.participation), None)


@dataclass(frozen=True)
class DesignatedItem:
    """What `findings` needs of an agenda item: its name, its length and its designations."""

    label: str
    minutes: float
    credit: Mapping[str, float]  # credit type id -> minutes of this item that carry it


def designated_minutes(items: Iterable[DesignatedItem], type_id: str) -> float:
    return sum(i.credit.get(type_id, 0.0) for i in items)


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.2f}"


def findings(d: Designations, items: Iterable[DesignatedItem]) -> tuple[str, ...]:
    """Where the designations and the agenda disagree, in words a director can act on. Empty
    when full attendance earns exactly each maximum and every part fits in its whole."""
    items = tuple(items)
    out: list[str] = []
    for t in d.types:
        minutes = designated_minutes(items, d.counted_as(t))
        full = t.maximum * 60
        if minutes > full + 1e-6:
            out.append(
                f"{t.name}: the designated items run {_hours(minutes)} h, over the maximum of "
                f"{t.maximum:.2f}; full attendance would be capped. Designate fewer minutes or "
                "check the maximum with the provider."
            )
        elif minutes < full - 1e-6:
            out.append(
                f"{t.name}: the designated items run {_hours(minutes)} h, under the maximum of "
                f"{t.maximum:.2f}; nobody can earn the maximum."
            )
        parts = d.parts_of(t.id)
        total = sum(p.maximum for p in parts)
        if parts and total > t.maximum + 1e-9:
            shared = []
            for i in items:
                in_parts = [i.credit[p.id] for p in parts if p.id in i.credit]
                if len(in_parts) > 1:
                    shared.append(f"{i.label} ({min(in_parts):.0f} min)")
            sums = " + ".join(f"{p.maximum:.2f}" for p in parts)
            why = (
                "items counted in more than one part: " + ", ".join(shared)
                if shared
                else "no item is counted in more than one part, so the parts cannot all be earned"
            )
            out.append(
                f"{t.name}: its parts add to {sums} = {total:.2f}, more than the whole "
                f"{t.maximum:.2f}; {why}."
            )
    for report in (Report.PARS, Report.CPE_MONITOR):
        cannot = unreportable(d, report)
        if cannot and any(t.report is report for t in d.types):
            out.append(cannot)
    return tuple(out)


def unreportable(d: Designations, report: Report) -> str | None:
    """Why completions cannot be reported to `report` at all (None: they can): no type goes to
    it, PARS without the activity's id, CPE Monitor without each type's UAN."""
    types = [t for t in d.types if t.report is report]
    if not types:
        return f"This course designates no credit type reported to {report.value}."
    if report is Report.PARS and not d.activity_id:
        return (
            "No PARS activity id is set: MOC completions cannot be reported until the course data "
            "names it (credit.activity_id in course.yaml)."
        )
    no_uan = [t for t in types if report is Report.CPE_MONITOR and not t.activity_number]
    if no_uan:
        return (
            f"{no_uan[0].name} has no UAN (activity_number in course.yaml): CPE Monitor will not "
            "take its completions until the course data names it."
        )
    return None
