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

import aioice.ice as aice
import aiortc.rtcicetransport as rtcice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority

from server.media.settings import IceSettings
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
