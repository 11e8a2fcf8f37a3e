"""Feedback instruments as data: the five ship valid; broken files are refused clearly."""

from pathlib import Path

import pytest
import yaml

from server.content.files import ContentError
from server.content.instruments import INSTRUMENTS, ItemKind, load_instrument, load_instruments


def test_the_five_instruments_load_and_cite_their_sources():
    found = load_instruments()
    assert set(found) == {
        "spikes",
        "nurse",
        "remap",
        "serious-illness-guide",
        "global-communication",
    }
    assert [i.id for i in found["spikes"].sections[0].items] == [
        "setting",
        "perception",
        "invitation",
        "knowledge",
        "emotions",
        "strategy",
    ]
    assert [i.id for i in found["nurse"].items][:5] == [
        "naming",
        "understanding",
        "respecting",
        "supporting",
        "exploring",
    ]
    assert [i.id for i in found["remap"].items][:5] == [
        "reframe",
        "expect-emotion",
        "map",
        "align",
        "plan",
    ]
    rating = found["global-communication"].sections[0].items
    assert len(rating) == 9 and all(i.kind is ItemKind.SCALE for i in rating)
    for inst in found.values():
        assert inst.source and {i.kind for i in inst.items} >= {ItemKind.TEXT}


def broken(tmp_path: Path, mutate) -> str:
    data = yaml.safe_load((INSTRUMENTS / "nurse.yaml").read_text())
    mutate(data)
    target = tmp_path / "nurse.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    with pytest.raises(ContentError) as e:
        load_instrument(target)
    return str(e.value)


def test_an_unknown_kind_and_an_unknown_field(tmp_path):
    assert "sections[0].items[0].kind" in broken(
        tmp_path, lambda d: d["sections"][0]["items"][0].update(kind="slider")
    )
    msg = broken(tmp_path, lambda d: d["sections"][0]["items"][1].update(weight=2))
    assert "sections[0].items[1].weight: unknown field" in msg and "nurse.yaml:" in msg


def test_scales_need_anchors_and_only_scales_have_them(tmp_path):
    assert "needs anchors" in broken(
        tmp_path, lambda d: d["sections"][0]["items"][5].pop("anchors")
    )
    assert "only scale items have anchors" in broken(
        tmp_path, lambda d: d["sections"][0]["items"][0].update(anchors={1: "x"})
    )


def test_item_ids_are_unique(tmp_path):
    assert "repeated: naming" in broken(
        tmp_path, lambda d: d["sections"][1]["items"][0].update(id="naming")
    )


def test_evaluation_forms_load_and_both_are_required(tmp_path):
    from server.content.instruments import EVALUATIONS, evaluation_form, load_evaluations

    forms = load_evaluations()
    assert set(forms) == {"daily", "course"}
    assert evaluation_form(forms, "day-2").id == "daily"
    assert evaluation_form(forms, "course").id == "course"
    assert any(i.id == "commitment" for i in forms["course"].items)  # commitment to change
    (tmp_path / "daily.yaml").write_text((EVALUATIONS / "daily.yaml").read_text())
    with pytest.raises(ContentError, match="missing evaluation form"):
        load_evaluations(tmp_path)


def test_every_case_has_a_feedback_instrument_from_its_framework():
    from server.content.cases import load_library
    from server.content.instruments import FRAMEWORK_INSTRUMENT
    from server.live.views.feedback import instrument_for

    instruments = load_instruments()
    assert set(FRAMEWORK_INSTRUMENT.values()) <= set(instruments)
    for case in load_library().values():
        inst = instrument_for(case, instruments)
        assert inst.id == FRAMEWORK_INSTRUMENT[case.frameworks[0].value], case.id


def test_the_course_evaluation_rates_each_objective_and_faculty_member_and_asks_if_bias_was_seen():
    from server.content.course import load_course
    from server.content.instruments import load_evaluations, spec
    from server.domain.agenda import Kind
    from server.domain.errors import DomainError
    from server.domain.submissions import check_answers

    course = load_course()
    form = load_evaluations(course=course)["course"]
    ids = [i.id for i in form.items]
    assert len(course.objectives) == 4
    assert ids[:4] == ["objective-1", "objective-2", "objective-3", "objective-4"]
    assert all(i.required for i in form.items if i.id.startswith("objective-"))
    faculty = {f for i in course.items if i.kind is Kind.PLENARY for f in i.faculty}
    rated = {i.prompt.split(":")[0] for i in form.items if i.id.startswith("faculty-")}
    assert rated == faculty and len(faculty) == 4
    bias = next(i for i in form.items if i.id == "bias")
    assert "see commercial bias" in bias.prompt and list(bias.options) == ["yes", "no"]
    profession = next(i for i in form.items if i.id == "profession")
    assert profession.required and "pharmacist" in profession.options
    wanted = next(i for i in form.items if i.id == "credit-wanted")
    assert "ama-pra-category-1" in wanted.options and "abim-moc" in wanted.options
    shape = spec(form)
    assert check_answers(shape, {"bias": "yes"}, "The form") == {"bias": "yes"}
    with pytest.raises(DomainError, match="bias: choose one of yes, no"):
        check_answers(shape, {"bias": "maybe"}, "The form")
    picked = check_answers(shape, {"credit-wanted": "abim-moc,abp-moc,abim-moc"}, "The form")
    assert picked == {"credit-wanted": "abim-moc,abp-moc"}
    with pytest.raises(DomainError, match="not one of"):
        check_answers(shape, {"credit-wanted": "abim-moc,cash"}, "The form")
