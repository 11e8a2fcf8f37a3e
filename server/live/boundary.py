"""A boundary prepared ahead: shortly before an agenda boundary, what the pages will be shown at
it is rendered and encoded, so that at the boundary only the writing is left.

The lifecycle of a prepared boundary: none -> prepared (for one instant and one state of the
log) -> taken at that instant, or thrown away (the clock or the log's reachability moved);
an event in between drops only the renders it touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from server.live.frames import changed
from server.live.hub import Message

PREPARE_AHEAD = 0.5  # seconds before a boundary at which pages' views for it are rendered


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
        diff = changed(compared or {}, fresh)
        message = Message(diff) if diff else None
        if message is not None:
            message.frame  # noqa: B018  # encoded now, not while pages wait
        return cls(compared, fresh, message)


class Prepared:
    """At most one prepared boundary: its instant, whether the log was reachable then, and what
    each audience gets at it."""

    def __init__(self) -> None:
        self._at: tuple[datetime, bool] | None = None
        self._renders: dict[str, Ahead] = {}

    def make(
        self,
        at: datetime,
        store_ok: bool,
        audiences: Iterable[str],
        last: Callable[[str], dict[str, str] | None],
        render: Callable[[str], dict[str, str]],
    ) -> None:
        """Render each of `audiences` as it will be at `at`, against what it was `last` sent."""
        self._renders = {a: Ahead.against(last(a), render(a)) for a in audiences}
        self._at = (at, store_ok)

    def drop(self, keys: Sequence[str]) -> None:
        """An event changed the audiences `keys` (or key prefixes): their renders are stale."""
        if self._at is not None and keys:
            prefixes = tuple(keys)
            for audience in [a for a in self._renders if a.startswith(prefixes)]:
                del self._renders[audience]

    def forget(self) -> None:
        self._at, self._renders = None, {}

    def take(self, at: datetime, store_ok: bool) -> dict[str, Ahead]:
        """What was prepared for `at`, once; nothing if it was made for another instant or
        another state of the log."""
        made, renders = self._at, self._renders
        self.forget()
        if made != (at, store_ok):
            return {}
        return renders

    def renders(self) -> dict[str, Ahead]:
        """What is prepared now (for tests and /healthz), without taking it."""
        return self._renders
