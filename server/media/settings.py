"""The media engines' ICE settings, parsed from options: which STUN/TURN servers, which local
addresses, which UDP ports. Kept apart from aiortc (server/media/ice.py), which a server needs
only once a page asks for media, so that reading the settings does not import it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiortc import RTCConfiguration


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server, as RTCIceServer has it."""

    urls: str
    username: str | None = None
    credential: str | None = None


class IceConfigError(ValueError):
    pass


@dataclass(frozen=True)
class IceSettings:
    servers: tuple[IceServer, ...] = ()  # STUN/TURN, given to the server and the browser
    addresses: tuple[str, ...] = ()  # local addresses for host candidates (empty: all)
    ports: tuple[int, int] | None = None  # inclusive UDP port range (None: any free port)

    def __post_init__(self) -> None:
        if self.ports is not None and not 0 < self.ports[0] <= self.ports[1] <= 65535:
            raise IceConfigError(f"UDP port range {self.ports} is empty or out of bounds")

    def configuration(self) -> RTCConfiguration:
        from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

        # One transport for every m-line: pages bundle, and transceivers made before the offer
        # is applied must share the first one's transport.
        return RTCConfiguration(
            iceServers=[RTCIceServer(s.urls, s.username, s.credential) for s in self.servers],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )

    def browser(self) -> list[dict[str, Any]]:
        """The ICE servers as a page's RTCPeerConnection wants them."""
        out = []
        for s in self.servers:
            entry: dict[str, Any] = {"urls": s.urls}
            if s.username:
                entry["username"] = s.username
                entry["credential"] = s.credential
            out.append(entry)
        return out


def parse_servers(text: str) -> tuple[IceServer, ...]:
    """`stun:host:3478,turn:user:secret@host:3478` → ICE servers (comma-separated)."""
    out = []
    for raw in (t.strip() for t in text.split(",")):
        if not raw:
            continue
        scheme, _, rest = raw.partition(":")
        if scheme not in ("stun", "turn", "turns") or not rest:
            raise IceConfigError(
                f"ICE server {raw!r}: write stun:HOST:PORT or turn:USER:PASSWORD@HOST:PORT"
            )
        if scheme == "stun":
            out.append(IceServer(raw))
            continue
        creds, at, hostport = rest.rpartition("@")
        user, colon, password = creds.partition(":")
        if not at or not colon or not user or not password:
            raise IceConfigError(f"TURN server {raw!r} needs USER:PASSWORD@HOST:PORT")
        out.append(IceServer(f"{scheme}:{hostport}", user, password))
    return tuple(out)


def parse_ports(text: str) -> tuple[int, int] | None:
    """`40000-40199` → (40000, 40199); empty → None."""
    if not text.strip():
        return None
    low, dash, high = text.strip().partition("-")
    try:
        lo, hi = int(low), int(high)
    except ValueError:
        raise IceConfigError(f"UDP port range {text!r}: write LOW-HIGH, e.g. 40000-40199") from None
    if not dash or not 1024 <= lo <= hi <= 65535:
        raise IceConfigError(f"UDP port range {text!r}: need 1024 <= LOW <= HIGH <= 65535")
    return lo, hi


def parse_addresses(text: str) -> tuple[str, ...]:
    out = []
    for a in (t.strip() for t in text.split(",")):
        if not a:
            continue
        try:
            ipaddress.ip_address(a)
        except ValueError:
            raise IceConfigError(f"Media address {a!r} is not an IP address") from None
        out.append(a)
    return tuple(out)
