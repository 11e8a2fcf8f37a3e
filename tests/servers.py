"""Real processes for integration and browser tests: `companion serve` on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_ROSTER = ROOT / "scenarios" / "demo" / "roster.csv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy")


def spawn(
    *args: str,
    port: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Any = None,
) -> subprocess.Popen[bytes]:
    """Start `companion serve ARGS` on `port` (output to `log`, else discarded); the caller
    waits for it (`wait_healthy`) and stops it. For tests that kill and restart servers."""
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args]
    out = log if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        cmd,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask a process to stop; kill it if it has not within 10 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def companion(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, port: int = 0
) -> Iterator[str]:
    """Run `companion serve ARGS` on `port` (default: a free one); yields its base URL."""
    port = port or free_port()
    log = tempfile.NamedTemporaryFile(prefix="companion-", suffix=".log", delete=False)  # noqa: SIM115
    proc = spawn(*args, port=port, env=env, cwd=cwd, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    except BaseException:
        sys.stderr.write(Path(log.name).read_text(errors="replace"))
        raise
    finally:
        stop(proc)
        log.close()
        os.unlink(log.name)


def person_ids(store: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Each registered person's id by email, as `companion links --json` prints them: ids are
    random, made at registration, so a test that signs its own cookies looks them up."""
    import json

    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "links", "--json", "--store", store],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return {row["email"]: row["id"] for row in json.loads(out.stdout)}


SECRET = {"COMPANION_SECRET": "shared-test-secret-0123456789abcdef"}


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `companion ARGS` as its own process (as a director would at a terminal), signing with
    `env`'s secret (default SECRET); returns what it printed, and fails the test if it failed."""
    r = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(SECRET if env is None else env)},
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def director_cookie(url: str, store: str, env: dict[str, str] | None = None) -> str:
    """Follow the director's personal link and keep the session cookie."""
    import json
    import re
    import urllib.error

    links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
    link = next(x["link"] for x in links if x["role"] == "director")
    try:
        urllib.request.build_opener(NoRedirect()).open(urllib.request.Request(link))
    except urllib.error.HTTPError as e:
        found = re.search(r"companion_session=([^;]+)", e.headers["set-cookie"])
        assert found is not None
        return found.group(1)
    raise AssertionError("no redirect from the join link")


def post(url: str, path: str, cookie: str, **form: str) -> int:
    """A form post as a signed-in page sends it; returns the status."""
    import urllib.parse

    data = urllib.parse.urlencode(form).encode()
    headers = {"Cookie": f"companion_session={cookie}"}
    req = urllib.request.Request(url + path, data=data, headers=headers)
    with urllib.request.urlopen(req) as r:
        return int(r.status)
