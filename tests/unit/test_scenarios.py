"""The role-play library: every case is valid, the mix the course needs is there, and broken
files are refused with file, field and line."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from server.content.cases import ROLEPLAYS, SYMPTOM_SKILLS, Skill, load_library, load_scenario
from server.content.files import ContentError


def test_every_case_in_the_library_is_valid_and_the_mix_is_complete():
    cases = load_library()
    assert len(cases) >= 12
    mix = Counter((c.track, c.skill) for c in cases.values())
    for track in ("adult", "pediatric"):
        assert mix[(track, Skill.DELIVERING_SERIOUS_NEWS)] >= 2
        assert mix[(track, Skill.EXPLORING_VALUES)] >= 2
    symptoms = sum(n for (_, skill), n in mix.items() if skill in SYMPTOM_SKILLS)
    assert symptoms >= 4
    for c in cases.values():
        assert c.citation and c.frameworks
        assert (c.child is not None) == (c.track == "pediatric")


def broken(tmp_path: Path, mutate) -> str:
    source = ROLEPLAYS / "adult-news-pancreatic-cancer.yaml"
    data = yaml.safe_load(source.read_text())
    mutate(data)
    target = tmp_path / f"{data.get('id', 'x')}.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    with pytest.raises(ContentError) as e:
        load_scenario(target)
    return str(e.value)


def test_an_unknown_field_names_file_path_and_line(tmp_path):
    msg = broken(tmp_path, lambda d: d["portrayal"]["cue_ladder"]["high"].update(volume=11))
    assert "portrayal.cue_ladder.high.volume: unknown field" in msg
    assert "adult-news-pancreatic-cancer.yaml:" in msg and ":?:" not in msg


def test_a_missing_field_and_a_bad_value(tmp_path):
    assert "door_note.task: Field required" in broken(
        tmp_path, lambda d: d["door_note"].pop("task")
    )
    assert "skill:" in broken(tmp_path, lambda d: d.update(skill="juggling"))
    assert "time_minutes" in broken(tmp_path, lambda d: d["door_note"].update(time_minutes=0))


def test_a_pediatric_case_needs_its_child(tmp_path):
    assert "needs a `child` section" in broken(tmp_path, lambda d: d.update(track="pediatric"))


def test_the_id_must_match_the_file_name(tmp_path):
    source = ROLEPLAYS / "adult-news-pancreatic-cancer.yaml"
    target = tmp_path / "renamed.yaml"
    target.write_text(source.read_text())
    with pytest.raises(ContentError, match="must match the file name"):
        load_scenario(target)


def test_a_folder_check_lists_every_broken_file(tmp_path):
    (tmp_path / "a.yaml").write_text("id: a\ntitle: [\n")
    (tmp_path / "b.yaml").write_text("id: b\n")
    with pytest.raises(ContentError) as e:
        load_library(tmp_path)
    assert "a.yaml" in str(e.value) and "b.yaml" in str(e.value)


def test_the_clinical_corrections_faculty_sent_back_hold():
    """What a clinician-educator's review found, kept fixed: each case's facts and expected plan,
    with the reasoning and source in the case's notes for faculty."""
    cases = load_library()
    text = {k: yaml.safe_dump(v.model_dump(mode="json")) for k, v in cases.items()}
    every = "\n".join(text.values()).lower()
    assert "stool softener" not in every  # a stimulant laxative goes with an opioid
    pain = cases["adult-pain-bone-metastases"]
    assert any("urgent MRI" in g for g in pain.goal_suggestions)
    assert any("senna" in n for n in pain.faculty_notes)
    copd = text["adult-dyspnea-copd-home"]
    assert not ("olodaterol" in copd and "formoterol" in copd)  # one long-acting beta-agonist
    assert "0.25 mL" in cases["adult-dying-home-hospice"].door_note.clinician_knows
    # Morphine for a 21 kg child: the WHO starting range is 0.2-0.4 mg/kg every 4 hours.
    dose = re.search(r"(\d+) mg\s+every 4 hours for her 21 kg", text["peds-pain-neuroblastoma"])
    assert dose and 0.2 * 21 <= int(dose.group(1)) <= 0.4 * 21
    nicu = cases["peds-news-nicu-brain-hemorrhage"]
    assert nicu.child is not None and "postmenstrual age" in nicu.child.age
    assert "varies widely" in text["peds-news-diffuse-midline-glioma"]
    assert "off-label" in cases["peds-values-relapsed-osteosarcoma"].door_note.clinician_knows
    assert "empagliflozin" in cases["adult-values-heart-failure"].door_note.clinician_knows
    reviewed = [k for k, v in cases.items() if v.faculty_notes]
    assert len(reviewed) >= 8


def test_every_topic_of_the_course_has_a_case_in_each_track_and_every_case_a_stereotyping_stop():
    """The course teaches serious news, values and recommendations, and five symptom topics in both
    tracks: each (track, topic) has at least one case to practise it."""
    cases = load_library()
    assert len(cases) >= 18
    mix = Counter((c.track, c.skill) for c in cases.values())
    missing = [(t, s.value) for t in ("adult", "pediatric") for s in Skill if not mix[(t, s)]]
    assert missing == []
    for c in cases.values():
        stops = " ".join(c.stop_rules.facilitator_halts_when).lower()
        assert "stereotyp" in stops, c.id
