"""Signed join links and session cookies. No passwords: a link is the key, and can be revoked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

SESSION_COOKIE = "companion_session"


class BadLink(Exception):
    """A join link or session that was forged, mangled or revoked."""


class Signer:
    def __init__(self, secret: str) -> None:
        self._links = URLSafeSerializer(secret, salt="join-link")
        self._sessions = URLSafeSerializer(secret, salt="session")

    def link_token(self, person_id: str, version: int = 0) -> str:
        return self._links.dumps([person_id, version])

    def read_link(self, token: str) -> tuple[str, int]:
        return self._read(self._links, token)

    def session_value(self, person_id: str, version: int = 0) -> str:
        return self._sessions.dumps([person_id, version])

    def read_session(self, value: str) -> tuple[str, int]:
        return self._read(self._sessions, value)

    @staticmethod
    def _read(s: URLSafeSerializer, token: str) -> tuple[str, int]:
        try:
            data = s.loads(token)
        except BadSignature:
            raise BadLink("This link is not valid: it may have been copied incompletely.") from None
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not isinstance(data[0], str)
            or not isinstance(data[1], int)
        ):
            raise BadLink("This link is not valid.")
        return data[0], data[1]


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
