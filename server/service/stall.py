"""A watch on the event loop: when it stands still, the log says for how long and where.

Everything a worker does (pages, posts, the agenda's boundaries, its beat on a shared log) runs on
one event loop. A piece of code that holds it for seconds stops all of them at once: pages miss
their updates, and on a shared log the other workers judge this one gone. The watch is a thread
that looks at the loop's tick a few times a second; when the loop has stood still for STALL
seconds it logs the loop thread's stack (what holds it), and when the loop moves again, for how
long it stood. When the watch itself woke late, no Python thread could run (a long call that
keeps the interpreter's lock, or a machine out of CPU): that is said too."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback

log = logging.getLogger("companion.stall")

STALL = float(os.environ.get("COMPANION_STALL_SECONDS", "2"))


class StallWatch:
    def __init__(self, threshold: float = STALL) -> None:
        self.threshold = threshold
        self.tick = min(0.25, threshold / 4)
        self.ticked = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self.stalls: list[float] = []  # seconds each stall lasted, once over

    def start(self) -> None:
        """Start watching the running loop (call from it)."""
        self._loop_thread = threading.get_ident()
        self.ticked = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="stall-watch")
        self._thread = threading.Thread(target=self._watch, name="stall-watch", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=1)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1)

    async def _beat(self) -> None:
        while True:
            self.ticked = time.monotonic()
            await asyncio.sleep(self.tick)

    def _watch(self) -> None:
        began: float | None = None  # the loop's last tick before it stood still
        woke = time.monotonic()
        while not self._stop.wait(self.tick):
            now = time.monotonic()
            late, woke = now - woke - self.tick, now
            if late > self.threshold:
                log.warning(
                    "no thread of this process ran for %.1f s (a call that kept the "
                    "interpreter's lock, or the machine out of CPU)",
                    late,
                )
            still = now - self.ticked
            if still > self.threshold and began is None:
                began = self.ticked
                log.warning(
                    "the event loop has stood still for %.1f s; it is in:\n%s",
                    still,
                    self._where(),
                )
            elif began is not None and self.ticked > began:
                lasted, began = self.ticked - began, None
                self.stalls.append(lasted)
                log.warning("the event loop moves again after %.1f s", lasted)

    def _where(self) -> str:
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None:
            return "  (its thread is gone)"
        return "".join(traceback.format_stack(frame)[-12:])
