"""ICE settings for the server's WebRTC peers: which STUN/TURN servers, which local addresses,
which UDP ports.

aiortc gathers host candidates on every non-loopback address with a port the kernel picks, and
has no setting for either (aioice issue #47). A deployment behind a firewall or NAT needs a
known port range to open or forward, and tests must bind to loopback only, so the server's peers
use `CompanionConnection`: the same aioice connection whose host candidates come from the
configured addresses and ports; server-reflexive and relayed candidates are still gathered by
aioice's own functions.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
from dataclasses import dataclass
from typing import Any

import aioice.ice as aice
import aiortc.rtcicetransport as rtcice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from server.patched import require

require(
    "aioice",
    "0.13",
    "server/media/ice.py",
    {
        aice.Connection: ("get_component_candidates",),
        aice: ("StunProtocol", "server_reflexive_candidate"),
    },
    "replaces its ICE connection to choose host addresses and ports",
)
require(
    "aiortc",
    "1.16",
    "server/media/ice.py",
    {rtcice: ("Connection",)},
    "points aiortc.rtcicetransport.Connection at that connection",
)


class IceConfigError(ValueError):
    pass


@dataclass(frozen=True)
class IceSettings:
    servers: tuple[RTCIceServer, ...] = ()  # STUN/TURN, given to the server and the browser
    addresses: tuple[str, ...] = ()  # local addresses for host candidates (empty: all)
    ports: tuple[int, int] | None = None  # inclusive UDP port range (None: any free port)

    def __post_init__(self) -> None:
        if self.ports is not None and not 0 < self.ports[0] <= self.ports[1] <= 65535:
            raise IceConfigError(f"UDP port range {self.ports} is empty or out of bounds")

    def configuration(self) -> RTCConfiguration:
        # One transport for every m-line: pages bundle, and transceivers made before the offer
        # is applied must share the first one's transport.
        return RTCConfiguration(
            iceServers=list(self.servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
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


def parse_servers(text: str) -> tuple[RTCIceServer, ...]:
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
            out.append(RTCIceServer(urls=raw))
            continue
        creds, at, hostport = rest.rpartition("@")
        user, colon, password = creds.partition(":")
        if not at or not colon or not user or not password:
            raise IceConfigError(f"TURN server {raw!r} needs USER:PASSWORD@HOST:PORT")
        out.append(RTCIceServer(urls=f"{scheme}:{hostport}", username=user, credential=password))
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


_settings = IceSettings()
_next_port = itertools.count()


class CompanionConnection(aice.Connection):
    """aioice's ICE connection, with host candidates on the configured addresses and ports."""

    async def get_component_candidates(
        self, component: int, addresses: list[str], timeout: int = 5
    ) -> list[Candidate]:
        settings = _settings
        if settings.addresses:
            addresses = list(settings.addresses)
        if settings.ports is None:
            return await super().get_component_candidates(component, addresses, timeout)
        loop = asyncio.get_running_loop()
        lo, hi = settings.ports
        span = hi - lo + 1
        candidates: list[Candidate] = []
        hosts: list[aice.StunProtocol] = []
        for address in addresses:
            start = next(_next_port)
            for i in range(span):
                port = lo + (start + i) % span
                try:
                    transport, protocol = await loop.create_datagram_endpoint(
                        lambda: aice.StunProtocol(self), local_addr=(address, port)
                    )
                except OSError:
                    continue
                break
            else:
                continue  # every port in the range is taken on this address
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024 * 1024)
            host, bound = transport.get_extra_info("sockname")[:2]
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", host),
                component=component,
                transport="udp",
                priority=candidate_priority(component, "host"),
                host=host,
                port=bound,
                type="host",
            )
            candidates.append(protocol.local_candidate)
            hosts.append(protocol)
        self._protocols += hosts
        # Reflexive and relayed candidates as aioice gathers them, without more host sockets.
        extra = await super().get_component_candidates(component, [], timeout)
        if self.stun_server:
            tasks = [
                asyncio.create_task(aice.server_reflexive_candidate(p, self.stun_server))
                for p in hosts
                if ipaddress.ip_address(p.local_candidate.host).version == 4
            ]
            if tasks:
                done, pending = await asyncio.wait(tasks, timeout=timeout)
                for t in pending:
                    t.cancel()
                candidates += [t.result()[0] for t in done if t.exception() is None]
        return candidates + extra


def configure(settings: IceSettings) -> None:
    """Use `settings` for every server peer from now on."""
    global _settings
    _settings = settings
    rtcice.Connection = CompanionConnection  # type: ignore[attr-defined]
