"""Snapshots of the state kept beside the log: a start from one, with the events after it, makes
the state a full replay makes; one made by other rules, or not signed with this server's key,
is ignored; an erasure leaves no snapshot holding what it erased."""

import logging
import shutil
import zlib

import pytest

from server.content.course import load_course
from server.demo.sim import Simulation
from server.domain.agenda import build_schedule
from server.domain.course_state import replay
from server.domain.roles import Actor, Role
from server.service import snapshots
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.service.snapshots import Snapshot, encode, snapshot_key
from server.store import open_store
from tests.app.harness import before_day2_practice, simulate, spared

COURSE = load_course()
SCHEDULE = build_schedule(COURSE)
KEY = snapshot_key("test-secret")  # the harness's server secret


@pytest.fixture(scope="module")
def course_log(tmp_path_factory):
    """A log of Day 2's practice run by the demo's simulation for 90 minutes, its server
    stopped cleanly."""
    tmp = tmp_path_factory.mktemp("snap")
    with before_day2_practice(tmp) as c:
        svc = c.app.state.service
        simulate(c, Simulation(svc, spared(svc), seed=7), 90)
    return tmp / "log.db"


def copy_of(db, tmp_path):
    """A copy of the log for one test (with its write-ahead log, if any)."""
    for f in db.parent.glob(db.name + "*"):
        shutil.copy(f, tmp_path / f.name)
    return f"sqlite:///{tmp_path / db.name}"


async def loaded(url: str, key: bytes | None) -> CourseService:
    store = open_store(url)
    await store.open()
    svc = CourseService(COURSE, store, RehearsalClock(SCHEDULE.items[0].start, 1), None, key)
    await svc.load()
    return svc


async def test_a_clean_stop_keeps_a_snapshot_of_the_state_it_ended_with(course_log, tmp_path):
    url = copy_of(course_log, tmp_path)
    store = open_store(url)
    await store.open()
    events = await store.read(COURSE.id)
    seq, _ = await store.load_snapshot(COURSE.id)
    await store.close()
    assert len(events) > 300
    assert seq == events[-1].seq
    svc = await loaded(url, KEY)
    assert svc.writer.snapshot_seq == seq  # started from it, replaying nothing
    assert svc.state == replay(events)
    await svc.store.close()


async def test_a_snapshot_and_the_events_after_it_make_what_a_full_replay_makes(
    course_log, tmp_path
):
    url = copy_of(course_log, tmp_path)
    store = open_store(url)
    await store.open()
    events = await store.read(COURSE.id)
    for k in (1, len(events) // 3, len(events) - 1):
        blob = encode(snapshots.after(events[:k], SCHEDULE), KEY)
        assert await store.save_snapshot(COURSE.id, k, blob)
        svc = await loaded(url, KEY)
        assert svc.writer.snapshot_seq == k
        whole = await loaded(url, None)  # no key: the whole log replayed
        assert whole.writer.snapshot_seq == 0
        assert svc.state == whole.state == replay(events)
        assert svc.writer.log_reached == whole.writer.log_reached
        assert svc.schedule.items == whole.schedule.items
        assert svc.writer.jumped == whole.writer.jumped
        await svc.store.close()
        await whole.store.close()
    await store.close()


async def test_other_rules_or_another_key_or_a_changed_byte_mean_a_full_replay(
    course_log, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, "companion.course")
    url = copy_of(course_log, tmp_path)
    store = open_store(url)
    await store.open()
    events = await store.read(COURSE.id)
    seq, blob = await store.load_snapshot(COURSE.id)
    full = replay(events)
    # Signed with another secret, or one byte changed: not read.
    for bad in (
        encode(Snapshot(full, None), snapshot_key("someone else's secret")),
        blob[:-40] + bytes([blob[-40] ^ 1]) + blob[-39:],
        b"not a snapshot at all",
    ):
        assert await store.save_snapshot(COURSE.id, seq, bad)
        svc = await loaded(url, KEY)
        assert svc.writer.snapshot_seq == 0 and svc.state == full
        await svc.store.close()
    assert "signature does not match" in caplog.text
    # Made by other rules (the domain's code changed): ignored, and a new one is kept.
    assert await store.save_snapshot(COURSE.id, seq, blob)
    monkeypatch.setattr(snapshots, "rules_version", lambda: "rules of another version")
    svc = await loaded(url, KEY)
    assert svc.writer.snapshot_seq == 0 and svc.state == full
    assert "another version of the rules" in caplog.text
    await svc.writer.last_snapshot()
    again = await loaded(url, KEY)
    assert again.writer.snapshot_seq == seq and again.state == full
    for s in (svc, again):
        await s.store.close()
    await store.close()


async def test_an_erasure_leaves_no_snapshot_that_holds_what_it_erased(course_log, tmp_path):
    url = copy_of(course_log, tmp_path)
    svc = await loaded(url, KEY)
    director = next(p for p in svc.state.people.by_id.values() if p.role is Role.DIRECTOR)
    learner = next(p for p in svc.state.people.by_id.values() if p.role is Role.LEARNER)
    name = learner.name.encode()
    _, blob = await svc.store.load_snapshot(COURSE.id)
    assert name in zlib.decompress(blob.split(b"\n", 2)[2][32:])  # it held them
    await svc.erase_person(learner.id, Actor(director.id, Role.DIRECTOR))
    assert await svc.store.load_snapshot(COURSE.id) is None
    await svc.writer.last_snapshot()  # the next one is of the state after the erasure
    seq, blob = await svc.store.load_snapshot(COURSE.id)
    assert seq == svc.state.seq
    assert name not in zlib.decompress(blob.split(b"\n", 2)[2][32:])
    await svc.store.close()


def test_the_rules_version_changes_with_any_of_the_domains_sources(tmp_path):
    domain = tmp_path / "domain"
    shutil.copytree(snapshots.DOMAIN, domain)
    assert snapshots.sources_digest(domain) == snapshots.rules_version()
    rules = domain / "groups" / "forming.py"
    rules.write_text(rules.read_text() + "\n# a change\n")
    assert snapshots.sources_digest(domain) != snapshots.rules_version()
