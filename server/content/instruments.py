"""Feedback instruments as data: one YAML file per instrument in scenarios/instruments/.

Each item is one of four kinds: `observed` (observed / partly / not observed / not applicable),
`scale` (1-5 with labelled anchors), `quote` (words said, with the moment), `text` (free text).
Validated strictly like the role-play cases; every error names file, field and line.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.content.course import SCENARIOS
from server.content.files import ContentError, Problem, load_entry, load_folder

INSTRUMENTS = SCENARIOS / "instruments"

Line = Annotated[str, Field(min_length=1, max_length=500)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class ItemKind(StrEnum):
    OBSERVED = "observed"
    SCALE = "scale"
    QUOTE = "quote"
    TEXT = "text"


OBSERVED_CHOICES = ("observed", "partly", "not_observed", "not_applicable")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    id: Slug
    kind: ItemKind
    prompt: Line
    help: Line | None = None
    anchors: dict[int, Line] | None = None  # for `scale`: labels for some of 1-5
    required: bool = False  # a form sent without it is refused, naming it

    @model_validator(mode="after")
    def _anchors_only_on_scales(self) -> Item:
        if self.kind is ItemKind.SCALE:
            if not self.anchors or not set(self.anchors) <= {1, 2, 3, 4, 5}:
                raise ValueError("a scale item needs anchors for values among 1-5")
        elif self.anchors is not None:
            raise ValueError(f"only scale items have anchors, not {self.kind.value} items")
        return self


class Section(_Strict):
    title: Line
    items: list[Item] = Field(min_length=1)


class Instrument(_Strict):
    id: Slug
    title: Line
    purpose: Line
    source: Annotated[str, Field(min_length=10, max_length=1000)]  # the published work it follows
    sections: list[Section] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self) -> Instrument:
        ids = [i.id for s in self.sections for i in s.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"item ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def items(self) -> list[Item]:
        return [i for s in self.sections for i in s.items]


def load_instrument(path: Path) -> Instrument:
    return load_entry(Instrument, path, "instrument")


def load_instruments(folder: Path = INSTRUMENTS) -> dict[str, Instrument]:
    """Every instrument in `folder`, by id; ContentError lists the problems of every file."""
    return load_folder(folder, load_instrument, "instrument")


EVALUATIONS = SCENARIOS / "evaluations"
DAILY_FORM = "daily"
COURSE_FORM = "course"

# The instrument observers fill in for a case: the one of the case's first framework.
FRAMEWORK_INSTRUMENT = {
    "SPIKES": "spikes",
    "REMAP": "remap",
    "NURSE": "nurse",
    "Serious Illness Conversation Guide": "serious-illness-guide",
}


def spec(instrument: Instrument) -> tuple[tuple[str, str], ...]:
    """The form's shape as the domain checks it: (item id, kind) pairs."""
    return tuple((i.id, i.kind.value) for i in instrument.items)


def required(instrument: Instrument) -> tuple[tuple[str, str], ...]:
    """The items a form must answer: (item id, prompt) pairs."""
    return tuple((i.id, i.prompt) for i in instrument.items if i.required)


def load_evaluations(folder: Path = EVALUATIONS) -> dict[str, Instrument]:
    """The evaluation forms (same schema as instruments): `daily` and `course` are required."""
    forms = load_folder(folder, load_instrument, "evaluation form")
    missing = sorted({DAILY_FORM, COURSE_FORM} - set(forms))
    if missing:
        raise ContentError(folder, [Problem("", f"missing evaluation form(s): {missing}", 1)])
    return forms


def evaluation_form(forms: dict[str, Instrument], key: str) -> Instrument:
    """The form for an evaluation key: `course`, or the daily form for `day-N`."""
    return forms[COURSE_FORM if key == COURSE_FORM else DAILY_FORM]
