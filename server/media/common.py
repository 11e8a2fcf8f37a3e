"""What both media engines say to a page the same way: the `media.state` message, room labels,
the limits on what a page may send."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from server.domain import media
from server.domain.roles import Role
from server.live.hub import Outgoing

if TYPE_CHECKING:
    from server.service.course import CourseService

log = logging.getLogger("companion.media")

MAX_SDP = 64 * 1024


class MediaError(ValueError):
    """A page's media message that cannot be served; the text goes back to the page."""


def check_sdp(sdp: Any, what: str) -> str:
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise MediaError(f"{what} needs the page's SDP.")
    if len(sdp) > MAX_SDP:
        raise MediaError(f"{what}: SDP too large ({len(sdp)} characters).")
    return sdp


def state_text(
    room: str | None,
    lay: media.Layout | None,
    link: str | None,
    you: tuple[bool, bool, bool],
    tiles: list[dict[str, Any]],
    recording: str | None,
    **more: Any,
) -> str:
    msg: dict[str, Any] = {
        "type": "media.state",
        "room": room,
        "label": room_label(room),
        "link": link,
        "stage_label": lay.label if lay else "",
        "you": {"stage": you[0], "muted_on_join": you[1], "connected": you[2]},
        "tiles": tiles,
        "recording": recording,
        **more,
    }
    return json.dumps(msg, sort_keys=True)


def room_label(room: str | None) -> str:
    if room is None:
        return "No room right now"
    if room == "plenary":
        return "Plenary"
    if room.startswith("track:"):
        return f"{room.removeprefix('track:').capitalize()} session"
    return f"Small group {room.removeprefix('group:')}"


class PagePeer(Protocol):
    @property
    def pid(self) -> str: ...

    @property
    def send(self) -> Callable[[Outgoing], None]: ...

    @property
    def tasks(self) -> set[asyncio.Task[None]]: ...


P = TypeVar("P", bound=PagePeer)


class RoomEngine(ABC, Generic[P]):
    """What both engines do alike: a page joins and leaves; one loop places every page again
    when the course changes (its events wake it) and at the agenda's boundaries (which it aims
    at), with bursts coalesced into one pass; a page's message runs guarded, its failure told
    to that page as `media.error`, never breaking its socket."""

    tick = 10.0  # seconds between passes with nothing to wake them
    coalesce = 0.2  # seconds to gather changes before placing everyone again
    boundary_lag = 0.05  # seconds after a boundary: its own pushes go first
    slow = 0.1  # seconds: a pass slower than this is worth a line in the log
    negotiation_limit = 20.0  # seconds for one message's work (an offer/answer)
    name = "media"
    retry_on_timeout = False  # whether a page tries again by itself after a timeout

    def __init__(self, service: CourseService) -> None:
        self.service = service
        self.peers: dict[str, P] = {}
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # How a page's peer is made: (key, pid, role, send, order), the engine's own Peer class.
    peer_type: Callable[[str, str, Role, Callable[[Outgoing], None], int], P]

    @abstractmethod
    async def _hang_up(self, peer: P) -> None:
        """Close everything `peer` has open in the engine (its tasks: `_cancel_tasks`)."""

    @abstractmethod
    async def reconcile(self) -> None:
        """Place every page in its room and tell each what changed."""

    @staticmethod
    def _cancel_tasks(peer: P) -> None:
        for task in list(peer.tasks):
            if task is not asyncio.current_task():
                task.cancel()

    def _refusal(self, e: Exception) -> str | None:
        """The text a page is told for an engine's own kind of refusal (None: not one)."""
        return None

    def join(self, key: str, pid: str, role: Role, send: Callable[[Outgoing], None]) -> None:
        """A page with a signed-in person opened its socket: it gets the media state."""
        self.peers[key] = self.peer_type(key, pid, role, send, next(self._order))
        self._wake.set()

    async def leave(self, key: str) -> None:
        peer = self.peers.pop(key, None)
        if peer is None:
            return
        await self._hang_up(peer)
        self._wake.set()

    def _start_loop(self) -> None:
        self.service.listeners.append(lambda events: self._wake.set())
        self._task = asyncio.create_task(self._loop(), name=f"{self.name}-rooms")

    async def _stop_loop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)

    async def _loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow the task's
            # cancellation, and the server would never finish shutting down.
            until = self.service.seconds_to_next_move()
            wait = self.tick if until is None else min(self.tick, until + self.boundary_lag)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            # Coalesce: a burst of changes (a hundred pages joining) costs one pass, and the
            # live channel keeps the loop between passes.
            await asyncio.sleep(self.coalesce)
            self._wake.clear()
            t0 = time.perf_counter()
            try:
                await self.reconcile()
            except Exception:
                log.exception("%s: placing pages failed", self.name)
            spent = time.perf_counter() - t0
            if spent > self.slow:
                log.warning(
                    "%s: placing %d pages took %.0f ms", self.name, len(self.peers), spent * 1000
                )

    def _in_background(self, peer: P, work: Coroutine[Any, Any, None], kind: Any) -> None:
        """Negotiation takes a while (ICE gathering): it must not hold up the page's socket."""
        task = asyncio.create_task(self._guarded(peer, kind, work))
        peer.tasks.add(task)
        task.add_done_callback(peer.tasks.discard)

    async def _guarded(self, peer: P, kind: Any, work: Coroutine[Any, Any, None]) -> None:
        def tell(message: str, retry: bool = False) -> None:
            msg: dict[str, Any] = {"type": "media.error", "message": message}
            if retry:
                msg["retry"] = True
            peer.send(json.dumps(msg))

        try:
            async with asyncio.timeout(self.negotiation_limit):
                await work
        except MediaError as e:
            tell(str(e))
        except TimeoutError:
            tell("Audio/video setup timed out.", retry=self.retry_on_timeout)
        except Exception as e:  # never let media break the page's socket
            refusal = self._refusal(e)
            if refusal is not None:
                log.info("%s refused %r from %s: %s", self.name, kind, peer.pid, e)
                tell(refusal, retry=True)
            else:
                log.exception("media message %r from %s failed", kind, peer.pid)
                tell(f"Audio/video failed: {e}")
