"""The one writer: command -> domain decide -> append events -> apply -> publish.

It also owns the agenda's timer: the next boundary (an item starting or ending) is scheduled at
its exact instant on the injected clock, and every open page is pushed its new partials then.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from server.content.cases import Scenario
from server.content.instruments import Instrument
from server.domain.agenda import Course, Schedule, build_schedule, utc_z
from server.domain.course_state import Command, CourseState, apply, decide, replay
from server.domain.erasure import MarkErased, check_erasure, erasure_of, redact_log
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.media import DeleteRecording
from server.domain.people_rules import ImportRoster, ResetPresence, RevokeLink, registered_id
from server.domain.placement import next_move
from server.domain.rehearsal import JumpClock
from server.domain.roles import CLI_ACTOR, Actor
from server.live import audiences
from server.live.hub import Connection, Hub, Message, Outgoing, follows
from server.live.render import Renderer
from server.live.views.agenda import AgendaView, build_agenda_view
from server.live.views.people import PeopleView, build_people_view
from server.service.clock import Clock, RehearsalClock
from server.store import EventStore, SeqConflict, StoreUnavailable

log = logging.getLogger("companion.course")

APPEND_RETRIES = 5
PREPARE_AHEAD = 0.5  # seconds before a boundary at which pages' views for it are rendered
SLOW_BOUNDARY = 0.25  # seconds: a boundary written to every page later than this is logged
Pending = tuple[Command, Actor, "asyncio.Future[list[Event]]"]
ERASED = "person.erased"  # after this event the stored log was rewritten: reload it
# Seconds between a worker's beats on a shared log; a worker silent for three is gone.
HEARTBEAT = float(os.environ.get("COMPANION_HEARTBEAT", "5"))


class Ahead:
    """An audience's partials as rendered for an instant, and what its pages are to be sent
    then: the partials that differ from `compared` (the render they were last sent), joined
    and encoded. Made half a second before a boundary, it still holds at the boundary if that
    audience was not rendered again in between."""

    __slots__ = ("compared", "differs", "fresh", "message")

    def __init__(
        self, compared: dict[str, str] | None, fresh: dict[str, str], message: Message | None
    ) -> None:
        self.compared, self.fresh, self.message = compared, fresh, message
        self.differs = fresh != (compared or {})

    @classmethod
    def against(cls, compared: dict[str, str] | None, fresh: dict[str, str]) -> Ahead:
        changed = audiences.changed(compared or {}, fresh)
        message = Message(changed) if changed else None
        if message is not None:
            message.frame  # noqa: B018  # encoded now, not while pages wait
        return cls(compared, fresh, message)


class CourseService:
    def __init__(
        self, course: Course, store: EventStore, clock: Clock, renderer: Renderer | None = None
    ) -> None:
        self.course = course
        self.store = store
        self.clock = clock
        self.renderer = renderer or Renderer()
        self.hub = Hub(vacated=self._forget)
        self.base: Schedule = build_schedule(course)
        self.state = CourseState()
        self.schedule: Schedule = self.base
        self._lock = asyncio.Lock()
        self._waiting: list[Pending] = []  # commands to write, in the order they came
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # The latest render of each audience's partials: what its connections were last sent;
        # and the snapshots joined from them that pages hold now, per set of audiences (a page
        # holds its snapshot until it is written; cleared when a render changes).
        self._rendered: dict[str, dict[str, str]] = {}
        self._snapshots: weakref.WeakValueDictionary[tuple[str, ...], Message] = (
            weakref.WeakValueDictionary()
        )
        self._dirty: set[str] = set()
        self._reroute: set[str] = set()  # people whose sockets may need other audiences
        self._refresh_scheduled = False
        self._dirty_presence: set[str] = set()  # see audiences.PRESENCE_EVERY
        self._presence_scheduled = False
        self.boundaries_pushed = 0
        self._pushed_at: float | None = None  # time.monotonic() of the last boundary pushed
        # The last boundary: when its timer fired and when every page's write was issued.
        self.last_boundary: dict[str, str | float | int] | None = None
        # Made ahead of the next boundary: (boundary, store_ok, what each audience gets then).
        self._prepared: tuple[datetime, bool, dict[str, Ahead]] | None = None
        self._render_at: datetime | None = None  # set while preparing
        self.library: dict[str, Scenario] = {}  # role-play cases by id
        self.instruments: dict[str, Instrument] = {}  # feedback forms by id
        self.evaluations: dict[str, Instrument] = {}  # evaluation forms: daily, course
        self.store_ok = True  # False while the log cannot be reached: pages say so
        # Called with each batch of newly applied events (the media server listens).
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        # This process among the workers sharing a log: page connection ids start with it.
        self.worker = uuid.uuid4().hex[:8]
        self.heartbeat = HEARTBEAT

    # --- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the state from the whole log."""
        self._apply_stored(await self.store.read(self.course.id))

    async def start(self) -> None:
        """Load, close presence left open by a previous process, and start the timers."""
        await self.load()
        if self.store.exclusive:
            # One process owns this log, so connections the log shows open died with the
            # previous process. (With a shared log they may belong to a worker still running.)
            await self.execute(ResetPresence(), CLI_ACTOR)
        else:
            await self.store.beat(self.course.id, self.worker, self.heartbeat * 3)
        self._tasks = [
            asyncio.create_task(self._boundary_loop(), name="agenda-boundaries"),
            asyncio.create_task(self._tail_loop(), name="event-tail"),
        ]
        if not self.store.exclusive:
            self._tasks.append(asyncio.create_task(self._liveness_loop(), name="worker-liveness"))

    def connection_id(self) -> str:
        """A new page connection's id: this worker's id, a dot, and a random part."""
        return f"{self.worker}.{uuid.uuid4().hex[:12]}"

    async def _liveness_loop(self) -> None:
        """Beat for this worker, and close the presence of pages whose worker stopped beating
        (it crashed or lost its host): without this their people would stay "online" forever."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.store.beat(self.course.id, self.worker, self.heartbeat * 3)
                alive = await self.store.workers(self.course.id) | {self.worker}
                stale = tuple(
                    c
                    for p in self.state.people.by_id.values()
                    for c in p.connections
                    if "." in c and c.split(".", 1)[0] not in alive
                )
                if stale:
                    log.warning("closing %d page(s) of a worker that stopped", len(stale))
                    await self.execute(ResetPresence(stale), CLI_ACTOR)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: the tail loop says so; try again
                log.info("worker heartbeat skipped: %s", e)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._writer is not None:  # commands already taken are written before the log closes
            await asyncio.wait([self._writer], timeout=5)
        for conn in list(self.hub.connections):
            conn.close()

    # --- the one writer ----------------------------------------------------------------------

    async def execute(self, command: Command, actor: Actor) -> list[Event]:
        """Decide, append and apply `command`; returns the events it stored. Raises DomainError
        for an illegal command and StoreError when the log cannot be written (then nothing
        changed). Commands that arrive while a write is in flight are written together, in the
        order they came, in one durable append (group commit): a burst of hundreds of pages
        opening, or of feedback, costs a few writes to disk instead of one each."""
        if isinstance(command, ImportRoster) and not command.salt:
            # New people's ids come from this randomness: not from their email alone.
            command = dataclasses.replace(command, salt=secrets.token_hex(16))
        done: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._waiting.append((command, actor, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting(), name="course-writer")
        return await done

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                async with self._lock:
                    await self._write_batch(batch)
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[Pending]) -> None:
        """Decide each command on the state the ones before it leave, append all their events
        in one step of the store, then apply them and answer each command (the caller holds the
        lock). A command the rules refuse gets its error and adds nothing."""
        try:
            for _ in range(APPEND_RETRIES):
                state, seq = self.state, self.state.seq
                answers: list[tuple[asyncio.Future[list[Event]], BaseException | range]] = []
                new: list[NewEvent] = []
                for command, actor, done in batch:
                    if done.done():  # the caller gave up waiting
                        continue
                    try:
                        mine = decide(state, self.base, command, actor, self.clock.now())
                    except Exception as e:
                        answers.append((done, e))
                        continue
                    for n, ev in enumerate(mine, start=seq + len(new) + 1):
                        state = apply(state, Event(n, ev.type, ev.actor, ev.at, ev.data))
                    answers.append((done, range(len(new), len(new) + len(mine))))
                    new += mine
                try:
                    stored = await self.store.append(self.course.id, new, self.state.seq)
                except SeqConflict:
                    await self._catch_up()
                    continue
                except StoreUnavailable:
                    self._store_state(False)
                    raise
                self._apply_stored(stored)
                for done, answer in answers:
                    if done.done():
                        continue
                    if isinstance(answer, BaseException):
                        done.set_exception(answer)
                    else:
                        done.set_result(stored[answer.start : answer.stop])
                return
            raise DomainError("The course is very busy right now; please try again.")
        except BaseException as e:  # nothing was written: every command still waiting hears why
            for _, _, done in batch:
                if done.done():
                    continue
                if isinstance(e, Exception):
                    done.set_exception(e)
                else:
                    done.cancel()
            if not isinstance(e, Exception):
                raise

    async def _catch_up(self) -> None:
        """Apply what others appended since our last event (the caller holds the lock)."""
        missed = await self.store.read(self.course.id, self.state.seq)
        if any(e.type == ERASED for e in missed):
            await self._reload()
        else:
            self._apply_stored(missed)

    async def _reload(self) -> None:
        """Someone's data was erased: the stored log was rewritten under us, so the state is
        rebuilt from it, and every page is rendered afresh (the caller holds the lock)."""
        events = await self.store.read(self.course.id)
        self._replace_state(replay(events), [e for e in events if e.seq > self.state.seq])

    def _replace_state(self, state: CourseState, fresh: Sequence[Event]) -> None:
        self.state = state
        self._prepared = None
        self.schedule = state.schedule(self.base)
        self._rendered.clear()
        self._snapshots.clear()
        for listener in self.listeners:
            listener(fresh)
        self._wake.set()
        self._reroute.add("*")
        self._dirty.add("")  # every audience, rendered afresh (the cache is gone)
        self._schedule_refresh()

    async def erase_person(self, pid: str, actor: Actor, token: str | None = None) -> str:
        """Erase what the course holds of one person (the rule: server/domain/erasure.py) and
        return the id of the placeholder left in their place. Their pages close and their
        recordings are deleted first, through the ordinary commands; then the stored log is
        rewritten and `person.erased` recorded in one step of the store."""
        p = check_erasure(self.state, actor, pid)
        if not p.revoked:
            await self.execute(RevokeLink(pid), actor)
        for rec in list(self.state.media.recordings.values()):
            if pid in (rec.person, rec.learner):
                with contextlib.suppress(DomainError):  # someone deleted it meanwhile
                    await self.execute(DeleteRecording(rec.id, "erased"), actor)
        er = erasure_of(p, token or secrets.token_hex(16))
        async with self._lock:
            for _ in range(APPEND_RETRIES):
                events = await self.store.read(self.course.id)
                changed = redact_log(events, er)
                by_seq = {e.seq: e for e in events} | {c.seq: c for c in changed}
                state = replay([by_seq[n] for n in sorted(by_seq)])
                new = decide(state, self.base, MarkErased(er.new), actor, self.clock.now())
                last = events[-1].seq if events else 0
                try:
                    stored = await self.store.rewrite(self.course.id, changed, new, last)
                except SeqConflict:
                    continue
                except StoreUnavailable:
                    self._store_state(False)
                    raise
                log.info("erased a person's data: %d stored events rewritten", len(changed))
                self._replace_state(replay(stored, state), stored)
                return er.new
            raise DomainError("The course is very busy right now; please try again.")

    def _apply_stored(self, events: Sequence[Event]) -> None:
        fresh = [e for e in events if e.seq > self.state.seq]
        if not fresh:
            return
        for e in fresh:
            self.state = apply(self.state, e)
            keys = audiences.touched_by(e, self.state.rooms)
            self._unprepare(keys)
            if e.type in audiences.PRESENCE_OF_ONE:
                self._dirty_presence.update(keys)
            else:
                self._dirty.update(keys)
            if e.type == "link.revoked":
                self._kick(str(e.data["person"]))
            if e.type == "clock.jumped":
                self._follow_jump(e)
            if e.type.startswith(audiences.REROUTING):
                if e.type == "person.updated":
                    self._reroute.add(registered_id(e.data))
                else:
                    self._reroute.add(str(e.data.get("person") or "*"))
        for listener in self.listeners:
            listener(fresh)
        if any(e.type.startswith("agenda.") for e in fresh):
            self.schedule = self.state.schedule(self.base)
            self._wake.set()  # the schedule moved: aim the timer again
        elif any(e.type == "groups.assigned" for e in fresh):
            self._wake.set()  # SP actors may move within practice blocks: aim again
        self._schedule_refresh()
        self._schedule_presence()

    def _schedule_refresh(self) -> None:
        """Coalesce: many events in one tick of the loop cause one refresh."""
        if self._refresh_scheduled:
            return
        self._refresh_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._refresh_dirty)
        except RuntimeError:  # no loop (replaying in a plain function): nobody to push to
            self._refresh_scheduled = False

    def _schedule_presence(self) -> None:
        """Views changed by pages opening or closing: refreshed a moment later, together
        (`audiences.PRESENCE_EVERY`)."""
        if self._presence_scheduled or not self._dirty_presence:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # replaying in a plain function: nobody to push to
            return
        self._presence_scheduled = True
        loop.call_later(audiences.PRESENCE_EVERY, self._refresh_presence)

    def _refresh_presence(self) -> None:
        self._presence_scheduled = False
        dirty, self._dirty_presence = self._dirty_presence, set()
        self.refresh(tuple(dirty))

    def _refresh_dirty(self) -> None:
        self._refresh_scheduled = False
        dirty, self._dirty = self._dirty, set()
        reroute, self._reroute = self._reroute, set()
        if reroute:
            self._reroute_connections(reroute)
        self.refresh(tuple(dirty))

    def _reroute_connections(self, people: set[str]) -> None:
        """Give each affected socket the audiences its person now has, and a fresh snapshot."""
        for conn in list(self.hub.connections):
            if conn.person is None or ("*" not in people and conn.person not in people):
                continue
            p = self.state.people.get(conn.person)
            if p is None:
                continue
            wanted = follows(audiences.audiences_for(self, Actor(p.id, p.role)))
            if wanted != conn.audiences:
                self.hub.leave(conn)
                conn.audiences = wanted
                self.hub.join(conn)
                conn.resync()

    def _kick(self, person: str) -> None:
        message = json.dumps({"type": "revoked", "message": "Your personal link was revoked."})
        for conn in list(self.hub.connections):
            if conn.person == person:
                conn.kick(message)

    async def _tail_loop(self) -> None:
        """Apply events appended by other workers sharing the store (and skip our own)."""
        while True:
            try:
                async for e in self.store.tail(self.course.id, self.state.seq):
                    if e.type != ERASED:
                        self._apply_stored([e])
                        continue
                    async with self._lock:
                        if e.seq > self.state.seq:
                            await self._reload()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("the course log is unreachable (%s); retrying", e)
                self._store_state(False)
                await self._await_store()

    async def _await_store(self) -> None:
        """Probe the log every second until it answers; then catch up and say so."""
        while True:
            await asyncio.sleep(1)
            try:
                async with self._lock:
                    await self._catch_up()
            except Exception:
                continue
            self._store_state(True)
            return

    def _store_state(self, ok: bool) -> None:
        """Every page says when the log cannot be reached, and again when it is back."""
        if ok != self.store_ok:
            self.store_ok = ok
            self._dirty.add(audiences.AGENDA)
            self._schedule_refresh()

    # --- the agenda timer --------------------------------------------------------------------

    async def _boundary_loop(self) -> None:
        target: datetime | None = None
        while True:
            if target is None:
                target = next_move(self.state.rooms, self.schedule, self.clock.now())
            timeout = self.clock.real_seconds_until(target) if target else None
            if target is not None and timeout is not None and timeout > PREPARE_AHEAD:
                # Shortly before the boundary, render what pages will show at it, so that at
                # the boundary itself only the writing is left.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout - PREPARE_AHEAD):
                        await self._wake.wait()
                if not self._wake.is_set():
                    self._prepare(target)
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

    def _prepare(self, target: datetime) -> None:
        """Render every live audience whose view changes with time as it will be at `target`,
        and what its pages will then be sent, encoded (kept until then, and thrown away if
        anything is recorded meanwhile)."""
        self._render_at = target
        try:
            ahead: dict[str, Ahead] = {}
            for a in self.hub.audiences():
                if a.startswith(audiences.TIMED):
                    ahead[a] = Ahead.against(self._rendered.get(a), self.render_audience(a))
        finally:
            self._render_at = None
        self._prepared = (target, self.store_ok, ahead)

    def _unprepare(self, keys: Sequence[str]) -> None:
        """An event changed the audiences `keys` (or key prefixes): their prepared renders are
        out of date."""
        if self._prepared is not None and keys:
            prefixes = tuple(keys)
            for audience in [a for a in self._prepared[2] if a.startswith(prefixes)]:
                del self._prepared[2][audience]

    def _take_prepared(self, target: datetime) -> dict[str, Ahead]:
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            return {}
        at, store_ok, renders = prepared
        if (at, store_ok) != (target, self.store_ok):
            return {}  # the clock or the log's state moved since: render afresh
        return renders

    def view_time(self) -> datetime:
        """The instant views are rendered for: now, or a boundary being prepared."""
        return self._render_at or self.clock.now()

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
            self.refresh(audiences.TIMED, prepared=self._take_prepared(target))
            # The hub writes what was published on the next turn of the loop; noted after it.
            asyncio.get_running_loop().call_soon(self._note_boundary, target, late, t0)
            return None
        return target

    def _note_boundary(self, target: datetime, late: float, t0: float) -> None:
        written = late + time.perf_counter() - t0
        noted = self.last_boundary = {
            "at": utc_z(target),
            "late_ms": round(late * 1000, 1),
            "written_ms": round(written * 1000, 1),
            "pages": len(self.hub.connections),
        }
        if written > SLOW_BOUNDARY:
            log.warning(
                "the boundary at %(at)s reached its %(pages)d pages' sockets %(written_ms).0f ms "
                "after it (the timer fired %(late_ms).0f ms late)",
                noted,
            )

    async def move_clock(self, to: datetime, actor: Actor) -> None:
        """The director moves a rehearsal clock: recorded in the log, so every worker sharing
        it moves too (each applies the event with `_follow_jump`)."""
        if not isinstance(self.clock, RehearsalClock):
            raise DomainError("Only a rehearsal clock can be moved; this course runs in real time.")
        await self.execute(JumpClock(to, time.time()), actor)

    def _follow_jump(self, e: Event) -> None:
        if not isinstance(self.clock, RehearsalClock):
            return
        wall = float(e.data["wall"])
        if wall < self.clock.epoch:
            return  # a jump made before this clock was started (an earlier rehearsal)
        late = max(0.0, time.time() - wall) * self.clock.speed
        self.jump_clock(datetime.fromisoformat(str(e.data["to"])) + timedelta(seconds=late))

    def seconds_to_next_move(self) -> float | None:
        """Real seconds until the next agenda boundary (or SP move), if any is ahead."""
        target = next_move(self.state.rooms, self.schedule, self.clock.now())
        return self.clock.real_seconds_until(target) if target else None

    def seconds_since_push(self) -> float | None:
        """Real seconds since the last boundary was pushed to every page, if one was."""
        return None if self._pushed_at is None else time.monotonic() - self._pushed_at

    def jump_clock(self, to: datetime) -> None:
        """Move a rehearsal clock; every page is told the new time and shown what is on then."""
        if not isinstance(self.clock, RehearsalClock):
            raise DomainError("Only a rehearsal clock can be moved; this course runs in real time.")
        self.clock.jump(to)
        self._wake.set()
        self.refresh(audiences.TIMED)
        self.hub.broadcast(self.clock_message())

    # --- views -------------------------------------------------------------------------------

    def agenda_view(self, now: datetime | None = None) -> AgendaView:
        return build_agenda_view(self.base, self.schedule, self.state, now or self.view_time())

    def people_view(self, track: str = "all") -> PeopleView:
        return build_people_view(self.state.people, track)

    def render_audience(self, audience: str) -> dict[str, str]:
        return audiences.render_audience(self, audience)

    def refresh(
        self, prefixes: tuple[str, ...] = ("",), prepared: dict[str, Ahead] | None = None
    ) -> None:
        """Re-render the audiences (with viewers) whose keys start with one of `prefixes`, the
        agenda first, and push the partials that changed (`prepared`: what was made for this
        instant in advance, used where it still holds)."""
        hub = self.hub
        live = [a for a in hub.audiences() if a.startswith(prefixes)]
        if audiences.AGENDA in live:
            live.remove(audiences.AGENDA)
            live.insert(0, audiences.AGENDA)
        for audience in live:
            old = self._rendered.get(audience)
            ahead = prepared.get(audience) if prepared else None
            if ahead is None or ahead.compared is not old:
                ahead = Ahead.against(old, ahead.fresh if ahead else self.render_audience(audience))
            self._rendered[audience] = ahead.fresh
            if ahead.differs:
                self._snapshots.clear()
            if ahead.message is not None:
                hub.publish(audience, ahead.message)

    def _forget(self, audience: str) -> None:
        """Nobody follows `audience` now, so its render is no longer kept up to date: it is
        rendered afresh when someone follows it again."""
        if self._rendered.pop(audience, None) is not None:
            self._snapshots.clear()

    def snapshot(self, conn: Connection) -> list[Outgoing]:
        """Everything `conn` shows, as two messages: the clock, then every partial it follows.
        Pages that follow the same audiences and connect together share one message (joined
        and encoded once); none is kept once written, since most pages' sets differ (each
        learner's feedback form is their own) and a kept copy would cost every page its size."""
        body = self._snapshots.get(conn.audiences)
        if body is None:
            parts: list[str] = []
            for audience in sorted(conn.audiences):
                if audience not in self._rendered:
                    self._rendered[audience] = self.render_audience(audience)
                parts.append(audiences.whole(self._rendered[audience]))
            body = self._snapshots[conn.audiences] = Message("".join(parts))
        return [self.clock_message(), body]

    def clock_message(self, t0: float | None = None) -> str:
        """Course time for the page's countdowns: epoch ms, speed, and the ping it answers."""
        body = {
            "type": "clock",
            "server": self.clock.now().timestamp() * 1000,
            "speed": self.clock.speed,
            "mode": self.clock.describe(),
        }
        if t0 is not None:
            body["t0"] = t0
        return json.dumps(body)
