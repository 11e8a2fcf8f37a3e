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


ROSTER = """name,email,role,discipline,track,team,abp_id,dob_mmdd
Dana Director,director@example.org,director,physician,both,,,
Lee Learner,lee@example.org,learner,nurse,adult,,,
=HYPERLINK("http://x"),formula@example.org,learner,physician,pediatric,,123,04-30
"""
BAD = ROSTER + "No Email,,learner,nurse,adult,,,\nWrong,w@example.org,learner,dentist,adult,,,\n"


def test_roster_check_lists_every_bad_row_and_exits_non_zero(capsys, tmp_path):
    f = tmp_path / "roster.csv"
    f.write_text(BAD)
    code, out, _ = run(capsys, "roster", "check", str(f))
    assert code == 1
    assert f"{f}:line 5: missing email" in out
    assert f"{f}:line 6: unknown discipline 'dentist'" in out
    assert "3 good rows, 2 problems" in out
    f.write_text(ROSTER)
    assert run(capsys, "roster", "check", str(f))[0] == 0


def test_roster_import_is_idempotent_and_updates_edited_rows(capsys, tmp_path):
    f = tmp_path / "roster.csv"
    store = f"sqlite:///{tmp_path / 'log.db'}"
    f.write_text(BAD)
    code, out, _ = run(capsys, "roster", "import", str(f), "--store", store)
    assert code == 1 and "Imported 3 new, updated 0, 0 unchanged; 2 bad rows" in out
    f.write_text(ROSTER)
    code, out, _ = run(capsys, "roster", "import", str(f), "--store", store)
    assert code == 0 and "Imported 0 new, updated 0, 3 unchanged" in out
    f.write_text(
        ROSTER.replace(
            "Lee Learner,lee@example.org,learner,nurse,adult",
            "Lee Learner,lee@example.org,learner,nurse,both",
        )
    )
    code, out, _ = run(capsys, "roster", "import", str(f), "--store", store)
    assert "Imported 0 new, updated 1, 2 unchanged" in out


def test_links_and_exports(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_SECRET", "s3cret-0123456789abcdef-0123456789ab")
    f = tmp_path / "roster.csv"
    f.write_text(ROSTER)
    store = f"sqlite:///{tmp_path / 'log.db'}"
    run(capsys, "roster", "import", str(f), "--store", store)
    code, out, _ = run(
        capsys, "links", "--json", "--store", store, "--base-url", "https://c.example"
    )
    links = json.loads(out)
    assert code == 0 and {x["role"] for x in links} == {"director", "learner"}
    assert all(x["link"].startswith("https://c.example/join/") for x in links)
    code, out, _ = run(capsys, "export", "credits", "--format", "csv", "--store", store)
    assert code == 0
    assert out.splitlines()[0].startswith("email,name,first_name,last_name,name_split,discipline")
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out  # formula injection guarded
    code, out, _ = run(
        capsys,
        "export",
        "attendance",
        "--format",
        "json",
        "--store",
        store,
        "--at",
        "2026-05-16T00:00:00Z",
    )
    rows = json.loads(out)
    assert len(rows) == 2 * 30 and all(r["minutes_present"] == 0 for r in rows)


def test_a_missing_roster_file_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "roster", "check", str(tmp_path / "nope.csv"))
    assert code == 2 and "cannot read" in err


def test_groups_assign_prints_the_documented_json_and_zoom_csv(capsys, tmp_path):
    from tests.servers import ROOT

    zoom = tmp_path / "zoom.csv"
    roster = str(ROOT / "scenarios/demo/roster.csv")
    code, out, _ = run(
        capsys,
        "groups",
        "assign",
        "--roster",
        roster,
        "--seed",
        "4",
        "--json",
        "--zoom-csv",
        str(zoom),
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"groups", "unassigned"}
    g = data["groups"][0]
    assert set(g) == {"name", "track", "facilitator", "sp", "members"}
    assert g["track"] in ("adult", "pediatric")
    assert set(g["members"][0]) == {"email", "discipline", "team"}
    emails = [m["email"] for grp in data["groups"] for m in grp["members"]]
    assert len(emails) == len(set(emails)) == 30
    lines = zoom.read_text().splitlines()
    assert lines[0] == "Pre-assign Room Name,Email Address"
    rooms = dict(reversed(line.split(",")) for line in lines[1:])
    assert all(rooms[m["email"]] == grp["name"] for grp in data["groups"] for m in grp["members"])
    code, again, _ = run(capsys, "groups", "assign", "--roster", roster, "--seed", "4", "--json")
    assert again == out  # same seed, same groups
    code, text, _ = run(capsys, "groups", "assign", "--roster", roster)
    assert "Quality:" in text and "Adult 1" in text


def test_groups_assign_refuses_impossible_bounds(capsys):
    from tests.servers import ROOT

    code, _, err = run(
        capsys,
        "groups",
        "assign",
        "--roster",
        str(ROOT / "scenarios/demo/roster.csv"),
        "--min-size",
        "9",
    )
    assert code == 2 and "minimum" in err


def test_zoom_files_one_per_meeting_with_zoom_logins_and_everyone_left_out_named(capsys, tmp_path):
    """A course whose tracks meet in two Zoom meetings: one pre-assignment file each, people
    placed under the email they sign in to Zoom with, and a line for everyone not placed."""
    from tests.servers import ROOT

    roster = (ROOT / "scenarios/demo/roster.csv").read_text().splitlines()
    header = roster[0] + ",zoom_email"
    rows = [
        r + ("," + "priya.zoom@example.net" if "priya.raman@" in r else ",") for r in roster[1:]
    ]
    f = tmp_path / "roster.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    zoom = tmp_path / "zoom.csv"
    code, out, err = run(
        capsys,
        "groups", "assign", "--roster", str(f), "--seed", "4", "--json",
        "--zoom-csv", str(zoom), "--zoom-meeting", "adult=adult",
        "--zoom-meeting", "pediatric=pediatric",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    files = {t: tmp_path / f"zoom-{t}.csv" for t in ("adult", "pediatric")}
    rooms = {}
    for track, path in files.items():
        lines = path.read_text().splitlines()
        assert lines[0] == "Pre-assign Room Name,Email Address"
        for line in lines[1:]:
            room, email = line.split(",")
            rooms[email] = (track, room)
    for g in data["groups"]:
        for m in g["members"]:
            email = (
                "priya.zoom@example.net" if m["email"].startswith("priya.raman@") else m["email"]
            )
            assert rooms[email] == (g["track"], g["name"])
    assert "priya.raman@example.org" not in rooms
    assert "director@example.org: director: not in a small group" in err
    shared = [g["sp"][0] for g in data["groups"] if g["sp"]]
    twice = {sp for sp in shared if shared.count(sp) > 1}
    assert twice and all(f"{sp}: SP actor shared by" in err for sp in twice)
    assert all(sp not in rooms for sp in twice)
    assert f"Zoom: {files['adult']} pre-assigns" in err
    code, _, err = run(
        capsys, "groups", "assign", "--roster", str(f), "--zoom-csv", str(zoom),
        "--zoom-meeting", "adult",
    )  # fmt: skip
    assert code == 2 and "NAME=TRACK" in err
