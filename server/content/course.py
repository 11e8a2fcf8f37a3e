"""Loads the course data in scenarios/ into domain objects, validating every field on the way."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.content.files import ContentError, Problem, field_path, line_of, load_yaml, validate
from server.domain.agenda import NON_CREDIT_KINDS, AgendaItem, Course, Kind
from server.domain.designations import (
    BoardId,
    CreditType,
    Designations,
    Report,
    Requirement,
    degree_key,
    parse_degrees,
)
from server.domain.people import Discipline

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"
COURSE_FILE = SCENARIOS / "course.yaml"

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _wall_time(value: Any) -> time:
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 10:00 as the number 600.
        raise ValueError('write times in quotes, as "HH:MM" (e.g. "10:00")')
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f'expected a 24-hour time "HH:MM", got {value!r}')
    h, m = value.split(":")
    return time(int(h), int(m))


WallTime = Annotated[time, Field()]
TypeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemModel(_Strict):
    title: str = Field(min_length=1, max_length=200)
    start: WallTime
    end: WallTime
    kind: Kind
    faculty: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    split_by_track: bool = False
    prompts: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default=[], max_length=10
    )
    # The credit types this item carries: a type id for the whole item, or {type id: minutes}
    # for part of it. Absent: the course's `credit.default` (for items other than breaks, lunch
    # and transitions); [] for none.
    credit: list[TypeId | dict[TypeId, Annotated[int, Field(ge=1, le=24 * 60)]]] | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_time(cls, v: Any) -> time:
        return _wall_time(v)

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    @model_validator(mode="after")
    def _ordered(self) -> ItemModel:
        if self.end <= self.start:
            raise ValueError(f"ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})")
        return self


class DayModel(_Strict):
    day: int = Field(ge=1, le=14)
    items: list[ItemModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> DayModel:
        for a, b in zip(self.items, self.items[1:], strict=False):
            if b.start < a.end:
                raise ValueError(
                    f"items overlap or are out of order: {a.title!r} ends {a.end:%H:%M} "
                    f"but {b.title!r} starts {b.start:%H:%M}"
                )
        return self


class CreditTypeModel(_Strict):
    id: TypeId
    name: str = Field(min_length=1, max_length=120)
    unit: str = Field(min_length=1, max_length=40)
    maximum: float = Field(gt=0, le=200)
    step: float = 0.25
    professions: list[Discipline] | Literal["all"] = "all"
    degrees: list[Annotated[str, Field(min_length=1, max_length=12)]] = []
    requires: list[Requirement] = []
    board: str | None = Field(default=None, min_length=1, max_length=40)
    board_id: BoardId | None = None
    report: Report = Report.NONE
    part_of: TypeId | None = None
    participation: bool = False
    short: str | None = Field(default=None, min_length=1, max_length=30)
    # The board's number for the activity: ACPE's universal activity number (UAN) for pharmacy.
    activity_number: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,40}$")
    statement: str = Field(min_length=1, max_length=2000)
    board_statement: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("degrees")
    @classmethod
    def _degrees(cls, v: list[str]) -> list[str]:
        return [d for raw in v for d in parse_degrees(raw)]

    @model_validator(mode="after")
    def _consistent(self) -> CreditTypeModel:
        if self.step not in (0.25, 0.5, 1.0):
            raise ValueError(f"step must be 0.25, 0.5 or 1, not {self.step}")
        if abs(self.maximum / self.step - round(self.maximum / self.step)) > 1e-9:
            raise ValueError(
                f"maximum {self.maximum} is not a whole number of steps of {self.step}"
            )
        if Requirement.BOARD_ID in self.requires and self.board_id is None:
            raise ValueError("requires board_id but names no board_id column")
        if self.report is not Report.NONE and (self.board is None or self.board_id is None):
            raise ValueError(f"is reported to {self.report.value} but names no board and board_id")
        if self.participation and self.part_of:
            raise ValueError("a certificate of participation is not part of another type")
        return self


class CreditModel(_Strict):
    # The activity's id in ACCME's PARS (given when the provider registers the activity).
    activity_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,40}$")
    default: list[TypeId] = []
    types: list[CreditTypeModel] = []

    @model_validator(mode="after")
    def _references(self) -> CreditModel:
        ids = [t.id for t in self.types]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"credit type id(s) used twice: {', '.join(twice)}")
        for t in self.types:
            if t.part_of is not None:
                whole = next((w for w in self.types if w.id == t.part_of), None)
                if whole is None:
                    raise ValueError(f"{t.id} is part_of {t.part_of!r}, which is not a type here")
                if whole.part_of is not None:
                    raise ValueError(f"{t.id} is part of {whole.id}, itself a part; one level only")
        unknown = [i for i in self.default if i not in ids]
        if unknown:
            raise ValueError(f"default names unknown credit type(s): {', '.join(unknown)}")
        return self


class CourseModel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=200)
    accreditor: str = Field(min_length=1, max_length=200)
    timezone: str
    first_date: date
    credit: CreditModel = CreditModel()
    objectives: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default=[], max_length=12
    )
    days: list[DayModel] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name)") from None
        return v

    @model_validator(mode="after")
    def _days_in_order(self) -> CourseModel:
        numbers = [d.day for d in self.days]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"days must be numbered 1, 2, 3… in order; found {numbers}")
        return self


def _item_credit(m: CourseModel, i: ItemModel) -> tuple[tuple[str, float], ...]:
    if i.credit is None:
        whole = [] if i.kind in NON_CREDIT_KINDS else m.credit.default
        entries: list[str | dict[str, int]] = list(whole)
    else:
        entries = list(i.credit)
    out: list[tuple[str, float]] = []
    for e in entries:
        pairs = [(e, i.minutes)] if isinstance(e, str) else list(e.items())
        out += [(t, float(minutes)) for t, minutes in pairs]
    return tuple(out)


def credit_problems(m: CourseModel, node: Any) -> list[Problem]:
    """Where the items' designations do not fit the credit types or the agenda: unknown types,
    credit on a break, more minutes than the item runs, a part designated where its whole is
    not, or for more minutes than the whole."""
    types = {t.id: t for t in m.credit.types}
    problems: list[Problem] = []
    for di, d in enumerate(m.days):
        for ii, i in enumerate(d.items):
            loc: list[int | str] = ["days", di, "items", ii, "credit"]
            where = f"day {d.day} {i.start:%H:%M} {i.title!r}"
            credit = _item_credit(m, i)
            length = i.minutes
            mine = dict(credit)

            def problem(msg: str, loc: list[int | str] = loc, where: str = where) -> None:
                problems.append(Problem(field_path(loc), f"{where}: {msg}", line_of(node, loc)))

            if len(mine) != len(credit):
                problem("names a credit type twice")
            if credit and i.kind in NON_CREDIT_KINDS:
                problem(f"a {i.kind.value} carries no credit")
            for t, minutes in credit:
                if t not in types:
                    problem(f"unknown credit type {t!r} (known: {', '.join(types) or 'none'})")
                    continue
                if types[t].participation:
                    problem(f"{t} counts the main type's items; it is not designated on items")
                if minutes > length:
                    problem(
                        f"{t} is designated for {minutes:.0f} minutes of a {length}-minute item"
                    )
                whole = types[t].part_of
                if whole and mine.get(whole, 0) < minutes:
                    problem(
                        f"{t} is part of {whole}, so its {minutes:.0f} minutes must be "
                        f"designated for {whole} too (it has {mine.get(whole, 0):.0f})"
                    )
    return problems


def course_from_model(m: CourseModel) -> Course:
    items = tuple(
        AgendaItem(
            id=f"d{d.day}-{n:02d}",
            day=d.day,
            title=i.title,
            kind=i.kind,
            start=i.start,
            end=i.end,
            faculty=tuple(i.faculty),
            split_by_track=i.split_by_track,
            prompts=tuple(i.prompts),
            credit=_item_credit(m, i),
        )
        for d in m.days
        for n, i in enumerate(d.items, start=1)
    )
    types = tuple(
        CreditType(
            id=t.id,
            name=t.name,
            unit=t.unit,
            maximum=t.maximum,
            step=t.step,
            professions=None if t.professions == "all" else frozenset(t.professions),
            degrees=frozenset(degree_key(x) for x in t.degrees),
            requires=frozenset(t.requires),
            board=t.board,
            board_id=t.board_id,
            report=t.report,
            part_of=t.part_of,
            statement=t.statement,
            board_statement=t.board_statement,
            participation=t.participation,
            short=t.short or t.name,
            activity_number=t.activity_number,
        )
        for t in m.credit.types
    )
    designations = Designations(types, m.credit.activity_id)
    return Course(
        m.id,
        m.title,
        m.provider,
        m.accreditor,
        m.timezone,
        m.first_date,
        designations,
        items,
        tuple(m.objectives),
    )


def load_course(path: Path = COURSE_FILE, first_date: date | None = None) -> Course:
    """The course in `path`, optionally re-based on another first date.

    Raises ContentError naming the file, field and line of every problem.
    """
    data, node = load_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(path, [Problem("", "expected a mapping of course fields", 1)])
    model = validate(CourseModel, path, data, node)
    problems = credit_problems(model, node)
    if problems:
        raise ContentError(path, problems)
    course = course_from_model(model)
    return course.rebased(first_date) if first_date else course
