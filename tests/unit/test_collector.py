"""Garbage collection between the agenda's bursts: the rule for when, and the sweeps."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from server.service.collector import NEVER, Collector, Policy, plan

P = Policy(young_every=10, full_every=600, guard=3, settle=3)


def test_a_quiet_server_sweeps_the_young_every_interval_and_everything_less_often():
    assert plan(
        P, now=105, last_young=100, last_full=100, until_boundary=None, since_boundary=None
    ) == (None, 5)
    assert plan(
        P, now=110, last_young=100, last_full=100, until_boundary=None, since_boundary=None
    ) == ("young", 10)
    assert plan(
        P, now=700, last_young=695, last_full=100, until_boundary=None, since_boundary=None
    ) == ("full", 10)


def test_no_sweep_just_before_a_boundary_or_while_it_is_pushed():
    # Due, but a boundary is 2 s away: wait until it has passed and settled.
    assert plan(
        P, now=120, last_young=100, last_full=100, until_boundary=2, since_boundary=None
    ) == (None, 5)
    # A boundary was pushed a second ago: wait out the rest of the settling time.
    kind, wait = plan(
        P, now=120, last_young=100, last_full=100, until_boundary=900, since_boundary=1
    )
    assert kind is None and wait == pytest.approx(2)
    # Due in 5 s, but a boundary comes in 6 s (inside the guard by then): ask after it.
    assert plan(
        P, now=105, last_young=100, last_full=100, until_boundary=6, since_boundary=None
    ) == (None, 9)
    # Far from any boundary: the sweep happens.
    assert plan(
        P, now=110, last_young=100, last_full=100, until_boundary=60, since_boundary=30
    ) == ("young", 10)


def test_a_policy_refuses_intervals_that_are_not_positive():
    with pytest.raises(ValueError, match="young_every"):
        Policy(young_every=0)
    with pytest.raises(ValueError, match="guard"):
        Policy(guard=-1)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_young_sweep_skips_frozen_objects_and_a_full_sweep_reclaims_them():
    c = Collector(lambda: None, lambda: None)
    try:
        young_garbage = cycle()
        c.sweep("young")
        assert young_garbage() is None  # made since the last sweep: collected
        a = Node()
        a.other = Node()
        a.other.other = a
        kept = weakref.ref(a)
        c.sweep("young")  # `a` is alive: frozen now
        assert c.stats.frozen > 0 and gc.get_freeze_count() > 0
        del a
        c.sweep("young")
        assert kept() is not None  # a cycle among frozen objects outlives young sweeps
        c.sweep("full")
        assert kept() is None  # and is reclaimed by a full one
        assert c.stats.young == 3 and c.stats.full == 1 and c.stats.longest_ms > 0
        assert set(c.stats.as_dict()) >= {"young_sweeps", "full_sweeps", "frozen_objects"}
    finally:
        gc.unfreeze()


async def test_the_collector_turns_automatic_full_passes_off_and_back_on():
    before = gc.get_threshold()
    c = Collector(lambda: None, lambda: None, Policy(young_every=0.05, full_every=0.2))
    c.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        assert c.stats.full == 1  # everything loaded at start is frozen
        await asyncio.sleep(0.5)
        assert c.stats.young >= 2 and c.stats.full >= 2
    finally:
        await c.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_the_collector_waits_while_a_boundary_is_near():
    c = Collector(lambda: 1.0, lambda: None, Policy(young_every=0.05, full_every=0.2, guard=3))
    c.start()
    try:
        await asyncio.sleep(0.3)
        assert c.stats.young == 0 and c.stats.full == 1  # only the sweep at start
    finally:
        await c.stop()
