"""The agenda's timer: the next boundary (an item starting or ending, or an SP actor moving to
their next group) is scheduled at its exact instant on the course clock, the pages' views for it
are prepared half a second before, and at the instant every page is pushed its new partials.

Boundaries are timers aimed at one instant: when the timer fires, course time must have reached
*that* boundary (a timer may fire a moment early); only a schedule change or a clock move aims
it again. A rehearsal clock moved by the director is an event, so every worker moves with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from server.domain.agenda import utc_z
from server.domain.errors import DomainError
from server.domain.events import Event
from server.domain.lifecycle import CloseFinished, next_change
from server.domain.rehearsal import JumpClock
from server.domain.roles import AGENDA_ACTOR, Actor
from server.live import keys
from server.live.boundary import PREPARE_AHEAD
from server.live.projection import LiveViews
from server.service.clock import Clock, RehearsalClock
from server.service.writer import Writer

log = logging.getLogger("companion.course")

SLOW_BOUNDARY = 0.25  # seconds: a boundary written to every page later than this is logged


class AgendaTimer:
    def __init__(self, writer: Writer, views: LiveViews, clock: Clock) -> None:
        self.writer = writer
        self.views = views
        self.clock = clock
        self._wake = asyncio.Event()
        self.boundaries_pushed = 0
        self._pushed_at: float | None = None  # time.monotonic() of the last boundary pushed
        # The last boundary: when its timer fired and when every page's write was issued.
        self.last_boundary: dict[str, str | float | int] | None = None
        self._closing: asyncio.Task[None] | None = None  # the last CloseFinished issued

    # --- hearing of events ---------------------------------------------------------------

    def applied(self, e: Event) -> None:
        if e.type == "clock.jumped":
            self._follow_jump(e)

    def settled(self, fresh: Sequence[Event]) -> None:
        if any(e.type.startswith("agenda.") for e in fresh):
            self._wake.set()  # the schedule moved: aim the timer again
        elif any(e.type == "groups.assigned" for e in fresh):
            self._wake.set()  # SP actors may move within practice blocks: aim again

    def wake(self, *_: object) -> None:
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        target: datetime | None = None
        while True:
            if target is None:
                target = self.next_boundary()
            timeout = self.clock.real_seconds_until(target) if target else None
            if target is not None and timeout is not None and timeout > PREPARE_AHEAD:
                # Shortly before the boundary, render what pages will show at it, so that at
                # the boundary itself only the writing is left.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout - PREPARE_AHEAD):
                        await self._wake.wait()
                if not self._wake.is_set():
                    self.views.prepare(target)
                timeout = self.clock.real_seconds_until(target)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that arrives as the wait ends, and shutdown then waits for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            try:
                target = self._after_wait(target)
            except Exception:
                log.exception("pushing an agenda boundary failed; carrying on")
                target = None
                await asyncio.sleep(0.5)

    def next_boundary(self) -> datetime | None:
        w = self.writer
        return next_change(w.state, w.schedule, self.clock.now())

    async def close_finished(self) -> None:
        """Record what the agenda has ended (domain/lifecycle.py); nothing when nothing is due.
        A failure is logged: the next boundary tries again."""
        try:
            await self.writer.execute(CloseFinished(), AGENDA_ACTOR)
        except Exception as e:  # the log is unreachable, or another worker got there first
            log.info("closing what the agenda ended was put off: %s", e)

    def _after_wait(self, target: datetime | None) -> datetime | None:
        """Refresh pages if the boundary was reached or things moved; returns the next aim."""
        if self._wake.is_set():
            # The schedule or the clock moved (and whoever moved it has shown pages the
            # present): aim again.
            self._wake.clear()
            return None
        if target is not None and self.clock.now() >= target:
            # Timers may fire a moment early; only a boundary actually reached moves pages.
            late = (self.clock.now() - target).total_seconds() / self.clock.speed
            t0 = time.perf_counter()
            self.boundaries_pushed += 1
            self._pushed_at = time.monotonic()
            self.views.refresh(keys.TIMED, prepared=self.views.take_prepared(target))
            # The hub writes what was published on the next turn of the loop; noted after it.
            loop = asyncio.get_running_loop()
            loop.call_soon(self._note_boundary, target, late, t0)
            self._closing = loop.create_task(self.close_finished(), name="close-finished")
            return None
        return target

    def _note_boundary(self, target: datetime, late: float, t0: float) -> None:
        written = late + time.perf_counter() - t0
        noted = self.last_boundary = {
            "at": utc_z(target),
            "late_ms": round(late * 1000, 1),
            "written_ms": round(written * 1000, 1),
            "pages": len(self.views.hub.connections),
        }
        if written > SLOW_BOUNDARY:
            log.warning(
                "the boundary at %(at)s reached its %(pages)d pages' sockets %(written_ms).0f ms "
                "after it (the timer fired %(late_ms).0f ms late)",
                noted,
            )

    # --- the rehearsal clock -------------------------------------------------------------

    async def move_clock(self, to: datetime, actor: Actor) -> None:
        """The director moves a rehearsal clock: recorded in the log, so every worker sharing
        it moves too (each applies the event with `_follow_jump`)."""
        if not isinstance(self.clock, RehearsalClock):
            raise DomainError("Only a rehearsal clock can be moved; this course runs in real time.")
        await self.writer.execute(JumpClock(to, time.time()), actor)

    def _follow_jump(self, e: Event) -> None:
        if not isinstance(self.clock, RehearsalClock):
            return
        wall = float(e.data["wall"])
        if wall < self.clock.epoch:
            return  # a jump made before this clock was started (an earlier rehearsal)
        late = max(0.0, time.time() - wall) * self.clock.speed
        self.jump_clock(datetime.fromisoformat(str(e.data["to"])) + timedelta(seconds=late))

    def jump_clock(self, to: datetime) -> None:
        """Move a rehearsal clock; every page is told the new time and shown what is on then."""
        if not isinstance(self.clock, RehearsalClock):
            raise DomainError("Only a rehearsal clock can be moved; this course runs in real time.")
        self.clock.jump(to)
        self._wake.set()
        self.views.refresh(keys.TIMED)
        self.views.hub.broadcast(clock_message(self.clock))
        with contextlib.suppress(RuntimeError):  # no loop: nothing to close with
            self._closing = asyncio.get_running_loop().create_task(self.close_finished())

    def seconds_to_next_move(self) -> float | None:
        """Real seconds until the next agenda boundary (or SP move), if any is ahead."""
        target = self.next_boundary()
        return self.clock.real_seconds_until(target) if target else None

    def seconds_since_push(self) -> float | None:
        """Real seconds since the last boundary was pushed to every page, if one was."""
        return None if self._pushed_at is None else time.monotonic() - self._pushed_at


def clock_message(clock: Clock, t0: float | None = None) -> str:
    """Course time for a page's countdowns: epoch ms, speed, and the ping it answers."""
    import json

    body: dict[str, object] = {
        "type": "clock",
        "server": clock.now().timestamp() * 1000,
        "speed": clock.speed,
        "mode": clock.describe(),
    }
    if t0 is not None:
        body["t0"] = t0
    return json.dumps(body)
