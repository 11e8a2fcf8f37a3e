"""Broken course files are refused with the file, the field and the line of each problem."""

from pathlib import Path

import pytest
import yaml

from server.content.course import COURSE_FILE, load_course
from server.content.files import ContentError


def write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(COURSE_FILE.read_text())
    mutate(data)
    p = tmp_path / "course.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def problems(path: Path) -> str:
    with pytest.raises(ContentError) as e:
        load_course(path)
    return str(e.value)


def test_the_shipped_course_loads():
    assert load_course().title == "Core Practice of Palliative Care"


def test_an_unknown_kind_names_field_and_line(tmp_path):
    p = write(tmp_path, lambda d: d["days"][0]["items"][2].update(kind="recess"))
    msg = problems(p)
    assert str(p) in msg
    assert "days[0].items[2].kind" in msg
    line = int(msg.split(":")[1])
    assert "recess" in p.read_text().splitlines()[line - 1]


def test_an_unknown_field_is_refused(tmp_path):
    p = write(tmp_path, lambda d: d["days"][1]["items"][0].update(room="A"))
    assert "days[1].items[0].room: unknown field" in problems(p)


def test_overlapping_items_are_refused(tmp_path):
    p = write(tmp_path, lambda d: d["days"][0]["items"][1].update(start="10:15"))
    assert "overlap" in problems(p)


def test_an_item_that_ends_before_it_starts(tmp_path):
    p = write(tmp_path, lambda d: d["days"][2]["items"][0].update(end="09:00"))
    assert "days[2].items[0]" in problems(p)


def test_an_unquoted_time_gets_a_helpful_message(tmp_path):
    p = write(tmp_path, lambda d: d["days"][0]["items"][0].update(start=600))
    assert "write times in quotes" in problems(p)


def test_an_unknown_time_zone(tmp_path):
    p = write(tmp_path, lambda d: d.update(timezone="Mars/Olympus"))
    assert "timezone: Value error, unknown time zone" in problems(p)


def test_days_out_of_order(tmp_path):
    p = write(tmp_path, lambda d: d["days"].reverse())
    assert "numbered 1, 2, 3" in problems(p)


def test_broken_yaml_names_the_line(tmp_path):
    p = tmp_path / "course.yaml"
    p.write_text("id: x\ntitle: [unclosed\n")
    assert f"{p}:" in problems(p) and "not valid YAML" in problems(p)


def test_a_missing_file(tmp_path):
    assert "cannot read" in problems(tmp_path / "nope.yaml")
