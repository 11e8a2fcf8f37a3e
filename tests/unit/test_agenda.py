"""The agenda clock: seed times in ET and UTC, DST, re-basing, now/next, the delay rule."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.content.course import load_course
from server.domain.agenda import Kind, build_schedule, item_summary, local_to_utc
from server.domain.errors import DomainError

ET = ZoneInfo("America/New_York")

# Every item of the published agenda: (day, title, start, end) in Eastern Time.
SEED = [
    (1, "Welcome to the Core Principles of Palliative Care", "10:00", "10:30"),
    (1, "The Frame of Palliative Care", "10:30", "11:15"),
    (1, "Break", "11:15", "11:30"),
    (
        1,
        "Scaffolds for a Comprehensive Palliative Care Assessment (Adult and Pediatric Sessions)",
        "11:30",
        "12:30",
    ),
    (1, "Lunch", "12:30", "13:30"),
    (
        1,
        "Scaffolds for a Comprehensive Palliative Care Assessment (Adult and Pediatric Sessions)",
        "13:30",
        "14:30",
    ),
    (1, "Break", "14:30", "14:45"),
    (
        1,
        "Clinical Trajectories for Patients with Serious Illness (Adult and Pediatric Sessions)",
        "14:45",
        "15:45",
    ),
    (1, "Transition", "15:45", "16:00"),
    (1, "Small Group Community Building and Reflection", "16:00", "17:00"),
    (2, "Welcome Back", "10:00", "10:15"),
    (2, "Delivering Serious News", "10:15", "10:45"),
    (2, "Small Group Start-Up", "10:45", "11:15"),
    (2, "Delivering Serious News -- Practice", "11:15", "13:00"),
    (2, "Lunch", "13:00", "14:00"),
    (2, "Exploring Values and Preferences and Making Recommendations", "14:00", "14:30"),
    (2, "Exploring Values and Preferences and Making Recommendations: Practice", "14:30", "16:30"),
    (2, "Small Group Reflection", "16:30", "16:45"),
    (2, "Large Group Close", "16:45", "17:00"),
    (3, "Welcome Back", "10:00", "10:15"),
    (3, "Pain (Adult and Pediatric Sessions)", "10:15", "11:30"),
    (3, "Break", "11:30", "11:45"),
    (3, "Dyspnea (Adult and Pediatric Sessions)", "11:45", "12:30"),
    (3, "Lunch", "12:30", "13:30"),
    (3, "GI (Nausea/Vomiting, Constipation (Adult and Pediatric Sessions)", "13:30", "14:00"),
    (3, "Depression/Anxiety/Adjustment (Adult and Pediatric Sessions)", "14:00", "14:30"),
    (3, "Break", "14:30", "14:45"),
    (3, "Caring for the Dying Patient (Adult and Pediatric Sessions)", "14:45", "15:30"),
    (3, "Community Building and Self Reflection (Small Groups)", "15:30", "16:15"),
    (3, "Closing", "16:15", "16:30"),
]


@pytest.fixture(scope="module")
def course():
    return load_course()


@pytest.fixture(scope="module")
def schedule(course):
    return build_schedule(course)


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_course_holds_the_seed_facts(course):
    assert course.timezone == "America/New_York"
    assert course.first_date == date(2026, 5, 13)
    assert course.designations.get("ama_pra_category_1").maximum == 16.00
    assert course.designations.get("pharmacology_hours").maximum == 3.75
    assert course.days == 3


@pytest.mark.parametrize(("n", "row"), list(enumerate(SEED)))
def test_every_seed_item_is_at_its_eastern_and_utc_time(schedule, n, row):
    day, title, start, end = row
    s = schedule.items[n]
    assert (s.item.day, s.item.title) == (day, title)
    d = date(2026, 5, 12 + day)
    assert s.start.astimezone(ET).strftime("%H:%M") == start
    assert s.end.astimezone(ET).strftime("%H:%M") == end
    # May is daylight time: Eastern is UTC-4.
    sh, sm = map(int, start.split(":"))
    assert s.start == datetime(d.year, d.month, d.day, sh + 4, sm, tzinfo=UTC)


def test_split_items_are_exactly_the_adult_and_pediatric_ones(schedule):
    for s in schedule.items:
        assert s.item.split_by_track == ("(Adult and Pediatric Sessions)" in s.item.title)
        if s.item.split_by_track:
            assert s.item.kind is Kind.TRACK_SESSION


def test_kinds_of_items(schedule):
    kinds = {s.item.title: s.item.kind for s in schedule.items}
    assert kinds["Lunch"] is Kind.LUNCH
    assert kinds["Transition"] is Kind.TRANSITION
    assert kinds["Delivering Serious News -- Practice"] is Kind.PRACTICE
    assert kinds["Small Group Start-Up"] is Kind.SMALL_GROUP
    assert kinds["The Frame of Palliative Care"] is Kind.PLENARY


def test_items_never_overlap(schedule):
    for a, b in zip(schedule.items, schedule.items[1:], strict=False):
        assert a.end <= b.start


def test_json_summary_shape(schedule):
    s = schedule.items[0]
    assert item_summary(schedule, s) == {
        "day": 1,
        "title": "Welcome to the Core Principles of Palliative Care",
        "kind": "plenary",
        "split_by_track": False,
        "faculty": ["Harry Han", "Lindsay Dow", "Vanessa Battista", "Hadley Bloomhardt"],
        "start": "2026-05-13T14:00:00Z",
        "end": "2026-05-13T14:30:00Z",
        "start_local": "2026-05-13T10:00:00-04:00",
        "end_local": "2026-05-13T10:30:00-04:00",
    }


def test_rebasing_across_spring_forward_keeps_ten_oclock_local(course):
    # DST begins Sunday 2026-03-08 in the US: day 1 is EST (UTC-5), days 2 and 3 are EDT (UTC-4).
    sched = build_schedule(course.rebased(date(2026, 3, 7)))
    firsts = [sched.day_items(n)[0] for n in (1, 2, 3)]
    assert [f.start.astimezone(ET).strftime("%H:%M") for f in firsts] == ["10:00"] * 3
    assert [f.start for f in firsts] == [
        utc("2026-03-07T15:00:00Z"),
        utc("2026-03-08T14:00:00Z"),
        utc("2026-03-09T14:00:00Z"),
    ]


def test_rebasing_across_fall_back_keeps_ten_oclock_local(course):
    # DST ends Sunday 2026-11-01: day 1 is EDT (UTC-4), days 2 and 3 are EST (UTC-5).
    sched = build_schedule(course.rebased(date(2026, 10, 31)))
    firsts = [sched.day_items(n)[0] for n in (1, 2, 3)]
    assert [f.start for f in firsts] == [
        utc("2026-10-31T14:00:00Z"),
        utc("2026-11-01T15:00:00Z"),
        utc("2026-11-02T15:00:00Z"),
    ]
    closing = sched.day_items(3)[-1]
    assert closing.end == utc("2026-11-02T21:30:00Z")
    assert item_summary(sched, closing)["end_local"] == "2026-11-02T16:30:00-05:00"


def test_rebasing_moves_every_item_to_the_new_dates(course):
    sched = build_schedule(course.rebased(date(2027, 1, 20)))
    assert {s.start.astimezone(ET).date() for s in sched.items} == {
        date(2027, 1, 20),
        date(2027, 1, 21),
        date(2027, 1, 22),
    }


def test_a_wall_time_skipped_by_dst_is_refused():
    with pytest.raises(DomainError, match="does not exist"):
        local_to_utc(date(2026, 3, 8), time(2, 30), ET)


def test_a_repeated_wall_time_takes_its_first_occurrence():
    assert local_to_utc(date(2026, 11, 1), time(1, 30), ET) == utc("2026-11-01T05:30:00Z")


def test_now_next_and_remaining(schedule):
    t = utc("2026-05-14T15:20:00Z")  # 11:20 EDT on day 2
    assert schedule.current(t).item.title == "Delivering Serious News -- Practice"
    assert schedule.next(t).item.title == "Lunch"
    assert schedule.remaining(t) == timedelta(minutes=100)


def test_boundaries_are_start_inclusive_end_exclusive(schedule):
    t = utc("2026-05-13T14:30:00Z")  # 10:30 exactly
    assert schedule.current(t).item.title == "The Frame of Palliative Care"
    assert schedule.next_boundary(t) == utc("2026-05-13T15:15:00Z")


def test_before_between_and_after_the_course(schedule):
    before = utc("2026-05-12T12:00:00Z")
    assert schedule.current(before) is None
    assert schedule.next(before) is schedule.items[0]
    overnight = utc("2026-05-14T02:00:00Z")
    assert schedule.current(overnight) is None
    assert schedule.next(overnight).item.title == "Welcome Back"
    after = utc("2026-05-16T12:00:00Z")
    assert schedule.current(after) is None and schedule.next(after) is None
    assert schedule.next_boundary(after) is None


def _local(sched, item_id):
    s = sched.get(item_id)
    return s.start.astimezone(ET).strftime("%H:%M"), s.end.astimezone(ET).strftime("%H:%M")


def test_a_delay_shifts_later_items_until_a_break_absorbs_it(schedule):
    # Day 1: the Welcome (10:00-10:30) runs 10 minutes long.
    later = schedule.delayed("d1-01", 10)
    assert _local(later, "d1-01") == ("10:00", "10:40")
    assert _local(later, "d1-02") == ("10:40", "11:25")  # The Frame moves
    assert _local(later, "d1-03") == ("11:25", "11:30")  # the break shrinks and ends on time
    assert _local(later, "d1-04") == ("11:30", "12:30")  # nothing after the break moves


def test_a_break_keeps_five_minutes_and_passes_on_the_rest(schedule):
    later = schedule.delayed("d1-02", 15)  # 15 min late into a 15-minute break
    assert _local(later, "d1-03") == ("11:30", "11:35")  # keeps 5 minutes
    assert _local(later, "d1-04") == ("11:35", "12:35")  # the other 5 minutes pass on
    assert _local(later, "d1-05") == ("12:35", "13:30")  # lunch absorbs them
    assert _local(later, "d1-06") == ("13:30", "14:30")


def test_a_delay_never_moves_another_day(schedule):
    later = schedule.delayed("d1-10", 30)  # the last item of day 1
    assert _local(later, "d1-10") == ("16:00", "17:30")
    assert later.get("d2-01").start == schedule.get("d2-01").start


def test_a_delay_with_no_absorber_moves_the_rest_of_the_day(schedule):
    later = schedule.delayed("d2-06", 20)  # the plenary before the afternoon practice
    assert _local(later, "d2-07") == ("14:50", "16:50")
    assert _local(later, "d2-09") == ("17:05", "17:20")


def test_delays_stack(schedule):
    later = schedule.delayed("d1-01", 5).delayed("d1-01", 5)
    assert later.get("d1-01").end == schedule.get("d1-01").end + timedelta(minutes=10)


@pytest.mark.parametrize("minutes", [0, -5, 121])
def test_a_delay_outside_1_to_120_minutes_is_refused(schedule, minutes):
    with pytest.raises(DomainError, match="1 to 120"):
        schedule.delayed("d1-01", minutes)


# --- property: any sequence of delays keeps each day in order, without overlaps ---------------

import itertools  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from server.domain.agenda import MAX_DELAY_MINUTES  # noqa: E402

PROPERTY_SCHEDULE = build_schedule(load_course())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(PROPERTY_SCHEDULE.items) - 1), st.integers(1, MAX_DELAY_MINUTES)
        ),
        max_size=8,
    )
)
def test_any_delays_keep_items_in_order_without_overlaps(delays):
    """However many delays land on whichever items, items never overlap, never end before
    they start, and other days never move."""
    schedule = PROPERTY_SCHEDULE
    for index, minutes in delays:
        schedule = schedule.delayed(PROPERTY_SCHEDULE.items[index].id, minutes)
    touched = {PROPERTY_SCHEDULE.items[i].item.day for i, _ in delays}
    by_day: dict[int, list] = {}
    for s in schedule.items:
        assert s.end > s.start
        by_day.setdefault(s.item.day, []).append(s)
    for day, items in by_day.items():
        for a, b in itertools.pairwise(items):
            assert a.end <= b.start, (a.item.title, b.item.title)
        if day not in touched:
            base = [s for s in PROPERTY_SCHEDULE.items if s.item.day == day]
            assert [(s.start, s.end) for s in items] == [(s.start, s.end) for s in base]
