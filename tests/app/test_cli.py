"""`companion agenda`: the JSON shape other tools rely on, re-basing, .ics, and clear errors."""

import json

import pytest

from server.cli import main


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_agenda_json_has_exactly_the_documented_shape(capsys):
    code, out, _ = run(capsys, "agenda", "--json", "--at", "2026-05-14T15:20:00Z")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["now", "timezone", "current", "next"]
    assert data["now"] == "2026-05-14T15:20:00Z"
    assert data["timezone"] == "America/New_York"
    assert data["current"] == {
        "day": 2,
        "title": "Delivering Serious News -- Practice",
        "kind": "practice",
        "split_by_track": False,
        "faculty": [],
        "start": "2026-05-14T15:15:00Z",
        "end": "2026-05-14T17:00:00Z",
        "start_local": "2026-05-14T11:15:00-04:00",
        "end_local": "2026-05-14T13:00:00-04:00",
    }
    assert data["next"]["title"] == "Lunch"


def test_agenda_at_an_offset_instant_and_between_items(capsys):
    code, out, _ = run(capsys, "agenda", "--json", "--at", "2026-05-13T08:00:00-04:00")
    assert code == 0
    data = json.loads(out)
    assert data["now"] == "2026-05-13T12:00:00Z"
    assert data["current"] is None and data["next"]["day"] == 1


def test_agenda_rebased_on_another_first_date(capsys):
    code, out, _ = run(
        capsys, "agenda", "--json", "--start-date", "2026-11-01", "--at", "2026-11-01T15:05:00Z"
    )
    assert code == 0
    data = json.loads(out)
    assert data["current"]["title"] == "Welcome to the Core Principles of Palliative Care"
    assert data["current"]["start_local"] == "2026-11-01T10:00:00-05:00"


def test_agenda_text_marks_the_running_item(capsys):
    code, out, _ = run(capsys, "agenda", "--at", "2026-05-15T14:00:00Z")
    assert code == 0
    assert "▶ 10:00–10:15 EDT  Welcome Back" in out


def test_agenda_ics_file(capsys, tmp_path):
    target = tmp_path / "agenda.ics"
    code, out, _ = run(capsys, "agenda", "--ics", str(target))
    assert code == 0 and "30 agenda items" in out
    text = target.read_text()
    assert text.count("BEGIN:VEVENT") == 30
    assert "BEGIN:VTIMEZONE" in text and "TZID:America/New_York" in text
    assert "DTSTART;TZID=America/New_York:20260513T100000" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "yesterday"], "--at: 'yesterday' is not an ISO 8601 date-time"),
        (["--at", "2026-05-13T10:00"], "needs a UTC offset"),
        (["--start-date", "13/05/2026"], "is not a date"),
        (["--course", "/nonexistent.yaml"], "cannot read the file"),
    ],
)
def test_bad_arguments_get_a_clear_error(capsys, args, message):
    code, _, err = run(capsys, "agenda", "--json", *args)
    assert code == 2
    assert message in err
