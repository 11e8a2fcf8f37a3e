"""The cases and instruments in play: the files the course shipped with, and over them every
version published in the browser (kept in the log, domain/authoring.py).

A `Shelf` reads like a mapping of the latest version of each entry; `at(id, version)` gives an
older one (a running role-play keeps the version it began with). It follows the log by itself:
each time it is read it parses the versions published since it last looked, so every worker and
every restart sees the same library without a hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from server.content.cases import Scenario, load_library
from server.content.files import ContentError, entry_from_text
from server.content.instruments import INSTRUMENTS, Instrument, load_instruments
from server.domain.authoring import AuthoringState

M = TypeVar("M", bound=BaseModel)

WHAT = {"case": "scenario", "instrument": "instrument"}


class Shelf(Mapping[str, M], Generic[M]):
    def __init__(
        self,
        kind: str,
        model: type[M],
        files: Mapping[str, M],
        texts: Mapping[str, str],
        source: Callable[[], AuthoringState] | None = None,
    ) -> None:
        self.kind = kind
        self.model = model
        self.files = dict(files)
        self.texts = dict(texts)  # the shipped file's text of each entry
        self.source = source
        self._seen = -1
        self._latest: dict[str, M] = dict(files)
        self._versions: dict[str, dict[int, M]] = {}
        self.problems: dict[tuple[str, int], str] = {}  # versions that no longer parse

    # --- following the log -----------------------------------------------------------------

    def _sync(self) -> AuthoringState | None:
        state = self.source() if self.source else None
        if state is None or state.count == self._seen:
            return state
        latest = dict(self.files)
        versions: dict[str, dict[int, M]] = {}
        for (kind, entry), found in state.versions.items():
            if kind != self.kind:
                continue
            for v in found:
                parsed = self._versions.get(entry, {}).get(v.number)
                if parsed is None:
                    try:
                        parsed = entry_from_text(
                            self.model, v.text, f"{entry} version {v.number}", WHAT[kind], entry
                        )
                    except ContentError as e:  # written for an older schema: keep the last good
                        self.problems[(entry, v.number)] = str(e)
                        continue
                versions.setdefault(entry, {})[v.number] = parsed
                latest[entry] = parsed
        self._latest, self._versions, self._seen = latest, versions, state.count
        return state

    # --- reading -----------------------------------------------------------------------------

    def __getitem__(self, key: str) -> M:
        self._sync()
        return self._latest[key]

    def __iter__(self) -> Iterator[str]:
        self._sync()
        return iter(list(self._latest))

    def __len__(self) -> int:
        self._sync()
        return len(self._latest)

    def at(self, entry: str, version: int) -> M | None:
        """`entry` as it was in `version` (0: the file's), else its latest."""
        self._sync()
        if version and version in self._versions.get(entry, {}):
            return self._versions[entry][version]
        if version == 0 and entry in self.files:
            return self.files[entry]
        return self._latest.get(entry)

    def version_of(self, entry: str) -> int:
        """The number of the version a new role-play would use now (0: the file's)."""
        state = self._sync()
        got = self._versions.get(entry, {})
        return max(got) if got and state is not None else 0

    def text_of(self, entry: str) -> str | None:
        """The YAML of the latest version of `entry` (published, else the file's)."""
        state = self._sync()
        number = self.version_of(entry)
        if number and state is not None:
            for v in state.of(self.kind, entry):
                if v.number == number:
                    return v.text
        return self.texts.get(entry)


def case_at(library: Mapping[str, Scenario], entry: str | None, version: int) -> Scenario | None:
    """The case a role-play or turn plays: its version on a shelf, else the case by id."""
    if not entry:
        return None
    if isinstance(library, Shelf):
        return library.at(entry, version)
    return library.get(entry)


def _texts(folder: Path, ids: Mapping[str, object]) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.y*ml")):
        if path.stem in ids:
            out[path.stem] = path.read_text(encoding="utf-8")
    return out


def case_shelf(folder: Path, source: Callable[[], AuthoringState] | None = None) -> Shelf[Scenario]:
    files = load_library(folder)
    return Shelf("case", Scenario, files, _texts(folder, files), source)


def instrument_shelf(
    folder: Path = INSTRUMENTS, source: Callable[[], AuthoringState] | None = None
) -> Shelf[Instrument]:
    files = load_instruments(folder)
    return Shelf("instrument", Instrument, files, _texts(folder, files), source)


def changed(before: BaseModel | None, after: BaseModel) -> tuple[str, ...]:
    """The top-level fields of `after` that differ from `before` (all of them for a new entry)."""
    new = after.model_dump(mode="json")
    if before is None:
        return tuple(new)
    old = before.model_dump(mode="json")
    return tuple(k for k in new if old.get(k) != new[k])
