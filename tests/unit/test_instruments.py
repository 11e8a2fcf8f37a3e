"""Feedback instruments as data: the seven ship valid; broken files are refused clearly."""

from pathlib import Path

import pytest
import yaml

from server.content.files import ContentError
from server.content.instruments import INSTRUMENTS, ItemKind, load_instrument, load_instruments


def test_the_instruments_load_and_cite_their_sources():
    found = load_instruments()
    assert set(found) == {
        "spikes",
        "nurse",
        "remap",
        "serious-illness-guide",
        "pediatric-serious-illness-guide",
        "symptom-assessment",
        "global-communication",
    }
    sicg = [i.id for i in found["serious-illness-guide"].items]
    assert {"hopes", "worries", "abilities", "trade-offs", "commit"} <= set(sicg)
    peds = [i.id for i in found["pediatric-serious-illness-guide"].items]
    assert {"child-voice", "hopes", "commit"} <= set(peds)
    domains = [i.prompt.split(" ")[0] for i in found["symptom-assessment"].items]
    assert {"Psychological", "Social", "Spiritual"} <= set(domains)
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


def test_every_case_has_its_forms_and_the_global_rating_for_the_gap():
    from server.content.cases import SYMPTOM_SKILLS, Framework, load_library
    from server.content.instruments import form_for, form_problems

    instruments = load_instruments()
    library = load_library()
    assert form_problems(library, instruments) == []
    for case in library.values():
        form = form_for(case, instruments)
        assert form.id.split("+") == [*case.instruments, "global-communication"], case.id
        ids = [i.id for i in form.items]
        assert len(ids) == len(set(ids)), case.id  # a shared item is asked once
        assert ids[-2:] == ["worked", "try"] or ids[-3:-1] == ["worked", "try"], case.id
        if case.skill in SYMPTOM_SKILLS:
            assert case.instruments == ["nurse", "symptom-assessment"], case.id
            assert Framework.SYMPTOMS in case.frameworks, case.id
        if case.track == "pediatric":
            assert Framework.SICG not in case.frameworks, case.id
            assert "serious-illness-guide" not in case.instruments, case.id
        if Framework.SICG_PEDS in case.frameworks and case.skill not in SYMPTOM_SKILLS:
            assert "pediatric-serious-illness-guide" in case.instruments, case.id


def test_a_case_naming_a_missing_instrument_or_clashing_items_is_a_problem():
    from server.content.cases import load_library
    from server.content.instruments import Item, ItemKind, form_problems

    instruments = load_instruments()
    case = next(iter(load_library().values()))
    ghost = case.model_copy(update={"instruments": ["no-such-form"]})
    assert form_problems({case.id: ghost}, instruments) == [
        f"case {case.id!r}: no instrument 'no-such-form'"
    ]
    nurse = instruments["nurse"]
    clash = nurse.model_copy(
        update={
            "sections": [
                nurse.sections[0].model_copy(
                    update={"items": [Item(id="relationship", kind=ItemKind.TEXT, prompt="x")]}
                )
            ]
        }
    )
    clashing = case.model_copy(update={"instruments": ["nurse"]})
    problems = form_problems({case.id: clashing}, {**instruments, "nurse": clash})
    assert problems == [
        f"case {case.id!r}: item 'relationship' is a text item in one instrument and a scale "
        "item in 'global-communication'"
    ]


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
