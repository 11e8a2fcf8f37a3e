"""Workers sharing one log beat on it; pages of a worker that stopped beating are closed.

Without this, the people on the pages of a worker that crashed or lost its host would stay
"online" for good (their leaves were never recorded)."""

from __future__ import annotations

import asyncio
import logging
import os
import time

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

    async def beat(self) -> None:
        w = self.writer
        await w.store.beat(w.course.id, w.worker, self.lifetime)

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
                if time.monotonic() - beating_since < self.lifetime:
                    # The log was away (or this worker just started): the others could not
                    # beat either, so nobody is judged gone until they have had time to.
                    continue
                alive = await w.store.workers(w.course.id) | {w.worker}
                pages = [c for p in w.state.people.by_id.values() for c in p.connections]
                # A worker is judged gone once its beat has been missing for a beat's whole
                # lifetime more: one whose loop stood still for a moment (a burst of work) is
                # late, not gone. (If judged gone while alive, it opens its pages again.)
                now = time.monotonic()
                missing = {c.split(".", 1)[0] for c in pages if "." in c} - alive
                self.missing = {k: self.missing.get(k, now) for k in missing}
                gone = {k for k, since in self.missing.items() if now - since >= self.lifetime}
                stale = tuple(c for c in pages if c.split(".", 1)[0] in gone)
                if stale:
                    log.warning("closing %d page(s) of a worker that stopped", len(stale))
                    await w.execute(ResetPresence(stale), CLI_ACTOR)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store is down: the writer's tail says so; try again
                beating_since = None
                log.info("worker heartbeat skipped: %s", e)
