"""The feedback rules, pure: who may give feedback on which turn, release at debrief, the
browser-made id that makes every resend harmless, reflection privacy, evaluation windows."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.domain.course_state import CourseState
from server.domain.errors import DomainError, PermissionDenied
from server.domain.evaluations import SubmitEvaluation, evaluation_keys, evaluation_opens
from server.domain.feedback import SELF_RATING, ReleaseFeedback, SubmitFeedback, WriteNextTime
from server.domain.reflections import ShareReflection, WriteReflection
from server.domain.roleplay import BeginTurn, EndTurn, StartRoleplay
from server.domain.roles import Actor, Role
from server.domain.rooms import GroupInfo, RoomsState
from server.domain.submissions import FeedbackState
from tests.unit.harness import Course

T0 = datetime(2026, 5, 14, 15, 15, tzinfo=UTC)
G = "Adult 1"
ROOMS = RoomsState(
    groups={
        G: GroupInfo(G, "adult", "fac", ("sp",), ("a", "b", "c")),
        "Adult 2": GroupInfo("Adult 2", "adult", "fac2", (), ("x", "y")),
    },
    member_of={"a": G, "b": G, "c": G, "x": "Adult 2", "y": "Adult 2"},
)
FAC, SP = Actor("fac", Role.FACILITATOR), Actor("sp", Role.SP)
A, B, C = (Actor(x, Role.LEARNER) for x in "abc")
X = Actor("x", Role.LEARNER)
SPEC = (("naming", "observed"), ("silence", "scale"), ("worked", "text"), ("quote", "quote"))
SCHEDULE = build_schedule(load_course())


def with_turn():
    c = Course(CourseState(rooms=ROOMS), now=T0)
    c.do(StartRoleplay(G, "adult-news-x", "adult", ("opening", "news"), 8), FAC)
    c.do(BeginTurn(G, "a", "Pause after the news"), FAC)
    return c


def fb(sid, answers=None, turn=1, group=G):
    return SubmitFeedback(sid, group, turn, "nurse", SPEC, answers or {"worked": "good"})


def test_everyone_in_the_room_but_the_hot_seat_gives_feedback_once_per_id():
    c = with_turn()
    for who in (B, C, SP, FAC):
        assert len(c.do(fb(f"sid-{who.id}-0001"), who)) == 1
    assert c.do(fb("sid-b-0001"), B) == []  # a resend of the same submission
    assert len(c.fb.on_turn(G, 1)) == 4
    caps = {f.author: f.capacity for f in c.fb.on_turn(G, 1)}
    assert caps == {"b": "peer", "c": "peer", "sp": "sp", "fac": "facilitator"}
    # A new id from the same person replaces their answers.
    c.do(fb("sid-b-0002", {"worked": "better"}), B)
    assert {f.author: f.answers["worked"] for f in c.fb.on_turn(G, 1)}["b"] == "better"
    with pytest.raises(DomainError, match="your own turn you rate yourself on the global"):
        c.do(fb("sid-a-0001"), A)  # the hot seat's own feedback is a self-rating only
    with pytest.raises(PermissionDenied):
        c.do(fb("sid-x-0001"), X)
    with pytest.raises(DomainError, match="already in use"):
        c.do(fb("sid-b-0001"), C)


def test_the_same_answers_under_a_new_id_are_no_new_event():
    """A script (or a page) sending one form again and again with fresh ids adds nothing."""
    c = with_turn()
    assert len(c.do(fb("sid-b-0001", {"worked": "good"}), B)) == 1
    assert c.do(fb("sid-b-0002", {"worked": "good"}), B) == []
    assert c.do(fb("sid-b-0003", {"worked": " good "}), B) == []  # the same once trimmed
    assert len(c.do(fb("sid-b-0004", {"worked": "better"}), B)) == 1
    assert len(c.do(WriteReflection("sid-r-0001", "", "", "I paused."), B)) == 1
    assert c.do(WriteReflection("sid-r-0002", "", "", " I paused. "), B) == []
    assert len(c.do(WriteReflection("sid-r-0003", "", "", "I paused longer."), B)) == 1
    late = SCHEDULE.items[-1].start + timedelta(minutes=1)
    spec = (("overall", "scale"),)
    assert len(c.do(SubmitEvaluation("sid-e-0001", "course", spec, {"overall": "4"}), B, late))
    assert c.do(SubmitEvaluation("sid-e-0002", "course", spec, {"overall": "4"}), B, late) == []


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"naming": "maybe"}, "observed, partly"),
        ({"silence": "6"}, "1 to 5"),
        ({"silence": "three"}, "1 to 5"),
        ({"worked": "x" * 2001}, "2000"),
        ({"quote": "x" * 501}, "500"),
        ({"other": "observed"}, "no item"),
        ({"worked": "  "}, "empty"),
        ({}, "empty"),
    ],
)
def test_bad_answers_name_the_item_and_store_nothing(answers, words):
    c = with_turn()
    with pytest.raises(DomainError, match=words):
        c.do(SubmitFeedback("sid-bad-0001", G, 1, "nurse", SPEC, answers), B)
    assert c.fb == FeedbackState()


def test_ids_that_are_not_ids_are_refused():
    c = with_turn()
    for sid in ("", "short", "has space in it", "x" * 65, "<script>"):
        with pytest.raises(DomainError, match="submission id"):
            c.do(fb(sid), B)


def test_release_waits_for_the_end_of_the_turn_and_next_time_for_the_release():
    c = with_turn()
    c.do(fb("sid-b-0001"), B)
    with pytest.raises(DomainError, match="turn has ended"):
        c.do(ReleaseFeedback(G, 1), FAC)
    c.do(EndTurn(G), FAC)
    with pytest.raises(DomainError, match="shared your feedback"):
        c.do(WriteNextTime("next-a-0001", G, 1, "pause"), A)
    with pytest.raises(PermissionDenied):
        c.do(ReleaseFeedback(G, 1), B)
    assert len(c.do(ReleaseFeedback(G, 1), FAC)) == 1
    assert c.do(ReleaseFeedback(G, 1), FAC) == []
    with pytest.raises(PermissionDenied):
        c.do(WriteNextTime("next-b-0001", G, 1, "pause"), B)
    c.do(WriteNextTime("next-a-0001", G, 1, "pause longer"), A)
    assert c.fb.next_time[(G, 1)].text == "pause longer"
    with pytest.raises(DomainError, match="no turn 2"):
        c.do(fb("sid-b-0009", turn=2), B)


def test_reflections_are_private_until_their_author_shares_them():
    c = Course(CourseState(rooms=ROOMS), now=T0)
    c.do(WriteReflection("refl-a-0001", "d1-10", "p", "mine alone"), A)
    c.do(WriteReflection("refl-a-0002", "d1-10", "p", "for the group", share=True), A)
    assert c.do(WriteReflection("refl-a-0002", "d1-10", "p", "for the group", True), A) == []
    shared = c.fb.shared_in(G)
    assert [r.text for r in shared] == ["for the group"]
    with pytest.raises(DomainError):
        c.do(ShareReflection("refl-a-0001", True), B)  # not B's to share
    c.do(ShareReflection("refl-a-0002", False), A)
    assert c.fb.shared_in(G) == ()
    with pytest.raises(DomainError, match="needs some text"):
        c.do(WriteReflection("refl-a-0003", "", "", "   "), A)
    with pytest.raises(DomainError, match="not in a small group"):
        c.do(WriteReflection("refl-z-0001", "", "", "t", share=True), Actor("z", Role.LEARNER))


def test_evaluations_open_with_the_last_item_of_their_day():
    keys = evaluation_keys(SCHEDULE)
    assert keys == ("day-1", "day-2", "day-3", "course")
    assert evaluation_opens(SCHEDULE, "day-2") == SCHEDULE.day_items(2)[-1].start
    assert evaluation_opens(SCHEDULE, "course") == SCHEDULE.day_items(3)[-1].start
    with pytest.raises(DomainError):
        evaluation_opens(SCHEDULE, "day-x")
    c = Course(CourseState(rooms=ROOMS), now=T0)
    spec = (("objectives", "scale"),)
    ev = SubmitEvaluation("eval-a-0001", "course", spec, {"objectives": "5"})
    opens = evaluation_opens(SCHEDULE, "course")
    with pytest.raises(DomainError, match="opens"):
        c.do(ev, A, at=opens - timedelta(seconds=1))
    events = c.do(ev, A, at=opens)
    assert [e.type for e in events] == ["evaluation.submitted", "evaluation.completed"]
    assert c.do(ev, A, at=opens) == []
    with pytest.raises(PermissionDenied):
        c.do(SubmitEvaluation("eval-f-0001", "course", spec, {"objectives": "5"}), FAC, at=opens)
    day = SubmitEvaluation("eval-a-0002", "day-1", spec, {"objectives": "4"})
    assert [e.type for e in c.do(day, A, at=opens)] == ["evaluation.submitted"]
    assert c.fb.evaluated("a") == {"course", "day-1"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("bc"), st.integers(0, 5), st.sampled_from(["1", "3"])),
        max_size=30,
    )
)
def test_any_mix_of_resends_stores_each_submission_once(sends):
    """However often and in whatever order pages resend, each id is one submission, each
    person's latest id is what counts, and a new id with the same answers is no new event."""
    c = with_turn()
    latest: dict[str, str] = {}
    stored: set[str] = set()
    for who, n, value in sends:
        sid = f"sid-{who}-{n:04d}"
        events = c.do(fb(sid, {"silence": value}), Actor(who, Role.LEARNER))
        changes = sid not in stored and latest.get(who) != value
        assert bool(events) == changes
        if changes:
            latest[who] = value
            stored.add(sid)
    assert set(c.fb.sids) == stored
    assert {f.author: f.answers["silence"] for f in c.fb.on_turn(G, 1)} == latest


def test_a_released_turn_with_feedback_is_the_learners_individual_assessment():
    """What ABP MOC asks for: feedback on the learner's own turn, released to them. A turn
    released with no feedback given, or only the learner's rating of themselves, is none."""
    c = with_turn()
    c.do(fb("sid-b-0001"), B)
    c.do(EndTurn(G), FAC)
    c.do(BeginTurn(G, "b", "Ask before telling"), FAC)
    c.do(EndTurn(G), FAC)
    own = SubmitFeedback("sid-b-0002", G, 2, SELF_RATING, (("empathy", "scale"),), {"empathy": "4"})
    c.do(own, B)
    assert [f.capacity for f in c.fb.on_turn(G, 2)] == ["self"]
    assert c.fb.assessed == frozenset()
    c.do(ReleaseFeedback(G, 2), FAC)  # b's turn: nobody else gave feedback
    assert c.fb.assessed == frozenset()
    c.do(ReleaseFeedback(G, 1), FAC)
    assert c.fb.assessed == {"a"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers()), max_size=600))
def test_a_growing_mapping_is_the_dict_it_stands_for_and_old_versions_never_change(pairs):
    """The state's submission maps (server/domain/growing.py): after any sequence of sets, the
    same keys, values and order as a dict; each earlier version as it was."""
    from server.domain.growing import Growing

    g: Growing[int, int] = Growing()
    d: dict[int, int] = {}
    versions = []
    for k, v in pairs:
        versions.append((g, dict(d)))
        g, d[k] = g.setting(k, v), v
        assert len(g) == len(d)
    assert list(g.items()) == list(d.items()) and g == d
    for old, then in versions:
        assert list(old.items()) == list(then.items())
    assert (301 in g) is False and g.get(301) is None
