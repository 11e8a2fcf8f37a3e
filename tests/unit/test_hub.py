"""A client that stops reading fills only its own bounded queue, then gets a snapshot."""

import asyncio

from server.live.hub import Connection, Hub


async def test_a_stalled_client_cannot_slow_the_others():
    hub = Hub()
    got_fast: list[str] = []
    stall = asyncio.Event()

    async def fast_send(m: str) -> None:
        got_fast.append(m)

    async def stalled_send(m: str) -> None:
        await stall.wait()

    snap = lambda conn: ["SNAPSHOT"]  # noqa: E731
    fast = Connection(fast_send, ["agenda"], snap, limit=4)
    slow = Connection(stalled_send, ["agenda"], snap, limit=4)
    hub.join(fast)
    hub.join(slow)
    tasks = [asyncio.create_task(fast.run()), asyncio.create_task(slow.run())]
    await asyncio.sleep(0)
    for i in range(50):
        assert hub.publish("agenda", f"m{i}") == 2
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert got_fast == ["SNAPSHOT", *[f"m{i}" for i in range(50)]]
    assert slow.resyncs >= 1  # its backlog was dropped for a snapshot
    assert slow._queue.qsize() <= 4
    for c in (fast, slow):
        c.close()
    stall.set()
    await asyncio.gather(*tasks)


async def test_leaving_removes_the_connection_from_its_audiences():
    hub = Hub()

    async def send(m: str) -> None:
        pass

    c = Connection(send, ["agenda", "person:p1"], lambda conn: [])
    hub.join(c)
    assert set(hub.audiences()) == {"agenda", "person:p1"}
    hub.leave(c)
    assert hub.audiences() == []
    assert hub.publish("agenda", "x") == 0
