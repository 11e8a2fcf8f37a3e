"""The one writer: command -> domain decide -> append events -> apply.

Commands that arrive while a write is in flight are decided in order and appended together in
one durable step of the store (group commit), each answered with its own events or error. The
writer also follows the log: what other workers append (the tail), what it missed while the log
was unreachable, and a log rewritten under it (an erasure). Whoever shows the state (the live
views, the timer, the media hub) hears of each applied event through its callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from server.domain.agenda import Course, Schedule, build_schedule
from server.domain.course_state import Command, CourseState, apply, decide, replay
from server.domain.erasure import MarkErased, check_erasure, erasure_of, redact_log
from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.media import DeleteRecording
from server.domain.people_rules import ImportRoster, RevokeLink
from server.domain.rehearsal import course_time_reached
from server.domain.roles import Actor
from server.service import snapshots
from server.service.clock import Clock
from server.service.snapshots import Snapshot
from server.store import EventStore, SeqConflict, StoreBusy, StoreUnavailable

log = logging.getLogger("companion.course")

# Appends tried against other workers appending first, each after a short random wait that
# grows, so that two busy workers do not keep colliding; then the command is refused as busy
# (a 503: the page tries again), never as if the rules had refused it.
APPEND_RETRIES = 12
BUSY_WAIT = 0.002  # seconds, times the attempt number at most
ERASED = "person.erased"  # after this event the stored log was rewritten: reload it
JUMPED = "clock.jumped"  # a rehearsal clock moved: the clocks of the workers follow it
# A snapshot of the state is kept beside the log every this many events (and at a clean stop).
SNAPSHOT_EVERY = int(os.environ.get("COMPANION_SNAPSHOT_EVERY", "5000"))
Pending = tuple[Command, Actor, "asyncio.Future[list[Event]]"]


class Writer:
    def __init__(
        self, course: Course, store: EventStore, clock: Clock, snapshot_key: bytes | None = None
    ) -> None:
        self.course = course
        self.store = store
        self.clock = clock
        # Snapshots of the state kept beside the log, signed with this key (None: none are
        # read or written): a start replays only what came after the last one.
        self.snapshot_key = snapshot_key
        self.snapshot_seq = 0  # the state's seq when one was last kept (or read)
        self._snapshotting: asyncio.Task[None] | None = None
        self.log_reached: datetime | None = None  # the last course time of the events applied
        self.jumped: Event | None = None  # the last rehearsal clock move applied
        self.base: Schedule = build_schedule(course)
        self.state = CourseState()
        self.schedule: Schedule = self.base  # the base with the log's delays applied
        self.store_ok = True  # False while the log cannot be reached
        # This process among the workers sharing a log: page connection ids start with it.
        self.worker = uuid.uuid4().hex[:8]
        self.lock = asyncio.Lock()
        self._waiting: list[Pending] = []  # commands to write, in the order they came
        self._task: asyncio.Task[None] | None = None
        # Who hears of what was applied: each event as it is applied (`on_event`), each batch
        # once applied (`listeners`), a state rebuilt from a rewritten log (`on_replaced`), and
        # the log becoming unreachable or reachable again (`on_store`).
        self.on_event: list[Callable[[Event], None]] = []
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        self.on_replaced: list[Callable[[Sequence[Event]], None]] = []
        self.on_store: list[Callable[[bool], None]] = []

    async def load(self) -> None:
        """Rebuild the state from the log (from its last snapshot we can trust, and what came
        after it), and note the course time it had reached."""
        start = await snapshots.trusted(self.store, self.course.id, self.snapshot_key)
        if start is not None:
            self.state, self.log_reached, self.jumped = start.state, start.reached, start.jumped
            self.schedule = self.state.schedule(self.base)
            self.snapshot_seq = start.seq
            if start.jumped is not None:  # the one event whose effect reaches beyond the state
                for hear in self.on_event:
                    hear(start.jumped)
        events = await self.store.read(self.course.id, self.state.seq)
        self.apply_stored(events)

    def keep_snapshot(self) -> None:
        """Keep a snapshot of the state beside the log, in the background (one at a time)."""
        if self.snapshot_key is None or self._snapshotting is not None:
            return
        snap = Snapshot(self.state, self.log_reached, self.jumped)  # the state never changes
        self.snapshot_seq = snap.seq  # (tried once per SNAPSHOT_EVERY events, kept or not)
        self._snapshotting = asyncio.create_task(self._keep(snap), name="course-snapshot")

    async def _keep(self, snap: Snapshot) -> None:
        assert self.snapshot_key is not None
        try:
            blob = await asyncio.to_thread(snapshots.encode, snap, self.snapshot_key)
            if await self.store.save_snapshot(self.course.id, snap.seq, blob):
                log.info("kept a snapshot of the state at event %d (%d bytes)", snap.seq, len(blob))
        except Exception as e:  # only a shortcut: the log is whole without it
            log.warning("a snapshot of the state was not kept: %s", e)
        finally:
            self._snapshotting = None

    async def last_snapshot(self) -> None:
        """At a clean stop: keep a snapshot of the state as it ends, if newer than the last."""
        if self._snapshotting is not None:
            await asyncio.wait([self._snapshotting], timeout=10)
        if self.state.seq > self.snapshot_seq:
            self.keep_snapshot()
        if self._snapshotting is not None:
            await asyncio.wait([self._snapshotting], timeout=10)

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
        if self._task is None:
            self._task = asyncio.create_task(self._write_waiting(), name="course-writer")
        return await done

    async def drain(self) -> None:
        """Wait (at most five seconds) for commands already taken to be written."""
        if self._task is not None:
            await asyncio.wait([self._task], timeout=5)

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                async with self.lock:
                    await self._write_batch(batch)
        finally:
            self._task = None

    async def _write_batch(self, batch: list[Pending]) -> None:
        """Decide each command on the state the ones before it leave, append all their events
        in one step of the store, then apply them and answer each command (the caller holds the
        lock). A command the rules refuse gets its error and adds nothing."""
        try:
            for attempt in range(APPEND_RETRIES):
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
                    await asyncio.sleep(random.uniform(0, BUSY_WAIT * attempt))
                    await self.catch_up()
                    continue
                except StoreUnavailable:
                    self.store_state(False)
                    raise
                self.apply_stored(stored)
                for done, answer in answers:
                    if done.done():
                        continue
                    if isinstance(answer, BaseException):
                        done.set_exception(answer)
                    else:
                        done.set_result(stored[answer.start : answer.stop])
                return
            raise StoreBusy("the course is very busy right now")
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

    def apply_stored(self, events: Sequence[Event]) -> None:
        """Apply the events of the log not applied yet, and tell everyone who listens."""
        fresh = [e for e in events if e.seq > self.state.seq]
        if not fresh:
            return
        for e in fresh:
            self.state = apply(self.state, e)
            if e.type == JUMPED:
                self.jumped = e
            for hear in self.on_event:
                hear(e)
        if any(e.type.startswith("agenda.") for e in fresh):
            self.schedule = self.state.schedule(self.base)
        previous = () if self.log_reached is None else (self.log_reached,)
        self.log_reached = course_time_reached((*previous, *(e.at for e in fresh)), self.base)
        for listener in self.listeners:
            listener(fresh)
        if self.state.seq - self.snapshot_seq >= SNAPSHOT_EVERY:
            self.keep_snapshot()

    async def catch_up(self) -> None:
        """Apply what others appended since our last event (the caller holds the lock)."""
        missed = await self.store.read(self.course.id, self.state.seq)
        if any(e.type == ERASED for e in missed):
            await self._reload()
        else:
            self.apply_stored(missed)

    async def _reload(self) -> None:
        """Someone's data was erased: the stored log was rewritten under us, so the state is
        rebuilt from it (the caller holds the lock)."""
        events = await self.store.read(self.course.id)
        self._replace_state(replay(events), [e for e in events if e.seq > self.state.seq])

    def _replace_state(self, state: CourseState, fresh: Sequence[Event]) -> None:
        self.state = state
        self.snapshot_seq = 0  # the log was rewritten and its snapshot deleted: keep a new one
        self.schedule = state.schedule(self.base)
        for listener in self.listeners:
            listener(fresh)
        for hear in self.on_replaced:
            hear(fresh)

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
        async with self.lock:
            for attempt in range(APPEND_RETRIES):
                events = await self.store.read(self.course.id)
                changed = redact_log(events, er)
                by_seq = {e.seq: e for e in events} | {c.seq: c for c in changed}
                state = replay([by_seq[n] for n in sorted(by_seq)])
                new = decide(state, self.base, MarkErased(er.new), actor, self.clock.now())
                last = events[-1].seq if events else 0
                try:
                    stored = await self.store.rewrite(self.course.id, changed, new, last)
                except SeqConflict:  # another worker appended: wait a moment, as appends do
                    await asyncio.sleep(random.uniform(0, BUSY_WAIT * attempt))
                    continue
                except StoreUnavailable:
                    self.store_state(False)
                    raise
                log.info("erased a person's data: %d stored events rewritten", len(changed))
                self._replace_state(replay(stored, state), stored)
                return er.new
            raise StoreBusy("the course is very busy right now")

    async def follow(self) -> None:
        """Apply events appended by other workers sharing the store (and skip our own); when
        the log cannot be reached, say so and probe it every second until it answers."""
        while True:
            try:
                async for e in self.store.tail(self.course.id, self.state.seq):
                    if e.type != ERASED:
                        self.apply_stored([e])
                        continue
                    async with self.lock:
                        if e.seq > self.state.seq:
                            await self._reload()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("the course log is unreachable (%s); retrying", e)
                self.store_state(False)
                await self._await_store()

    async def _await_store(self) -> None:
        while True:
            await asyncio.sleep(1)
            try:
                async with self.lock:
                    await self.catch_up()
            except Exception:
                continue
            self.store_state(True)
            return

    def store_state(self, ok: bool) -> None:
        """Every page says when the log cannot be reached, and again when it is back."""
        if ok != self.store_ok:
            self.store_ok = ok
            for hear in self.on_store:
                hear(ok)

    def connection_id(self) -> str:
        """A new page connection's id: this worker's id, a dot, and a random part."""
        return f"{self.worker}.{uuid.uuid4().hex[:12]}"
