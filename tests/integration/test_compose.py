"""docker-compose.yml is valid and wires the app to Redis with durable settings."""

import os
import shutil
import subprocess

import pytest
import yaml

from tests.servers import ROOT


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_is_valid_and_durable():
    env = {**os.environ, "COMPANION_SECRET": "x" * 32}
    out = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    config = yaml.safe_load(out)
    redis_cmd = config["services"]["redis"]["command"]
    assert "--appendonly" in redis_cmd and "always" in redis_cmd
    app = config["services"]["app"]
    assert app["environment"]["COMPANION_STORE"] == "redis://redis:6379/0"
    command = app["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert "--workers 2" in command


def test_compose_refuses_to_run_without_a_secret():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose not installed")
    env = {k: v for k, v in os.environ.items() if k != "COMPANION_SECRET"}
    r = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode != 0 and "COMPANION_SECRET" in r.stderr
