"""Role-play cases as data: one YAML file per case in scenarios/roleplays/, strictly validated.

Every error names the file, the field path and the line. Unknown fields are refused, so a typo
never silently drops part of a script.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.content.course import SCENARIOS
from server.content.files import load_entry, load_folder

ROLEPLAYS = SCENARIOS / "roleplays"

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Line = Annotated[str, Field(min_length=1, max_length=500)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class Skill(StrEnum):
    DELIVERING_SERIOUS_NEWS = "delivering_serious_news"
    EXPLORING_VALUES = "exploring_values_and_making_recommendations"
    PAIN = "pain"
    DYSPNEA = "dyspnea"
    GI = "gi_symptoms"
    MOOD = "depression_anxiety_adjustment"
    DYING = "caring_for_the_dying_patient"


SYMPTOM_SKILLS = frozenset({Skill.PAIN, Skill.DYSPNEA, Skill.GI, Skill.MOOD, Skill.DYING})


class Framework(StrEnum):
    SPIKES = "SPIKES"
    REMAP = "REMAP"
    NURSE = "NURSE"
    SICG = "Serious Illness Conversation Guide"
    SICG_PEDS = "Pediatric Serious Illness Conversation Guide"
    SYMPTOMS = "Whole-person symptom assessment"


class Forthcoming(StrEnum):
    GUARDED = "guarded"
    SOMEWHAT = "somewhat"
    OPEN = "open"


class Level(StrEnum):
    """Who the case is written for (ASPE: the learners' level is stated with the objectives)."""

    FOUNDATIONAL = "foundational"  # early in training or new to these conversations
    INTERMEDIATE = "intermediate"  # has had some of these conversations
    ADVANCED = "advanced"  # experienced clinicians; the hardest versions of the conversation


class Load(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DoorNote(_Strict):
    setting: Text
    clinician_knows: Text
    task: Text
    time_minutes: int = Field(ge=3, le=60)


class Hidden(_Strict):
    info: Text
    reveal_when: Text


class CueLevel(_Strict):
    description: Text
    example_lines: list[Line] = Field(min_length=1, max_length=8)


class CueLadder(_Strict):
    low: CueLevel
    medium: CueLevel
    high: CueLevel


class Portrayal(_Strict):
    who: Line
    age: int = Field(ge=0, le=110)
    relationship: Line
    affect: Text
    forthcoming: Forthcoming
    facts_known: list[Line] = Field(min_length=1)
    hidden: list[Hidden] = Field(min_length=1)
    cue_ladder: CueLadder
    opening_line: Line
    wants: Text


class Parent(_Strict):
    role: Line
    hope: Text
    worry: Text


class Child(_Strict):
    age: Line
    developmental_stage: Text
    present: bool
    parents: list[Parent] = Field(min_length=1, max_length=4)


class Beat(_Strict):
    id: Slug
    title: Line
    actor_prompts: list[Line] = Field(min_length=1)


class StopRules(_Strict):
    safe_word: Annotated[str, Field(min_length=2, max_length=40)]
    sp_halts_when: list[Line] = Field(min_length=1)
    facilitator_halts_when: list[Line] = Field(min_length=1)


class Intensity(_Strict):
    """How hard the portrayal is on the actor, and how often one actor may give it (ASPE SOBP:
    limits on repeating emotionally demanding roles)."""

    level: Load
    max_per_day: int = Field(ge=1, le=12)  # portrayals of this case by one actor in a day
    rest_minutes: int = Field(ge=0, le=120)  # between two portrayals by the same actor

    @model_validator(mode="after")
    def _high_is_limited(self) -> Intensity:
        if self.level is Load.HIGH and (self.max_per_day > 6 or self.rest_minutes < 5):
            raise ValueError(
                "a high-intensity case allows at most 6 portrayals a day, rest >= 5 min"
            )
        return self


class Scenario(_Strict):
    id: Slug
    title: Line
    track: Annotated[str, Field(pattern=r"^(adult|pediatric)$")]
    skill: Skill
    frameworks: list[Framework] = Field(min_length=1)
    citation: Text
    door_note: DoorNote
    portrayal: Portrayal
    child: Child | None = None
    beats: list[Beat] = Field(min_length=3, max_length=12)
    goal_suggestions: list[Line] = Field(min_length=2)
    debrief_points: list[Line] = Field(min_length=2)
    # The clinical reasoning behind the case's facts and expected plan, with sources, for the
    # faculty who review it (not shown to the actor or the learners).
    faculty_notes: list[Text] = Field(default=[], max_length=12)
    stop_rules: StopRules
    # Simulation practice (ASPE Standards of Best Practice): what the learner practises and at
    # which level; how the actor gives feedback out of role at debrief; how they step out of the
    # role and what the group watches for afterwards; how often the portrayal may be repeated.
    objectives: list[Line] = Field(min_length=2, max_length=5)
    level: Level
    sp_feedback: list[Line] = Field(min_length=2, max_length=6)
    de_roling: list[Line] = Field(min_length=1, max_length=4)
    aftercare: list[Line] = Field(min_length=1, max_length=4)
    intensity: Intensity
    # The feedback forms observers fill in (instrument ids, checked against the library on load);
    # the global rating is added to every form, and is the learner's self-rating.
    instruments: list[Slug] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _pediatric_needs_child(self) -> Scenario:
        if self.track == "pediatric" and self.child is None:
            raise ValueError("a pediatric case needs a `child` section")
        if self.track == "adult" and self.child is not None:
            raise ValueError("an adult case has no `child` section")
        ids = [b.id for b in self.beats]
        if len(ids) != len(set(ids)):
            raise ValueError(f"beat ids must be unique: {ids}")
        return self


def load_scenario(path: Path) -> Scenario:
    return load_entry(Scenario, path, "scenario")


def load_library(folder: Path = ROLEPLAYS) -> dict[str, Scenario]:
    """Every case in `folder`, by id. Raises ContentError listing the problems of every file."""
    return load_folder(folder, load_scenario, "scenario")
