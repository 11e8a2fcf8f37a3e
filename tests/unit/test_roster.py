"""Roster CSV validation: every bad row reported by its line in the file, with the reason."""

from server.domain.people import Discipline, Registration, Track
from server.domain.roles import Role
from server.domain.roster import parse_roster

HEADER = "name,email,role,discipline,track,team,abp_id,dob_mmdd\n"


def lines(problems):
    return {p.line: p.reason for p in problems}


def test_a_good_roster():
    r = parse_roster(HEADER + "Ana Ruiz,Ana@Example.org,learner,Nurse,adult,Team A,,\n")
    assert not r.problems
    ((line, reg),) = r.rows
    assert line == 2
    assert reg.email == "ana@example.org" and reg.role is Role.LEARNER
    assert reg.discipline is Discipline.NURSE and reg.track is Track.ADULT and reg.team == "Team A"


def test_every_bad_row_is_reported_with_its_line_and_reason():
    text = HEADER + (
        "Ok One,one@example.org,learner,nurse,adult,,,\n"  # 2
        ",two@example.org,learner,nurse,adult,,,\n"  # 3 missing name
        "Bad Role,three@example.org,surgeon,nurse,adult,,,\n"  # 4 unknown role
        "Bad Mail,not-an-email,learner,nurse,adult,,,\n"  # 5 malformed email
        "Dup,ONE@example.org,learner,nurse,adult,,,\n"  # 6 duplicate email
        "Bad Disc,six@example.org,learner,surgeon,adult,,,\n"  # 7 unknown discipline
        "Bad Track,seven@example.org,learner,nurse,geriatric,,,\n"  # 8 unknown track
        "Short,eight@example.org,learner\n"  # 9 wrong field count
        "Bad Abp,nine@example.org,learner,physician,pediatric,,AB12,\n"  # 10
        "Bad Dob,ten@example.org,learner,physician,pediatric,,123,02-30\n"  # 11
    )
    r = parse_roster(text)
    got = lines(r.problems)
    assert set(got) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert "missing name" in got[3]
    assert "unknown role 'surgeon'" in got[4] and "learner, facilitator, sp, director" in got[4]
    assert "malformed email" in got[5]
    assert "duplicate email one@example.org (first on line 2)" in got[6]
    assert "unknown discipline" in got[7]
    assert "unknown track 'geriatric'" in got[8]
    assert "3 fields" in got[9]
    assert "digits only" in got[10]
    assert "not a real month and day" in got[11]
    assert [line for line, _ in r.rows] == [2]


def test_line_numbers_count_quoted_newlines_and_blank_lines():
    text = (
        HEADER
        + '"Multi\nLine Name",a@example.org,learner,nurse,adult,,,\n\nX,bad,learner,nurse,adult,,,\n'
    )
    r = parse_roster(text)
    assert r.rows[0][0] == 2
    assert lines(r.problems) == {5: "malformed email 'bad'"}


def test_header_problems_stop_the_import():
    r = parse_roster("name,email,role,track,favourite_colour\nA,a@example.org,learner,adult,red\n")
    assert not r.rows
    assert [p.line for p in r.problems] == [1, 1]
    assert "lacks column(s): discipline" in r.problems[0].reason
    assert "unknown column(s): favourite_colour" in r.problems[1].reason


def test_an_empty_file_and_a_byte_order_mark():
    assert "empty" in parse_roster("").problems[0].reason
    r = parse_roster("\ufeff" + HEADER + "A B,a@example.org,sp,other,both,,,\n")
    assert not r.problems and r.rows[0][1].role is Role.SP


def test_dob_formats_are_normalised():
    r = parse_roster(HEADER + "A B,a@example.org,learner,physician,pediatric,,42,4/5\n")
    assert r.rows[0][1].dob_mmdd == "04-05" and r.rows[0][1].abp_id == "42"


def test_columns_may_come_in_any_order_and_optional_ones_may_be_absent():
    r = parse_roster("email,track,name,discipline,role\na@example.org,adult,A B,chaplain,learner\n")
    assert r.rows[0][1].name == "A B" and r.rows[0][1].team is None


# --- property: any text at all gives rows and problems, never a crash -------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY_HEADER = "name,email,role,discipline,track,team,abp_id,dob_mmdd"
CELLS = st.sampled_from(
    [
        "",
        "Ana",
        "ana@example.org",
        "learner",
        "sp",
        "nurse",
        "adult",
        "both",
        "x,y",
        '"q"',
        "=cmd()",
        "<b>",
        "\u00e9",
        "12345",
        "04-31",
        "13-01",
        "  ",
        "dup@example.org",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=12),
    noise=st.text(max_size=40),
    with_header=st.booleans(),
)
def test_any_csv_gives_good_rows_and_problems_by_line_never_a_crash(rows, noise, with_header):
    """Whatever a spreadsheet exports (short rows, long rows, quotes, stray text), parsing
    returns the good registrations and a problem naming the line for each bad one."""
    lines = [PROPERTY_HEADER] if with_header else []
    lines += [",".join(r) for r in rows]
    text = "\n".join(lines) + ("\n" + noise if noise else "")
    roster = parse_roster(text)
    total = len(text.splitlines()) or 1
    for p in roster.problems:
        assert 1 <= p.line <= max(total, 1) and p.reason
    seen = set()
    for line, reg in roster.rows:
        assert 2 <= line <= total
        assert reg.email not in seen  # a repeated email is a problem, not a second person
        seen.add(reg.email)


def test_first_and_last_name_are_taken_as_boards_file_them_and_go_together():
    header = "name,email,role,discipline,track,first_name,last_name\n"
    r = parse_roster(
        header
        + "Maria de la Cruz,maria@example.org,learner,physician,adult,Maria,  de la  Cruz \n"  # 2
        + "Ana Ruiz,ana@example.org,learner,nurse,adult,Ana,\n"  # 3: last name missing
        + "Bo Li,bo@example.org,learner,nurse,adult,,Li\n"  # 4: first name missing
        + "Sam Poe,sam@example.org,learner,nurse,adult,,\n"  # 5: neither: fine
    )
    regs = dict(r.rows)
    assert (regs[2].first_name, regs[2].last_name) == ("Maria", "de la Cruz")
    assert regs[5].first_name is None and regs[5].last_name is None
    assert lines(r.problems) == {
        3: "first_name is given but last_name is empty; give both or neither",
        4: "last_name is given but first_name is empty; give both or neither",
    }
    # Kept through the event log, and an older log without them reads back as none.
    again = Registration.from_data(regs[2].as_data())
    assert again == regs[2]
    old = {k: v for k, v in regs[5].as_data().items()}
    assert "first_name" not in old and Registration.from_data(old) == regs[5]


def test_board_reports_use_the_rosters_names_and_say_when_they_had_to_guess():
    from server.domain.people_rules import ImportRoster
    from server.reports.exports import credit_rows
    from tests.unit.harness import DAY1, SALT, SCHEDULE, Course

    header = "name,email,role,discipline,track,first_name,last_name\n"
    r = parse_roster(
        header
        + "Maria de la Cruz,maria@example.org,learner,physician,adult,Maria,de la Cruz\n"
        + "Juan de la Rosa,juan@example.org,learner,physician,adult,,\n"
    )
    c = Course()
    c.do(ImportRoster(tuple(r.registrations), SALT))
    rows = {row["email"]: row for row in credit_rows(c.state, SCHEDULE, DAY1)}
    maria, juan = rows["maria@example.org"], rows["juan@example.org"]
    assert (maria["first_name"], maria["last_name"], maria["name_split"]) == (
        "Maria",
        "de la Cruz",
        "roster",
    )
    assert (juan["last_name"], juan["name_split"]) == ("Rosa", "guessed")  # why the columns exist


def test_degrees_and_board_ids_are_checked_by_format_with_their_lines():
    header = "name,email,role,discipline,track,degree,abim_id,abp_id,nabp_id\n"
    r = parse_roster(
        header
        + 'Ana Li,ana@example.org,learner,physician,adult,"M.D., PhD",123456,,\n'
        + "Bo Ek,bo@example.org,learner,physician,adult,MD,12345,,\n"
        + "Cy Ng,cy@example.org,learner,pharmacist,adult,PharmD,,,12a4567\n"
        + "Di Oh,di@example.org,learner,nurse,adult,R<N,,,\n"
        + "Ed Fu,ed@example.org,learner,pharmacist,adult,PharmD,,,1234567\n"
        + "Flo Wu,flo@example.org,learner,physician,pediatric,DO,,0012345678901,\n"
    )
    problems = {p.line: p.reason for p in r.problems}
    assert problems == {
        3: "abim_id '12345' must be 6 digits, not 5",
        4: "nabp_id '12a4567' must be digits only",
        5: "degree 'R<N' is not a degree abbreviation (letters and dots, like MD, RN, PharmD)",
        7: "abp_id '0012345678901' must be 1 to 10 digits, not 13",
    }
    ana, ed = r.registrations
    assert ana.degrees == ("M.D.", "PhD") and ana.abim_id == "123456"
    assert ed.nabp_id == "1234567" and ed.board_id("nabp_id") == "1234567"
    assert Registration.from_data(ana.as_data()) == ana  # kept through the event log
    old = {k: v for k, v in ana.as_data().items() if k not in ("degrees", "abim_id")}
    assert Registration.from_data(old).degrees == ()  # an older log reads back as none
