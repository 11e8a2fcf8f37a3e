"""The key that signs links and sessions: where it lives, how it is made, when it is refused.

It is COMPANION_SECRET (shared by several workers or hosts), or a key file the server makes on
first start (data/secret.key unless --key-file or COMPANION_KEY_FILE say otherwise), readable by
its owner only. See docs/security.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
from pathlib import Path

DEFAULT_KEY_FILE = Path("data") / "secret.key"
MIN_SECRET = 32  # characters of a secret given in COMPANION_SECRET
# Keys anyone can read: one was tracked in this repository (commit f36c8a6 until its removal)
# and stays in its history. A server holding one refuses to start. (SHA-256 of the key text.)
PUBLISHED = frozenset({"5d05a74d3b4cca84ee778df38d169eb3c81b84493211442a7b45bf774528b7ce"})
KEY_BYTES = 32  # of randomness in a key file the server makes (43 URL-safe characters)


class KeyProblem(Exception):
    """The signing key cannot be used safely; the message says why and what to do."""


def key_file_problem(path: Path) -> str | None:
    """Why the key file at `path` must not be used, or None: it must be readable by its owner
    only, and not tracked by git (nor where `git add` would pick it up)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return (
            f"the key file {path} can be read by others (mode {mode:o}); "
            f"make it private with `chmod 600 {path}`"
        )
    where = git_exposure(path)
    return GIT_PROBLEMS[where].format(path=path) if where else None


GIT_PROBLEMS = {
    "tracked": (
        "the key file {path} is tracked by git, so anyone with the repository can forge links; "
        "remove it from git (`git rm --cached`), then rotate it (`companion key rotate`)"
    ),
    "not ignored": (
        "the key file {path} is inside a git working tree and not ignored, so `git add` would "
        "publish it; keep it in the data folder (data/ is ignored) or give --key-file elsewhere"
    ),
}


def git_exposure(path: Path) -> str | None:
    """'tracked', 'not ignored' (inside a working tree), or None (ignored, or no git here)."""
    folder = str(path.resolve().parent)
    try:
        tracked = subprocess.run(
            ["git", "-C", folder, "ls-files", "--error-unmatch", "--", path.name],
            capture_output=True,
            timeout=10,
        )
        if tracked.returncode == 0:
            return "tracked"
        inside = subprocess.run(
            ["git", "-C", folder, "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            timeout=10,
        )
        if inside.returncode != 0 or inside.stdout.strip() != b"true":
            return None
        ignored = subprocess.run(
            ["git", "-C", folder, "check-ignore", "-q", "--", path.name],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git on this machine: nothing can track it
    return None if ignored.returncode == 0 else "not ignored"


def write_new_key(path: Path, replace: bool = False) -> str:
    """A fresh random key written to `path`, readable by its owner only (the folder is made
    private if it is new). With `replace`, an existing key is replaced in one step (rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(KEY_BYTES)
    target = path.with_name(path.name + ".new") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
        f.flush()
        os.fsync(f.fileno())
    if replace:
        os.replace(target, path)
    return secret


def load_or_create_secret(path: Path) -> str:
    """The signing key in `path`, made there (0600) on first use so links survive a restart.
    Raises KeyProblem for a key that others can read, that git tracks or would pick up."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if git_exposure(path) == "not ignored":
            raise KeyProblem(GIT_PROBLEMS["not ignored"].format(path=path))
        with contextlib.suppress(FileExistsError):  # another worker made it first
            write_new_key(path)
    problem = key_file_problem(path)
    if problem:
        raise KeyProblem(problem)
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET:
        raise KeyProblem(
            f"the key in {path} is too short ({len(secret)} characters; at least {MIN_SECRET}); "
            "make a new one with `companion key rotate`"
        )
    if published(secret):
        raise KeyProblem(
            f"the key in {path} was published (it is in this repository's history): anyone can "
            "forge links with it; make a new one with `companion key rotate`"
        )
    return secret


def published(secret: str) -> bool:
    return hashlib.sha256(secret.encode()).hexdigest() in PUBLISHED


def secret_from_env(value: str) -> str:
    """A secret given in COMPANION_SECRET (shared by several workers or hosts)."""
    value = value.strip()
    if len(value) < MIN_SECRET:
        raise KeyProblem(
            f"COMPANION_SECRET is too short ({len(value)} characters; at least {MIN_SECRET} "
            "random ones): make one with `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`"
        )
    if published(value):
        raise KeyProblem("COMPANION_SECRET is a published key (in this repository's history)")
    return value


def key_path(given: str | None) -> Path:
    """Where the signing key is kept: `given` (--key-file), $COMPANION_KEY_FILE, or
    data/secret.key."""
    given = given or os.environ.get("COMPANION_KEY_FILE")
    return Path(given) if given else DEFAULT_KEY_FILE


def signing_secret(key_file: str | None = None) -> str:
    """The key that signs links and sessions: $COMPANION_SECRET if set, else the key file (made
    on first use). Raises KeyProblem, saying why, for a key that must not be used."""
    env = os.environ.get("COMPANION_SECRET")
    return secret_from_env(env) if env else load_or_create_secret(key_path(key_file))


def rotate_key(key_file: str | None = None) -> Path:
    """A new signing key written in place of the old one (every link and session changes);
    returns where. Raises KeyProblem when the key is COMPANION_SECRET's or would be published."""
    if os.environ.get("COMPANION_SECRET"):
        raise KeyProblem(
            "the key comes from COMPANION_SECRET here: give it a new random value on every "
            "worker and restart them (every link changes)"
        )
    path = key_path(key_file)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if git_exposure(path) == "not ignored":
        raise KeyProblem(GIT_PROBLEMS["not ignored"].format(path=path))
    path.with_name(path.name + ".new").unlink(missing_ok=True)  # left by an interrupted rotation
    write_new_key(path, replace=True)
    return path
