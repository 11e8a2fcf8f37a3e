"""Credit by profession, item by item: the course's designations, who may claim what, the claim
rules, the board files and the properties every credit type keeps."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.content.course import COURSE_FILE, load_course
from server.content.files import ContentError
from server.domain.agenda import build_schedule
from server.domain.credit import ClaimCredit, Facts, blockers, earned, offered
from server.domain.designations import (
    BoardId,
    CreditType,
    DesignatedItem,
    Designations,
    Report,
    Requirement,
    findings,
)
from server.domain.errors import DomainError
from server.domain.events import Event
from server.domain.people import Discipline
from server.domain.people_rules import Connect, Disconnect, ImportRoster, RecordEvaluation
from server.domain.roles import CLI_ACTOR, Role
from server.domain.roster import parse_roster
from server.reports import boards
from server.reports.credit import credit_report
from tests.independent import read_table
from tests.unit.harness import SALT, SCHEDULE, Course

D = SCHEDULE.course.designations
START, END = SCHEDULE.items[0].start, SCHEDULE.items[-1].end
ROSTER = """name,email,role,discipline,track,degree,abim_id,abp_id,nabp_id,dob_mmdd,first_name,last_name
Ana de la Cruz,ana@example.org,learner,physician,adult,MD,123456,,,03-14,Ana,de la Cruz
Pat Peds,pat@example.org,learner,physician,pediatric,DO,,7654321,,11-02,,
Nia Nurse,nia@example.org,learner,nurse_practitioner,adult,"RN, APRN",,,,,,
Phil Pharm,phil@example.org,learner,pharmacist,adult,PharmD,,,1234567,07-04,,
Rory Resident,rory@example.org,learner,resident_fellow,pediatric,,,,,,,
Mo Medfellow,mo@example.org,learner,resident_fellow,adult,MBBS,,,,,,
Sam Social,sam@example.org,learner,social_worker,adult,LICSW,,,,,,
"""


def course_with_everyone(present_minutes: float | None = None) -> Course:
    """Everyone on ROSTER, present from the first item's start for `present_minutes` (None: the
    whole course), their evaluations in."""
    c = Course()
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    end = END if present_minutes is None else START + timedelta(minutes=present_minutes)
    for p in c.state.people.of_role(Role.LEARNER):
        a = c.actor(p.reg.email)
        c.do(Connect(f"c-{p.id}"), a, START)
        c.do(Disconnect(f"c-{p.id}"), a, end)
        c.do(RecordEvaluation(p.id), CLI_ACTOR, end)
    return c


def types_of(c: Course, email: str) -> set[str]:
    r = credit_report(c.state, SCHEDULE, c.person(email).id, END + timedelta(days=1))
    return {s.type.id for s in r.standings}


def test_the_course_designations_agree_with_the_agenda_but_for_the_massachusetts_split():
    """Every maximum is exactly the minutes designated for it (no cap does the work), and the
    course page's Massachusetts parts (3.50 + 13.00) are shown as the overlap they imply."""
    items = [i.designated() for i in SCHEDULE.course.items]
    found = findings(D, items)
    assert not [f for f in found if "over the maximum" in f or "under the maximum" in f]
    mass = [f for f in found if "Massachusetts" in f]
    assert len(mass) == 1 and "16.50" in mass[0] and "Caring for the Dying Patient" in mass[0]
    assert any("No PARS activity id" in f for f in found)
    undesignated = [i.title for i in SCHEDULE.course.items if not i.credit_bearing]
    assert "Large Group Close" in undesignated and "Break" in undesignated


def test_full_attendance_earns_exactly_each_maximum_offered():
    c = course_with_everyone()
    now = END + timedelta(days=1)
    for p in c.state.people.of_role(Role.LEARNER):
        for s in credit_report(c.state, SCHEDULE, p.id, now).standings:
            assert s.minutes == pytest.approx(s.possible)
            assert s.earned == s.type.maximum, (p.name, s.type.id)
            # The designated minutes alone give the maximum: no cap does the work.
            assert s.possible == pytest.approx(s.type.maximum * 60)


def test_each_profession_is_offered_its_own_credit():
    c = course_with_everyone()
    physician = {
        "ama_pra_category_1",
        "abim_moc",
        "abp_moc",
        "ma_risk_management",
        "ma_opioid_pain",
        "ma_end_of_life",
    }
    assert types_of(c, "ana@example.org") == physician
    assert types_of(c, "mo@example.org") == physician  # a fellow with an MBBS is a physician
    nurse = {"nursing_contact_hours", "pharmacology_hours", "participation"}
    assert types_of(c, "nia@example.org") == nurse
    # The course designates no pharmacy credit: a certificate of participation.
    assert types_of(c, "phil@example.org") == {"participation"}
    assert types_of(c, "sam@example.org") == {"participation"}
    assert types_of(c, "rory@example.org") == {
        "participation"
    }  # no degree: not known to be a physician


def test_a_nurse_claims_contact_hours_and_pharmacology_but_not_ama_credit():
    c = course_with_everyone()
    nia = c.actor("nia@example.org")
    c.do(ClaimCredit("nursing_contact_hours", 16.0), nia, END)
    c.do(ClaimCredit("pharmacology_hours", 3.75), nia, END)
    with pytest.raises(DomainError, match="not for your profession"):
        c.do(ClaimCredit("ama_pra_category_1", 16.0), nia, END)
    with pytest.raises(DomainError, match=r"up to 3\.75"):
        c.do(ClaimCredit("pharmacology_hours", 4.0), nia, END)
    claims = c.state.people.claims[nia.id]
    assert (
        claims["nursing_contact_hours"].amount == 16 and claims["pharmacology_hours"].amount == 3.75
    )


def test_moc_needs_the_board_id_consent_and_for_abp_an_assessment_with_feedback():
    c = course_with_everyone()
    ana, pat = c.actor("ana@example.org"), c.actor("pat@example.org")
    with pytest.raises(DomainError, match="permission"):
        c.do(ClaimCredit("abim_moc", 16.0), ana, END)
    c.do(ClaimCredit("abim_moc", 16.0, consent=True), ana, END)
    with pytest.raises(DomainError, match="ABIM ID"):
        c.do(ClaimCredit("abim_moc", 16.0, consent=True), pat, END)
    with pytest.raises(DomainError, match="individual assessment"):
        c.do(ClaimCredit("abp_moc", 16, consent=True), pat, END)
    # A turn of Pat's with feedback, released to them: now assessed.
    c.state = replace(c.state, feedback=replace(c.state.feedback, assessed=frozenset({pat.id})))
    with pytest.raises(DomainError, match="steps of 1"):
        c.do(ClaimCredit("abp_moc", 15.5, consent=True), pat, END)
    c.do(ClaimCredit("abp_moc", 16, consent=True), pat, END)


def test_partial_attendance_counts_only_designated_minutes_in_steps():
    c = course_with_everyone(present_minutes=100)  # day 1 10:00-11:40: 75 min, a break, 10 min
    r = credit_report(c.state, SCHEDULE, c.person("nia@example.org").id, END)
    hours = r.standing("nursing_contact_hours")
    assert hours.minutes == pytest.approx(85) and hours.earned == 1.25
    assert r.standing("pharmacology_hours").earned == 0


def test_older_claims_read_as_ama_credit():
    c = course_with_everyone()
    ana = c.person("ana@example.org")
    old = Event(c.state.seq + 1, "credit.claimed", ana.id, END, {"person": ana.id, "credits": 12.5})
    from server.domain.course_state import apply

    state = apply(c.state, old)
    assert state.people.claims[ana.id]["ama_pra_category_1"].amount == 12.5


def with_activity(schedule, activity_id="ACT-12345"):
    course = schedule.course
    return build_schedule(
        replace(course, designations=replace(course.designations, activity_id=activity_id))
    )


def test_the_pars_file_lists_who_claimed_moc_with_consent_in_the_learner_fields(tmp_path):
    c = course_with_everyone()
    ana, pat = c.actor("ana@example.org"), c.actor("pat@example.org")
    c.do(ClaimCredit("abim_moc", 16.0, consent=True), ana, END)
    c.do(ClaimCredit("ama_pra_category_1", 16.0), pat, END)  # no ABP claim: no assessment
    schedule = with_activity(SCHEDULE)
    assert boards.unready_file(SCHEDULE, Report.PARS) is not None  # no activity id: refused
    assert boards.unready_file(schedule, Report.PARS) is None
    path = tmp_path / "pars.txt"
    path.write_text(boards.pars_file(c.state, schedule, END + timedelta(days=1)), newline="")
    rows = read_table(path, "tsv")
    assert list(rows[0]) == list(boards.PARS_FIELDS)
    assert rows == [
        {
            "Activity ID": "ACT-12345",
            "Board": "ABIM",
            "Board ID": "123456",
            "First Name": "Ana",
            "Last Name": "de la Cruz",
            "Birth Month/Day (MM/DD)": "03/14",
            "Completion Date (MM/DD/YYYY)": SCHEDULE.local(SCHEDULE.items[-1].start).strftime(
                "%m/%d/%Y"
            ),
            "Credit Type": "MOC",
            "Credits Earned": "16.00",
            "Permission to Share": "Y",
        }
    ]
    lines = boards.board_lines(c.state, schedule, END, Report.PARS)
    pat_abp = next(x for x in lines if x.report.person.id == pat.id and x.type.id == "abp_moc")
    assert "no released feedback on a turn of theirs" in pat_abp.missing


def test_the_cpe_monitor_file_needs_a_pharmacy_designation_with_its_uan(tmp_path):
    c = course_with_everyone()
    assert "no credit type" in (boards.unready_file(SCHEDULE, Report.CPE_MONITOR) or "")
    acpe = CreditType(
        id="acpe",
        name="ACPE contact hours",
        unit="contact hours",
        maximum=16.0,
        step=0.25,
        professions=frozenset({Discipline.PHARMACIST}),
        degrees=frozenset({"PHARMD"}),
        requires=frozenset({Requirement.EVALUATION, Requirement.BOARD_ID, Requirement.BIRTH_DATE}),
        board="NABP",
        board_id=BoardId.NABP,
        report=Report.CPE_MONITOR,
        part_of=None,
        statement="Approved for {maximum} contact hours of pharmacy education.",
        short="ACPE",
        activity_number="JA0000000-0000-26-000-L04-P",
    )
    course = SCHEDULE.course
    items = tuple(
        replace(i, credit=(*i.credit, ("acpe", i.carries("ama_pra_category_1"))))
        for i in course.items
    )
    d = replace(course.designations, types=(*course.designations.types, acpe))
    schedule = build_schedule(replace(course, designations=d, items=items))
    phil = c.actor("phil@example.org")
    from server.domain.course_state import apply, decide

    for e in decide(c.state, schedule, ClaimCredit("acpe", 16.0), phil, END):
        c.state = apply(c.state, Event(c.state.seq + 1, e.type, e.actor, e.at, e.data))
    path = tmp_path / "cpe.csv"
    path.write_text(boards.cpe_file(c.state, schedule, END + timedelta(days=1)), newline="")
    rows = read_table(path, "csv")
    assert list(rows[0]) == list(boards.CPE_FIELDS)
    assert [(r["NABP e-Profile ID"], r["Birth MMDD"], r["Contact Hours"]) for r in rows] == [
        ("1234567", "0704", "16.00")
    ]
    assert rows[0]["UAN"] == acpe.activity_number


def test_the_director_overview_counts_by_type_item_and_profession():
    c = course_with_everyone()
    c.do(ClaimCredit("ama_pra_category_1", 16.0), c.actor("ana@example.org"), END)
    o = boards.credit_overview(c.state, SCHEDULE, END)
    ama = next(t for t in o.types if t.type.id == "ama_pra_category_1")
    assert (ama.offered, ama.claimed, ama.ready) == (3, 1, 1)
    abim = next(t for t in o.types if t.type.id == "abim_moc")
    assert abim.deadline == SCHEDULE.day_date(3) + timedelta(days=30)
    assert dict(abim.missing)["not claimed"] == 3
    physicians = next(p for p in o.professions if p.discipline is Discipline.PHYSICIAN)
    assert physicians.learners == 2
    close = next(i for i in o.items if "Large Group Close" in i.label)
    assert close.carries == () and close.present == 7


# --- the loader says where designations are wrong ------------------------------------------


def broken(tmp_path: Path, old: str, new: str) -> str:
    text = COURSE_FILE.read_text()
    assert old in text
    path = tmp_path / "course.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ContentError) as e:
        load_course(path)
    return str(e.value)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("        credit: []", "        credit: [ama_pra_category_one]", "unknown credit type"),
        (
            "        credit: []",
            "        credit: [ama_pra_category_1: 30]",
            "30 minutes of a 15-minute",
        ),
        (
            "ma_end_of_life, ma_opioid_pain: 30]",
            "ma_end_of_life, ma_opioid_pain: 50]",
            "50 minutes",
        ),
        ("      maximum: 3.75\n", "      maximum: 3.8\n", "not a whole number of steps"),
        ("    - id: participation\n", "    - id: ama_pra_category_1\n", "used twice"),
        ("      part_of: ma_risk_management\n", "      part_of: ma_risks\n", "not a type here"),
        ("      board_id: abim_id\n", "", "names no board_id"),
    ],
)
def test_bad_designations_are_refused_with_where(tmp_path, old, new, said):
    message = broken(tmp_path, old, new)
    assert said in message and "course.yaml:" in message


def test_a_part_must_be_designated_within_its_whole(tmp_path):
    message = broken(
        tmp_path,
        "        credit: []",
        "        credit: [pharmacology_hours]",
    )
    assert "part of nursing_contact_hours" in message and "Large Group Close" in message
    line = int(message.split("course.yaml:")[1].split(":")[0])
    assert "Large Group Close" in "".join(COURSE_FILE.read_text().splitlines()[line - 8 : line])


def test_credit_on_a_break_is_refused(tmp_path):
    old = '        start: "11:15"\n        end: "11:30"\n        kind: break\n'
    message = broken(tmp_path, old, old + "        credit: [ama_pra_category_1]\n")
    assert "a break carries no credit" in message


# --- properties ------------------------------------------------------------------------------

STEPS = st.sampled_from([0.25, 0.5, 1.0])
PROFESSIONS = st.frozensets(st.sampled_from(list(Discipline)), min_size=1)


@st.composite
def credit_types(draw):
    step = draw(STEPS)
    maximum = draw(st.integers(1, 80)) * step
    return CreditType(
        id="t",
        name="T",
        unit="credits",
        maximum=maximum,
        step=step,
        professions=draw(st.one_of(st.none(), PROFESSIONS)),
        degrees=frozenset(),
        requires=frozenset(),
        board=None,
        board_id=None,
        report=Report.NONE,
        part_of=None,
        statement="",
    )


@settings(max_examples=300, deadline=None)
@given(credit_types(), st.floats(0, 5000), st.floats(0, 5000))
def test_what_is_earned_never_passes_the_maximum_and_grows_with_minutes(t, a, b):
    lo, hi = sorted((a, b))
    assert 0 <= earned(lo, t) <= earned(hi, t) <= t.maximum
    steps = earned(hi, t) / t.step
    assert abs(steps - round(steps)) < 1e-9  # always a whole number of steps
    assert earned(hi, t) <= hi / 60 + 1e-9  # never more than the hours attended


@settings(max_examples=300, deadline=None)
@given(credit_types(), st.sampled_from(list(Discipline)))
def test_a_type_is_offered_only_to_its_professions(t, discipline):
    d = Designations((t,))
    f = Facts(Role.LEARNER, discipline, (), {}, True, True, True)
    is_offered = t in offered(d, f)
    assert is_offered == (t.professions is None or discipline in t.professions)
    assert not offered(d, replace(f, role=Role.FACILITATOR))
    assert blockers(t, f) == ()


def test_findings_say_over_under_and_parts():
    whole = CreditType(
        "w",
        "Whole",
        "credits",
        2.0,
        0.25,
        None,
        frozenset(),
        frozenset(),
        None,
        None,
        Report.NONE,
        None,
        "",
    )
    part_a = replace(whole, id="a", name="A", maximum=1.5, part_of="w")
    part_b = replace(whole, id="b", name="B", maximum=1.0, part_of="w")
    items = [
        DesignatedItem("one", 60, {"w": 60, "a": 60}),
        DesignatedItem("two", 90, {"w": 90, "b": 60, "a": 30}),
    ]
    found = findings(Designations((whole, part_a, part_b)), items)
    assert any(
        "Whole: the designated items run 2.50 h, over the maximum of 2.00" in f for f in found
    )
    assert any("parts add to 1.50 + 1.00 = 2.50" in f and "two (30 min)" in f for f in found)
    assert not any(f.startswith("A:") for f in found)  # A: 90 min = its 1.50 maximum
