"""One conformance suite for every event store: SQLite (embedded) and Redis (a real server).

Ordered appends, optimistic concurrency, reads after a sequence, tailing, durability."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.domain.events import NewEvent
from server.store import SeqConflict, StoreUnavailable, open_store

AT = datetime(2026, 5, 13, 14, 0, tzinfo=UTC)


def ev(n: int) -> NewEvent:
    return NewEvent("test.happened", "tester", AT, {"n": n, "text": "é <b>"})


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    # A fresh database number per test keeps tests apart on the shared server.
    url = request.getfixturevalue("redis_url")
    import redis

    r = redis.Redis.from_url(url)
    r.flushdb()
    r.close()
    return url


@pytest.fixture
async def store(store_url):
    s = open_store(store_url)
    await s.open()
    yield s
    await s.close()


async def test_appends_get_consecutive_sequence_numbers(store):
    first = await store.append("c", [ev(1), ev(2)], expected_seq=0)
    second = await store.append("c", [ev(3)], expected_seq=2)
    assert [e.seq for e in first + second] == [1, 2, 3]
    back = await store.read("c")
    assert [e.data["n"] for e in back] == [1, 2, 3]
    assert back[0].at == AT and back[0].data["text"] == "é <b>"
    assert [e.seq for e in await store.read("c", after_seq=2)] == [3]


async def test_a_long_log_is_read_whole_and_in_order_from_anywhere(store, monkeypatch):
    import server.store.redis as redis_store

    monkeypatch.setattr(redis_store, "READ_PAGE", 4)  # pages of 4: a page boundary is crossed
    await store.append("c", [ev(n) for n in range(1, 11)], expected_seq=0)
    assert [e.data["n"] for e in await store.read("c")] == list(range(1, 11))
    for after in (0, 3, 4, 5, 8, 10):
        assert [e.seq for e in await store.read("c", after_seq=after)] == list(range(after + 1, 11))


async def test_a_stale_append_is_refused_and_changes_nothing(store):
    await store.append("c", [ev(1)], expected_seq=0)
    with pytest.raises(SeqConflict):
        await store.append("c", [ev(2)], expected_seq=0)
    assert [e.seq for e in await store.read("c")] == [1]


async def test_courses_have_separate_logs(store):
    await store.append("a", [ev(1)], 0)
    await store.append("b", [ev(1)], 0)
    assert len(await store.read("a")) == 1


async def test_tail_yields_old_then_new_events(store):
    await store.append("c", [ev(1)], 0)
    seen = []

    async def follow():
        async for e in store.tail("c", 0):
            seen.append(e.seq)
            if len(seen) == 3:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    await store.append("c", [ev(2), ev(3)], 1)
    await asyncio.wait_for(task, 2)
    assert seen == [1, 2, 3]


async def test_a_rewrite_replaces_stored_events_and_appends_in_one_step(store):
    """Erasure's store operation: stored events replaced in place (same seq), new ones after,
    refused as a whole if someone appended meanwhile."""
    await store.append("c", [ev(1), ev(2), ev(3)], 0)
    old = await store.read("c")
    changed = [replace(old[1], type="erased", actor="someone-else", data={})]
    with pytest.raises(SeqConflict):
        await store.rewrite("c", changed, [ev(4)], expected_seq=2)
    assert await store.read("c") == old
    stored = await store.rewrite("c", changed, [ev(4)], expected_seq=3)
    assert [e.seq for e in stored] == [4]
    back = await store.read("c")
    assert [e.type for e in back] == ["test.happened", "erased", "test.happened", "test.happened"]
    assert back[1].data == {} and back[1].actor == "someone-else" and back[1].at == AT
    assert back[0] == old[0] and back[2] == old[2]
    assert [e.seq for e in await store.append("c", [ev(5)], 4)] == [5]
    assert await store.read("b") == []


async def test_a_tail_open_across_a_rewrite_goes_on_with_what_follows(store):
    await store.append("c", [ev(1), ev(2)], 0)
    seen = []

    async def follow():
        async for e in store.tail("c", 2):
            seen.append((e.seq, e.type))
            if len(seen) == 2:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.1)
    old = await store.read("c")
    await store.rewrite("c", [replace(old[0], type="erased", data={})], [ev(3)], 2)
    await store.append("c", [ev(4)], 3)
    await asyncio.wait_for(task, 3)
    assert seen == [(3, "test.happened"), (4, "test.happened")]


async def test_a_snapshot_is_kept_beside_the_log_and_read_back(store):
    await store.append("c", [ev(1), ev(2), ev(3)], 0)
    assert await store.load_snapshot("c") is None
    blob = bytes(range(256)) * 4  # any bytes, as they are
    assert await store.save_snapshot("c", 2, blob)
    assert await store.load_snapshot("c") == (2, blob)
    assert await store.save_snapshot("c", 3, b"later")
    assert await store.load_snapshot("c") == (3, b"later")
    assert await store.load_snapshot("other") is None


async def test_a_snapshot_the_log_does_not_reach_is_refused(store):
    await store.append("c", [ev(1)], 0)
    assert not await store.save_snapshot("c", 2, b"ahead")
    assert await store.load_snapshot("c") is None


async def test_an_erasure_deletes_the_snapshot_and_refuses_one_taken_before_it(store):
    await store.append("c", [ev(1), ev(2)], 0)
    assert await store.save_snapshot("c", 2, b"holds what is erased")
    first = (await store.read("c"))[0]
    erased = NewEvent("person.erased", "director", AT, {"person": "x"})
    await store.rewrite("c", [replace(first, data={"n": 0})], [erased], 2)
    assert await store.load_snapshot("c") is None
    # A worker that took its snapshot before the erasure, saving it after: refused.
    assert not await store.save_snapshot("c", 2, b"holds what is erased")
    assert await store.load_snapshot("c") is None
    assert await store.save_snapshot("c", 3, b"after the erasure")
    assert await store.load_snapshot("c") == (3, b"after the erasure")


async def test_events_survive_reopening(store_url):
    url = store_url
    s = open_store(url)
    await s.open()
    await s.append("c", [ev(1)], 0)
    await s.close()
    s2 = open_store(url)
    await s2.open()
    assert [e.data["n"] for e in await s2.read("c")] == [1]
    await s2.close()


async def test_two_writers_cannot_both_append_after_the_same_event(store_url):
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    results = await asyncio.gather(
        a.append("c", [ev(1)], 0), b.append("c", [ev(2)], 0), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["SeqConflict", "list"]
    assert len(await a.read("c")) == 1
    await a.close()
    await b.close()


async def test_an_unreachable_redis_gives_a_clear_error():
    from tests.servers import free_port

    s = open_store(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable, match="unreachable"):
        await s.open()
    await s.close()


async def test_an_unwritable_location_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = open_store(f"sqlite:///{blocker / 'log.db'}")
    with pytest.raises(StoreUnavailable, match="cannot open the course log"):
        await s.open()
    await s.close()


def test_an_unknown_store_url_is_refused():
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("mongodb://x")
