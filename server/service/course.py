"""A running course: the parts that make it, put together, and the one object pages, sockets,
media and the command line talk to.

- `Writer` (service/writer.py): the one writer of events, following the log;
- `Liveness` (service/liveness.py): workers on a shared log beating, dead workers' pages closed;
- `LiveViews` (live/projection.py): every followed view rendered once and pushed when it changes;
- `AgendaTimer` (service/timer.py): the agenda's boundaries and the rehearsal clock's moves.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from server.content.cases import Scenario
from server.content.instruments import Instrument
from server.domain.agenda import Course, Schedule
from server.domain.course_state import Command, CourseState
from server.domain.errors import DomainError
from server.domain.events import Event
from server.domain.people_rules import Connect, Disconnect, ResetPresence, happened
from server.domain.roles import CLI_ACTOR, Actor
from server.live.boundary import Ahead
from server.live.context import ViewContext
from server.live.hub import Connection, Hub, Outgoing
from server.live.projection import Content, LiveViews
from server.live.render import Renderer
from server.live.views.agenda import AgendaView
from server.live.views.people import PeopleView
from server.service.clock import Clock, RehearsalClock
from server.service.liveness import Liveness
from server.service.timer import AgendaTimer, clock_message
from server.service.writer import Writer
from server.store import EventStore, StoreError

log = logging.getLogger("companion.course")

# Seconds a join or leave is tried for while the log is busy or away.
PRESENCE_PATIENCE = float(os.environ.get("COMPANION_PRESENCE_PATIENCE", "60"))


class CourseService:
    def __init__(
        self,
        course: Course,
        store: EventStore,
        clock: Clock,
        renderer: Renderer | None = None,
        snapshot_key: bytes | None = None,
    ) -> None:
        self.course = course
        self.store = store
        self.clock = clock
        self.content = Content(renderer=renderer or Renderer())
        self.writer = Writer(course, store, clock, snapshot_key)
        self.views = LiveViews(self.writer, clock, self.content)
        self.timer = AgendaTimer(self.writer, self.views, clock)
        self.liveness = Liveness(self.writer)
        w = self.writer
        w.on_event += [self.views.applied, self.timer.applied]
        w.listeners += [self.views.settled, self.timer.settled]
        w.on_replaced += [self.views.replaced, self.timer.wake]
        w.on_store.append(self.views.store_changed)
        self._tasks: list[asyncio.Task[None]] = []
        # This process's open pages: connection -> its person and when it opened.
        self.pages: dict[str, tuple[Actor, datetime]] = {}
        self._reopening: dict[str, asyncio.Task[list[Event]]] = {}  # connection -> opening it again
        w.on_event.append(self._reopen_ours)

    # --- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the state from the whole log."""
        await self.writer.load()

    async def start(self) -> None:
        """Load, close presence left open by a previous process, and start the timers."""
        await self.load()
        reached, clock = self.writer.log_reached, self.clock
        # A rehearsal started again on its log (after a crash, say) goes on from where the
        # log already is. Workers sharing a log, started from one time, agree to a few
        # milliseconds: only a log ahead by more than a real second moves the clock.
        if (
            isinstance(clock, RehearsalClock)
            and reached is not None
            and reached > clock.now() + timedelta(seconds=clock.speed)
        ):
            clock.jump(reached)
            log.info("the rehearsal goes on from %s, where its log already is", reached)
        if self.store.exclusive:
            # One process owns this log, so connections the log shows open died with the
            # previous process. (With a shared log they may belong to a worker still running.)
            await self.execute(ResetPresence(), CLI_ACTOR)
        else:
            await self.liveness.beat()
        await self.timer.close_finished()  # what ended while no server ran
        self._tasks = [
            asyncio.create_task(self.timer.run(), name="agenda-boundaries"),
            asyncio.create_task(self.writer.follow(), name="event-tail"),
        ]
        if not self.store.exclusive:
            self._tasks.append(asyncio.create_task(self.liveness.run(), name="worker-liveness"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self.writer.drain()  # commands already taken are written before the log closes
        await self.writer.last_snapshot()  # the next start replays nothing
        for conn in list(self.hub.connections):
            conn.close()

    # --- the state and the one writer --------------------------------------------------------

    @property
    def state(self) -> CourseState:
        return self.writer.state

    @property
    def base(self) -> Schedule:
        return self.writer.base

    @property
    def schedule(self) -> Schedule:
        return self.writer.schedule

    @property
    def store_ok(self) -> bool:
        return self.writer.store_ok

    @property
    def worker(self) -> str:
        return self.writer.worker

    @property
    def listeners(self) -> list[Callable[[Sequence[Event]], None]]:
        """Called with each batch of newly applied events (the media server listens)."""
        return self.writer.listeners

    async def execute(self, command: Command, actor: Actor) -> list[Event]:
        return await self.writer.execute(command, actor)

    async def erase_person(self, pid: str, actor: Actor, token: str | None = None) -> str:
        return await self.writer.erase_person(pid, actor, token)

    def connection_id(self) -> str:
        return self.writer.connection_id()

    # --- presence ----------------------------------------------------------------------------

    async def open_page(self, command: Connect, actor: Actor) -> None:
        """A page of this process opened: its join is recorded."""
        cid = command.connection_id
        self.pages[cid] = (actor, command.at or self.clock.now())
        recorded = await self._record_presence(command, actor)
        if recorded and cid in self.pages:
            self.pages[cid] = (actor, happened(recorded[0]))  # as the log has it

    async def close_page(self, command: Disconnect, actor: Actor) -> None:
        """A page of this process closed: its leave is recorded (after its join, and after its
        opening again if another worker had closed it)."""
        cid = command.connection_id
        self.pages.pop(cid, None)
        again = self._reopening.get(cid)
        if again is not None:
            await again
        await self._record_presence(command, actor)

    def _reopen_ours(self, e: Event) -> None:
        """Another worker judged this one gone (its beats came late: its loop was busy) and
        closed its pages in the log. Those still open here are recorded open again from that
        moment: they never closed."""
        if e.type != "presence.reset" or not e.data.get("connections"):
            return
        ours = [str(c) for c in e.data["connections"] if c in self.pages]
        if not ours:
            return
        log.warning("%d page(s) here were closed by another worker: open again", len(ours))
        closed = happened(e)  # when this worker was last seen beating
        for cid in ours:
            actor, opened = self.pages[cid]
            again = Connect(cid, at=max(closed, opened))
            task = asyncio.create_task(self._record_presence(again, actor))
            self._reopening[cid] = task
            task.add_done_callback(functools.partial(self._reopened, cid))

    def _reopened(self, cid: str, _: object) -> None:
        self._reopening.pop(cid, None)

    async def _record_presence(self, command: Connect | Disconnect, actor: Actor) -> list[Event]:
        """Record a join or leave, and give what was recorded. While the log is busy or away it
        is tried again, for up to PRESENCE_PATIENCE seconds: a leave lost would count the person
        present until the next start closes what the log shows open. A store outage never breaks
        the page."""
        delay, deadline = 0.05, time.monotonic() + PRESENCE_PATIENCE
        while True:
            try:
                return await self.execute(command, actor)
            except DomainError as e:
                log.warning("presence for %s not recorded: %s", actor.id, e)
                return []
            except StoreError as e:
                if time.monotonic() + delay > deadline:
                    log.warning("presence for %s not recorded: %s", actor.id, e)
                    return []
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    # --- content -----------------------------------------------------------------------------

    @property
    def library(self) -> Mapping[str, Scenario]:
        return self.content.library

    @library.setter
    def library(self, value: Mapping[str, Scenario]) -> None:
        self.content.library = value

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self.content.instruments

    @instruments.setter
    def instruments(self, value: Mapping[str, Instrument]) -> None:
        self.content.instruments = value

    @property
    def evaluations(self) -> dict[str, Instrument]:
        return self.content.evaluations

    @evaluations.setter
    def evaluations(self, value: dict[str, Instrument]) -> None:
        self.content.evaluations = value

    @property
    def renderer(self) -> Renderer:
        return self.content.renderer

    # --- live views ----------------------------------------------------------------------------

    @property
    def hub(self) -> Hub:
        return self.views.hub

    def view_time(self) -> datetime:
        return self.views.view_time()

    def view_context(self) -> ViewContext:
        return self.views.context()

    def agenda_view(self) -> AgendaView:
        return self.views.context().agenda_view()

    def people_view(self, track: str = "all") -> PeopleView:
        return self.views.context().people_view(track)

    def render_audience(self, audience: str) -> dict[str, str]:
        return self.views.render_audience(audience)

    def refresh(
        self, prefixes: tuple[str, ...] = ("",), prepared: dict[str, Ahead] | None = None
    ) -> None:
        self.views.refresh(prefixes, prepared)

    def snapshot(self, conn: Connection) -> list[Outgoing]:
        return self.views.snapshot(conn, self.clock_message)

    def clock_message(self, t0: float | None = None) -> str:
        return clock_message(self.clock, t0)

    # --- the agenda's timer ------------------------------------------------------------------

    async def move_clock(self, to: datetime, actor: Actor) -> None:
        await self.timer.move_clock(to, actor)

    def jump_clock(self, to: datetime) -> None:
        self.timer.jump_clock(to)

    def seconds_to_next_move(self) -> float | None:
        return self.timer.seconds_to_next_move()

    def seconds_since_push(self) -> float | None:
        return self.timer.seconds_since_push()

    @property
    def last_boundary(self) -> dict[str, str | float | int] | None:
        return self.timer.last_boundary

    @property
    def boundaries_pushed(self) -> int:
        return self.timer.boundaries_pushed
