"""Where the product reaches into a library's internals, and the versions it was written for.

Three places lean on what a library does not promise: the lean page sockets subclass uvicorn's
protocols (server/live/socket.py), the media relay wraps aiortc's sender and hands it encoded
packets (server/media/relay.py), and ICE replaces aioice's connection (server/media/ice.py).
Each names the release it was written for; pyproject.toml bounds those packages to that series,
and `require` fails at import, saying what is missing and why it matters, if a release without
the patched members is installed anyway (an edited lock, a system package).
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable, Mapping

log = logging.getLogger("companion")


class PatchedLibraryChanged(ImportError):
    """A library the product patches lacks what the patch relies on."""


def require(
    package: str, written_for: str, where: str, members: Mapping[object, Iterable[str]], why: str
) -> None:
    """Check that every class (or module) in `members` still has the named attributes; raise
    PatchedLibraryChanged otherwise. A release outside the `written_for` series (e.g. "0.54")
    that still has them is logged, not refused."""
    version = importlib.metadata.version(package)
    missing = [
        f"{getattr(owner, '__qualname__', getattr(owner, '__name__', owner))}.{name}"
        for owner, names in members.items()
        for name in names
        if not hasattr(owner, name)
    ]
    if missing:
        raise PatchedLibraryChanged(
            f"{where} was written for {package} {written_for}.x and {why}; the installed "
            f"{package} {version} has no {', '.join(missing)}. Install {package} "
            f"{written_for}.x (uv sync --frozen) or update {where} for it."
        )
    if not (version == written_for or version.startswith(written_for + ".")):
        log.warning(
            "%s was written for %s %s.x; %s is installed", where, package, written_for, version
        )
