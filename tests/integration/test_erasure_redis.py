"""Erasure on the shared log: two workers on one real Redis (append-only file on, as we
document). The director's erasure through one worker rewrites the stream; the other worker
rebuilds its state from it; Redis rewrites its files, and no byte of the person is left in them."""

import asyncio
import time
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.domain.course_state import replay
from server.domain.people_rules import Connect, ImportRoster
from server.domain.reflections import WriteReflection
from server.domain.roles import CLI_ACTOR, Actor, Role
from server.domain.roster import parse_roster
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.store import open_store
from tests.redis_server import redis_server

ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Quincy Quartermain,quincy.q@example.org,learner,nurse,adult
Rae Learner,rae@example.org,learner,physician,adult
"""


async def service(url: str, clock: RehearsalClock) -> CourseService:
    store = open_store(url)
    await store.open()
    svc = CourseService(load_course(), store, clock)
    await svc.start()
    return svc


async def until(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.timeout(60)
async def test_erasure_through_one_worker_reaches_the_other_and_redis_files(tmp_path, figure):
    workdir = tmp_path / "redis"
    first = build_schedule(load_course()).items[0]
    clock = RehearsalClock(first.start + timedelta(minutes=5), 1.0)
    # Uncompressed files, so that reading their bytes finds every string they hold.
    with redis_server(workdir, None, "--rdbcompression", "no") as url:
        a = await service(url, clock)
        b = await service(url, clock)
        try:
            await a.execute(ImportRoster(tuple(parse_roster(ROSTER).registrations)), CLI_ACTOR)
            people = a.state.people
            q, r = people.id_of("quincy.q@example.org"), people.id_of("rae@example.org")
            for pid in (q, r):
                who = Actor(pid, Role.LEARNER)
                await b.execute(Connect(f"{b.worker}.page-{pid}"), who)
                item = first.id
                await b.execute(WriteReflection(f"sid-{pid}", item, "P", f"MARK-{pid}"), who)
            await until(lambda: a.state.seq == b.state.seq)
            kept = b"".join(p.read_bytes() for p in workdir.rglob("*") if p.is_file())
            assert b"quincy" in kept.lower() and f"MARK-{q}".encode() in kept

            t0 = time.perf_counter()
            new = await a.erase_person(
                q, Actor(people.id_of("director@example.org"), Role.DIRECTOR)
            )
            await until(lambda: b.state.seq == a.state.seq)
            took = round(time.perf_counter() - t0, 3)
            figure("seconds until the other worker holds the erased state", took)
            assert b.state == a.state
            assert b.state.people.get(q) is None and b.state.people.by_id[new].erased
            assert b.state.people.by_id[r].name == "Rae Learner"
            events = await b.store.read(b.course.id)
            assert replay(events) == b.state
            text = repr([(e.actor, dict(e.data)) for e in events])
            assert "quincy" not in text.lower() and q not in text and f"MARK-{r}" in text
            # The other worker goes on writing after the rewrite.
            await b.execute(
                WriteReflection("sid-after", first.id, "P", "after"), Actor(r, Role.LEARNER)
            )
            await until(lambda: a.state.seq == b.state.seq)

            # Redis rewrites its append-only file in the background: wait for it, then read
            # every file it keeps.
            admin = aioredis.Redis.from_url(url)
            try:

                async def rewritten() -> bool:
                    info = await admin.info("persistence")
                    return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

                deadline = time.monotonic() + 20
                while not await rewritten():
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
            finally:
                await admin.aclose()
            files = [p for p in workdir.rglob("*") if p.is_file()]
            assert files
            data = b"".join(p.read_bytes() for p in files)
            assert b"quincy" not in data.lower() and q.encode() not in data
            assert f"MARK-{r}".encode() in data and b"Rae Learner" in data
            figure("Redis files checked", len(files))
        finally:
            for s in (a, b):
                await s.stop()
                await s.store.close()
