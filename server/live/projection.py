"""The live views: every followed audience rendered once and kept, pushed to its pages when it
changes, and handed whole to a page that opens.

It hears of each event the writer applies (`applied`), marks the audiences the event touched,
and re-renders them on the next turn of the loop; views that show who is online are re-rendered
at most every `PRESENCE_EVERY` seconds; a person whose place changed gets the audiences of their
new place; a revoked person's pages are closed. At an agenda boundary the timed views are
refreshed, with what was prepared for that instant where it still holds (`boundary.Prepared`).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from server.content.cases import Scenario
from server.content.instruments import Instrument
from server.domain.agenda import Schedule
from server.domain.course_state import CourseState
from server.domain.events import Event
from server.domain.people_rules import registered_id
from server.domain.roles import Actor, Role
from server.live import audiences, keys
from server.live.boundary import Ahead, Prepared
from server.live.context import ViewContext
from server.live.frames import whole
from server.live.hub import Connection, Hub, Message, Outgoing, follows
from server.live.render import Renderer

RELOAD = json.dumps({"type": "reload"})  # a page asked to load itself afresh


@dataclass
class Content:
    """The course's content the views show (loaded and validated at start)."""

    library: Mapping[str, Scenario] = field(default_factory=dict)  # role-play cases by id
    instruments: Mapping[str, Instrument] = field(default_factory=dict)  # feedback forms by id
    evaluations: dict[str, Instrument] = field(default_factory=dict)  # daily, course forms
    renderer: Renderer = field(default_factory=Renderer)


class Source(Protocol):
    """Where the views read the course from (the writer)."""

    state: CourseState
    base: Schedule
    schedule: Schedule
    store_ok: bool


class Now(Protocol):
    def now(self) -> datetime: ...


class LiveViews:
    def __init__(self, writer: Source, clock: Now, content: Content) -> None:
        self.writer = writer
        self.clock = clock
        self.content = content
        self.hub = Hub(vacated=self._forget)
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
        self.prepared = Prepared()
        self._render_at: datetime | None = None  # set while preparing

    # --- what is rendered, for when ------------------------------------------------------

    def view_time(self) -> datetime:
        """The instant views are rendered for: now, or a boundary being prepared."""
        return self._render_at or self.clock.now()

    def context(self) -> ViewContext:
        w, c = self.writer, self.content
        return ViewContext(
            w.state, w.base, w.schedule, self.view_time(), c.library, c.instruments, c.renderer,
            w.store_ok,
        )  # fmt: skip

    def render_audience(self, audience: str) -> dict[str, str]:
        return audiences.render_audience(self.context(), audience)

    # --- hearing of events ---------------------------------------------------------------

    def applied(self, e: Event) -> None:
        """An event was applied (the state includes it): note what it changes."""
        touched = audiences.touched_by(e, self.writer.state.rooms)
        self.prepared.drop(touched)
        if e.type in audiences.PRESENCE_OF_ONE:
            self._dirty_presence.update(touched)
        else:
            self._dirty.update(touched)
        if e.type == "link.revoked":
            self.kick(str(e.data["person"]))
        if e.type.startswith(audiences.REROUTING):
            if e.type == "person.updated":
                self._reroute.add(registered_id(e.data))
            else:
                self._reroute.add(str(e.data.get("person") or "*"))

    def settled(self, fresh: Sequence[Event]) -> None:
        """A batch of events was applied: refresh what they changed, soon and together."""
        self._schedule_refresh()
        self._schedule_presence()

    def replaced(self, fresh: Sequence[Event]) -> None:
        """The state was rebuilt from a rewritten log: every page is rendered afresh."""
        self.prepared.forget()
        self._rendered.clear()
        self._snapshots.clear()
        self._reroute.add("*")
        self._dirty.add("")  # every audience, rendered afresh (the cache is gone)
        self._schedule_refresh()

    def store_changed(self, ok: bool) -> None:
        self._dirty.add(keys.AGENDA)
        self._schedule_refresh()

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
        """Give each affected socket the audiences its person now has, and a fresh snapshot,
        so the page shows what a fresh load would. A learner's panels sit in slots that every
        snapshot fills; a staff page, whose set of groups changes only when groups are formed
        again, is asked to reload (its drafts are kept in the browser)."""
        state = self.writer.state
        for conn in list(self.hub.connections):
            if conn.person is None or ("*" not in people and conn.person not in people):
                continue
            p = state.people.get(conn.person)
            if p is None:
                continue
            wanted = follows(audiences.audiences_for(state, Actor(p.id, p.role)))
            if wanted == conn.audiences:
                continue
            if p.role in (Role.FACILITATOR, Role.SP):
                conn.offer(RELOAD)
                continue
            self.hub.leave(conn)
            conn.audiences = wanted
            self.hub.join(conn)
            conn.resync()

    def kick(self, person: str) -> None:
        message = json.dumps({"type": "revoked", "message": "Your personal link was revoked."})
        for conn in list(self.hub.connections):
            if conn.person == person:
                conn.kick(message)

    # --- rendering and pushing -----------------------------------------------------------

    def prepare(self, target: datetime) -> None:
        """Render every live audience whose view changes with time as it will be at `target`,
        and what its pages will then be sent, encoded (kept until then, and thrown away if
        anything is recorded meanwhile)."""
        self._render_at = target
        try:
            timed = [a for a in self.hub.audiences() if a.startswith(keys.TIMED)]
            self.prepared.make(
                target, self.writer.store_ok, timed, self._rendered.get, self.render_audience
            )
        finally:
            self._render_at = None

    def take_prepared(self, target: datetime) -> dict[str, Ahead]:
        return self.prepared.take(target, self.writer.store_ok)

    def refresh(
        self, prefixes: tuple[str, ...] = ("",), prepared: dict[str, Ahead] | None = None
    ) -> None:
        """Re-render the audiences (with viewers) whose keys start with one of `prefixes`, the
        agenda first, and push the partials that changed (`prepared`: what was made for this
        instant in advance, used where it still holds)."""
        hub = self.hub
        live = [a for a in hub.audiences() if a.startswith(prefixes)]
        if keys.AGENDA in live:
            live.remove(keys.AGENDA)
            live.insert(0, keys.AGENDA)
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

    def rendered(self, audience: str) -> dict[str, str] | None:
        """What `audience`'s pages were last sent, if it is followed."""
        return self._rendered.get(audience)

    def _forget(self, audience: str) -> None:
        """Nobody follows `audience` now, so its render is no longer kept up to date: it is
        rendered afresh when someone follows it again."""
        if self._rendered.pop(audience, None) is not None:
            self._snapshots.clear()

    def snapshot(self, conn: Connection, clock_message: Callable[[], str]) -> list[Outgoing]:
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
                parts.append(whole(self._rendered[audience]))
            parts.append(audiences.vacant(conn.audiences))
            body = self._snapshots[conn.audiences] = Message("".join(parts))
        return [clock_message(), body]
