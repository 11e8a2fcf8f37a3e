"""The key that signs links: never in the repository, private, made where the data lives, and
refused when it could be read by others. Tried as an attacker with the repository would."""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from server.access.keys import MIN_SECRET, published
from server.access.links import Signer
from server.domain.people import legacy_person_id
from tests.servers import ROOT, free_port, spawn, wait_healthy

pytestmark = pytest.mark.integration

ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Lee Learner,lee@example.org,learner,nurse,adult
"""
# The key that git tracked until it was removed: anyone with a clone can read it from history.
PUBLISHED_KEY = "yEHpo8CISojZbwZKi_ufousj7DZBJKknJA3SZN9Jmd8"
SECRET_LIKE = re.compile(r"(^|/)(secret[^/]*|[^/]*\.(key|pem|db|sqlite|sqlite3|mjr|webm))$", re.I)


def companion(cwd, *args, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
    )


def repository(tmp_path):
    """A working tree like a fresh clone: git, the project's .gitignore, a roster."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    (tmp_path / "roster.csv").write_text(ROSTER)
    return tmp_path


def opens(url: str) -> int:
    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        return urllib.request.build_opener(Keep()).open(url, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code


def test_the_repository_tracks_no_key_secret_or_data_file():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if SECRET_LIKE.search(f)]
    assert published(PUBLISHED_KEY)


def test_a_server_in_a_repository_root_makes_its_own_key_and_the_published_one_forges_nothing(
    tmp_path, figure
):
    repo = repository(tmp_path)
    store = "sqlite:///course.db"  # relative: the working tree's root, as in the finding
    assert companion(repo, "roster", "import", "roster.csv", "--store", store).returncode == 0
    port = free_port()
    proc = spawn("--store", store, port=port, cwd=repo, env={"COMPANION_SECRET": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        key = repo / "data" / "secret.key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert not (repo / "secret.key").exists()
        text = key.read_text().strip()
        assert len(text) >= MIN_SECRET and not published(text)
        assert "data/" not in companion(repo, "status", "--porcelain").stdout  # git ignores it
        links = companion(repo, "links", "--json", "--store", store, "--base-url", url)
        assert links.returncode == 0, links.stderr
        rows = {r["email"]: r for r in json.loads(links.stdout)}
        director = rows["director@example.org"]
        assert director["id"] != legacy_person_id("director@example.org")
        assert opens(director["link"]) == 303  # the real link works
        forged = {
            "published key, id from the email": Signer(PUBLISHED_KEY).link_token(
                legacy_person_id("director@example.org"), 0
            ),
            "published key, the real id": Signer(PUBLISHED_KEY).link_token(director["id"], 0),
            "the server's key, id from the email": Signer(text).link_token(
                legacy_person_id("director@example.org"), 0
            ),
        }
        for what, token in forged.items():
            assert opens(f"{url}/join/{token}") in (400, 403, 404), what
        figure("forged director links accepted", 0)
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_server_refuses_a_key_that_git_tracks_others_can_read_or_was_published(tmp_path):
    repo = repository(tmp_path)
    data = repo / "data"
    data.mkdir()
    store = "sqlite:///data/log.db"

    def refused(key_file, *needles):
        r = companion(repo, "links", "--store", store, "--key-file", str(key_file))
        assert r.returncode == 2, r.stdout + r.stderr
        for needle in needles:
            assert needle in r.stderr, r.stderr

    tracked = repo / "keys" / "tracked.key"
    tracked.parent.mkdir()
    tracked.write_text("k" * 43)
    tracked.chmod(0o600)
    subprocess.run(["git", "-C", str(repo), "add", "-f", "keys/tracked.key"], check=True)
    refused(tracked, "tracked by git", "companion key rotate")

    readable = data / "readable.key"
    readable.write_text("r" * 43)
    readable.chmod(0o644)
    refused(readable, "can be read by others", "chmod 600")

    # Where `git add` would pick it up (*.key files are ignored, this name is not).
    refused(repo / "signing.txt", "not ignored")
    assert not (repo / "signing.txt").exists()

    leaked = data / "leaked.key"
    leaked.write_text(PUBLISHED_KEY + "\n")
    leaked.chmod(0o600)
    refused(leaked, "published")

    short = companion(repo, "links", "--store", store, env={"COMPANION_SECRET": "short"})
    assert short.returncode == 2 and "too short" in short.stderr


def test_rotating_the_key_changes_every_link_and_retires_the_old_ones(tmp_path):
    repo = repository(tmp_path)
    store = "sqlite:///data/log.db"
    assert companion(repo, "roster", "import", "roster.csv", "--store", store).returncode == 0
    before = companion(repo, "links", "--store", store, "--base-url", "http://x").stdout
    rotated = companion(repo, "key", "rotate")
    assert rotated.returncode == 0 and "companion links" in rotated.stdout
    assert (repo / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
    after = companion(repo, "links", "--store", store, "--base-url", "http://x").stdout
    old, new = (re.findall(r"/join/(\S+)", t) for t in (before, after))
    assert len(old) == len(new) == 2 and not set(old) & set(new)
    port = free_port()
    proc = spawn("--store", store, port=port, cwd=repo, env={"COMPANION_SECRET": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        assert all(opens(f"{url}/join/{t}") == 403 for t in old)
        assert all(opens(f"{url}/join/{t}") == 303 for t in new)
    finally:
        proc.terminate()
        proc.wait(10)
