"""The role-play library: every case is valid, the mix the course needs is there, and broken
files are refused with file, field and line."""

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
