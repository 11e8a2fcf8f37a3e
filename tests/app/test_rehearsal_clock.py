"""A rehearsal started again on its log goes on from where the log is: course time never runs
backwards in one log. Times outside the course's days (the real clock's) are not course time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.domain.announcements import Announce
from server.domain.rehearsal import course_time_reached
from server.domain.roles import CLI_ACTOR
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.store import open_store

COURSE = load_course()
SCHEDULE = build_schedule(COURSE)
DAY1 = SCHEDULE.items[0].start


def test_the_course_time_reached_is_the_last_within_the_course_days():
    real = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a roster imported on the real clock
    times = [DAY1 + timedelta(hours=1), real, DAY1 + timedelta(minutes=5)]
    assert course_time_reached(times, SCHEDULE) == DAY1 + timedelta(hours=1)
    assert course_time_reached([real], SCHEDULE) is None
    assert course_time_reached([], SCHEDULE) is None


async def run(url: str, start: datetime) -> datetime:
    """Start a service on `url` with a rehearsal clock at `start`; announce; stop."""
    store = open_store(url)
    await store.open()
    service = CourseService(COURSE, store, RehearsalClock(start, 1.0))
    await service.start()
    try:
        await service.execute(Announce("hello"), CLI_ACTOR)
        return service.clock.now()
    finally:
        await service.stop()
        await store.close()


async def test_a_rehearsal_started_again_goes_on_from_its_log_never_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    later = DAY1 + timedelta(hours=3)
    await run(url, later)
    now = await run(url, DAY1)  # started again from the course's start
    assert later <= now < later + timedelta(minutes=1)
    store = open_store(url)
    await store.open()
    times = [e.at for e in await store.read(COURSE.id)]
    await store.close()
    assert times == sorted(times)
    # a start ahead of the log is kept
    ahead = DAY1 + timedelta(hours=6)
    assert ahead <= await run(url, ahead) < ahead + timedelta(minutes=1)
