"""Feedback instruments as data: one YAML file per instrument in scenarios/instruments/.

Each item is one of six kinds: `observed` (observed / partly / not observed / not applicable),
`scale` (1-5 with labelled anchors), `quote` (words said, with the moment), `text` (free text),
`choice` (one of its `options`) and `choices` (any of them).
Validated strictly like the role-play cases; every error names file, field and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.content.cases import Scenario
from server.content.course import SCENARIOS
from server.content.files import ContentError, Problem, load_entry, load_folder
from server.domain.agenda import Course, Kind
from server.domain.feedback import SELF_RATING
from server.domain.people import Discipline

INSTRUMENTS = SCENARIOS / "instruments"

Line = Annotated[str, Field(min_length=1, max_length=500)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class ItemKind(StrEnum):
    OBSERVED = "observed"
    SCALE = "scale"
    QUOTE = "quote"
    TEXT = "text"
    CHOICE = "choice"
    CHOICES = "choices"


OBSERVED_CHOICES = ("observed", "partly", "not_observed", "not_applicable")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    id: Slug
    kind: ItemKind
    prompt: Line
    help: Line | None = None
    anchors: dict[int, Line] | None = None  # for `scale`: labels for some of 1-5
    options: dict[Slug, Line] | None = None  # for `choice` and `choices`: value -> label
    required: bool = False  # a form sent without it is refused, naming it

    @model_validator(mode="after")
    def _anchors_only_on_scales(self) -> Item:
        if self.kind is ItemKind.SCALE:
            if not self.anchors or not set(self.anchors) <= {1, 2, 3, 4, 5}:
                raise ValueError("a scale item needs anchors for values among 1-5")
        elif self.anchors is not None:
            raise ValueError(f"only scale items have anchors, not {self.kind.value} items")
        if self.kind in (ItemKind.CHOICE, ItemKind.CHOICES):
            if not self.options or len(self.options) < 2:
                raise ValueError(f"a {self.kind.value} item needs at least two options")
        elif self.options is not None:
            raise ValueError(f"only choice items have options, not {self.kind.value} items")
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


def combine(parts: Sequence[Instrument]) -> Instrument:
    """One form made of several instruments: each one's structured sections in order (titled with
    its instrument), then the free-text sections; an item id two instruments share is one
    question, asked once where it first appears (so "what worked" is not asked twice)."""
    if len(parts) == 1:
        return parts[0]
    seen: dict[str, Item] = {}
    structured: list[Section] = []
    free: list[Section] = []
    for inst in parts:
        for section in inst.sections:
            items = []
            for item in section.items:
                if item.id in seen:
                    if seen[item.id].kind is not item.kind:
                        raise ValueError(
                            f"item {item.id!r} is a {seen[item.id].kind.value} item in one "
                            f"instrument and a {item.kind.value} item in {inst.id!r}"
                        )
                    continue
                seen[item.id] = item
                items.append(item)
            if not items:
                continue
            if all(i.kind in (ItemKind.TEXT, ItemKind.QUOTE) for i in items):
                free.append(section.model_copy(update={"items": items}))
            else:
                title = f"{inst.title}: {section.title}"
                structured.append(section.model_copy(update={"items": items, "title": title}))
    # Made of parts already checked; its id ("nurse+global-communication") names them all.
    return Instrument.model_construct(
        id="+".join(i.id for i in parts),
        title=" + ".join(i.title for i in parts),
        purpose=parts[0].purpose,
        source="; ".join(i.source for i in parts),
        sections=[*structured, *free],
    )


def parts_of(instrument_id: str) -> frozenset[str]:
    """The instruments a form was made of (a feedback event names its form's id)."""
    return frozenset(instrument_id.split("+"))


def form_for(scenario: Scenario | None, instruments: Mapping[str, Instrument]) -> Instrument:
    """The form observers fill in for a case: the case's instruments, then the global rating
    (on which the learner rates themselves, so each turn shows self against others)."""
    ids = [*(scenario.instruments if scenario else []), SELF_RATING]
    return combine([instruments[i] for i in dict.fromkeys(ids) if i in instruments])


def check_forms(
    library: Mapping[str, Scenario], instruments: Mapping[str, Instrument], where: Path
) -> None:
    """Raise ContentError when the cases and the instruments do not make a form for each case."""
    problems = form_problems(library, instruments)
    if problems:
        raise ContentError(where, [Problem("instruments", p, None) for p in problems])


def form_problems(
    library: Mapping[str, Scenario], instruments: Mapping[str, Instrument]
) -> list[str]:
    """What is wrong between the cases and the instruments: a case naming an instrument that does
    not exist, or instruments that cannot be made into one form."""
    out = []
    if SELF_RATING not in instruments:
        out.append(f"the instrument {SELF_RATING!r} (the global rating) is missing")
    for case in library.values():
        missing = [i for i in case.instruments if i not in instruments]
        if missing:
            out.append(f"case {case.id!r}: no instrument {', '.join(map(repr, missing))}")
            continue
        try:
            form_for(case, instruments)
        except ValueError as e:
            out.append(f"case {case.id!r}: {e}")
    return out


def spec(instrument: Instrument) -> tuple[tuple[str, str], ...]:
    """The form's shape as the domain checks it: (item id, kind) pairs; a choice item's kind
    carries its options ("choice=yes|no")."""
    return tuple(
        (i.id, f"{i.kind.value}={'|'.join(i.options)}" if i.options else i.kind.value)
        for i in instrument.items
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "x"


def _ratings(
    title: str, prompts: dict[str, str], anchors: dict[int, str], required: bool = False
) -> Section:
    """A section of 1-5 ratings, one per (item id, prompt)."""
    items = [
        Item(id=i, kind=ItemKind.SCALE, prompt=p, anchors=anchors, required=required)
        for i, p in prompts.items()
    ]
    return Section(title=title, items=items)


def with_course(form: Instrument, course: Course) -> Instrument:
    """The course evaluation with the items the course data decides: one rating per learning
    objective, the respondent's profession, the credit they want, and one rating per faculty
    member of the plenary items (ACCME asks providers to evaluate each against its objectives;
    the faculty and objectives are the course page's)."""
    first: list[Section] = []
    sections: list[Section] = []
    if course.objectives:
        prompts = {
            f"objective-{n}": f"This course prepared me to: {text}"
            for n, text in enumerate(course.objectives, start=1)
        }
        scale = {1: "not at all", 3: "partly", 5: "fully"}
        first.append(_ratings("The learning objectives", prompts, scale, required=True))
    about = [
        Item(
            id="profession",
            kind=ItemKind.CHOICE,
            prompt="Your profession",
            options={d.value.replace("_", "-"): d.value.replace("_", " ") for d in Discipline},
            required=True,
        )
    ]
    types = [t for t in course.designations.types if not t.part_of]
    if len(types) >= 2:
        about.append(
            Item(
                id="credit-wanted",
                kind=ItemKind.CHOICES,
                prompt="The credit or certificate you want from this activity",
                options={
                    t.id.replace("_", "-"): "a certificate of participation"
                    if t.participation
                    else t.name
                    for t in types
                },
            )
        )
    sections.append(Section(title="About you", items=about))
    faculty = sorted(
        {f for i in course.items if i.kind is Kind.PLENARY for f in i.faculty},
        key=lambda f: f.split()[-1],
    )
    if faculty:
        prompts = {
            f"faculty-{_slug(n)}": f"{n}: how clear and useful was their teaching?" for n in faculty
        }
        scale = {1: "poor", 3: "good", 5: "excellent"}
        sections.append(_ratings("Faculty of the plenary sessions", prompts, scale))
    return form.model_copy(update={"sections": [*first, *form.sections, *sections]})


def required(instrument: Instrument) -> tuple[tuple[str, str], ...]:
    """The items a form must answer: (item id, prompt) pairs."""
    return tuple((i.id, i.prompt) for i in instrument.items if i.required)


def load_evaluations(
    folder: Path = EVALUATIONS, course: Course | None = None
) -> dict[str, Instrument]:
    """The evaluation forms (same schema as instruments): `daily` and `course` are required;
    with `course`, the course form gains the items its data decides (`with_course`)."""
    forms = load_folder(folder, load_instrument, "evaluation form")
    missing = sorted({DAILY_FORM, COURSE_FORM} - set(forms))
    if missing:
        raise ContentError(folder, [Problem("", f"missing evaluation form(s): {missing}", 1)])
    if course is not None:
        forms[COURSE_FORM] = with_course(forms[COURSE_FORM], course)
    return forms


def evaluation_form(forms: dict[str, Instrument], key: str) -> Instrument:
    """The form for an evaluation key: `course`, or the daily form for `day-N`."""
    return forms[COURSE_FORM if key == COURSE_FORM else DAILY_FORM]
