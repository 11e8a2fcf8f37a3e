"""The media engines behind one small interface, chosen by `--media`: the embedded aiortc relay
(one process) or Janus (`janus://HOST:PORT`, one or more instances every worker shares).

The rest of the product talks to an engine only through these five calls (server/web/live.py
and app.py): who is on the stage, who joins muted, which room follows the agenda, consent and
meeting links are the domain's (server/domain/media.py), asked by both engines alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from server.domain.roles import Role
from server.live.hub import Outgoing

if TYPE_CHECKING:
    from server.config import Settings
    from server.media.recording import Recorder
    from server.media.settings import IceSettings
    from server.service.course import CourseService


class MediaEngine(Protocol):
    ice: IceSettings

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    def join(self, key: str, pid: str, role: Role, send: Callable[[Outgoing], None]) -> None: ...

    async def leave(self, key: str) -> None: ...

    async def handle(self, key: str, msg: dict[str, Any]) -> None: ...


def make_engine(settings: Settings, service: CourseService, recorder: Recorder) -> MediaEngine:
    if settings.engine == "aiortc":
        from server.media.hub import MediaHub

        return MediaHub(service, settings.ice, recorder)
    from server.media.janus import JanusHub, parse_janus

    return JanusHub(
        service,
        parse_janus(settings.engine),
        settings.secret,
        settings.janus_secret,
        settings.janus_admin_key,
        settings.ice,
        recorder,
    )
