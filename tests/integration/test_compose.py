"""The container: docker-compose.yml is valid and wires the app, built from our Dockerfile, to a
durable Redis, with health checks, restart policies and the audio/video UDP ports published;
the Dockerfile keeps the rules a linter (hadolint) would check; where a Docker daemon runs, the
image builds."""

import os
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from tests.servers import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed"
)


def compose_config(**env: str) -> dict:
    out = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env={**os.environ, "COMPANION_SECRET": "x" * 32, **env},
        check=True,
    ).stdout
    return yaml.safe_load(out)


def udp_ports(app: dict) -> set[int]:
    """The UDP ports published, each the same on the host as in the container."""
    out = set()
    for p in app["ports"]:
        if p.get("protocol") == "udp":
            lo, _, hi = str(p["published"]).partition("-")
            assert str(p["target"]) == str(p["published"])
            out |= set(range(int(lo), int(hi or lo) + 1))
    return out


@needs_compose
def test_compose_builds_one_image_and_runs_it_durably_with_health_checks():
    config = compose_config()
    redis, app = config["services"]["redis"], config["services"]["app"]
    assert "--appendonly" in redis["command"] and "always" in redis["command"]
    assert redis["restart"] == app["restart"] == "unless-stopped"
    assert app["build"]["context"] == str(ROOT) and app["image"] == "session-companion:latest"
    assert app["environment"]["COMPANION_STORE"] == "redis://redis:6379/0"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthz" in " ".join(app["healthcheck"]["test"])
    # No source bind mount (it replaced the host's .venv): the image carries the code.
    assert not app.get("volumes")
    command = " ".join(app["command"])
    assert "--workers 1" in command  # one worker keeps built-in audio/video on
    ports = {(p.get("protocol", "tcp"), str(p["target"])) for p in app["ports"]}
    assert ("tcp", "8000") in ports
    assert udp_ports(app) == set(range(40000, 40200))
    assert app["environment"]["COMPANION_UDP_PORTS"] == "40000-40199"


@needs_compose
def test_the_published_udp_range_follows_the_configured_one():
    app = compose_config(COMPANION_UDP_PORTS="50000-50099")["services"]["app"]
    assert udp_ports(app) == set(range(50000, 50100))
    assert app["environment"]["COMPANION_UDP_PORTS"] == "50000-50099"


@needs_compose
def test_compose_refuses_to_run_without_a_secret():
    env = {k: v for k, v in os.environ.items() if k != "COMPANION_SECRET"}
    r = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env
    )
    assert r.returncode != 0 and "COMPANION_SECRET" in r.stderr


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments left out)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_dockerfile_keeps_the_linters_rules():
    ins = instructions()
    words = [w for w, _ in ins]
    base = next(rest for w, rest in ins if w == "FROM")
    assert base == "python:3.11-slim"  # a pinned, slim base (hadolint DL3006/DL3007)
    assert "ADD" not in words  # COPY for local files (DL3020)
    runs = [rest for w, rest in ins if w == "RUN"]
    for run in runs:
        if "pip install" in run:
            assert "--no-cache-dir" in run and re.search(r"uv==\d", run)  # DL3042, DL3013
        if "apt-get install" in run:
            assert "--no-install-recommends" in run  # DL3015
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs and all("--frozen" in r and "--no-dev" in r for r in syncs)  # from the lock
    # The lock file is copied (and installed from) before the code: a code change reuses it.
    first_copy = next(rest for w, rest in ins if w == "COPY")
    assert "uv.lock" in first_copy and "pyproject.toml" in first_copy
    code_copied = next(i for i, (w, r) in enumerate(ins) if w == "COPY" and "server" in r)
    assert words.index("RUN", words.index("COPY")) < code_copied
    users = [rest for w, rest in ins if w == "USER"]
    assert users and users[-1] not in ("root", "0")  # DL3002: not root at the end
    assert "HEALTHCHECK" in words
    cmd = next(rest for w, rest in ins if w == "CMD")
    assert cmd.startswith("[") and shlex.split(cmd)  # exec form (DL3025)
    assert words.count("CMD") == 1 and words.count("ENTRYPOINT") <= 1


def test_the_build_context_leaves_out_secrets_data_and_the_host_environment():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "data", ".git", "*.key", "*.pem", "*.db", ".env", "node_modules"} <= ignored


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "info"], capture_output=True).returncode != 0,
    reason="no Docker daemon on this machine",
)
def test_the_image_builds():
    subprocess.run(
        ["docker", "build", "-q", "-t", "session-companion:test", str(ROOT)],
        check=True,
        timeout=900,
    )


@needs_compose
def test_the_sfu_profile_adds_janus_and_turn_with_their_udp_ranges_and_no_open_api():
    out = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--profile", "sfu", "config"],
        capture_output=True,
        text=True,
        env={**os.environ, "COMPANION_SECRET": "x" * 32, "COMPANION_JANUS_PORTS": "21000-21099"},
        check=True,
    ).stdout
    services = yaml.safe_load(out)["services"]
    janus, turn = services["janus"], services["coturn"]
    assert janus["profiles"] == turn["profiles"] == ["sfu"]  # up only with --profile sfu
    assert janus["restart"] == turn["restart"] == "unless-stopped"
    assert udp_ports(janus) == set(range(21000, 21100))
    assert janus["environment"]["JANUS_RTP_PORTS"] == "21000-21099"
    # Janus's API is reached by the app on the compose network, never published to the host.
    assert all(p.get("protocol") == "udp" for p in janus["ports"])
    assert udp_ports(turn) >= {3478, *range(49160, 49260)}
    script = " ".join(turn["command"])
    assert "--lt-cred-mech" in script and "exit 1" in script  # no password, no relay
    assert janus["build"]["dockerfile"].endswith("docker/janus.Dockerfile")
    assert "janus_conf.py" in (ROOT / "docker" / "janus.Dockerfile").read_text()
