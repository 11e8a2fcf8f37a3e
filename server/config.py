"""Every setting of a served course in one place: the defaults, the environment variables that
set them, and the options uvicorn is started with (one process or several workers)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.content.course import COURSE_FILE
from server.domain.agenda import Course
from server.media.settings import IceSettings
from server.service.clock import Clock

if TYPE_CHECKING:
    from server.access.links import Signer
    from server.service.course import CourseService


class UsageError(Exception):
    """A setting that cannot be used; the message says which and why."""


DEFAULT_STORE = "sqlite:///data/companion.db"


@dataclass
class Settings:
    store_url: str = field(default_factory=lambda: os.environ.get("COMPANION_STORE", DEFAULT_STORE))
    course_file: Path = COURSE_FILE
    secret: str = ""
    clock: Clock = field(default_factory=Clock)
    course: Course | None = None
    public_url: str = ""
    on_ready: Callable[[CourseService, Signer], None] | None = None
    roster: str | None = None  # a roster CSV imported at start (the demo's)
    scenarios_dir: Path | None = None  # role-play cases (default scenarios/roleplays)
    simulate: bool = False  # the demo's simulated participants
    media: bool = True  # built-in audio and video in every room
    engine: str = "aiortc"  # or "janus://HOST:PORT[,janus://…]" (server/media/engine.py)
    janus_secret: str = ""  # the api_secret of every Janus instance
    janus_admin_key: str = ""  # the VideoRoom admin key (rooms are created with it)
    ice: IceSettings = field(default_factory=IceSettings)
    recordings_dir: Path = Path("data/recordings")
    retention_days: float = 14.0  # recordings are deleted this long after they end (0: never)
    collector: bool = False  # full garbage-collection passes between agenda bursts (collector.py)
    supervisor: int | None = None  # a worker's parent: when it is gone, the worker stops too


# Pages are pinged this often; one that does not answer within as long again has gone (a closed
# laptop, a dropped network) and its leave is recorded.
PING_SECONDS = float(os.environ.get("COMPANION_WS_PING", "15"))


WS_MAX_SIZE = 128 * 1024  # a page's SDP offer with many receiving slots


# Per-message compression off by default: pages get small partials, and compressing each
# connection's copy separately costs CPU at every boundary and ~45 KiB of zlib state per page.
WS_DEFLATE = os.environ.get("COMPANION_WS_DEFLATE", "0") == "1"


def http_protocol() -> Any:
    """uvicorn's `http` setting: its httptools protocol, freed as soon as a page's socket takes
    over (server/live/socket.py)."""
    from server.live.socket import LeanHttpProtocol

    return LeanHttpProtocol


def ws_protocol() -> Any:
    """uvicorn's `ws` setting: its sans-I/O protocol on the `websockets` library, made leaner
    (server/live/socket.py). COMPANION_WS_IMPL names one of uvicorn's own instead
    (`websockets-sansio`, `websockets`), for comparison."""
    from server.live.socket import LeanWebSocketProtocol

    return os.environ.get("COMPANION_WS_IMPL") or LeanWebSocketProtocol


def media_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings for the built-in audio and video, from options or the environment."""
    from server.media.settings import (
        IceConfigError,
        IceSettings,
        parse_addresses,
        parse_ports,
        parse_servers,
    )

    def pick(name: str, env: str) -> str:
        value = getattr(args, name, None)
        return str(value if value is not None else os.environ.get(env, ""))

    try:
        ice = IceSettings(
            servers=parse_servers(pick("ice_servers", "COMPANION_ICE_SERVERS")),
            addresses=parse_addresses(pick("media_addresses", "COMPANION_MEDIA_ADDRESSES")),
            ports=parse_ports(pick("udp_ports", "COMPANION_UDP_PORTS")),
        )
    except IceConfigError as e:
        raise UsageError(str(e)) from None
    off = getattr(args, "no_media", False) or os.environ.get("COMPANION_NO_MEDIA") == "1"
    out: dict[str, Any] = {"ice": ice, "media": not off}
    given = getattr(args, "media", None)
    engine = ",".join(given) if given else os.environ.get("COMPANION_MEDIA", "aiortc")
    engine = engine.strip() or "aiortc"
    if engine != "aiortc":
        from server.media.janus import JanusSettingsError, parse_janus

        try:
            parse_janus(engine)
        except JanusSettingsError as e:
            raise UsageError(f"{e} (or --media aiortc)") from None
        out["janus_secret"] = os.environ.get("COMPANION_JANUS_SECRET", "")
        out["janus_admin_key"] = os.environ.get("COMPANION_JANUS_ADMIN_KEY", "")
        if not out["janus_secret"] or not out["janus_admin_key"]:
            raise UsageError(
                "--media janus:// needs $COMPANION_JANUS_SECRET (Janus's api_secret) and "
                "$COMPANION_JANUS_ADMIN_KEY (its VideoRoom admin_key)"
            )
    out["engine"] = engine
    recordings = pick("recordings", "COMPANION_RECORDINGS")
    if recordings:
        out["recordings_dir"] = Path(recordings)
    days = pick("retention_days", "COMPANION_RETENTION_DAYS")
    if days:
        try:
            out["retention_days"] = float(days)
        except ValueError:
            raise UsageError(f"--retention-days must be a number of days, not {days!r}") from None
        if out["retention_days"] < 0:
            raise UsageError("--retention-days cannot be negative (0 keeps recordings)")
    return out


def store_url(args: argparse.Namespace) -> str:
    """--store, $COMPANION_STORE, or the embedded SQLite log in data/."""
    return str(args.store or os.environ.get("COMPANION_STORE") or DEFAULT_STORE)


def uvicorn_options() -> dict[str, Any]:
    """What uvicorn is started with, for one process and for several workers alike."""
    return {
        "ws_max_size": WS_MAX_SIZE,
        "ws": ws_protocol(),
        "http": http_protocol(),
        "ws_per_message_deflate": WS_DEFLATE,
        "ws_ping_interval": PING_SECONDS,
        "ws_ping_timeout": PING_SECONDS,
        "log_level": "warning",
    }
