"""The rehearsal clock runs course time from a virtual start at a speed factor."""

from datetime import UTC, datetime, timedelta

import pytest

from server.service.clock import Clock, RehearsalClock

START = datetime(2026, 5, 13, 13, 57, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_rehearsal_clock_starts_at_its_virtual_instant_and_runs_at_its_speed():
    mono = FakeMonotonic()
    clock = RehearsalClock(START, speed=60, monotonic=mono)
    assert clock.now() == START
    mono.t += 7  # seven real seconds are seven course minutes
    assert clock.now() == START + timedelta(minutes=7)


def test_rehearsal_clock_converts_course_time_to_real_waits():
    mono = FakeMonotonic()
    clock = RehearsalClock(START, speed=60, monotonic=mono)
    assert clock.real_seconds_until(START + timedelta(minutes=3)) == pytest.approx(3.0)
    assert clock.real_seconds_until(START - timedelta(minutes=3)) == 0.0


def test_rehearsal_clock_jumps_forward_and_back():
    mono = FakeMonotonic()
    clock = RehearsalClock(START, speed=10, monotonic=mono)
    target = START + timedelta(hours=5)
    clock.jump(target)
    assert clock.now() == target
    mono.t += 1
    assert clock.now() == target + timedelta(seconds=10)
    clock.jump(START)
    assert clock.now() == START


@pytest.mark.parametrize("speed", [0, -1, 10_000])
def test_rehearsal_speed_must_be_sensible(speed):
    with pytest.raises(ValueError, match="speed"):
        RehearsalClock(START, speed=speed)


def test_rehearsal_start_needs_a_zone():
    with pytest.raises(ValueError, match="time zone"):
        RehearsalClock(datetime(2026, 5, 13, 10, 0))


def test_real_clock_is_utc_and_close_to_now():
    now = Clock().now()
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 1
