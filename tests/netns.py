"""A network namespace of the test's own, for media that cannot run on loopback.

Janus never offers loopback candidates, and tests must not send traffic to any other address of
the machine. So a media test with Janus makes a namespace with its own loopback and a veth pair
(two ends, both inside it, on a private range) and moves the test's main thread into it: every
process the test starts from then on (Janus, the companion, Chromium) lives there, and nothing
in it can reach outside. On leaving, the thread goes back and the namespace is deleted.

Making the namespace needs root (or CAP_SYS_ADMIN); if it cannot be made the test fails with
the reason, so that a media test never passes by not running.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Namespace:
    name: str
    interface: str  # the veth end Janus is told to use
    address: str  # its address
    peer_address: str  # the other end's


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(
            f"could not make the test's network namespace: ip {' '.join(args)}: "
            f"{r.stderr.strip() or r.stdout.strip()} (needs root or CAP_SYS_ADMIN)"
        )


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise RuntimeError(f"setns into the test's network namespace failed: {os.strerror(err)}")


@contextmanager
def namespace(tag: str = "media") -> Iterator[Namespace]:
    name = f"companion-{tag}-{os.getpid()}"
    # Addresses from 10.X.Y.0/30 picked by pid, so parallel runs on one machine do not share.
    third = os.getpid() % 250
    ns = Namespace(name, "cmp0", f"10.211.{third}.1", f"10.211.{third}.2")
    _ip("netns", "add", name)
    try:
        for cmd in (
            ("link", "set", "lo", "up"),
            ("link", "add", "cmp0", "type", "veth", "peer", "name", "cmp1"),
            ("addr", "add", f"{ns.address}/30", "dev", "cmp0"),
            ("addr", "add", f"{ns.peer_address}/30", "dev", "cmp1"),
            ("link", "set", "cmp0", "up"),
            ("link", "set", "cmp1", "up"),
        ):
            _ip("netns", "exec", name, "ip", *cmd)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(there)
            try:
                yield ns
            finally:
                _setns(home)
        finally:
            os.close(there)
            os.close(home)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
