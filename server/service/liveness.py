"""Workers sharing one log beat on it; pages of a worker that stopped beating are closed.

Without this, the people on the pages of a worker that crashed or lost its host would stay
"online" for good (their leaves were never recorded)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime

from server.domain.people_rules import ResetPresence
from server.domain.roles import CLI_ACTOR
from server.service.writer import Writer

log = logging.getLogger("companion.course")

# Seconds between a worker's beats on a shared log; a beat lasts three, and a worker whose beat
# has been missing for that long again is gone.
HEARTBEAT = float(os.environ.get("COMPANION_HEARTBEAT", "5"))


class Liveness:
    def __init__(self, writer: Writer, heartbeat: float = HEARTBEAT) -> None:
        self.writer = writer
        self.heartbeat = heartbeat
        self.lifetime = heartbeat * 3  # how long a beat lasts in the log
        self.missing: dict[str, float] = {}  # worker -> since when its beat is missing
        self.seen: dict[str, datetime] = {}  # worker -> its last beat seen (course time)

    async def beat(self) -> None:
        w = self.writer
        await w.store.beat(w.course.id, w.worker, self.lifetime, w.clock.now())

    async def run(self) -> None:
        """Beat for this worker, and close the presence of pages whose worker stopped beating."""
        w = self.writer
        beating_since: float | None = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.beat()
                if beating_since is None:
                    beating_since = time.monotonic()
                beats = await w.store.workers(w.course.id)
                self.seen.update({k: at for k, at in beats.items() if at is not None})
                if time.monotonic() - beating_since < self.lifetime:
                    # The log was away (or this worker just started): the others could not
                    # beat either, so nobody is judged gone until they have had time to.
                    continue
                for worker, stale in self._gone(set(beats) | {w.worker}).items():
                    log.warning("closing %d page(s) of a worker that stopped", len(stale))
                    # Closed when it was last seen alive: it may have died any moment after.
                    await w.execute(ResetPresence(stale, self.seen.pop(worker, None)), CLI_ACTOR)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: the writer's tail says so; try again
                beating_since = None
                log.info("worker heartbeat skipped: %s", e)

    def _gone(self, alive: set[str]) -> dict[str, tuple[str, ...]]:
        """The open pages of each worker judged gone. A worker is judged gone once its beat has
        been missing for a beat's whole lifetime more: one whose loop stood still for a moment
        (a burst of work) is late, not gone. (If judged gone while alive, it opens its pages
        again.)"""
        pages: dict[str, list[str]] = {}
        for p in self.writer.state.people.by_id.values():
            for c in p.connections:
                worker = c.split(".", 1)[0] if "." in c else None
                if worker is not None and worker not in alive:
                    pages.setdefault(worker, []).append(c)
        now = time.monotonic()
        self.missing = {k: self.missing.get(k, now) for k in pages}
        return {
            k: tuple(sorted(pages[k]))
            for k, since in self.missing.items()
            if now - since >= self.lifetime
        }
