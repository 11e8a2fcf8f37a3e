"""The one writer takes commands that arrive while it is writing and writes them together:
each still gets its own events, in the order it came, and its own answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from server.content.course import load_course
from server.domain.announcements import Announce
from server.domain.errors import DomainError
from server.domain.roles import CLI_ACTOR
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.store import StoreUnavailable, open_store


@pytest.fixture
async def svc(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'log.db'}")
    await store.open()
    service = CourseService(
        load_course(), store, RehearsalClock(datetime(2026, 5, 13, 13, 0, tzinfo=UTC), 1.0)
    )
    await service.start()
    yield service
    await service.stop()
    await store.close()


def counting_appends(svc: CourseService) -> list[int]:
    """How many events each append to the store carried."""
    sizes: list[int] = []
    append = svc.store.append

    async def counted(course, events, expected_seq):
        sizes.append(len(events))
        return await append(course, events, expected_seq)

    svc.store.append = counted  # type: ignore[method-assign]
    return sizes


async def test_commands_that_arrive_together_are_written_together_each_with_its_answer(svc):
    sizes = counting_appends(svc)
    before = svc.state.seq
    texts = [f"Announcement {i}" for i in range(30)]
    texts[7] = "   "  # refused by the rules: its own error, and nothing of it stored
    results = await asyncio.gather(
        *(svc.execute(Announce(t), CLI_ACTOR) for t in texts), return_exceptions=True
    )
    assert isinstance(results[7], DomainError) and "needs some text" in str(results[7])
    stored = [r for i, r in enumerate(results) if i != 7]
    assert [len(r) for r in stored] == [1] * 29  # type: ignore[arg-type]
    assert [r[0].data["text"] for r in stored] == [t for i, t in enumerate(texts) if i != 7]  # type: ignore[index]
    assert [r[0].seq for r in stored] == list(range(before + 1, before + 30))  # type: ignore[index]
    assert svc.state.seq == before + 29
    assert sum(sizes) == 29 and len(sizes) <= 3  # the first alone, the rest together
    # What was stored is what the server holds.
    logged = await svc.store.read(svc.course.id, before)
    assert [e.data["text"] for e in logged] == [r[0].data["text"] for r in stored]  # type: ignore[index]


async def test_a_failed_write_answers_every_command_in_it_and_changes_nothing(svc):
    await svc.execute(Announce("first"), CLI_ACTOR)
    before = svc.state
    append = svc.store.append

    async def down(course, events, expected_seq):
        raise StoreUnavailable("the course log could not be written (disk I/O error)")

    svc.store.append = down  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(svc.execute(Announce(f"lost {i}"), CLI_ACTOR) for i in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert svc.state is before and not svc.store_ok
    svc.store.append = append  # type: ignore[method-assign]
    (e,) = await svc.execute(Announce("back"), CLI_ACTOR)
    assert e.seq == before.seq + 1


async def test_a_caller_that_stops_waiting_before_its_turn_is_left_out(svc):
    before = svc.state.seq
    first = asyncio.create_task(svc.execute(Announce("first"), CLI_ACTOR))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the writer has taken "first" and is writing it
    gone = asyncio.create_task(svc.execute(Announce("never mind"), CLI_ACTOR))
    kept = asyncio.create_task(svc.execute(Announce("kept"), CLI_ACTOR))
    await asyncio.sleep(0)  # both wait for the next write
    gone.cancel()
    await asyncio.wait_for(asyncio.gather(first, kept), 5)
    logged = [e.data["text"] for e in await svc.store.read(svc.course.id, before)]
    assert logged == ["first", "kept"] and gone.cancelled()
