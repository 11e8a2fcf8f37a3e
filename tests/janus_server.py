"""Janus (Debian's `janus` package) started by a test: configuration generated into a temporary
folder by the product's own writer (server/media/janus_conf.py), the WebSocket API on a free
loopback port, media on the test namespace's veth interface (tests/netns.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server.media.janus_conf import JanusConf, write
from tests.servers import free_port, stop

API_SECRET = "janus-test-api-secret"
ADMIN_KEY = "janus-test-admin-key"
ENV = {"COMPANION_JANUS_SECRET": API_SECRET, "COMPANION_JANUS_ADMIN_KEY": ADMIN_KEY}


@dataclass
class Janus:
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path

    @property
    def url(self) -> str:
        return f"janus://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.folder / "janus.log").read_text(errors="replace")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _wait_port(port: int, proc: subprocess.Popen[bytes], folder: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (folder / "janus.log").read_text(errors="replace")
            raise RuntimeError(f"janus exited with {proc.returncode}:\n{log[-3000:]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"janus did not listen on {port}")


@contextmanager
def janus(interface: str, rtp_base: int = 0) -> Iterator[Janus]:
    if shutil.which("janus") is None:
        raise RuntimeError(
            "janus is not installed (Debian package janus; scripts/setup installs it)"
        )
    folder = Path(tempfile.mkdtemp(prefix="janus-"))
    port = free_port()
    base = rtp_base or 20000 + (port % 400) * 100
    conf = JanusConf(
        api_secret=API_SECRET,
        admin_key=ADMIN_KEY,
        ws_port=port,
        interfaces=interface,
        rtp_ports=(base, base + 99),
        rec_dir=str(folder / "recordings"),
    )
    cfg = write(conf, folder)
    with open(folder / "janus.log", "wb") as out:
        proc = subprocess.Popen(
            ["janus", "-C", str(cfg), "-F", str(folder)], stdout=out, stderr=subprocess.STDOUT
        )
    j = Janus(port, proc, folder)
    try:
        _wait_port(port, proc, folder)
        yield j
    finally:
        stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
