"""Garbage collection away from the agenda's bursts.

CPython's cyclic collector makes a full pass when enough objects have survived the younger
passes. With thousands of pages open, a full pass walks every object the server holds (about
0.3 s at 5,000 pages on the benchmark machine, during which no page hears anything), and what
most often sets it off is an agenda boundary: every page is offered its new partials at once.
Because the agenda says when the bursts come, the server makes its full passes itself, between
them:

- automatic full passes are off; the two younger generations are collected as usual;
- every `young_every` seconds, when quiet, the objects that survived since the last sweep are
  collected and what is left is frozen (`gc.freeze`), so later passes skip it: a sweep costs
  what was made since the last one, not everything the server holds;
- every `full_every` seconds, when quiet, everything is unfrozen and collected, which reclaims
  cycles among frozen objects (the sockets of pages closed since), and frozen again.

Quiet means no agenda boundary in the next `guard` seconds and none pushed in the last `settle`.
`plan` is that rule, with the time passed in; `Collector` runs it in the server.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger("companion.gc")

Sweep = Literal["young", "full"]
NEVER = 1 << 30  # a full-pass threshold that is never reached


@dataclass(frozen=True)
class Policy:
    young_every: float = 10.0
    full_every: float = 600.0
    guard: float = 3.0
    settle: float = 3.0

    def __post_init__(self) -> None:
        for name in ("young_every", "full_every", "guard", "settle"):
            if not getattr(self, name) > 0:
                raise ValueError(f"the collector's {name} must be above 0 seconds")


def plan(
    policy: Policy,
    now: float,
    last_young: float,
    last_full: float,
    until_boundary: float | None,
    since_boundary: float | None,
) -> tuple[Sweep | None, float]:
    """What to sweep now, if anything, and how many seconds to wait before asking again.
    Times are seconds on one monotonic clock; `until_boundary` is the wait for the next agenda
    boundary (None: none ahead), `since_boundary` the time since one was last pushed."""
    if until_boundary is not None and until_boundary < policy.guard:
        return None, until_boundary + policy.settle
    if since_boundary is not None and since_boundary < policy.settle:
        return None, policy.settle - since_boundary
    if now - last_full >= policy.full_every:
        return "full", policy.young_every
    if now - last_young >= policy.young_every:
        return "young", policy.young_every
    due = min(last_young + policy.young_every, last_full + policy.full_every) - now
    if until_boundary is not None and until_boundary - policy.guard < due:
        due = until_boundary + policy.settle  # the next chance is after that boundary
    return None, max(0.05, due)


@dataclass
class Stats:
    young: int = 0
    full: int = 0
    last_young_ms: float = 0.0
    last_full_ms: float = 0.0
    longest_ms: float = 0.0
    frozen: int = 0
    collected: int = 0
    history: list[tuple[Sweep, float]] = field(default_factory=list)  # the last few sweeps

    def as_dict(self) -> dict[str, float | int]:
        return {
            "young_sweeps": self.young,
            "full_sweeps": self.full,
            "last_young_ms": round(self.last_young_ms, 1),
            "last_full_ms": round(self.last_full_ms, 1),
            "longest_ms": round(self.longest_ms, 1),
            "frozen_objects": self.frozen,
            "collected_objects": self.collected,
        }


class Collector:
    """Runs `plan` in the server: `start()` turns automatic full passes off and sweeps at quiet
    moments; `stop()` puts the collector back as it was."""

    def __init__(
        self,
        until_boundary: Callable[[], float | None],
        since_boundary: Callable[[], float | None],
        policy: Policy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or Policy()
        self._until, self._since = until_boundary, since_boundary
        self._monotonic = monotonic
        self.stats = Stats()
        self._task: asyncio.Task[None] | None = None
        self._thresholds: tuple[int, int, int] | None = None

    def start(self) -> None:
        self._thresholds = gc.get_threshold()
        g0, g1, _ = self._thresholds
        gc.set_threshold(g0, g1, NEVER)
        self.sweep("full")  # what the server loaded at start is frozen from now on
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gc-sweeps")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        gc.unfreeze()

    def sweep(self, kind: Sweep) -> float:
        """Collect (everything, if `kind` is "full"), then freeze what is left. Returns ms."""
        t0 = time.perf_counter()
        if kind == "full":
            gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        ms = (time.perf_counter() - t0) * 1000
        s = self.stats
        s.collected += collected
        s.frozen = gc.get_freeze_count()
        s.longest_ms = max(s.longest_ms, ms)
        if kind == "full":
            s.full += 1
            s.last_full_ms = ms
        else:
            s.young += 1
            s.last_young_ms = ms
        s.history = [*s.history[-9:], (kind, ms)]
        if ms > 100:
            log.info("gc: %s sweep took %.0f ms (%d objects frozen)", kind, ms, s.frozen)
        return ms

    async def _run(self) -> None:
        now = self._monotonic()
        last_young = last_full = now
        while True:
            try:
                kind, wait = plan(
                    self.policy,
                    self._monotonic(),
                    last_young,
                    last_full,
                    self._until(),
                    self._since(),
                )
                if kind is not None:
                    self.sweep(kind)
                    last_young = self._monotonic()
                    if kind == "full":
                        last_full = last_young
            except Exception:
                log.exception("gc sweep failed; trying again later")
                wait = self.policy.young_every
            await asyncio.sleep(wait)
