"""A page's socket in the hub: written at once when free, a bounded backlog while a write waits,
a snapshot after an overflow."""

import asyncio
import gc
import weakref

from server.live.hub import KICKED, Connection, Hub


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
    fast.start()
    slow.start()
    await asyncio.sleep(0)
    for i in range(50):
        assert hub.publish("agenda", f"m{i}") == 2
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert got_fast == ["SNAPSHOT", *[f"m{i}" for i in range(50)]]
    assert slow.resyncs >= 1  # its backlog was dropped for a snapshot
    assert slow.waiting <= 4
    stall.set()
    for c in (fast, slow):
        await c.stop()


async def test_leaving_removes_the_connection_from_its_audiences():
    vacated: list[str] = []
    hub = Hub(vacated=vacated.append)

    async def send(m: str) -> None:
        pass

    c = Connection(send, ["person:p1", "agenda", "agenda"], lambda conn: [])
    other = Connection(send, ["agenda"], lambda conn: [])
    assert c.audiences == ("agenda", "person:p1")  # each once, in one order for every page
    hub.join(c)
    hub.join(other)
    assert set(hub.audiences()) == {"agenda", "person:p1"}
    hub.leave(c)
    assert vacated == ["person:p1"]  # the agenda still has a page
    hub.leave(other)
    assert hub.audiences() == [] and vacated == ["person:p1", "agenda"]
    assert hub.publish("agenda", "x") == 0


class Message(str):
    """A message whose lifetime a test can watch."""


async def test_a_free_socket_is_written_on_the_next_turn_without_a_task_and_nothing_is_kept():
    sent: list[str] = []

    async def send(m: str) -> None:
        sent.append(m)

    c = Connection(send, ["agenda"], lambda conn: ["SNAPSHOT"])
    before = len(asyncio.all_tasks())
    c.start()
    assert sent == []  # the snapshot is taken on the next turn of the loop
    await asyncio.sleep(0)
    message = Message("<div id=now>10:00</div>")
    gone = weakref.ref(message)
    c.offer(message)
    c.offer("second")
    assert sent == ["SNAPSHOT"]  # offered in this step, written on the next turn in one go
    assert len(asyncio.all_tasks()) == before  # a timer callback, no task per page
    await asyncio.sleep(0)
    assert sent == ["SNAPSHOT", message, "second"]
    assert len(asyncio.all_tasks()) == before
    sent.clear()
    del message
    gc.collect()
    assert gone() is None  # the page holds nothing while it waits for the next message
    await c.stop()
    c.offer("after stop")
    assert sent == []


async def test_a_write_that_waits_finishes_in_a_task_and_keeps_the_order():
    sent: list[str] = []
    gate = asyncio.Event()

    async def send(m: str) -> None:
        if m == "slow":
            await gate.wait()
        sent.append(m)

    c = Connection(send, ["agenda"], lambda conn: ["SNAPSHOT"])
    c.start()
    await asyncio.sleep(0)
    c.offer("slow")
    c.offer("a")
    c.offer("b")
    await asyncio.sleep(0)
    assert sent == ["SNAPSHOT"] and c.waiting == 2
    gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == ["SNAPSHOT", "slow", "a", "b"] and c.waiting == 0
    c.offer("c")  # the socket is free again: written without a task
    await asyncio.sleep(0)
    assert sent[-1] == "c"
    await c.stop()


async def test_a_failed_write_closes_the_connection_without_raising_into_the_publisher():
    async def send(m: str) -> None:
        raise ConnectionResetError("gone")

    hub = Hub()
    c = Connection(send, ["agenda"], lambda conn: ["SNAPSHOT"])
    hub.join(c)
    c.start()
    await asyncio.sleep(0)
    assert c.closed
    assert hub.publish("agenda", "x") == 1  # offered, and ignored
    await c.stop()


async def test_stop_ends_a_write_that_waits_forever():
    async def send(m: str) -> None:
        await asyncio.Event().wait()

    c = Connection(send, ["agenda"], lambda conn: ["SNAPSHOT"])
    c.start()
    await asyncio.sleep(0)
    c.offer("x")
    await asyncio.wait_for(c.stop(), 1)
    assert c.closed and c.waiting == 0


async def test_a_kicked_page_gets_the_message_then_the_close_and_nothing_else():
    sent: list[str] = []
    closed: list[int] = []

    async def send(m: str) -> None:
        sent.append(m)

    async def close_socket(code: int) -> None:
        closed.append(code)

    c = Connection(send, ["agenda"], lambda conn: ["SNAPSHOT"], close_socket=close_socket)
    c.start()
    await asyncio.sleep(0)
    c.kick("revoked")
    c.offer("later")
    await asyncio.sleep(0)
    c.resync()
    assert sent == ["SNAPSHOT", "revoked"] and closed == [KICKED] and c.closed


async def test_a_resync_sends_one_snapshot_of_the_state_after_the_change():
    """A change that moves a page resyncs it before the change is rendered: the snapshot is
    taken when it is written, after the current step, so it shows the present, once; what was
    offered meanwhile follows it."""
    state = {"now": "before"}
    sent: list[str] = []

    async def send(m: str) -> None:
        sent.append(m)

    c = Connection(send, ["agenda"], lambda conn: [f"SNAPSHOT {state['now']}"])
    c.start()
    await asyncio.sleep(0)
    c.resync()
    c.resync()
    state["now"] = "after"  # the same step renders the change
    c.offer("reply")
    await asyncio.sleep(0)
    assert sent == ["SNAPSHOT before", "SNAPSHOT after", "reply"]
    c.resync()
    c.kick("revoked")  # a kicked page gets no snapshot, even one already due
    await asyncio.sleep(0)
    assert sent[3:] == ["revoked"]


async def test_a_step_reaches_each_page_in_one_write_in_the_order_it_was_published():
    """Pages get what a step published to their audiences, in order, in one write; pages that
    differ only in audiences the step did not publish to share the same joined bytes."""
    from server.live.socket import text_frame

    hub = Hub()
    writes: dict[str, list[bytes]] = {}

    async def send(m: str) -> None:
        raise AssertionError("a free socket that takes frames is written in one go")

    def page(name: str, audiences: list[str]) -> Connection:
        def write(frames: list[bytes]) -> bool:
            writes.setdefault(name, []).extend(frames)
            return True

        c = Connection(send, audiences, lambda conn: [], write_frames=write)
        hub.join(c)
        return c

    page("ann", ["agenda", "group:a", "form:ann"])
    page("bo", ["form:bo", "group:a", "agenda"])
    page("cy", ["agenda", "group:b", "form:cy"])
    page("dee", ["group:b"])
    for audience, text in [
        ("group:b", "b1"),
        ("agenda", "a1"),
        ("group:a", "g1"),
        ("form:bo", "f1"),
        ("group:b", "b2"),
    ]:
        hub.publish(audience, text)
    await asyncio.sleep(0)
    frames = {k: b"".join(v) for k, v in writes.items()}
    assert all(len(v) == 1 for v in writes.values())  # one write each
    assert frames["ann"] == text_frame("a1") + text_frame("g1")
    assert frames["bo"] == text_frame("a1") + text_frame("g1") + text_frame("f1")
    assert frames["cy"] == text_frame("b1") + text_frame("a1") + text_frame("b2")
    assert frames["dee"] == text_frame("b1") + text_frame("b2")
    assert writes["ann"][0] is not writes["bo"][0]
    # Two more pages like Ann, each with its own form: the same bytes object, joined once.
    page("eve", ["agenda", "group:a", "form:eve"])
    page("fay", ["form:fay", "agenda", "group:a"])
    writes.clear()
    hub.publish("agenda", "a2")
    hub.publish("group:a", "g2")
    await asyncio.sleep(0)
    assert writes["ann"][0] is writes["eve"][0] is writes["fay"][0] is writes["bo"][0]
    assert writes["ann"][0] == text_frame("a2") + text_frame("g2")
