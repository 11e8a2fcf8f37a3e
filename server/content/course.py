"""Loads the course data in scenarios/ into domain objects, validating every field on the way."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.content.files import ContentError, Problem, load_yaml, validate
from server.domain.agenda import AgendaItem, Course, Credits, Kind

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

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_time(cls, v: Any) -> time:
        return _wall_time(v)

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


class CreditsModel(_Strict):
    ama_pra_category_1: float = Field(ge=0, le=100)
    contact_hours: float = Field(ge=0, le=100)
    pharmacology_contact_hours: float = Field(ge=0, le=100)
    abp_moc_points: float = Field(ge=0, le=100)


class CourseModel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=200)
    accreditor: str = Field(min_length=1, max_length=200)
    timezone: str
    first_date: date
    credits: CreditsModel
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
        )
        for d in m.days
        for n, i in enumerate(d.items, start=1)
    )
    c = m.credits
    credits = Credits(
        c.ama_pra_category_1, c.contact_hours, c.pharmacology_contact_hours, c.abp_moc_points
    )
    return Course(m.id, m.title, m.provider, m.accreditor, m.timezone, m.first_date, credits, items)


def load_course(path: Path = COURSE_FILE, first_date: date | None = None) -> Course:
    """The course in `path`, optionally re-based on another first date.

    Raises ContentError naming the file, field and line of every problem.
    """
    data, node = load_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(path, [Problem("", "expected a mapping of course fields", 1)])
    course = course_from_model(validate(CourseModel, path, data, node))
    return course.rebased(first_date) if first_date else course
