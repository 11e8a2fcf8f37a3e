"""The README's first quick-start command, with options, starts a course in motion."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.servers import ROOT, free_port, wait_healthy

pytestmark = pytest.mark.integration


def test_scripts_demo_passes_its_options_to_the_demo_and_the_course_moves(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            "bash",
            "scripts/demo",
            "--port",
            str(port),
            "--speed",
            "20",
            "--data",
            str(tmp_path / "demo"),
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=90)
        first = json.loads(urllib.request.urlopen(url + "/healthz").read())
        assert "20" in first["clock"] and first["people"] == 40
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # simulated participants join and act
            health = json.loads(urllib.request.urlopen(url + "/healthz").read())
            if health["online"] > 20 and health["seq"] > first["seq"]:
                break
            time.sleep(0.5)
        assert health["online"] > 20 and health["seq"] > first["seq"], health
        # Garbage is collected between boundaries: everything loaded at start is frozen, and
        # what was made since is swept every few seconds.
        assert first["gc"]["full_sweeps"] >= 1 and first["gc"]["frozen_objects"] > 0, first
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and health["gc"]["young_sweeps"] < 1:
            time.sleep(0.5)
            health = json.loads(urllib.request.urlopen(url + "/healthz").read())
        assert health["gc"]["young_sweeps"] >= 1, health
    finally:
        os.killpg(proc.pid, 15)
        out = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert "Course director:" in out and "Learner:" in out, out


def test_the_demo_keeps_its_course_unless_asked_for_a_fresh_one_and_says_which(tmp_path):
    """It once deleted its data at every start without a word."""
    data = tmp_path / "demo"

    def run(*extra: str, busy: bool = False) -> tuple[dict, str]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "demo", "--no-media"]
            + ([] if busy else ["--no-sim"])
            + ["--port", str(port), "--data", str(data), *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout=60)
            health = json.loads(urllib.request.urlopen(url + "/healthz").read())
            deadline = time.monotonic() + 20
            while busy and health["seq"] < 70 and time.monotonic() < deadline:
                time.sleep(0.3)  # the simulated people join
                health = json.loads(urllib.request.urlopen(url + "/healthz").read())
        finally:
            proc.terminate()
            out = proc.communicate(timeout=20)[0].decode(errors="replace")
        assert f"companion links --base-url {url} --store sqlite:///{data}/demo.db" in out, out
        return health, out

    first, out = run(busy=True)
    assert "Continuing" not in out and first["seq"] >= 70  # the roster, groups, people joining
    again, out = run()
    assert "Continuing the demo course kept in" in out and again["seq"] > first["seq"]
    fresh, out = run("--fresh")
    assert "Starting a fresh demo course" in out and fresh["seq"] < first["seq"]
