"""People: idempotent import, links, presence, attendance with reconnect gaps, credit rules."""

from datetime import timedelta

import pytest

from server.domain.attendance import merged_spells
from server.domain.course_state import apply, decide
from server.domain.credit import ClaimCredit, earned
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event
from server.domain.people import legacy_person_id
from server.domain.people_rules import (
    Connect,
    Disconnect,
    ImportRoster,
    RecordEvaluation,
    ReissueLink,
    ResetPresence,
    RevokeLink,
)
from server.domain.roles import CLI_ACTOR, Actor, Role
from server.domain.roster import parse_roster
from tests.unit.harness import DAY1, SALT, Course
from tests.unit.harness import SCHEDULE as BASE

HOURS = "nursing_contact_hours"  # Lee is a nurse
ROSTER = """name,email,role,discipline,track
Lee Learner,lee@example.org,learner,nurse,adult
Fran Facilitator,fran@example.org,facilitator,physician,adult
"""


def regs(text=ROSTER):
    return tuple(parse_roster(text).registrations)


@pytest.fixture
def course():
    c = Course()
    c.do(ImportRoster(regs(), SALT))
    return c


def lee(course):
    p = course.person("lee@example.org")
    return Actor(p.id, p.role)


def at(minutes):
    return DAY1 + timedelta(minutes=minutes)


def test_reimporting_the_same_roster_changes_nothing(course):
    assert course.do(ImportRoster(regs(), SALT)) == []


def test_an_edited_row_updates_that_person_only(course):
    edited = ROSTER.replace(
        "Lee Learner,lee@example.org,learner,nurse,adult",
        "Lee Learner,lee@example.org,learner,nurse,pediatric",
    )
    events = course.do(ImportRoster(regs(edited), SALT))
    assert [e.type for e in events] == ["person.updated"]
    assert course.person("lee@example.org").reg.track.value == "pediatric"


def test_ids_are_random_not_worked_out_from_the_email():
    first, second = Course(), Course()
    first.do(ImportRoster(regs(), SALT))
    second.do(ImportRoster(regs(), "another-salt-abcdef0123"))
    a, b = first.person("lee@example.org").id, second.person("lee@example.org").id
    assert a != b and legacy_person_id("lee@example.org") not in (a, b)
    assert first.do(ImportRoster(regs(), "a-third-salt-0123456789")) == []  # found by email
    assert first.person("LEE@example.org").id == a


def test_an_import_without_randomness_for_new_ids_is_refused():
    with pytest.raises(DomainError, match="salt"):
        Course().do(ImportRoster(regs()))


def test_a_log_written_before_ids_were_recorded_still_reads():
    reg = regs()[0].as_data()
    c = Course()
    for n, kind in enumerate(("person.registered", "person.updated"), start=1):
        data = {**reg, "name": f"Lee {n}"}
        c.state = apply(c.state, Event(n, kind, "cli", DAY1, data))
    p = c.person("lee@example.org")
    assert p.id == legacy_person_id("lee@example.org") and p.name == "Lee 2"
    assert len(c.state.people.by_id) == 1


def test_reissue_and_revoke_change_the_link(course):
    pid = course.person("lee@example.org").id
    course.do(ReissueLink(pid))
    assert course.person("lee@example.org").link_version == 1
    course.do(RevokeLink(pid))
    assert course.person("lee@example.org").revoked
    with pytest.raises(DomainError, match="already revoked"):
        course.do(RevokeLink(pid))
    course.do(ReissueLink(pid))  # a new link un-revokes
    p = course.person("lee@example.org")
    assert not p.revoked and p.link_version == 2


def test_a_revoked_person_cannot_connect(course):
    course.do(RevokeLink(course.person("lee@example.org").id))
    with pytest.raises(PermissionDenied, match="revoked"):
        course.do(Connect("c1"), lee(course))


def test_presence_counts_connections(course):
    course.do(Connect("a"), lee(course))
    course.do(Connect("b"), lee(course), at(1))
    assert course.person("lee@example.org").online
    course.do(Disconnect("a"), lee(course), at(2))
    assert course.person("lee@example.org").online  # still one tab open
    course.do(Disconnect("b"), lee(course), at(3))
    assert not course.person("lee@example.org").online
    assert course.state.people.intervals[lee(course).id] == ((at(0), at(3)),)


def test_a_join_or_leave_recorded_late_counts_from_when_it_happened(course):
    # The log was busy or away: the page opened at 0 and closed at 30, each recorded later.
    assert "at" in course.do(Connect("a", at=at(0)), lee(course), at(6))[0].data
    assert "at" in course.do(Disconnect("a", at=at(30)), lee(course), at(41))[0].data
    assert course.state.people.intervals[lee(course).id] == ((at(0), at(30)),)
    # Recorded after another page of theirs opened: online from the earlier of the two.
    course.do(Connect("c", at=at(33)), lee(course), at(40))
    course.do(Connect("d", at=at(31)), lee(course), at(44))
    course.do(Disconnect("d", at=at(35)), lee(course), at(45))
    course.do(Disconnect("c", at=at(38)), lee(course), at(46))
    assert course.state.people.intervals[lee(course).id][-1] == (at(31), at(38))
    # A leave recorded late, after the join of a page opened later: the gap between is kept.
    course.do(Connect("e", at=at(40)), lee(course), at(41))
    course.do(Connect("f", at=at(47)), lee(course), at(47))
    course.do(Disconnect("e", at=at(43)), lee(course), at(48))
    course.do(Disconnect("f", at=at(49)), lee(course), at(49))
    assert course.state.people.intervals[lee(course).id][-2:] == (
        (at(40), at(43)),
        (at(47), at(49)),
    )
    # A record within a second of the fact is simply stamped when it is written.
    joined = course.do(Connect("b", at=at(50)), lee(course), at(50) + timedelta(milliseconds=400))
    left = course.do(Disconnect("b", at=at(60)), lee(course), at(60))
    assert "at" not in joined[0].data and "at" not in left[0].data
    assert course.state.people.intervals[lee(course).id][-1] == (
        at(50) + timedelta(milliseconds=400),
        at(60),
    )


def test_pages_count_each_from_its_own_open_to_close_whatever_order_they_are_recorded(course):
    # A closed at 5, its leave recorded only at 35, after B and C came and went.
    course.do(Connect("A"), lee(course), at(0))
    course.do(Connect("B"), lee(course), at(10))
    course.do(Disconnect("B"), lee(course), at(20))
    course.do(Connect("C"), lee(course), at(22))
    course.do(Disconnect("C"), lee(course), at(30))
    course.do(Disconnect("A", at=at(5)), lee(course), at(35))
    assert course.state.people.intervals[lee(course).id] == (
        (at(0), at(5)),
        (at(10), at(20)),
        (at(22), at(30)),
    )
    assert not course.person("lee@example.org").online


def test_a_server_restart_closes_open_presence(course):
    course.do(Connect("a"), lee(course))
    course.do(ResetPresence(), CLI_ACTOR, at(10))
    assert not course.person("lee@example.org").online
    assert course.state.people.intervals[lee(course).id] == ((at(0), at(10)),)


def test_a_stopped_workers_pages_close_and_only_those(course):
    course.do(Connect("w1.a"), lee(course))
    course.do(Connect("w2.b"), lee(course), at(1))
    course.do(ResetPresence(("w1.a", "gone.x")), CLI_ACTOR, at(5))
    assert course.person("lee@example.org").online  # still open through the other worker
    course.do(ResetPresence(("w2.b",)), CLI_ACTOR, at(9))
    assert not course.person("lee@example.org").online
    assert course.state.people.intervals[lee(course).id] == ((at(0), at(9)),)
    # Nothing open of those: nothing to record.
    seq = course.state.seq
    course.do(ResetPresence(("w2.b",)), CLI_ACTOR, at(12))
    assert course.state.seq == seq


def test_a_gone_workers_pages_close_when_it_was_last_seen_alive(course):
    # A page of the worker that died after its beat at 4 reopened on another at 6; the other
    # judged the first gone at 20. Nobody is counted present on the dead worker's page
    # after its last beat, so the gap from 4 to 6 is a reconnect and 9 to 15 a real absence.
    course.do(Connect("w1.a"), lee(course), at(0))
    course.do(Connect("w2.b"), lee(course), at(6))
    course.do(Disconnect("w2.b"), lee(course), at(9))
    course.do(Connect("w2.c"), lee(course), at(15))
    reset = course.do(ResetPresence(("w1.a",), at=at(4)), CLI_ACTOR, at(20))
    assert reset[0].data["at"] == at(4).isoformat()
    assert course.state.people.intervals[lee(course).id] == ((at(0), at(4)), (at(6), at(9)))
    # A page that opened on it after its last beat seen counts nothing there.
    course.do(Connect("w3.d"), lee(course), at(22))
    course.do(ResetPresence(("w3.d",), at=at(21)), CLI_ACTOR, at(30))
    assert course.state.people.intervals[lee(course).id][-1] == (at(6), at(9))


def test_gaps_of_two_minutes_or_less_count_as_present():
    t = DAY1
    spells = [
        (t, t + timedelta(minutes=10)),
        (t + timedelta(minutes=12), t + timedelta(minutes=20)),
    ]
    assert merged_spells(spells) == [(t, t + timedelta(minutes=20))]
    spells[1] = (t + timedelta(minutes=12, seconds=1), t + timedelta(minutes=20))
    assert len(merged_spells(spells)) == 2


@pytest.mark.parametrize(
    ("minutes", "credits"),
    [(0, 0), (14.9, 0), (15, 0.25), (59, 0.75), (60, 1), (974, 16), (2000, 16)],
)
def test_credit_is_quarter_steps_rounded_down_and_capped(minutes, credits):
    ama = BASE.course.designations.get("ama_pra_category_1")
    assert earned(minutes, ama) == credits


def present(course, actor, start, end):
    course.do(Connect(f"c{start}"), actor, start)
    course.do(Disconnect(f"c{start}"), actor, end)


def test_a_learner_who_misses_part_of_a_day_earns_only_what_they_attended(course):
    from server.reports.credit import credit_report

    me = lee(course)
    # Day 1: present 10:00-11:15 (two plenaries), away over the break and the first track
    # session, back 12:10-12:30 (20 min of it), a 90 s drop at 12:20 that still counts.
    present(course, me, at(0), at(75))
    present(course, me, at(130), at(140))
    present(course, me, at(140) + timedelta(seconds=90), at(150))
    r = credit_report(course.state, BASE, me.id, at(24 * 60)).standing(HOURS)
    assert r.minutes == pytest.approx(75 + 20)
    assert r.earned == 1.5  # 95 minutes -> 1.58 -> 1.5


def test_breaks_lunch_and_transitions_earn_nothing(course):
    from server.reports.credit import credit_report

    me = lee(course)
    present(course, me, at(75), at(90))  # the 11:15-11:30 break
    assert credit_report(course.state, BASE, me.id, at(600)).standing(HOURS).minutes == 0


def test_claiming_needs_the_evaluation_and_at_most_what_was_earned(course):
    me = lee(course)
    present(course, me, at(0), at(75))  # 1.25 credits
    with pytest.raises(DomainError, match="course evaluation"):
        course.do(ClaimCredit(HOURS, 1.0), me, at(600))
    course.do(RecordEvaluation(me.id), CLI_ACTOR, at(600))
    with pytest.raises(DomainError, match=r"up to 1\.25"):
        course.do(ClaimCredit(HOURS, 1.5), me, at(600))
    with pytest.raises(DomainError, match=r"steps of 0\.25"):
        course.do(ClaimCredit(HOURS, 1.1), me, at(600))
    course.do(ClaimCredit(HOURS, 1.25), me, at(600))
    assert course.state.people.claims[me.id][HOURS].amount == 1.25


def test_permission_matrix_for_people_commands(course):
    fran = course.person("fran@example.org")
    learner, facilitator = lee(course), Actor(fran.id, Role.FACILITATOR)
    pid = learner.id
    director_only = [
        ImportRoster(regs(), SALT),
        ReissueLink(pid),
        RevokeLink(fran.id),
        ResetPresence(),
    ]
    for actor in (learner, facilitator, Actor("s", Role.SP)):
        for command in director_only:
            with pytest.raises(PermissionDenied):
                decide(course.state, BASE, command, actor, DAY1)
    for actor in (learner, facilitator):  # only the director records an evaluation's receipt
        with pytest.raises(PermissionDenied):
            decide(course.state, BASE, RecordEvaluation(pid), actor, DAY1)
    decide(course.state, BASE, RecordEvaluation(pid), CLI_ACTOR, DAY1)
    with pytest.raises(PermissionDenied, match="learner"):
        decide(course.state, BASE, ClaimCredit(HOURS, 1), facilitator, DAY1)


def test_state_is_rebuilt_exactly_from_the_stored_events():
    from server.domain.course_state import replay

    c = Course()
    stored = []
    c.do(ImportRoster(regs(), SALT))
    me = Actor(c.person("lee@example.org").id, Role.LEARNER)
    present(c, me, at(0), at(30))
    c.do(RecordEvaluation(me.id), CLI_ACTOR, at(40))
    seq = 0
    fresh = Course()
    for command, actor, when in [
        (ImportRoster(regs(), SALT), CLI_ACTOR, DAY1),
        (Connect(f"c{at(0)}"), me, at(0)),
        (Disconnect(f"c{at(0)}"), me, at(30)),
        (RecordEvaluation(me.id), CLI_ACTOR, at(40)),
    ]:
        for e in decide(fresh.state, BASE, command, actor, when):
            seq += 1
            stored.append(Event(seq, e.type, e.actor, e.at, e.data))
            fresh.state = apply(fresh.state, stored[-1])
    assert replay(stored) == c.state


def test_a_stranger_cannot_connect(course):
    with pytest.raises(DomainError, match="No such person"):
        course.do(Connect("x"), Actor("nobody", Role.LEARNER))


def test_reconnecting_with_the_same_connection_id_is_idempotent(course):
    course.do(Connect("a"), lee(course))
    assert course.do(Connect("a"), lee(course)) == []
    assert course.do(Disconnect("zzz"), lee(course)) == []
